"""The shared part of the test servers: a threaded HTTP server on 127.0.0.1 (port 0) that
runs while its owner is used as a context manager. Handlers reach the owner as ``server.owner``."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: Any


class LoopbackServer:
    def _listen(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = LoopbackHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
