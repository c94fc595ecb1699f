"""The slack-bolt app: checks in threads, automatic checks in editors' channels, sources from admins.

Every Slack request is acknowledged at once (bolt's ``ack``); the work runs in lazy listeners
on bolt's thread pool, so several checks proceed side by side. A "checking…" message is posted
in the thread and updated in place (``chat.update``) as the check progresses; any failure ends
in a friendly message there, never silence. An event Slack retries (``X-Slack-Retry-Num``, the
same ``event_id``) is answered once.
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
from pathlib import Path
from typing import Any

import httpx
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import escape, report_blocks
from bot.slack.pages import ReportPages
from bot.slack.text import Decoded, decode
from checker.html import original_texts, render_html
from checker.models import Report
from checker.render import is_clean, render_markdown
from retrieval.errors import ConfigError, FactDiffError, FetchError, InputError
from retrieval.ingest import IngestRequest, fetch_article, ingest, iter_items
from retrieval.models import IngestOutcome

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
    public_url: str | None = None  # HTTP mode: report pages are linked at <public_url>/reports/<id>


class Checker:
    """The work behind every Slack request, with no Slack in it."""

    def __init__(self, store: Any, engine: Any, fetch_policy: Any, http_client: Any = None) -> None:
        self.store = store
        self.engine = engine
        self.fetch_policy = fetch_policy
        self.http_client = http_client

    def check_text(self, text: str) -> Report:
        return self.engine.check(text)  # type: ignore[no-any-return]

    def check(self, message: Decoded) -> Report:
        """A shared link is fetched and checked; anything else is checked as a pasted story."""
        return self.check_url(message.links[0]) if message.is_link_request else self.check_text(message.text)

    def check_url(self, url: str) -> Report:
        draft, final_url = fetch_article(url, self.fetch_policy, self.http_client)
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
class _Bot:
    config: SlackConfig
    checker: Checker
    client: WebClient
    bot_user: str | None = None
    events: _Seen = field(default_factory=lambda: _Seen(3600))
    links: _Seen = field(init=False)
    names: dict[str, str | None] = field(default_factory=dict)
    pages: ReportPages | None = None  # where report pages are kept when the bot serves them

    def __post_init__(self) -> None:
        self.links = _Seen(self.config.recheck_seconds)

    # ---- helpers ----------------------------------------------------------------------

    def user_name(self, user_id: str) -> str | None:
        if user_id not in self.names:
            try:
                user = self.client.users_info(user=user_id)["user"]
                profile = user.get("profile", {})
                self.names[user_id] = profile.get("display_name") or profile.get("real_name") or user.get("name")
            except SlackApiError as exc:
                log.info("users.info %s failed: %s", user_id, exc.response.get("error"))
                self.names[user_id] = None
        return self.names[user_id]

    def decode(self, text: str) -> Decoded:
        return decode(text or "", self.user_name, drop_user=self.bot_user)

    def post(self, channel: str, thread_ts: str | None, text: str) -> str | None:
        response = self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
        return response.get("ts")  # type: ignore[no-any-return]

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks or [])

    def deliver(self, channel: str, ts: str, thread_ts: str | None, report: Report) -> None:
        """The report in place of the "checking…" message, with its side-by-side page: linked when
        the bot serves pages, else attached; the full Markdown report attached too when cut."""
        page = render_html(report, original_texts(self.checker.store, report)) if report.sources else None
        link = None
        if page is not None and self.pages is not None and self.config.public_url:
            link = self.pages.url(self.config.public_url, self.pages.put(page))
        shown = report_blocks(report, page_url=link)
        self.update(channel, ts, shown.text, shown.blocks)
        files = []
        if shown.hidden:
            files.append(
                {
                    "content": render_markdown(report),
                    "filename": "factdiff-report.md",
                    "title": "factdiff: the full report",
                }
            )
        if page is not None and link is None:
            files.append({"content": page, "filename": "factdiff-report.html", "title": "factdiff: side by side"})
        if files:
            what = f"The full report ({shown.hidden} more findings)" if shown.hidden else "The report"
            side = ", and the story beside its originals (open the .html file in a browser)" if link is None else ""
            self.client.files_upload_v2(
                channel=channel, thread_ts=thread_ts or ts, file_uploads=files, initial_comment=f"{what}{side}."
            )

    def run_check(self, channel: str, thread_ts: str | None, decoded: Decoded) -> None:
        """Post "checking…", check the story or the link, and update the message with the answer."""
        if not decoded.text.strip():
            self.post(channel, thread_ts, EMPTY)
            return
        ts = self.post(channel, thread_ts, ":hourglass_flowing_sand: Checking against the stored originals\u2026")
        if ts is None:
            return
        try:
            if decoded.is_link_request:
                url = decoded.links[0]
                self.update(channel, ts, f":globe_with_meridians: Fetching {url} \u2026")
                report = self.checker.check_url(url)
            else:
                self.update(channel, ts, ":mag: Finding the originals and comparing, claim by claim\u2026")
                report = self.checker.check_text(decoded.text)
            self.deliver(channel, ts, thread_ts, report)
        except Exception as exc:  # the thread always gets an answer
            self.update(channel, ts, apology(exc))

    # ---- listeners --------------------------------------------------------------------

    def on_mention(self, event: dict[str, Any]) -> None:
        self.run_check(event["channel"], event.get("thread_ts") or event["ts"], self.decode(event.get("text", "")))

    def on_message(self, event: dict[str, Any]) -> None:
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
                self.run_check(channel, thread_ts, self.decode(event.get("text", "")))
        elif channel in self.config.auto_channels:
            self.auto_check(event, channel, thread_ts)

    def auto_check(self, event: dict[str, Any], channel: str, thread_ts: str | None) -> None:
        decoded = self.decode(event.get("text", ""))
        for url in decoded.links[:MAX_AUTO_LINKS]:
            if not self.links.first(url):
                log.info("%s was checked within the last %.0f s; not again", url, self.config.recheck_seconds)
                continue
            ts = self.post(channel, thread_ts, f":hourglass_flowing_sand: Checking {url} \u2026")
            if ts is None:
                continue
            try:
                report = self.checker.check_url(url)
                if report.sources and is_clean(report):
                    n = len(report.sources)
                    clean = f":white_check_mark: No problems found against {n} source{'s' * (n != 1)}."
                    self.update(channel, ts, clean)
                else:
                    self.deliver(channel, ts, thread_ts, report)
            except Exception as exc:
                self.update(channel, ts, apology(exc))

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

    def on_command(self, command: dict[str, Any], respond: Callable[..., Any]) -> None:
        text = (command.get("text") or "").strip()
        word = text.split(maxsplit=1)[0].lower() if text else ""
        if not text or word == "help":
            return  # answered by the ack
        if word == "add":
            if command.get("user_id") not in self.config.source_admins:
                return  # refused by the ack
            links = self.decode(text[3:]).links
            if not links:
                usage = "Give the link of the source to add: `/factcheck add https://…`"
                respond(text=usage, response_type="ephemeral")
                return
            respond(text="\n".join(_outcome_line(self.checker.add_url(u)) for u in links), response_type="ephemeral")
            return
        channel = command["channel_id"]
        try:
            self.run_check(channel, None, self.decode(text))
        except SlackApiError as exc:  # not in the channel: answer the user privately
            log.info("cannot post in %s (%s); answering privately", channel, exc.response.get("error"))
            try:
                report = self.checker.check(self.decode(text))
                shown = report_blocks(report)
                respond(text=shown.text, blocks=shown.blocks, response_type="ephemeral")
            except Exception as inner:
                respond(text=apology(inner), response_type="ephemeral")

    def on_shortcut(self, shortcut: dict[str, Any]) -> None:
        message = shortcut.get("message", {})
        channel = shortcut.get("channel", {}).get("id", "")
        self.run_check(channel, message.get("thread_ts") or message.get("ts"), self.decode(message.get("text", "")))


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


def build_app(
    config: SlackConfig, checker: Checker, *, client: WebClient | None = None, pages: ReportPages | None = None
) -> App:
    """The bolt app. ``client`` defaults to a WebClient on ``config.api_url`` (Slack's by default);
    with ``pages`` (and ``config.public_url``) replies link to report pages kept there."""
    web = client or WebClient(token=config.bot_token, base_url=config.api_url or WebClient.BASE_URL)
    app = App(
        client=web,
        signing_secret=config.signing_secret or "socket-mode-has-no-signatures",
        request_verification_enabled=config.signing_secret is not None,
        process_before_response=False,
    )
    try:
        bot_user = web.auth_test().get("user_id")
    except SlackApiError as exc:
        raise ConfigError(f"Slack refused the bot token: {exc.response.get('error')}") from exc
    except OSError as exc:  # URLError, timeouts, refused connections
        raise FetchError(f"cannot reach the Slack Web API at {web.base_url}: {exc}") from exc
    bot = _Bot(config, checker, web, bot_user, pages=pages)

    @app.middleware
    def answer_once(body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 (bolt's name)
        event_id = body.get("event_id")
        if event_id and not bot.events.first(event_id):
            log.info("event %s retried by Slack; already answered", event_id)
            return BoltResponse(status=200, body="")
        return next()

    def ack_now(ack: Callable[..., Any]) -> None:
        ack()

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

    app.event("app_mention")(ack=ack_now, lazy=[lambda event: bot.on_mention(event)])
    app.event("message")(ack=ack_now, lazy=[lambda event: bot.on_message(event)])
    app.command(COMMAND)(ack=ack_command, lazy=[lambda command, respond: bot.on_command(command, respond)])
    app.shortcut(SHORTCUT)(ack=ack_now, lazy=[lambda shortcut: bot.on_shortcut(shortcut)])

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request failed: %s", error, exc_info=error)

    return app
