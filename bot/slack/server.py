"""Running the app: Socket Mode (no public URL) or HTTP mode behind a threaded WSGI server."""

from __future__ import annotations

import logging
import socketserver
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"  # bolt's default: Events API, slash commands and interactivity


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)


def http_server(app: App, host: str, port: int) -> ThreadingWSGIServer:
    """A threaded HTTP server for the app's requests at /slack/events (signed, verified by bolt)."""
    handler = SlackRequestHandler(app, path=EVENTS_PATH)
    server = make_server(host, port, handler, server_class=ThreadingWSGIServer, handler_class=_QuietHandler)
    return server  # type: ignore[return-value]


def socket_mode(app: App, app_token: str) -> Any:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(app, app_token)
