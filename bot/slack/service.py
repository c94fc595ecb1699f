"""``factdiff slack`` as a service: start, warm up, serve, and stop without losing an answer.

The server answers ``/healthz`` at once; the models are loaded and the lexical index built in
the background, and the check workers start (and ``/readyz`` says ready) only then — requests
that arrive meanwhile are acknowledged and queued. On SIGTERM (or Ctrl-C) the server stops
taking requests, the checks in flight and in the queue finish (up to the shutdown timeout) and
post their answers, any check still waiting then gets a "please ask again" in its thread, and
the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.slack.server import SlackASGI, uvicorn_server
from bot.slack.work import WorkPool

log = logging.getLogger(__name__)


@dataclass
class Service:
    asgi: SlackASGI
    pool: WorkPool
    warm: Callable[[], None]
    shutdown_timeout: float
    read_timeout: float

    def warm_up(self) -> None:
        """Load models and build the index, then start the workers and say ready."""
        started = time.monotonic()
        try:
            self.warm()
        except Exception as exc:  # not ready: /readyz says why, the checks will report errors themselves
            log.error("warm-up failed: %s", exc, extra={"error": type(exc).__name__})
            self.asgi.readiness.problem = f"warm-up failed: {type(exc).__name__}"
            return
        finally:
            self.pool.start()
        self.asgi.readiness.warmed.set()
        log.info("ready", extra={"duration_s": round(time.monotonic() - started, 3), "workers": self.pool.workers})

    def serve(
        self,
        sock: socket.socket,
        before_serving: Callable[[], Any] = lambda: None,
        stop_intake: Callable[[], Any] = lambda: None,
    ) -> int:
        """Serve on ``sock`` until SIGTERM/SIGINT, then drain the checks. Returns the exit code."""
        server = uvicorn_server(self.asgi, read_timeout=self.read_timeout, shutdown_timeout=self.shutdown_timeout)
        if threading.current_thread() is threading.main_thread():
            # uvicorn takes SIGTERM/SIGINT while it serves, then restores these handlers and raises the
            # signal again: ours lets the process go on to drain the checks instead of dying there
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._already_stopping)
        threading.Thread(target=self.warm_up, name="factdiff-warm-up", daemon=True).start()
        before_serving()
        server.run(sockets=[sock])  # uvicorn handles SIGTERM and SIGINT: stops accepting, finishes requests
        stop_intake()
        return self.drain()

    def _already_stopping(self, sig: int, frame: Any) -> None:
        if self.pool.closed:  # a second signal while draining (the first one is uvicorn's, raised again)
            log.info("already stopping: finishing the checks in flight", extra={"in_flight": self.pool.in_flight})

    def drain(self) -> int:
        in_flight, waiting = self.pool.in_flight, self.pool.waiting
        log.info("stopping: finishing the checks in flight", extra={"in_flight": in_flight, "ahead": waiting})
        unfinished = self.pool.shutdown(self.shutdown_timeout)
        log.info("stopped", extra={"status": "unfinished" if unfinished else "all answered", "in_flight": unfinished})
        return 0
