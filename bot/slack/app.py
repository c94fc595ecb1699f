"""The slack-bolt app: checks in threads, automatic checks in editors' channels, sources from
admins, feedback on findings.

Every Slack request is acknowledged at once (bolt's ``ack``); lazy listeners post the request's
message ("queued (N ahead)" or what it is doing) and hand the check to a pool of
``workers`` threads (:mod:`bot.slack.work`). The message is updated in place (``chat.update``,
progress throttled and best effort) and ends as the report, with a "right"/"wrong" pair of
buttons under each finding when a history is kept, and a link to its side-by-side page when the
bot serves pages (else the page is attached in the thread); any failure ends in a friendly message
there, never silence. An event Slack retries (same ``event_id``) or a replayed command, shortcut
or click (same ``trigger_id``) is answered once. Links in editors' channels are checked
quietly: a reaction when there is nothing to say, a reply for findings.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.history import Asker, CheckRecord, History, new_check_id
from bot.slack.blocks import FEEDBACK_ACTION, escape, report_blocks
from bot.slack.clients import web_client, webhook
from bot.slack.pages import ReportPages
from bot.slack.text import Decoded, decode
from bot.slack.work import Closed, Job, WorkPool
from checker.html import original_texts, render_html
from checker.models import Report, report_to_json
from checker.render import is_clean, render_markdown, render_text
from retrieval.errors import ConfigError, FactDiffError, FetchError, InputError
from retrieval.ingest import IngestRequest, fetch_article, ingest, iter_items
from retrieval.models import IngestOutcome
from retrieval.store import canonical_url

log = logging.getLogger(__name__)

SHORTCUT = "factcheck_message"
COMMAND = "/factcheck"
MAX_AUTO_LINKS = 3  # links checked per message in an automatic channel
MAX_FILE_BYTES = 5_000_000
SOURCE_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl")
HELP = (
    "*factdiff* compares a story with the primary sources stored for the newsroom and lists what was "
    "*reworded*, *added* or *omitted*, each with the verbatim source sentence.\n"
    "\u2022 Mention me with a pasted story or a link, or send it to me in a DM: I answer in the thread.\n"
    "\u2022 `/factcheck <story or link>` checks it here; `/factcheck help` shows this.\n"
    "\u2022 On any message: *More actions \u2192 Fact-check this message*.\n"
    "\u2022 Source admins: `/factcheck add <link>`, or send me .txt, .md or .html files in a DM."
)
EMPTY = "Paste the story (or a link to it) after mentioning me, and I'll check it against the stored sources."
REFUSED = (
    "Sorry, only the newsroom's source admins can add primary sources: the store is what every check "
    "trusts. Ask one of them to add it."
)


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    signing_secret: str | None = None
    api_url: str | None = None  # Web API base URL (proxies, tests)
    auto_channels: frozenset[str] = frozenset()
    source_admins: frozenset[str] = frozenset()
    recheck_seconds: float = 24 * 3600  # the same link is not re-checked automatically within this window
    clean_reply_channels: frozenset[str] = frozenset()  # automatic channels that want a line for a clean check
    workers: int = 2  # checks in flight
    progress_seconds: float = 3.0  # at most one progress update per check in this time
    max_retries: int = 5  # tries after a 429 (each waits out Retry-After) or a dropped connection
    public_url: str | None = None  # HTTP mode: report pages are linked at <public_url>/reports/<id>


class Checker:
    """The work behind every Slack request, with no Slack in it."""

    def __init__(self, store: Any, engine: Any, fetch_policy: Any, http_client: Any = None) -> None:
        self.store = store
        self.engine = engine
        self.fetch_policy = fetch_policy
        self.http_client = http_client

    def warm(self) -> None:
        """Load the models and build the lexical index now, not in the first user's check."""
        self.store.count()
        self.engine.finder.lexical_index()
        self.store.embedder.embed(["warming up"])
        self.engine.align_embedder.embed(["warming up"])

    def check_text(self, text: str) -> Report:
        return self.engine.check(text)  # type: ignore[no-any-return]

    def check_url(self, url: str, on_fetched: Callable[[], None] | None = None) -> Report:
        draft, final_url = fetch_article(url, self.fetch_policy, self.http_client)
        if on_fetched:
            on_fetched()
        return self.engine.check(draft.text, url=final_url)  # type: ignore[no-any-return]

    def add_url(self, url: str) -> IngestOutcome:
        items = iter_items(IngestRequest((url,)), self.fetch_policy, self.http_client)
        return list(ingest(self.store, items))[0]

    def add_file(self, name: str, data: bytes) -> IngestOutcome:
        safe = re.sub(r"[^\w.-]+", "_", Path(name).name) or "source.txt"
        with tempfile.TemporaryDirectory(prefix="factdiff-slack-") as tmp:
            path = Path(tmp) / safe
            path.write_bytes(data)
            return list(ingest(self.store, iter_items(IngestRequest((str(path),)))))[0]


class _Seen:
    """Keys seen within a time window (thread-safe): Slack retries, recently checked links."""

    def __init__(self, seconds: float, capacity: int = 10_000) -> None:
        self.seconds = seconds
        self.capacity = capacity
        self._at: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        """True the first time ``key`` comes within the window (and remembers it)."""
        now = time.monotonic()
        with self._lock:
            at = self._at.get(key)
            if at is not None and now - at < self.seconds:
                return False
            self._at[key] = now
            self._at.move_to_end(key)
            while len(self._at) > self.capacity:
                self._at.popitem(last=False)
            return True


def _outcome_line(o: IngestOutcome) -> str:
    title = escape(o.title or o.origin)
    if o.status == "added":
        return f":white_check_mark: Added *{title}* ({o.chunks} chunks)."
    if o.status == "updated":
        return f":arrows_counterclockwise: Updated *{title}*."
    if o.status in ("unchanged", "duplicate"):
        return f":ballot_box_with_check: *{title}* is already stored."
    return f":warning: Could not add {escape(o.origin)}: {escape(o.error or 'unknown error')}"


@dataclass
class _Request:
    """One check asked for in Slack: where to answer, who asked, and its message while it runs."""

    channel: str
    thread_ts: str | None
    decoded: Decoded
    asker: Asker
    kind: str  # mention, message, command, shortcut
    response_url: str | None = None  # commands: where to answer privately
    ts: str | None = None  # the bot's message, updated in place
    queued: bool = False
    last_update: float = 0.0
    progress_muted_until: float = 0.0  # after a 429 on a progress update
    submitted: float = field(default_factory=time.monotonic)
    posted: threading.Event = field(default_factory=threading.Event)
    check_id: str = field(default_factory=new_check_id)

    def log_fields(self) -> dict[str, Any]:
        a = self.asker
        return {"team": a.team, "channel": a.channel, "user": a.user, "check_id": self.check_id, "kind": self.kind}


class _Bot:
    def __init__(
        self,
        config: SlackConfig,
        checker: Checker,
        client: WebClient,
        *,
        progress_client: WebClient | None = None,
        history: History | None = None,
        pool: WorkPool | None = None,
        pages: ReportPages | None = None,
    ) -> None:
        self.config = config
        self.checker = checker
        self.client = client
        self.progress_client = progress_client or client
        self.history = history
        self.pool = pool or WorkPool(config.workers)
        self.pages = pages  # where report pages are kept when the bot serves them
        self.bot_user: str | None = None
        self.requests = _Seen(3600)  # event ids and trigger ids answered
        self.links = _Seen(config.recheck_seconds)
        self.names: dict[str, str | None] = {}

    # ---- helpers ----------------------------------------------------------------------

    def user_name(self, user_id: str) -> str | None:
        if user_id not in self.names:
            try:
                user = self.client.users_info(user=user_id)["user"]
                profile = user.get("profile", {})
                self.names[user_id] = profile.get("display_name") or profile.get("real_name") or user.get("name")
            except SlackApiError as exc:
                log.info("users.info failed: %s", exc.response.get("error"))
                self.names[user_id] = None
        return self.names[user_id]

    def decode(self, text: str) -> Decoded:
        return decode(text or "", self.user_name, drop_user=self.bot_user)

    def post(self, channel: str, thread_ts: str | None, text: str, blocks: list[dict[str, Any]] | None = None) -> Any:
        response = self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
        return response.get("ts")

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks or [])

    def respond(self, url: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """An ephemeral answer through a response_url (with the same retries as the Web API)."""
        webhook(url, self.config.max_retries).send(
            text=text, blocks=blocks, response_type="ephemeral", replace_original=False
        )

    def react(self, channel: str, ts: str | None, name: str) -> None:
        if ts:
            try:
                self.client.reactions_add(channel=channel, timestamp=ts, name=name)
            except SlackApiError as exc:  # e.g. already_reacted
                log.info("reactions.add failed: %s", exc.response.get("error"))

    def progress(self, r: _Request, text: str, *, force: bool = False) -> None:
        """Best effort, throttled: at most one update per ``progress_seconds``; a 429 mutes it."""
        now = time.monotonic()
        if r.ts is None or now < r.progress_muted_until:
            return
        if not force and now - r.last_update < self.config.progress_seconds:
            return
        r.last_update = now
        try:
            self.progress_client.chat_update(channel=r.channel, ts=r.ts, text=text, blocks=[])
        except SlackApiError as exc:
            retry_after = _retry_after(exc)
            r.progress_muted_until = now + max(retry_after, self.config.progress_seconds)
            log.info("progress update skipped: %s", exc.response.get("error"), extra={"retry_after": retry_after})

    def page(self, report: Report) -> tuple[str | None, str | None]:
        """The report's side-by-side page (None without an original) and its link when the bot
        serves pages (HTTP mode with FACTDIFF_PUBLIC_URL), else None: the page is attached instead."""
        if not report.sources:
            return None, None
        html = render_html(report, original_texts(self.checker.store, report))
        if self.pages is None or not self.config.public_url:
            return html, None
        return html, self.pages.url(self.config.public_url, self.pages.put(html))

    def deliver(self, r: _Request, report: Report) -> None:
        """The report in place of the "checking…" message, with its side-by-side page: linked when
        the bot serves pages, else attached; the full Markdown report attached too when cut."""
        html, link = self.page(report)
        shown = report_blocks(report, feedback=r.check_id if self.history else None, page_url=link)
        assert r.ts is not None
        self.update(r.channel, r.ts, shown.text, shown.blocks)
        self.attach(r.channel, r.thread_ts or r.ts, report, shown.hidden, None if link else html)

    def attach(self, channel: str, thread_ts: str, report: Report, hidden: int, html: str | None) -> None:
        """One upload in the thread: the full Markdown report when ``hidden`` findings were cut,
        and the HTML page when given (not linked); nothing when neither."""
        files = []
        if hidden:
            md = render_markdown(report)
            files.append({"content": md, "filename": "factdiff-report.md", "title": "factdiff: the full report"})
        if html is not None:
            files.append({"content": html, "filename": "factdiff-report.html", "title": "factdiff: side by side"})
        if not files:
            return
        what = f"The full report ({hidden} more findings)" if hidden else "The report"
        side = ", and the story beside its originals (open the .html file in a browser)" if html is not None else ""
        self.client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, file_uploads=files, initial_comment=f"{what}{side}."
        )

    def remember(self, r: _Request, report: Report, duration: float) -> None:
        """The check in the history (when kept) and one log line with its numbers, never its text."""
        a = report.analyzer
        fields = {
            **r.log_fields(),
            "status": "checked" if report.sources else "no original",
            "duration_s": round(duration, 3),
            "queued_s": round(time.monotonic() - r.submitted - duration, 3),
            "counts": {k: v for k, v in report.counts().items() if k != "supported"},
            "sources": len(report.sources),
            "analyzer": a.name,
            "prompt_tokens": a.prompt_tokens,
            "completion_tokens": a.completion_tokens,
            "cost_usd": a.cost_usd,
        }
        log.info("check finished", extra=fields)
        if self.history is None:
            return
        try:
            self.history.record(
                CheckRecord(
                    r.check_id,
                    time.time(),
                    r.asker,
                    report.story_text,
                    report.story_url,
                    report_to_json(report),
                    render_text(report),
                    duration,
                )
            )
        except Exception:  # the answer matters more than its record
            log.exception("could not record the check in the history", extra=r.log_fields())

    # ---- checks -------------------------------------------------------------------------

    def working_text(self, r: _Request) -> str:
        if r.decoded.is_link_request:
            return f":globe_with_meridians: Fetching {r.decoded.links[0]} \u2026"
        return ":mag: Finding the originals and comparing, claim by claim\u2026"

    def ask(self, r: _Request) -> None:
        """Post the request's message ("queued (N ahead)" or what it is doing) and queue its check."""
        if not r.decoded.text.strip():
            self.post(r.channel, r.thread_ts, EMPTY)
            return
        try:
            ahead = self.pool.submit(Job(lambda: self.run(r), lambda: self.abandon(r)))
        except Closed:  # arrived as the bot was stopping
            r.posted.set()
            self.post(r.channel, r.thread_ts, STOPPING)
            return
        r.queued = ahead > 0
        text = f":hourglass_flowing_sand: Queued ({ahead} ahead)\u2026" if r.queued else self.working_text(r)
        if r.queued:
            log.info("check queued", extra={**r.log_fields(), "ahead": ahead})
        try:
            r.ts = self.post(r.channel, r.thread_ts, text)
        except SlackApiError as exc:
            if r.response_url is None:
                raise
            log.info("cannot post in the channel (%s); answering privately", exc.response.get("error"))
        finally:
            r.last_update = time.monotonic()
            r.posted.set()

    def run(self, r: _Request) -> None:
        r.posted.wait(60)
        if r.ts is None and r.response_url is None:
            return  # its message could not be posted (logged by ask)
        started = time.monotonic()
        try:
            if r.queued:
                self.progress(r, self.working_text(r), force=True)
            if r.decoded.is_link_request:
                comparing = ":mag: Fetched; finding the originals and comparing\u2026"
                report = self.checker.check_url(r.decoded.links[0], lambda: self.progress(r, comparing))
            else:
                report = self.checker.check_text(r.decoded.text)
        except Exception as exc:  # the thread always gets an answer
            log.info("check failed: %s", type(exc).__name__, extra={**r.log_fields(), "status": "failed"})
            self.answer(r, apology(exc))
            return
        self.remember(r, report, time.monotonic() - started)
        try:
            if r.ts is None and r.response_url:  # not in the channel: the asker alone sees it
                shown = report_blocks(report, page_url=self.page(report)[1] if self.pages else None)
                self.respond(r.response_url, shown.text, shown.blocks)
            else:
                self.deliver(r, report)
        except SlackApiError as exc:  # rate-limited beyond every retry, or refused
            fields = {**r.log_fields(), "status": "not delivered", "error": exc.response.get("error")}
            log.error("report not delivered", extra=fields)

    def answer(self, r: _Request, text: str) -> None:
        if r.ts is not None:
            self.update(r.channel, r.ts, text)
        elif r.response_url:
            self.respond(r.response_url, text)

    def abandon(self, r: _Request) -> None:
        """Shutdown came before this check could start: say so in its thread."""
        r.posted.wait(5)
        log.info("check abandoned at shutdown", extra={**r.log_fields(), "status": "abandoned"})
        self.answer(r, STOPPING)

    # ---- listeners --------------------------------------------------------------------

    def request(self, body: dict[str, Any], channel: str, thread_ts: str | None, text: str, kind: str) -> _Request:
        user = body.get("user_id") or body.get("event", {}).get("user") or (body.get("user") or {}).get("id")
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        return _Request(channel, thread_ts, self.decode(text), Asker("slack", team, channel, user), kind)

    def on_mention(self, body: dict[str, Any]) -> None:
        event = body["event"]
        thread = event.get("thread_ts") or event["ts"]
        self.ask(self.request(body, event["channel"], thread, event.get("text", ""), "mention"))

    def on_message(self, body: dict[str, Any]) -> None:
        event = body["event"]
        if event.get("bot_id") or event.get("subtype") not in (None, "file_share", "thread_broadcast"):
            return
        if self.bot_user and f"<@{self.bot_user}>" in event.get("text", ""):
            return  # the app_mention event answers it
        channel = event.get("channel", "")
        thread_ts = event.get("thread_ts") or event.get("ts")
        if event.get("channel_type") == "im":
            if event.get("files"):
                self.add_files(event, channel, thread_ts)
            else:
                self.ask(self.request(body, channel, thread_ts, event.get("text", ""), "message"))
        elif channel in self.config.auto_channels:
            self.auto_check(body, channel)

    def auto_check(self, body: dict[str, Any], channel: str) -> None:
        """Links shared in an editors' channel, checked quietly: a reaction when there is nothing to
        say (no stored original; a clean check), a reply only for findings or a failure."""
        event = body["event"]
        for url in self.decode(event.get("text", "")).links[:MAX_AUTO_LINKS]:
            if not self.links.first(canonical_url(url)):
                log.info("link checked within the last %.0f s; not again", self.config.recheck_seconds)
                continue
            r = self.request(body, channel, event.get("thread_ts") or event.get("ts"), f"<{url}>", "auto")
            r.posted.set()
            try:
                self.pool.submit(Job(partial(self.run_auto, r, url, event.get("ts"))))
            except Closed:
                log.info("automatic check dropped: the bot is stopping", extra=r.log_fields())

    def run_auto(self, r: _Request, url: str, message_ts: str | None) -> None:
        started = time.monotonic()
        try:
            report = self.checker.check_url(url)
        except Exception as exc:
            log.info("check failed: %s", type(exc).__name__, extra={**r.log_fields(), "status": "failed"})
            self.post(r.channel, r.thread_ts, apology(exc))
            return
        self.remember(r, report, time.monotonic() - started)
        if not report.sources:
            self.react(r.channel, message_ts, NO_ORIGINAL_REACTION)
        elif is_clean(report):
            self.react(r.channel, message_ts, CLEAN_REACTION)
            if r.channel in self.config.clean_reply_channels:
                n = len(report.sources)
                clean = f":white_check_mark: No problems found against {n} source{'s' * (n != 1)}."
                self.post(r.channel, r.thread_ts, clean)
        else:
            html, link = self.page(report)
            shown = report_blocks(report, feedback=r.check_id if self.history else None, page_url=link)
            r.ts = self.post(r.channel, r.thread_ts, shown.text, shown.blocks)
            if r.thread_ts:
                self.attach(r.channel, r.thread_ts, report, shown.hidden, None if link else html)

    def add_files(self, event: dict[str, Any], channel: str, thread_ts: str | None) -> None:
        if event.get("user") not in self.config.source_admins:
            self.post(channel, thread_ts, REFUSED)
            return
        lines = []
        for f in event.get("files", []):
            name = f.get("name") or "file"
            if not name.lower().endswith(SOURCE_SUFFIXES):
                lines.append(f":warning: {escape(name)}: send .txt, .md, .html or .jsonl files.")
                continue
            try:
                data = self.download(f)
                lines.append(_outcome_line(self.checker.add_file(name, data)))
            except Exception as exc:
                lines.append(f":warning: {escape(name)}: {escape(short(exc))}")
        self.post(channel, thread_ts, "\n".join(lines) or "No files to add.")

    def download(self, f: dict[str, Any]) -> bytes:
        url = f.get("url_private_download") or f.get("url_private")
        if not url:
            raise InputError("Slack gave no download link for the file")
        if int(f.get("size") or 0) > MAX_FILE_BYTES:
            raise InputError(f"the file is over {MAX_FILE_BYTES // 1_000_000} MB")
        headers = {"Authorization": f"Bearer {self.config.bot_token}"}
        with httpx.stream("GET", url, headers=headers, timeout=30, follow_redirects=True) as r:
            if r.status_code != 200:
                raise FetchError(f"Slack answered {r.status_code} to the file download")
            data = bytearray()
            for chunk in r.iter_bytes():
                data += chunk
                if len(data) > MAX_FILE_BYTES:
                    raise InputError(f"the file is over {MAX_FILE_BYTES // 1_000_000} MB")
        return bytes(data)

    def on_command(self, body: dict[str, Any]) -> None:
        text = (body.get("text") or "").strip()
        word = text.split(maxsplit=1)[0].lower() if text else ""
        if not text or word == "help":
            return  # answered by the ack
        url = body.get("response_url") or ""
        if word == "add":
            if body.get("user_id") not in self.config.source_admins:
                return  # refused by the ack
            links = self.decode(text[3:]).links
            if not links:
                self.respond(url, "Give the link of the source to add: `/factcheck add https://…`")
                return
            self.respond(url, "\n".join(_outcome_line(self.checker.add_url(u)) for u in links))
            return
        r = self.request(body, body["channel_id"], None, text, "command")
        r.response_url = url or None
        self.ask(r)

    def on_shortcut(self, body: dict[str, Any]) -> None:
        message = body.get("message", {})
        channel = body.get("channel", {}).get("id", "")
        thread = message.get("thread_ts") or message.get("ts")
        self.ask(self.request(body, channel, thread, message.get("text", ""), "shortcut"))

    def on_feedback(self, body: dict[str, Any]) -> None:
        """A click on "right" or "wrong" under a finding: stored once per user, acknowledged privately."""
        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id", "")
        verdict = action.get("action_id", "").removeprefix(FEEDBACK_ACTION)
        check_id, _, index = str(action.get("value", "")).partition(":")
        url = body.get("response_url")
        fields = {"user": user, "check_id": check_id, "kind": "feedback", "status": verdict}
        if self.history is None or not index.isdigit():
            return
        try:
            first = self.history.add_feedback(check_id, int(index), user, verdict)
        except FactDiffError as exc:
            log.info("feedback not stored: %s", exc, extra=fields)
            text = f":warning: {escape(short(exc))}"
        else:
            log.info("feedback stored" if first else "feedback repeated", extra=fields)
            text = THANKS[verdict] if first else ALREADY
        if url:
            self.respond(url, text)


STOPPING = ":warning: Sorry, the bot is restarting and could not check this in time; please ask again in a minute."
THANKS = {
    "right": ":+1: Thanks: recorded that this finding is right.",
    "wrong": ":+1: Thanks: recorded that this finding is wrong; it helps tune the checks.",
}
ALREADY = "You have already given your verdict on this finding."
NO_ORIGINAL_REACTION = "grey_question"
CLEAN_REACTION = "white_check_mark"


def _retry_after(exc: SlackApiError) -> float:
    headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
    value = headers.get("retry-after", "1")
    try:
        return float(value[0] if isinstance(value, list) else value)
    except ValueError:
        return 1.0


def short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def apology(exc: BaseException) -> str:
    if isinstance(exc, FactDiffError):
        return f":warning: Sorry, I couldn't check this: {escape(short(exc))}"
    log.exception("check failed", exc_info=exc)
    return ":warning: Sorry, something went wrong while checking this; the error was logged for the admins."


class _TokenFromClient(logging.Filter):
    """bolt also reads SLACK_BOT_TOKEN from the environment and warns that the client's wins:
    here they are the same token, so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_TokenFromClient())


def _ack_command(config: SlackConfig) -> Callable[..., None]:
    def ack_command(ack: Callable[..., Any], command: dict[str, Any]) -> None:
        text = (command.get("text") or "").strip()
        word = text.split(maxsplit=1)[0].lower() if text else ""
        if not text or word == "help":
            ack(text=HELP, response_type="ephemeral")
        elif word == "add" and command.get("user_id") not in config.source_admins:
            ack(text=REFUSED, response_type="ephemeral")
        elif word == "add":
            ack(text=":inbox_tray: Adding the source\u2026", response_type="ephemeral")
        else:
            ack()

    return ack_command


def build_bot(
    config: SlackConfig,
    checker: Checker,
    *,
    client: WebClient | None = None,
    history: History | None = None,
    pool: WorkPool | None = None,
    pages: ReportPages | None = None,
) -> tuple[App, _Bot]:
    """The bolt app and the bot behind it. ``client`` defaults to a WebClient on ``config.api_url``
    (Slack's by default) with the SDK's retry handlers for rate limits and dropped connections;
    with ``pages`` (and ``config.public_url``) replies link to report pages kept there."""
    web = client or web_client(config.bot_token, config.api_url, config.max_retries)
    progress = web_client(config.bot_token, web.base_url, config.max_retries, rate_limits=False)
    try:
        bot_user = web.auth_test().get("user_id")
    except SlackApiError as exc:
        raise ConfigError(f"Slack refused the bot token: {exc.response.get('error')}") from exc
    except OSError as exc:  # URLError, timeouts, refused connections
        raise FetchError(f"cannot reach the Slack Web API at {web.base_url}: {exc}") from exc
    app = App(
        client=web,
        signing_secret=config.signing_secret or "socket-mode-has-no-signatures",
        request_verification_enabled=config.signing_secret is not None,
        token_verification_enabled=False,  # checked just above, with a clear error
        process_before_response=False,
    )
    bot = _Bot(config, checker, web, progress_client=progress, history=history, pool=pool, pages=pages)
    bot.bot_user = bot_user

    @app.middleware
    def answer_once(body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 (bolt's name)
        # Slack retries an event with the same event_id; a replayed command or click has the same trigger_id
        key = body.get("event_id") or body.get("trigger_id")
        if key and not bot.requests.first(str(key)):
            log.info("request repeated (Slack retry or replay); already answered", extra={"kind": "repeat"})
            return BoltResponse(status=200, body="")
        return next()

    def ack_now(ack: Callable[..., Any]) -> None:
        ack()

    app.event("app_mention")(ack=ack_now, lazy=[lambda body: bot.on_mention(body)])
    app.event("message")(ack=ack_now, lazy=[lambda body: bot.on_message(body)])
    app.command(COMMAND)(ack=_ack_command(config), lazy=[lambda body: bot.on_command(body)])
    app.shortcut(SHORTCUT)(ack=ack_now, lazy=[lambda body: bot.on_shortcut(body)])
    app.action(re.compile(f"^{FEEDBACK_ACTION}(right|wrong)$"))(ack=ack_now, lazy=[lambda body: bot.on_feedback(body)])

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request failed: %s", type(error).__name__, exc_info=error)

    return app, bot


def build_app(config: SlackConfig, checker: Checker, *, client: WebClient | None = None, **kw: Any) -> App:
    return build_bot(config, checker, client=client, **kw)[0]
