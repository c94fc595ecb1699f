"""The Slack bot as a service: memory, throughput and Web API calls, measured on the real
``factdiff slack`` process (HTTP mode) against the local Slack Web API server of the tests.

Store: the dev set's sources (shared/data/dev/sources) and the first ``--bbc`` BBC articles.
Requests: signed app mentions, each a story from shared/data/dev/cases, all sent at once.

1. Workers: for FACTDIFF_SLACK_WORKERS = 1 to 5 (the default among them; 5 was the old fixed
   pool): memory at rest (after /readyz), peak memory with the burst in flight, the most checks
   seen running at once, checks per minute over the burst (each run: a shared machine's load
   moves it), and the bot's CPU seconds per check (steadier: 2 cores give at most 120 / that
   checks a minute).
2. Rate limits: the default workers with chat.postMessage and chat.update allowed once a second
   each (the rest answered 429 + Retry-After: 1), against the same burst with no limits: Web API
   method calls per check (429s included; a long report's file upload is three of them),
   reports delivered once, apologies.
3. Attacks on the endpoint (issue 11): a 200 MB unsigned body and 300 connections that never
   finish their headers: the answer, memory added, the process's threads, connections closed.

    python -m benchmarks.slack                 # --burst 30 --bbc 1000
    python -m benchmarks.slack --burst 10 --bbc 200
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from benchmarks.common import REPO, read_jsonl, shared_path, table
from bot.settings import default_workers
from tests.servers.slack_api import FakeSlack
from tests.slack_fixtures import Bot, most_at_once, slack_escaped, start_slack


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cli(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, check=True, capture_output=True, cwd=REPO)


def build_store(env: dict[str, str], tmp: Path, bbc: int) -> None:
    dev = shared_path("data", "dev", "sources")
    cli(["ingest", "-q", str(dev)], env)
    if bbc:
        rows = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))[:bbc]
        path = tmp / "bbc.jsonl"
        path.write_text("\n".join(json.dumps({"id": r["id"], "title": r["title"], "text": r["text"]}) for r in rows))
        cli(["ingest", "-q", "--jsonl", str(path)], env)


def run(env: dict[str, str], stories: list[str], workers: int, limits: dict[str, int] | None = None) -> dict:
    with FakeSlack() as slack:
        settings = {"FACTDIFF_SLACK_WORKERS": str(workers), "FACTDIFF_LOG_LEVEL": "WARNING"}
        running = start_slack(env | settings, slack, REPO)
        try:
            running.wait_status("/readyz", 200, timeout=300)
            pid = running.proc.pid
            at_rest = rss_mb(pid)
            slack.limits = limits or {}
            bot = Bot(running.base + "/slack/events", slack, None)  # type: ignore[arg-type]
            threads = [f"3000.{n:06d}" for n in range(len(stories))]
            peak = [at_rest]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss_mb(pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started, cpu = time.monotonic(), cpu_seconds(pid)
            bot.mentions_at_once([slack_escaped(s) for s in stories], threads)
            slack.wait_for(lambda s: all(bot.answers(t) for t in threads), timeout=1800)
            elapsed = time.monotonic() - started
            cpu = cpu_seconds(pid) - cpu
            done.set()
            sampler.join()
            calls = [m for m, _ in slack.calls if m not in ("auth.test", "upload", "response_url")]  # Web API methods
            texts = [a.get("text", "") for m in ("chat.postMessage", "chat.update") for a in slack.of(m)]
            return {
                "at_rest": at_rest,
                "peak": max(peak[0], rss_mb(pid, "VmHWM")),
                "most": most_at_once(slack, threads),
                "per_min": len(stories) / elapsed * 60,
                "cpu": cpu / len(stories),
                "elapsed": elapsed,
                "calls": (len(calls) + len(slack.limited)) / len(stories),
                "limited": len(slack.limited),
                "answered": sum(1 for t in threads if len(bot.answers(t)) == 1),
                "apologies": sum(1 for t in texts if "Sorry" in t),
            }
        finally:
            running.stop(timeout=300)


def proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def abuse(env: dict[str, str]) -> list[list[object]]:
    """Issue 11's attacks on the endpoint: a 200 MB unsigned body, 300 stalled connections."""
    import socket

    rows: list[list[object]] = []
    with FakeSlack() as slack:
        running = start_slack(env | {"FACTDIFF_LOG_LEVEL": "WARNING", "FACTDIFF_SLACK_READ_TIMEOUT": "10"}, slack, REPO)
        try:
            running.wait_status("/readyz", 200, timeout=300)
            pid = running.proc.pid
            before = rss_mb(pid)

            def body() -> Iterator[bytes]:
                chunk = b"x" * 1_000_000
                for _ in range(200):
                    yield chunk

            try:
                status: object = httpx.post(
                    running.base + "/slack/events",
                    content=body(),
                    headers={"Content-Type": "application/json", "Content-Length": str(200_000_000)},
                    timeout=60,
                ).status_code
            except httpx.HTTPError as exc:  # refused before the client finished sending
                status = f"connection closed ({type(exc).__name__})"
            rows.append(["200 MB unsigned body", status, round(rss_mb(pid) - before), proc_status(pid, "Threads"), "-"])

            threads_before = proc_status(pid, "Threads")
            stalled = []
            for _ in range(300):
                s = socket.create_connection(("127.0.0.1", int(running.base.rsplit(":", 1)[1])))
                s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
                stalled.append(s)
            health = running.get("/healthz")
            threads_during = proc_status(pid, "Threads")
            time.sleep(12)  # past the read timeout
            closed = 0
            for s in stalled:
                s.settimeout(1)
                with contextlib.suppress(OSError):
                    closed += s.recv(10) == b""
                s.close()
            rows.append(
                [
                    "300 stalled connections",
                    f"/healthz {health} meanwhile",
                    round(rss_mb(pid) - before),
                    f"{threads_before} -> {threads_during}",
                    f"{closed}/300 closed after 10 s",
                ]
            )
        finally:
            running.stop(timeout=300)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--burst", type=int, default=30, help="mentions sent at once")
    ap.add_argument("--bbc", type=int, default=1000, help="BBC articles stored beside the dev sources")
    ap.add_argument("--workers", default="1,2,3,4,5", help="worker counts to compare (the default is added)")
    ap.add_argument("--only", default="workers,limits,attacks", help="which tables: workers, limits, attacks")
    ap.add_argument("--repeat", type=int, default=2, help="runs per worker count (the machine may be shared)")
    a = ap.parse_args()
    cases = sorted(shared_path("data", "dev", "cases").glob("case-*.txt"))
    stories = [cases[n % len(cases)].read_text(encoding="utf-8") for n in range(a.burst)]
    with tempfile.TemporaryDirectory(prefix="factdiff-bench-slack-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTDIFF_", "CHROMA_", "OPENAI_", "SLACK_"))}
        env |= {"FACTDIFF_DATA_DIR": str(Path(tmp) / "data"), "PYTHONPATH": str(REPO)}
        t = time.monotonic()
        build_store(env, Path(tmp), a.bbc)
        print(f"store: dev sources + {a.bbc} BBC articles ({time.monotonic() - t:.0f} s); burst of {a.burst}")
        only = a.only.split(",")
        if "workers" in only:
            print(workers_table(env, stories, a.workers, a.repeat), end="\n\n")
        if "limits" in only:
            print(limits_table(env, stories[:8]), end="\n\n")
        if "attacks" in only:
            print(table(["attack", "answer", "MB added", "threads", "stalled"], abuse(env)))


def workers_table(env: dict[str, str], stories: list[str], counts: str, repeat: int) -> str:
    default = default_workers()
    rows: list[list[object]] = []
    for workers in sorted({default, *map(int, counts.split(","))}):
        runs = [run(env, stories, workers) for _ in range(repeat)]
        label = f"{workers}" + (" (default)" if workers == default else " (old fixed pool)" if workers == 5 else "")
        rows.append(
            [
                label,
                round(min(r["at_rest"] for r in runs)),
                round(max(r["peak"] for r in runs)),
                max(r["most"] for r in runs),
                " / ".join(f"{r['per_min']:.0f}" for r in runs),
                round(min(r["cpu"] for r in runs), 2),
            ]
        )
    heads = ["workers", "MB at rest", "MB peak, burst in flight", "most at once", "checks/min (each run)"]
    return table([*heads, "CPU s per check"], rows)


def limits_table(env: dict[str, str], stories: list[str]) -> str:
    rows: list[list[object]] = []
    busy = {"chat.postMessage": 1, "chat.update": 1}
    for name, limits in (("no limits (baseline)", None), ("chat.* 1/s, else 429", busy)):
        r = run(env, stories, default_workers(), limits)
        once = f"{r['answered']}/{len(stories)}"
        rows.append([name, r["limited"], round(r["calls"], 2), once, r["apologies"], round(r["elapsed"], 1)])
    heads = [f"{len(stories)} mentions at once", "429s", "Web API calls per check", "reports once", "apologies", "s"]
    return table(heads, rows)


if __name__ == "__main__":
    main()
