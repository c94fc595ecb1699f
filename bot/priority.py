"""How factdiff's processes share the CPU: `factdiff ingest` gives way to the bot's checks,
and no process keeps idle threads busy.

On a newsroom's machine the bot and a bulk ingest share the cores; the ingest (embedding,
Chroma's index inserts) would take half of them from every check it overlaps. Raising its
niceness leaves the cores to the checks while they run and to the ingest the rest of the time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: BLAS threads per process. A check's matrix products are small (a story's sentences against
#: a candidate's chunks, or against 16,384 mean vectors at a time), so a second BLAS thread
#: mostly waits for work, spinning, on a core the check's other threads (MiniLM's) or another
#: process need. Measured on the 2-core machine, 40 warm checks against a 20,000-article
#: store (MiniLM not spinning): 2 threads 6.18 s wall, 11.0 CPU s; 1 thread 5.55 s, 8.0 CPU s
#: (`python -m benchmarks.threads`, docs/benchmarks.md).
BLAS_THREADS = 1


def yield_cpu(niceness: int) -> None:
    """Add ``niceness`` to every thread of this process (threads it starts later inherit it).

    On Linux, niceness belongs to each thread, and libraries start theirs at import (numpy's
    BLAS pool, Chroma's Rust workers): every thread listed in /proc/self/task is reniced, not
    only the caller. Lowering the priority needs no privilege; a failure is logged, never fatal.
    """
    if niceness <= 0:
        return
    tasks = Path("/proc/self/task")
    try:
        if tasks.is_dir():
            target = os.getpriority(os.PRIO_PROCESS, 0) + niceness
            for tid in os.listdir(tasks):
                try:
                    os.setpriority(os.PRIO_PROCESS, int(tid), min(target, 19))
                except ProcessLookupError:  # a thread that ended meanwhile
                    continue
        else:  # elsewhere a process's threads share its niceness
            os.nice(niceness)
    except OSError as exc:
        log.warning("could not lower this process's CPU priority: %s", exc)


def limit_blas_threads(threads: int = BLAS_THREADS) -> None:
    """Cap the BLAS library's threads (numpy's OpenBLAS) for the rest of this process.

    threadpoolctl changes the loaded library's setting at run time, so it works whether or not
    numpy was imported before; a library it does not know is left as it is (logged)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")
    except Exception as exc:  # an unknown BLAS build: slower checks, never a failed command
        log.warning("could not limit the BLAS library's threads: %s", exc)
