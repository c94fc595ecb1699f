"""`factdiff ingest` gives way to the bot's checks: all its threads run at a lower CPU priority."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")


def niceness(pid: int) -> dict[int, int]:
    """Each thread's niceness (field 19 of /proc/PID/task/TID/stat)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # a thread that ended meanwhile
            continue
        out[int(task.name)] = int(stat.rsplit(")", 1)[1].split()[16])
    return out


def test_every_thread_started_before_and_after_is_lowered() -> None:
    code = """
import os, threading
from bot.priority import yield_cpu
stop = threading.Event()
early = [threading.Thread(target=stop.wait) for _ in range(3)]  # a library's pool, started at import
for t in early: t.start()
yield_cpu(6)
late = threading.Thread(target=stop.wait); late.start()
from tests.test_priority import niceness
print(sorted(set(niceness(os.getpid()).values())), len(niceness(os.getpid())))
stop.set()
"""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert out[0] == f"[{min(base + 6, 19)}]"  # one niceness for all
    assert int(out[1]) >= 5  # the main thread, three early ones, one late one (and whatever imports start)


def test_zero_leaves_the_priority_alone() -> None:
    code = "import os; from bot.priority import yield_cpu; yield_cpu(0); print(os.getpriority(os.PRIO_PROCESS, 0))"
    base = os.getpriority(os.PRIO_PROCESS, 0)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert int(out.stdout) == base


@pytest.mark.parametrize(("setting", "expected"), [(None, 10), ("3", 3)])
def test_ingest_runs_below_the_bot(tmp_path: Path, cli_env: dict[str, str], setting: str | None, expected: int) -> None:
    """The real command, held while it waits for its input (a named pipe nobody writes yet)."""
    fifo = tmp_path / "sources.jsonl"
    os.mkfifo(fifo)
    env = dict(cli_env)
    if setting is not None:
        env["FACTDIFF_INGEST_NICE"] = setting
    base = os.getpriority(os.PRIO_PROCESS, 0)
    want = min(base + expected, 19)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "ingest", "-q", "--jsonl", str(fifo)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        seen: dict[int, int] = {}
        deadline = time.monotonic() + 120  # a slow machine's imports; not a timing assertion
        while time.monotonic() < deadline and proc.poll() is None:
            seen = niceness(proc.pid)
            if seen and set(seen.values()) == {want}:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert seen and set(seen.values()) == {want}, seen
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_every_command_runs_numpy_with_one_blas_thread() -> None:
    """The CLI's group sets it for any command (here `sources stats` on an empty store), after
    numpy and its BLAS pool were loaded with one thread per core (set to two first, so the
    check can fail on a one-core machine too)."""
    code = """
import json, tempfile
import numpy
from click.testing import CliRunner
from threadpoolctl import threadpool_info, threadpool_limits
threadpool_limits(limits=2, user_api="blas")
before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
from bot.cli import main
with tempfile.TemporaryDirectory() as tmp:
    result = CliRunner().invoke(main, ["sources", "stats"], env={"FACTDIFF_DATA_DIR": tmp})
after = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
print(json.dumps([result.exit_code, before, after]))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert json.loads(out.splitlines()[-1]) == [0, [2], [1]]
