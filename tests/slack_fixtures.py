"""The Slack bot on a real server, driven the way Slack drives it: signed requests to its HTTP
endpoint, and a local server playing the Slack Web API that records every call the bot makes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.demo import demo_files
from bot.history import History
from bot.slack.app import Checker, SlackConfig, build_app
from bot.slack.pages import ReportPages
from bot.slack.server import Readiness, SlackASGI, bind, serve_in_thread, uvicorn_server
from checker.engine import DiffEngine
from retrieval.embeddings import Embedder
from retrieval.fetch import FetchPolicy
from retrieval.search import OriginalFinder
from retrieval.store import SourceStore
from tests.conftest import free_port
from tests.servers.slack_api import BOT_USER, TOKEN, FakeSlack

SECRET = "test-signing-secret"
DESK = "CDESK"
LOUD = "CLOUD"  # a watched channel that wants a line for a clean check too


class Bot:
    """The app on a real HTTP server on 127.0.0.1, and helpers that sign requests like Slack."""

    def __init__(self, url: str, slack: FakeSlack, store: SourceStore) -> None:
        self.url = url
        self.slack = slack
        self.store = store
        self._ids = iter(range(1, 10_000))

    def post(
        self,
        body: str,
        content_type: str,
        *,
        secret: str = SECRET,
        age: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> Any:
        timestamp = str(int(time.time() - age))
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        assert signature is not None
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
            **(headers or {}),
        }
        return httpx.post(self.url, content=body.encode(), headers=all_headers, timeout=10)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, **headers: str) -> Any:
        body = {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": event_id or f"Ev{next(self._ids)}",
            "event_time": int(time.time()),
            "event": event,
        }
        return self.post(json.dumps(body), "application/json", headers=headers)

    def mentions_at_once(self, texts: list[str], threads: list[str]) -> None:
        """One mention per thread, all sent at the same time (a breaking-news hour)."""
        senders = [
            threading.Thread(target=self.mention, args=(text,), kwargs={"ts": ts})
            for text, ts in zip(texts, threads, strict=True)
        ]
        for t in senders:
            t.start()
        for t in senders:
            t.join()

    def mention(self, text: str, ts: str = "100.000001", **kw: Any) -> Any:
        event = {"type": "app_mention", "user": "U1", "channel": "CNEWS", "ts": ts, "text": f"<@{BOT_USER}> {text}"}
        return self.event(event, **kw)

    def message(self, text: str, channel: str, ts: str, **fields: Any) -> Any:
        event = {"type": "message", "user": "U1", "channel": channel, "ts": ts, "text": text, **fields}
        return self.event(event)

    def command(self, text: str, user: str = "U1", channel: str = "CNEWS") -> Any:
        form = {
            "command": "/factcheck",
            "text": text,
            "user_id": user,
            "channel_id": channel,
            "team_id": "T1",
            "response_url": f"{self.slack.base}/respond/1",
            "trigger_id": f"{next(self._ids)}.trigger",
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    def shortcut(self, message: dict[str, Any], channel: str = "CNEWS") -> Any:
        payload = {
            "type": "message_action",
            "callback_id": "factcheck_message",
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "channel": {"id": channel},
            "message": message,
            "response_url": f"{self.slack.base}/respond/2",
            "trigger_id": f"{next(self._ids)}.trigger",
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def click(self, button: dict[str, Any], user: str = "U1") -> Any:
        """A click on a Block Kit button, as Slack posts it (interactivity, signed)."""
        payload = {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": user},
            "channel": {"id": "CNEWS"},
            "container": {"type": "message"},
            "actions": [
                {
                    "type": "button",
                    "block_id": "b1",
                    "action_id": button["action_id"],
                    "value": button["value"],
                    "action_ts": str(time.time()),
                }
            ],
            "response_url": f"{self.slack.base}/respond/{next(self._ids)}",
            "trigger_id": f"{next(self._ids)}.trigger",
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def answers(self, thread: str) -> list[dict[str, Any]]:
        """Final chat.update calls (with blocks, or an apology) for messages posted in ``thread``."""
        posted = {self._ts(a) for a in self.slack.of("chat.postMessage") if a.get("thread_ts") == thread}
        return [a for a in self.slack.of("chat.update") if a["ts"] in posted and is_final(a)]

    def _ts(self, args: dict[str, Any]) -> str:
        posts = self.slack.of("chat.postMessage")
        return f"1700000000.{posts.index(args) + 1:06d}"

    def wait_answer(self, thread: str, n: int = 1) -> list[dict[str, Any]]:
        self.slack.wait_for(lambda s: len(self.answers(thread)) >= n)
        return self.answers(thread)


def is_final(update: dict[str, Any]) -> bool:
    return bool(update.get("blocks")) or update.get("text", "").startswith((":warning:", ":white_check_mark:"))


def buttons(update: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in update.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def block_text(update: dict[str, Any]) -> str:
    out = []
    for b in update.get("blocks") or []:
        if "text" in b:
            out.append(b["text"]["text"])
        out += [e["text"] for e in b.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(out)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


READ_TIMEOUT = 2.0  # the endpoint's read timeout in these tests


@pytest.fixture
def make_bot(demo_store: SourceStore, minilm: Embedder, slack: FakeSlack) -> Iterator[Callable[..., Bot]]:
    """Start the app (on uvicorn, behind its guard) with config overrides and an optional history;
    with ``pages`` it keeps report pages there, and serves and links them at its own address."""
    running = []

    def make(history: History | None = None, pages: ReportPages | None = None, **overrides: Any) -> Bot:
        sock = bind("127.0.0.1", 0)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        engine = DiffEngine(OriginalFinder(demo_store), align_embedder=minilm)
        checker = Checker(demo_store, engine, FetchPolicy(allow_private=True))
        settings: dict[str, Any] = {
            "bot_token": TOKEN,
            "signing_secret": SECRET,
            "api_url": slack.api_url,
            "auto_channels": frozenset({DESK, LOUD}),
            "clean_reply_channels": frozenset({LOUD}),
            "source_admins": frozenset({"UADMIN"}),
            "recheck_seconds": 3600,
            "public_url": base if pages is not None else None,
        }
        config = SlackConfig(**(settings | overrides))
        readiness = Readiness()
        readiness.warmed.set()
        app = build_app(config, checker, history=history, pages=pages)
        asgi = SlackASGI(app, readiness, signing_secret=SECRET, read_timeout=READ_TIMEOUT, pages=pages)
        server = uvicorn_server(asgi, read_timeout=READ_TIMEOUT, shutdown_timeout=5)
        running.append((server, serve_in_thread(server, sock)))
        return Bot(f"{base}/slack/events", slack, demo_store)

    yield make
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()


@pytest.fixture
def story() -> str:
    return demo_files()[1].read_text(encoding="utf-8")


def slack_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Running:
    """The real ``factdiff slack`` process, its stdout (log lines) and stderr collected as it runs."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.base = f"http://127.0.0.1:{port}"
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [
            threading.Thread(target=lambda: self.stdout.extend(proc.stdout), daemon=True),  # type: ignore[arg-type]
            threading.Thread(target=lambda: self.stderr.extend(proc.stderr), daemon=True),  # type: ignore[arg-type]
        ]
        for r in self._readers:
            r.start()

    def get(self, path: str) -> int:
        try:
            return httpx.get(self.base + path, timeout=5).status_code
        except httpx.HTTPError:
            return 0

    def wait_status(self, path: str, status: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while self.get(path) != status:
            assert self.proc.poll() is None, "".join(self.stderr)
            assert time.monotonic() < deadline, f"{path} never answered {status}"
            time.sleep(0.2)

    def stop(self, timeout: float = 180) -> int:
        """SIGTERM, and the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        for r in self._readers:
            r.join(5)
        return code


def start_slack(env: dict[str, str], slack: FakeSlack, cwd: Path, port: int | None = None) -> Running:
    """``factdiff slack`` in HTTP mode on ``port`` (default: a free one), signed with SECRET, talking to ``slack``."""
    port = port or free_port()
    full_env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url} | env
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "slack", "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Running(proc, port)


def most_at_once(slack: FakeSlack, threads: list[str]) -> int:
    """The most checks running at the same time, seen from Slack: a check runs from the message
    saying what it does ("comparing…", posted or updated from "queued") to its report."""
    posts = slack.timed("chat.postMessage")
    ts_of = {f"1700000000.{n + 1:06d}": a["thread_ts"] for n, (_, a) in enumerate(posts) if a.get("thread_ts")}
    spans: dict[str, list[float]] = {}
    for t, a in posts:
        if a.get("thread_ts") in threads and "comparing" in a["text"]:
            spans[a["thread_ts"]] = [t, float("inf")]
    for t, u in slack.timed("chat.update"):
        thread = ts_of.get(u["ts"])
        if thread in threads and not is_final(u) and "comparing" in u["text"] and thread not in spans:
            spans[thread] = [t, float("inf")]
        elif thread in spans and is_final(u):
            spans[thread][1] = t
    events = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak
