"""An HTTP server on 127.0.0.1 that plays the Slack Web API for tests, and records every call.

Answers auth.test, chat.postMessage, chat.update, users.info, the three steps of a file
upload (files.getUploadURLExternal, the upload URL, files.completeUploadExternal), response_url
posts, and serves files for download (``files``: path -> bytes, behind the bot token). Put a
Slack error name in ``fail[method]`` to make that method answer ``{"ok": false, "error": ...}``.

A busy workspace: ``limits[method] = n`` lets that method through at most ``n`` times a second
and answers the rest HTTP 429 with ``Retry-After: 1``, as Slack does; refused calls are
recorded in ``limited``, not in ``calls``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.servers.loopback import LoopbackHTTPServer, LoopbackServer

BOT_USER = "UBOT"
TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
USERS = {"U1": "Ana Reporter", "UADMIN": "Sam Editor"}


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        slack = self.server.owner
        path = urlparse(self.path).path
        if path in slack.files and self.headers.get("Authorization") == f"Bearer {TOKEN}":
            self._raw(200, slack.files[path], "application/octet-stream")
        else:
            self._raw(404, b"not found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        slack = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = urlparse(self.path).path
        if path.startswith("/upload/"):
            slack.record("upload", {"path": path, "bytes": raw})
            self._raw(200, b"OK", "text/plain")
            return
        if path.startswith("/respond/"):
            slack.record("response_url", json.loads(raw or b"{}"))
            self._raw(200, b"ok", "text/plain")
            return
        method = path.rsplit("/", 1)[-1]
        kind = self.headers.get("Content-Type", "")
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        args = json.loads(raw or b"{}") if "json" in kind else form
        for key in ("blocks", "files"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        if slack.rate_limited(method):
            self._raw(429, json.dumps({"ok": False, "error": "ratelimited"}).encode(), "application/json", retry=1)
            return
        token = APP_TOKEN if method == "apps.connections.open" else TOKEN
        with slack.serial:  # a message's ts follows the order calls are recorded in, as tests assume
            slack.record(method, args)
            if self.headers.get("Authorization") != f"Bearer {token}":
                payload = {"ok": False, "error": "invalid_auth"}
            elif method in slack.fail:
                payload = {"ok": False, "error": slack.fail[method]}
            else:
                payload = slack.answer(method, args)
        self._json(payload)

    def _json(self, payload: dict[str, Any]) -> None:
        self._raw(200, json.dumps(payload).encode(), "application/json")

    def _raw(self, status: int, data: bytes, kind: str, retry: int | None = None) -> None:
        self.send_response(status)
        if retry is not None:
            self.send_header("Retry-After", str(retry))
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeSlack(LoopbackServer):
    """Context manager: ``WebClient(token=TOKEN, base_url=slack.api_url)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.times: list[float] = []
        self.fail: dict[str, str] = {}
        self.files: dict[str, bytes] = {}
        self.socket_url: str | None = None  # apps.connections.open hands this out (Socket Mode)
        self.limits: dict[str, int] = {}  # method -> calls allowed per second
        self.limited: list[str] = []  # methods answered 429
        self._window: dict[str, tuple[int, int]] = {}  # method -> (second, calls in it)
        self._ts = itertools.count(1)
        self._lock = threading.Condition()
        self.serial = threading.Lock()
        self._listen(_Handler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def record(self, method: str, args: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append((method, args))
            self.times.append(time.monotonic())
            self._lock.notify_all()

    def timed(self, method: str) -> list[tuple[float, dict[str, Any]]]:
        """(monotonic time received, args) of each call to ``method``."""
        with self._lock:
            return [(t, a) for (m, a), t in zip(self.calls, self.times, strict=True) if m == method]

    def rate_limited(self, method: str) -> bool:
        if method not in self.limits:
            return False
        with self._lock:
            second = int(time.monotonic())
            start, n = self._window.get(method, (second, 0))
            n = n + 1 if start == second else 1
            self._window[method] = (second, n)
            if n > self.limits[method]:
                self.limited.append(method)
                return True
            return False

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "not_allowed"}
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T1", "user": "factdiff"}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text")}}
        if method == "users.info":
            uid = args.get("user", "")
            if uid not in USERS:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": uid, "name": uid.lower(), "profile": {"display_name": USERS[uid]}}}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"{self.base}/upload/F1", "file_id": "F1"}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": "F1", "title": "report"}]}
        return {"ok": True}

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [a for m, a in self.calls if m == method]

    def wait_for(self, condition: Callable[[FakeSlack], bool], timeout: float = 60.0) -> None:
        """Block until ``condition(self)`` holds (checked at every call), or fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting; calls so far: {[m for m, _ in self.calls]}")
                self._lock.wait(min(left, 0.5))
