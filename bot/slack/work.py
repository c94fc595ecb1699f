"""The checks in flight: a fixed number of worker threads over a queue that says how long it is.

Slack requests are acknowledged at once; the checks themselves wait here for one of
``workers`` threads, so a burst never runs more checks at a time than the machine can take,
and each waiting request knows how many are ahead of it. On shutdown the pool stops taking
work and finishes what it has (up to a timeout); whatever is still waiting then is handed to
a callback so that its thread can be told.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Job:
    run: Callable[[], None]
    abandon: Callable[[], None] = lambda: None  # called instead of run when shutdown leaves it waiting
    queued_at: float = field(default_factory=time.monotonic)


class Closed(RuntimeError):
    """The pool is shutting down and takes no new work."""


class WorkPool:
    def __init__(self, workers: int, *, start: bool = True) -> None:
        self.workers = workers
        self._waiting: deque[Job] = deque()
        self._running = 0
        self._closed = False
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        if start:
            self.start()

    def start(self) -> None:
        """Start the worker threads (jobs submitted before wait for them)."""
        with self._cond:
            if self._threads:
                return
            self._threads = [
                threading.Thread(target=self._work, name=f"factdiff-check-{n}", daemon=True)
                for n in range(self.workers)
            ]
        for t in self._threads:
            t.start()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._running

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    def submit(self, job: Job) -> int:
        """Queue ``job``; returns how many jobs are ahead of it (0: it starts now)."""
        with self._cond:
            if self._closed:
                raise Closed("shutting down")
            free = self.workers - self._running
            ahead = 0 if len(self._waiting) < free else len(self._waiting) - free + 1  # checks to finish first
            self._waiting.append(job)
            self._cond.notify()
            return ahead

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if not self._waiting:
                    return
                job = self._waiting.popleft()
                self._running += 1
            try:
                job.run()
            except Exception:  # a job reports its own failures; this only keeps the worker alive
                log.exception("a check failed outside its own error handling")
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def shutdown(self, timeout: float) -> int:
        """Take no new work, let the workers finish (up to ``timeout`` s); jobs still waiting then are
        abandoned. Returns the number of jobs that did not finish."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            if not self._threads:  # never started: nothing can run
                left = list(self._waiting)
                self._waiting.clear()
            else:
                while (self._waiting or self._running) and time.monotonic() < deadline:
                    self._cond.wait(min(0.5, max(0.0, deadline - time.monotonic())))
                left = list(self._waiting)
                self._waiting.clear()
            unfinished = len(left) + self._running
        for job in left:
            try:
                job.abandon()
            except Exception:
                log.exception("could not tell a waiting request that the bot is stopping")
        return unfinished
