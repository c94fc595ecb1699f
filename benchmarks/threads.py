"""Threads benchmark: a check's idle threads, and what they cost the bot and an ingest beside it.

A check multiplies small matrices (numpy's BLAS) and runs MiniLM (onnxruntime); both libraries
start a thread per core, and both keep those threads spinning for work between calls unless
told not to. This benchmark builds one embedded store from the scale benchmark's archive
(``--size`` articles, seeded), then, for each setting, in a fresh process holding the bot's
engine:

* 20 real articles' summaries checked twice each, warm: p50 and slowest check, and the total
  wall and CPU time of the 40 checks;
* one of them, checked 5 times warm (p50), then in a loop while another process
  (``factdiff ingest``, niced as by default) ingests 300 new articles: their p50 and slowest,
  how many, and how long the ingest took.

The settings: BLAS at one thread per core (the library's default) or one thread; MiniLM's
threads spinning (onnxruntime's default) or not. The first row is the setting before
(library defaults), measured in the same run. Each setting's ingest adds 300 articles, so
the store grows by 1,200 through the run.

    python -m benchmarks.threads                 # 20,000 articles (about 5 minutes)
    python -m benchmarks.threads --size 2000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import percentile, read_jsonl, shared_path, table
from benchmarks.scale import SEED, archive, check_times, checks_during_ingest, extra, run, write_jsonl

SETTINGS = [  # (label, BLAS threads (0: the library's default), MiniLM spinning)
    ("library defaults (before)", 0, True),
    ("BLAS 1 thread", 1, True),
    ("MiniLM not spinning", 0, False),
    ("both (now)", 1, False),
]

_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from benchmarks.threads import child
blas, spinning, stories, bulk, env = sys.argv[1:]
print(json.dumps(child(int(blas), spinning == "1", stories, bulk, json.loads(env))))
"""


def child(blas: int, spinning: bool, stories_path: str, bulk: str, env: dict[str, str]) -> dict[str, float]:
    """In a fresh process: the bot's engine with one setting; warm checks, then checks while
    another process ingests ``bulk``."""
    from bot import wiring
    from bot.priority import limit_blas_threads
    from bot.settings import Settings
    from checker.engine import ALIGN_MAX_TOKENS, DiffEngine
    from retrieval.embeddings import MiniLMEmbedder

    if blas:
        limit_blas_threads(blas)
    settings = Settings(data_dir=Path(env["FACTDIFF_DATA_DIR"]), collection_prefix=env["FACTDIFF_COLLECTION_PREFIX"])
    store = wiring.source_store(settings)
    aligner = MiniLMEmbedder(max_length=ALIGN_MAX_TOKENS, spinning=spinning)
    engine = DiffEngine(wiring.finder(store), align_embedder=aligner)
    stories = [json.loads(line)["extractive_summary"] for line in Path(stories_path).read_text().splitlines()]
    engine.check(stories[0])
    warm = []
    c0 = time.process_time()
    for story in stories * 2:
        t0 = time.perf_counter()
        engine.check(story)
        warm.append(time.perf_counter() - t0)
    warm_cpu = time.process_time() - c0
    same = check_times(engine, stories[0], 5)  # the story checked during the ingest, warm
    t_ingest = time.perf_counter()
    during = checks_during_ingest(engine, stories[0], env, Path(bulk))
    ingest_s = time.perf_counter() - t_ingest
    return {
        "warm_p50": percentile(warm, 50),
        "warm_max": max(warm),
        "warm_wall": sum(warm),
        "warm_cpu": warm_cpu,
        "same": percentile(same, 50),
        "during_p50": percentile(during, 50),
        "during_max": max(during, default=float("nan")),
        "during_n": len(during),
        "ingest_s": ingest_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20000, help="archive articles in the store")
    parser.add_argument("--work", default=None, help="folder for the store (default: the system's temp)")
    args = parser.parse_args()
    real = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))
    stories = random.Random(SEED).sample(real[: min(args.size, 2000)], 20)
    root = str(Path(__file__).resolve().parent.parent)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="factdiff-threads-", dir=args.work) as tmp:
        work = Path(tmp)
        env = {**os.environ, "FACTDIFF_EMBEDDINGS": "wordllama", "ANONYMIZED_TELEMETRY": "False"}
        for key in ("CHROMA_HOST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "FACTDIFF_INGEST_NICE"):
            env.pop(key, None)
        env.update(FACTDIFF_DATA_DIR=str(work / "data"), FACTDIFF_COLLECTION_PREFIX="threads")
        run(["ingest", "-q", "--jsonl", str(write_jsonl(work / "archive.jsonl", archive(args.size, real)))], env)
        story_file = work / "stories.jsonl"
        story_file.write_text("".join(json.dumps(s) + "\n" for s in stories))
        for n, (label, blas, spinning) in enumerate(SETTINGS):
            bulk = write_jsonl(work / f"bulk-{n}.jsonl", extra(300, real, 600_000 + 1000 * n))
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _CHILD.format(root=root),
                    str(blas),
                    "1" if spinning else "0",
                    str(story_file),
                    str(bulk),
                    json.dumps(env),
                ],
                capture_output=True,
                text=True,
                env=env,
            )
            if done.returncode != 0:
                sys.exit(f"setting {label!r} failed: {done.stderr[-2000:]}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(
                [
                    label,
                    f"{r['warm_p50']:.3f} / {r['warm_max']:.3f}",
                    f"{r['warm_wall']:.2f} ({r['warm_cpu']:.2f})",
                    f"{r['same']:.3f}",
                    f"{r['during_p50']:.3f} / {r['during_max']:.3f} ({r['during_n']})",
                    f"{r['during_p50'] / r['same']:.2f} / {r['during_max'] / r['same']:.2f}",
                    f"{r['ingest_s']:.1f}",
                ]
            )
            print(f"{label}: {rows[-1]}", file=sys.stderr, flush=True)
    print(f"{args.size} archive articles, embedded store; 40 warm checks; a 300-article ingest beside the checks")
    print(
        table(
            [
                "setting",
                "warm p50 / max s",
                "40 warm checks: wall s (CPU s)",
                "that story warm s",
                "during ingest p50 / max s (n)",
                "during / that story warm: p50 / max",
                "ingest s",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
