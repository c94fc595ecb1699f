"""Serving the app: HTTP mode through bolt's ASGI adapter on uvicorn, or Socket Mode with a small
health server beside it. Both answer ``GET /healthz`` (the process is up) and ``GET /readyz``
(models loaded, lexical index built, store reachable). HTTP mode with report pages (see
:mod:`bot.slack.pages`) also answers ``GET``/``HEAD /reports/<id>``: plain reads with no body,
answered beside the health endpoints, before (and without) the Slack signature guard.

Before bolt sees a request, the endpoint checks what can be checked without trusting it: a
``Content-Length`` within :data:`MAX_BODY_BYTES`, fresh Slack signature headers, the whole body
read within the read timeout, the signature over those bytes, then that the body parses. A
forged, stale, oversized, stalled or malformed request is answered 401/413/408/400 with one
log line, and never reaches a parser, a listener or a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.slack.pages import PREFIX as PAGES_PREFIX
from bot.slack.pages import ReportPages, Response, respond

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"  # bolt's default: Events API, slash commands and interactivity
MAX_BODY_BYTES = 1_000_000  # Slack's requests are small: a 40,000-character message, JSON-escaped, is ~250 kB
MAX_AGE_SECONDS = 300  # Slack's own rule for X-Slack-Request-Timestamp
MAX_CONNECTIONS = 900  # beyond this uvicorn answers 503; stalled ones count until the read timeout closes them

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Readiness:
    """What ``/readyz`` reports: warmed up (models, index), and the store answering now."""

    def __init__(self, store_ok: Callable[[], None] = lambda: None) -> None:
        self.warmed = threading.Event()
        self.store_ok = store_ok
        self.problem = "warming up: loading the models and building the lexical index"

    def check(self) -> tuple[bool, str]:
        if not self.warmed.is_set():
            return False, self.problem
        try:
            self.store_ok()
        except Exception as exc:
            return False, f"store unreachable: {type(exc).__name__}"
        return True, "ready"


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _respond(send: Send, status: int, payload: dict[str, Any], *, close: bool = False) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # a refused request's unread body makes the connection unusable
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_page(send: Send, answer: Response, *, close: bool = False) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    if close:  # a request with a body (refused: pages are read-only) leaves it unread
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


class SlackASGI(SlackRequestHandler):
    """bolt's ASGI adapter behind a guard, with health endpoints and, given ``pages``, the report
    pages. Without an app it serves only the health endpoints (Socket Mode)."""

    def __init__(
        self,
        app: App | None,
        readiness: Readiness,
        *,
        signing_secret: str | None = None,
        read_timeout: float = 10.0,
        max_body: int = MAX_BODY_BYTES,
        pages: ReportPages | None = None,
    ) -> None:
        if app is not None:
            super().__init__(app, path=EVENTS_PATH)
        self.slack = app
        self.readiness = readiness
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.read_timeout = read_timeout
        self.max_body = max_body
        self.pages = pages

    async def dispatch(self, request: AsgiHttpRequest) -> BoltResponse:
        """bolt's dispatch (ack listeners) in a thread: the event loop keeps serving meanwhile."""
        assert self.slack is not None
        bolt_request = BoltRequest(
            body=await request.get_raw_body(), query=request.query_string, headers=request.get_headers()
        )
        return await asyncio.to_thread(self.slack.dispatch, bolt_request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] == "lifespan":
            await self._handle_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "GET" and path == "/healthz":
            await _respond(send, 200, {"status": "ok"})
        elif method == "GET" and path == "/readyz":
            ready, why = await asyncio.to_thread(self.readiness.check)
            await _respond(send, 200 if ready else 503, {"status": "ready" if ready else "not ready", "detail": why})
        elif self.pages is not None and path.startswith(PAGES_PREFIX):
            answer = await asyncio.to_thread(respond, self.pages, method, path)
            assert answer is not None  # respond answers every path under the prefix
            await _send_page(send, answer, close=method not in ("GET", "HEAD"))
        elif method == "POST" and path == EVENTS_PATH and self.slack is not None:
            try:
                body = await self._verified_body(scope, receive)
            except _Refused as refused:
                log.warning("refused a Slack request: %s", refused.reason, extra={"status": refused.status})
                await _respond(send, refused.status, {"error": refused.reason}, close=True)
                return
            await super().__call__(scope, _replay(body), send)  # type: ignore[arg-type]
        else:
            await _respond(send, 404, {"error": "not found"})

    async def _verified_body(self, scope: Scope, receive: Receive) -> bytes:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length", "")
        if not length.isdigit():
            raise _Refused(411, "no Content-Length")
        if int(length) > self.max_body:
            raise _Refused(413, f"body of {int(length):,} bytes is over the {self.max_body:,}-byte limit")
        timestamp, signature = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
        if not timestamp.isdigit() or not signature:
            raise _Refused(401, "no Slack signature")
        if abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
            raise _Refused(401, "stale Slack signature timestamp")
        body = await self._read(receive, int(length))
        if self.verifier is not None and not self.verifier.is_valid(body, timestamp, signature):
            raise _Refused(401, "invalid Slack signature")
        _check_parses(body, headers.get("content-type", ""))
        return body

    async def _read(self, receive: Receive, length: int) -> bytes:
        deadline = time.monotonic() + self.read_timeout
        body = bytearray()
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise _Refused(408, f"body not received within {self.read_timeout:g} s") from None
            if message["type"] != "http.request":
                raise _Refused(400, "client went away")
            body += message.get("body", b"")
            if len(body) > length:
                raise _Refused(413, "body longer than its Content-Length")
            if not message.get("more_body", False):
                return bytes(body)


def _check_parses(body: bytes, content_type: str) -> None:
    """A signed body must still be what Slack sends: JSON, or a form (with a JSON ``payload``)."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            if not isinstance(json.loads(text), dict):
                raise ValueError("not an object")
        elif content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(text, strict_parsing=bool(text), max_num_fields=100)
            if "payload" in form and not isinstance(json.loads(form["payload"][0]), dict):
                raise ValueError("payload is not an object")
        else:
            raise ValueError(f"unexpected content type {content_type[:60]!r}")
    except ValueError as exc:  # UnicodeDecodeError and json.JSONDecodeError are ValueErrors
        raise _Refused(400, f"malformed body: {type(exc).__name__}") from None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # like a server: nothing more until disconnect
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _protocol(read_timeout: float) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol with a deadline for a request's headers: uvicorn waits for
    them forever, so a client that opens a connection and stalls would hold it."""

    class HeaderDeadline(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def _arm(self) -> None:
            self.loop.call_later(read_timeout, self._stalled, self.cycle)

        def _stalled(self, cycle: Any) -> None:
            waiting = self.cycle is cycle and (cycle is None or cycle.response_complete)
            if waiting and not self.transport.is_closing():
                log.warning("closed a connection that sent no request within %g s", read_timeout)
                self.transport.close()

    return HeaderDeadline


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound now (port 0: any free port) so the port is known, and listening
    so that requests sent as soon as the bot says so wait for it rather than being refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections wait in the backlog until the server accepts them
    sock.set_inheritable(True)
    return sock


def uvicorn_server(asgi: SlackASGI, *, read_timeout: float, shutdown_timeout: float) -> uvicorn.Server:
    config = uvicorn.Config(
        asgi,  # type: ignore[arg-type]
        http=_protocol(read_timeout),  # type: ignore[arg-type]
        lifespan="off",
        log_config=None,  # our logging: text, or JSON lines
        access_log=False,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=max(1, int(shutdown_timeout)),
    )
    return uvicorn.Server(config)


def serve_in_thread(server: uvicorn.Server, sock: socket.socket) -> threading.Thread:
    """Run ``server`` on ``sock`` in a daemon thread (tests; Socket Mode's health server is run in
    the main thread instead, so that it handles SIGTERM)."""
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.01)
    return thread


def socket_mode(app: App, app_token: str) -> Any:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(app, app_token)
