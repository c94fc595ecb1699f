"""The Slack bot as a service: memory, throughput and Web API calls, measured on the real
``factdiff slack`` process (HTTP mode) against the local Slack Web API server of the tests.

Store: the dev set's sources (shared/data/dev/sources) and the first ``--bbc`` BBC articles.
Requests: signed app mentions, each a story from shared/data/dev/cases, all sent at once.

1. Workers: for FACTDIFF_SLACK_WORKERS = 1, the default (one per core) and 5 (the old fixed
   pool): memory at rest (after /readyz), peak memory with the burst in flight, the most checks
   seen running at once, and checks per minute over the burst.
2. Rate limits: the default workers with chat.postMessage and chat.update allowed once a second
   each (the rest answered 429 + Retry-After: 1), against the same burst with no limits: Web API
   calls per check (429s included), reports delivered, apologies.

    python -m benchmarks.slack                 # --burst 30 --bbc 1000
    python -m benchmarks.slack --burst 10 --bbc 200
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import REPO, read_jsonl, shared_path, table
from bot.settings import default_workers
from tests.servers.slack_api import TOKEN, FakeSlack
from tests.slack_fixtures import SECRET, Bot, slack_escaped
from tests.test_slack_process import most_at_once


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        port = free_port()
        proc_env = env | {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "FACTDIFF_SLACK_WORKERS": str(workers),
            "FACTDIFF_LOG_LEVEL": "WARNING",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "slack", "--host", "127.0.0.1", "--port", str(port)],
            env=proc_env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 300
            while True:
                try:
                    if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("factdiff slack did not become ready")
                time.sleep(0.2)
            at_rest = rss_mb(proc.pid)
            slack.limits = limits or {}
            bot = Bot(base + "/slack/events", slack, None)  # type: ignore[arg-type]
            threads = [f"3000.{n:06d}" for n in range(len(stories))]
            peak = [at_rest]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss_mb(proc.pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            senders = [
                threading.Thread(target=bot.mention, args=(slack_escaped(s),), kwargs={"ts": t})
                for s, t in zip(stories, threads, strict=True)
            ]
            for t in senders:
                t.start()
            for t in senders:
                t.join()
            slack.wait_for(lambda s: all(bot.answers(t) for t in threads), timeout=1800)
            elapsed = time.monotonic() - started
            done.set()
            sampler.join()
            calls = [m for m, _ in slack.calls if m not in ("auth.test",)]
            texts = [a.get("text", "") for m in ("chat.postMessage", "chat.update") for a in slack.of(m)]
            return {
                "at_rest": at_rest,
                "peak": max(peak[0], rss_mb(proc.pid, "VmHWM")),
                "most": most_at_once(slack, threads),
                "per_min": len(stories) / elapsed * 60,
                "elapsed": elapsed,
                "calls": (len(calls) + len(slack.limited)) / len(stories),
                "limited": len(slack.limited),
                "answered": sum(1 for t in threads if len(bot.answers(t)) == 1),
                "apologies": sum(1 for t in texts if "Sorry" in t),
            }
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=300)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--burst", type=int, default=30, help="mentions sent at once")
    ap.add_argument("--bbc", type=int, default=1000, help="BBC articles stored beside the dev sources")
    a = ap.parse_args()
    cases = sorted(shared_path("data", "dev", "cases").glob("case-*.txt"))
    stories = [cases[n % len(cases)].read_text(encoding="utf-8") for n in range(a.burst)]
    with tempfile.TemporaryDirectory(prefix="factdiff-bench-slack-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTDIFF_", "CHROMA_", "OPENAI_", "SLACK_"))}
        env |= {"FACTDIFF_DATA_DIR": str(Path(tmp) / "data"), "PYTHONPATH": str(REPO)}
        t = time.monotonic()
        build_store(env, Path(tmp), a.bbc)
        print(f"store: dev sources + {a.bbc} BBC articles ({time.monotonic() - t:.0f} s); burst of {a.burst}")
        default = default_workers()
        rows = []
        for workers in sorted({1, default, 5}):
            r = run(env, stories, workers)
            label = f"{workers}" + (" (default)" if workers == default else " (old fixed pool)" if workers == 5 else "")
            rows.append([label, round(r["at_rest"]), round(r["peak"]), r["most"], round(r["per_min"], 1)])
        print(table(["workers", "MB at rest", "MB peak, burst in flight", "most running at once", "checks/min"], rows))
        print()
        small = stories[:8]
        rows = []
        for name, limits in (
            ("no limits (baseline)", None),
            ("chat.* 1/s, else 429", {"chat.postMessage": 1, "chat.update": 1}),
        ):
            r = run(env, small, default, limits)
            rows.append(
                [
                    name,
                    r["limited"],
                    round(r["calls"], 2),
                    f"{r['answered']}/{len(small)}",
                    r["apologies"],
                    round(r["elapsed"], 1),
                ]
            )
        print(table(["8 mentions at once", "429s", "Web API calls per check", "reports once", "apologies", "s"], rows))


if __name__ == "__main__":
    main()
