"""Running the app: Socket Mode (no public URL) or HTTP mode behind a threaded WSGI server."""

from __future__ import annotations

import logging
import socketserver
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.slack.pages import ReportPages, respond

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"  # bolt's default: Events API, slash commands and interactivity


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)


def http_server(app: App, host: str, port: int, pages: ReportPages | None = None) -> ThreadingWSGIServer:
    """A threaded HTTP server for the app's requests at /slack/events (signed, verified by bolt),
    and the report pages at /reports/<id> when ``pages`` is given."""
    handler: Any = SlackRequestHandler(app, path=EVENTS_PATH)
    if pages is not None:
        handler = _with_pages(handler, pages)
    server = make_server(host, port, handler, server_class=ThreadingWSGIServer, handler_class=_QuietHandler)
    return server  # type: ignore[return-value]


def _with_pages(slack: Any, pages: ReportPages) -> Any:
    """WSGI: /reports/<id> from ``pages`` (see bot.slack.pages.respond), everything else to ``slack``."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        answer = respond(pages, environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""))
        if answer is None:
            return slack(environ, start_response)
        start_response(f"{answer.status} {HTTPStatus(answer.status).phrase}", answer.headers)
        return [answer.body]

    return app


def socket_mode(app: App, app_token: str) -> Any:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(app, app_token)
