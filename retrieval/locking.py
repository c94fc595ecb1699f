"""One writer at a time on an embedded (local) store: a lock file in the data directory.

An embedded Chroma store is files that one process at a time may change: two processes
writing at once leave it corrupt (crashes and hangs from then on). Every write to an
embedded store, and every (re)opening of it, holds this lock; a second writer waits for it
(saying so once) up to a timeout, then gets a clear :class:`StoreBusyError`. Several writers
at once need a Chroma server, which does its own locking.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from retrieval.errors import StoreBusyError

try:
    import fcntl
except ImportError:  # not on Windows: there writes do not give way to checks
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK_NAME = "write.lock"
CHECKS_NAME = "checks.lock"
WRITES_NAME = "writes.lock"
GIVE_WAY_POLL = 0.005  # seconds between a writer's looks at whether checks are still running
QUIET_WAIT = 2.0  # seconds waited for the lock before saying so: a check holds it for a moment at most


class WriteLock:
    """The data directory's write lock, for the threads of this process and other processes.

    ``timeout`` is how long a writer waits for another one (0: refuse at once). ``on_wait`` is
    told, once per wait, that another process holds the lock (the CLI prints it on stderr).
    """

    def __init__(self, folder: Path, timeout: float, on_wait: Callable[[str], None] | None = None) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.timeout = timeout
        self.on_wait = on_wait
        self._threads = threading.Lock()
        self._file = FileLock(str(self.path), thread_local=False)
        self._told = False

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the lock for the block, waiting for other writers up to the timeout."""
        deadline = time.monotonic() + self.timeout
        self._threads.acquire()  # this process's own writers queue up; the holder always progresses
        try:
            self._acquire_file(deadline)
            try:
                yield
            finally:
                self._file.release()
        finally:
            self._threads.release()

    def busy(self) -> bool:
        """Whether another holder (a process, or another thread here) has the lock right now."""
        if not self._threads.acquire(blocking=False):
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._file.acquire(timeout=0)
            except Timeout:
                return True
            self._file.release()
            return False
        finally:
            self._threads.release()

    def _acquire_file(self, deadline: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:  # a check waiting for a write in flight holds the lock for a moment: not worth a word
            self._file.acquire(timeout=max(0.0, min(QUIET_WAIT, deadline - time.monotonic())))
            return
        except Timeout:
            pass
        left = deadline - time.monotonic()
        if left <= 0:
            raise self._busy()
        message = (
            f"another factdiff process is writing to the store in {self.path.parent}; "
            f"waiting up to {self.timeout:g} s (FACTDIFF_LOCK_TIMEOUT)"
        )
        log.info(message)
        if self.on_wait and not self._told:
            self._told = True  # once per process: a long ingest waits between many batches
            self.on_wait(message)
        try:
            self._file.acquire(timeout=left)
        except Timeout:
            raise self._busy() from None

    def _busy(self) -> StoreBusyError:
        return StoreBusyError(
            f"another factdiff process has been writing to the store in {self.path.parent} for over "
            f"{self.timeout:g} s (FACTDIFF_LOCK_TIMEOUT); try again when it has finished, or run a Chroma "
            "server (CHROMA_HOST) for several writers at once"
        )


class ChecksInProgress:
    """The checks running on this machine (every process with this data directory), for the
    store's writes to give way to.

    A check holds a shared lock on a file in the data directory while it uses the store and
    the cores (its offline part; not while it waits for a model's answer). Before each write
    to the store (a request of a few articles to Chroma, an update of the search index), a
    writer waits while any check holds it, up to ``give_way`` seconds: a check then never
    meets a write in flight, and a bot that is busy without a pause delays an ingest but never
    stops it. Shared file locks (``flock``) are released by the system when a process dies.

    Writers mark their writes the same way (a second file), so that a check can tell a write of
    this machine's in progress (its records in Chroma before its change-log records, while it
    gives way) from a change the search index missed.
    """

    def __init__(self, folder: Path, give_way: float) -> None:
        self.path = Path(folder) / CHECKS_NAME
        self.writes = Path(folder) / WRITES_NAME
        self.give_way = give_way

    def _open(self, path: Path | None = None) -> int:
        path = path or self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    @contextmanager
    def held(self, path: Path | None = None) -> Iterator[None]:
        """Mark a check (or with ``path=self.writes``, a write) in progress for the block."""
        try:
            fd = self._open(path) if fcntl is not None else None
        except OSError as exc:  # a read-only data directory: checks and writes go on unmarked
            log.warning("cannot mark a check or write in progress in %s: %s", (path or self.path).parent, exc)
            fd = None
        if fd is None:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # a look at whether any are held takes it for an instant at most
            yield
        finally:
            os.close(fd)  # releases the lock

    def writing(self) -> AbstractContextManager[None]:
        """Mark a write to the store in progress on this machine for the block."""
        return self.held(self.writes)

    def write_in_progress(self) -> bool:
        """Whether a process of this machine is writing to the store right now."""
        return self._marked(self.writes)

    def running(self) -> bool:
        """Whether a check is running on this machine right now."""
        return self._marked(self.path)

    def _marked(self, path: Path) -> bool:
        if fcntl is None:
            return False
        try:
            fd = self._open(path)
        except OSError:  # nothing can be marked there either
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def wait(self) -> float:
        """Wait while checks are running, up to ``give_way`` seconds; the seconds waited."""
        if fcntl is None or self.give_way <= 0:
            return 0.0
        started = time.monotonic()
        while self.running() and time.monotonic() - started < self.give_way:
            time.sleep(GIVE_WAY_POLL)
        return time.monotonic() - started
