"""A bulk job's CPU priority: `factdiff ingest` gives way to the bot's checks.

On a newsroom's machine the bot and a bulk ingest share the cores; the ingest (embedding,
Chroma's index inserts) would take half of them from every check it overlaps. Raising its
niceness leaves the cores to the checks while they run and to the ingest the rest of the time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


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
