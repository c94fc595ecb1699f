"""Scale benchmark: does a check stay fast as the archive grows, and does ingest stall it?

Archives are built from shared/data/bbc_news.jsonl the same way at every size (seeded): the
real articles are kept inside, and look-alikes are made from their sentences (two articles of
one category mixed), with new names and figures so that the vocabulary grows as a real
archive's does. One store (embedded, or a ``chroma run`` server with ``--server``) grows
through the sizes: each step ingests, with ``factdiff ingest --jsonl``, the articles the
next size adds (a size's archive begins with the smaller sizes' archives), then per size:

* ingest rate (articles/s of that step's ingest: the rate at which a store of that size grows;
  in brackets, per second of the ingest process's CPU time) and disk (data directory; search
  index);
* ingest rate in turns: this store against a store of the first size measured (the
  reference, built once beside it: its own data directory, and its own Chroma server with
  ``--server``), each taking the same RATE_ARTICLES new look-alikes in turn, RATE_ROUNDS
  times, the reference put back as built before each size. Each rate counts the ingest's own
  time: a process that ingests nothing new (an article both stores hold), run right after on
  the same store, is taken off (starting one takes about 1.5 s). The step's rate above compares
  minutes apart, and includes the start (1.5 s of the 2k step's 13): this host's speed drifts
  by a quarter within a run;
* whole-process ``factdiff check --no-llm`` time and peak memory (its own process);
* in brackets, CPU time (user + system): on a shared machine it says what the wall time would
  be without the other users;
* in-process warm check p50/p95 (the bot's engine, over real articles' summaries);
* the bot's next check after another process ingested 100 articles, and the slowest check
  while another process ingests 300 (ingest never stalls checks; the checks run back to back,
  so the ingest's writes give way to them up to FACTDIFF_GIVE_WAY each and it takes longer
  than alone); both check one story, whose warm time (p50 of 5) is the column before them;
* the baseline of the slowest check during the ingest: the same number of checks of that
  story run back to back right after it, with no ingest (their slowest is this machine's own
  jitter over as many checks);
* the same while another process ingests 300 further articles, but with one check starting
  every second (PACE) instead of back to back: a bot far busier than a newsroom's, which still
  leaves the ingest's writes moments to go in between checks (those 300 articles go in within
  seconds, so this is a handful of checks: a hint, not a distribution);
* the bot's memory: one engine, opened on the empty store, runs through all sizes as a bot
  would while its archive grows (its resident and peak memory after each size's checks);
* search Recall@1 on the real articles' summaries.

The articles each size's measurement adds stay in the store: 700, and 3,000 more from the
in-turn ingest rates (the 100k row's store holds 100,000 plus 700 per size measured before,
and 3,000 per nonzero one). The empty-store row (size 0) is the floor,
measured in the same run.

    python -m benchmarks.scale                         # 2k and 20k, embedded
    python -m benchmarks.scale --sizes 0,2000,20000,100000
    python -m benchmarks.scale --sizes 0,2000 --server # against a Chroma server
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import percentile, read_jsonl, shared_path, table

SEED = 13
# first ids (and seeds) of the articles each size's measurements ingest, one million apart so
# that no size's set meets another's (before, 800,000 + 100,000 was 900,000 + 0: the 100k
# row's ingest during checks began with 100 articles the store already held)
AFTER_IDS, DURING_IDS, PACED_IDS = 1_000_000, 2_000_000, 3_000_000
PACE = 1.0  # seconds between the starts of checks in the paced column: a bot answering 3,600 checks an hour
RATE_IDS = 4_000_000  # first id (and seed) of the articles the in-turn ingest rates take
# turns per size, and the articles each store takes per turn: Chroma writes a collection's HNSW
# index to disk every 1,000 records (its sync_threshold; each write costs more the further it is
# into that cycle, and the sync itself 130-190 ms at 100k), and an article is a record in each of
# two collections: a turn of 1,000 holds one sync of each, whatever the stores' phases (turns of
# 500 held one or none, and two stores of the same size differed by up to 10%)
RATE_ROUNDS, RATE_ARTICLES = 3, 1000
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]{2,}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SYLLABLES = [c + v for c in "bdklmnrstvz" for v in "aeio"]  # syllables of coined names


def coined_name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def lookalike(rng: random.Random, a: dict, b: dict, n: int) -> dict:
    """An article made of two real ones' sentences, with new names and figures."""
    sa, sb = _SENTENCE.split(a["text"]), _SENTENCE.split(b["text"])
    sentences = [s for pair in zip(sa, sb, strict=False) for s in pair][: max(len(sa), 6)]
    names: dict[str, str] = {}

    def name(m: re.Match[str]) -> str:
        return names.setdefault(m.group(0), coined_name(rng))

    def number(m: re.Match[str]) -> str:
        value = float(m.group(0)) * rng.uniform(0.5, 1.8)
        return f"{value:.1f}" if "." in m.group(0) else str(max(1, round(value)))

    text = " ".join(_NUMBER.sub(number, _NAME.sub(name, s)) for s in sentences)
    title = _NAME.sub(name, a["title"]) + f" ({coined_name(rng)})"
    return {"id": f"syn-{n:06d}", "title": title, "text": text, "source": "Synthetic Wire"}


def archive(size: int, real: list[dict]) -> list[dict]:
    """``size`` records: the real articles first, then seeded look-alikes."""
    rng = random.Random(SEED)
    out = [{"id": r["id"], "title": r["title"], "text": r["text"], "source": "BBC News"} for r in real[:size]]
    by_cat: dict[str, list[dict]] = {}
    for r in real:
        by_cat.setdefault(r["category"], []).append(r)
    cats = sorted(by_cat)
    n = 0
    while len(out) < size:
        a, b = rng.sample(by_cat[rng.choice(cats)], 2)
        out.append(lookalike(rng, a, b, n))
        n += 1
    return out


def extra(count: int, real: list[dict], start: int) -> list[dict]:
    """Further look-alikes (ids that no archive holds)."""
    rng = random.Random(SEED + start)
    out = []
    for i in range(count):
        a, b = rng.sample(real, 2)
        out.append(lookalike(rng, a, b, start + i))
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (s) of one factdiff process that must succeed."""
    t0, c0 = time.perf_counter(), children_cpu()
    done = subprocess.run([sys.executable, "-m", "bot.cli", *cmd], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"factdiff {' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - t0, children_cpu() - c0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# A process forked from this one counts this one's resident pages as its own until it execs, so
# a check started from the benchmark (which holds the bot's engine: 700 MB at 100k) reported
# the benchmark's size as its peak. A small launcher process starts the check and reports its
# rusage instead.
_LAUNCHER = """
import os, sys
report, args = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "bot.cli", *args])
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as f:
    f.write(f"{usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_of(cmd: list[str], env: dict[str, str], stdin: str | None) -> tuple[float, float, float]:
    """Wall time, CPU time and peak memory (MB) of a process (its rusage, from wait4 in a small
    launcher process: see ``_LAUNCHER``)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as report:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, report.name, *cmd],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(stdin or "")
        proc.stdin.close()
        proc.wait()
        wall = time.perf_counter() - t0
        cpu, maxrss = report.read().split()
    return wall, float(cpu), int(maxrss) / 1024


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6 if path.exists() else 0.0


def memory_mb() -> tuple[float, float]:
    """This process's resident and peak resident memory (MB), from /proc (Rust's too)."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found.get("VmRSS", float("nan")), found.get("VmHWM", float("nan"))


class Reference:
    """A second store of a small archive, kept as built: the in-turn ingest rates' baseline."""

    def __init__(self, folder: Path, env: dict[str, str], source: Path, server: bool) -> None:
        self.folder, self.server = folder, server
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {**env, "FACTDIFF_DATA_DIR": str(folder / "data")}
        folder.mkdir()
        self._start()
        run(["ingest", "-q", "--jsonl", str(source)], self.env)
        self._stop()
        shutil.copytree(folder, folder.with_name(folder.name + "-as-built"))
        self.articles = source.read_text(encoding="utf-8").count("\n")

    def _start(self) -> None:
        if self.server:
            self.proc, port = chroma_server(self.folder)
            self.env.update(CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(port))

    def _stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def reset(self) -> None:
        """Back to the store as built (what earlier turns added is gone)."""
        self._stop()
        shutil.rmtree(self.folder)
        shutil.copytree(self.folder.with_name(self.folder.name + "-as-built"), self.folder)
        self._start()

    def close(self) -> None:
        self._stop()


def rates_in_turn(size: int, real: list[dict], work: Path, env: dict[str, str], reference: Reference) -> str:
    """This store's ingest rate and the reference's, taking the same articles in turn."""
    reference.reset()
    nothing = write_jsonl(work / "nothing.jsonl", archive(1, real))  # an article both stores hold
    spent = {"this": [0.0, 0.0], "reference": [0.0, 0.0]}  # wall, CPU seconds of the ingests' own work
    for turn in range(RATE_ROUNDS):
        rows = extra(RATE_ARTICLES, real, RATE_IDS + 10 * size + turn * RATE_ARTICLES)
        source = write_jsonl(work / f"rate-{size}-{turn}.jsonl", rows)
        order = [("this", env), ("reference", reference.env)]
        for name, e in order if turn % 2 == 0 else order[::-1]:
            wall, cpu = run(["ingest", "-q", "--jsonl", str(source)], e)
            wall0, cpu0 = run(["ingest", "-q", "--jsonl", str(nothing)], e)
            spent[name][0] += wall - wall0
            spent[name][1] += cpu - cpu0
            print(f"  {size}, turn {turn}, {name}: {wall:.1f} s, nothing new {wall0:.1f} s", file=sys.stderr)
    n = RATE_ROUNDS * RATE_ARTICLES
    (here, here_cpu), (ref, ref_cpu) = ((n / w, n / c) for w, c in (spent["this"], spent["reference"]))
    return f"{here:.1f} / {ref:.1f} ({here / ref - 1:+.1%}; CPU {here_cpu / ref_cpu - 1:+.1%})"


def measure(
    size: int,
    held: int,
    real: list[dict],
    work: Path,
    env: dict[str, str],
    stories: list[dict],
    engine: Any,
    reference: Reference | None,
) -> list[Any]:
    """Grow the store from ``held`` to ``size`` archive articles, then measure it."""
    store = engine.finder.store
    rate = cpu_rate = float("nan")
    if size > held:
        source = write_jsonl(work / f"archive-{held}-{size}.jsonl", archive(size, real)[held:])
        wall, cpu = run(["ingest", "-q", "--jsonl", str(source)], env)
        rate, cpu_rate = (size - held) / wall, (size - held) / cpu
    in_turn = "-" if reference is None else rates_in_turn(size, real, work, env, reference)
    story = stories[0]["extractive_summary"]
    whole, whole_cpu, peak = peak_of(["check", "--no-llm", "-"], env, story)
    engine.check(story)  # warm up (takes in the step's ingest)
    warm, warm_cpu = [], []
    hits = 0
    for r in stories:
        t0, c0 = time.perf_counter(), time.process_time()
        report = engine.check(r["extractive_summary"])
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(time.process_time() - c0)
        hits += bool(report.sources) and report.sources[0].info.id == r["id"]
    p50 = percentile(warm, 50)
    same = check_times(engine, story, 5)  # the story the next columns check, warm: what they are compared with
    more = write_jsonl(work / f"extra-{size}.jsonl", extra(100, real, AFTER_IDS + size))
    run(["ingest", "-q", "--jsonl", str(more)], env)
    t0, c0 = time.perf_counter(), time.process_time()
    engine.check(story)
    after, after_cpu = time.perf_counter() - t0, time.process_time() - c0
    bulk = write_jsonl(work / f"bulk-{size}.jsonl", extra(300, real, DURING_IDS + size))
    during = checks_during_ingest(engine, story, env, bulk)
    engine.check(story)  # takes in the ingest's last batch
    quiet = check_times(engine, story, len(during))  # the baseline: as many checks, back to back, with no ingest
    paced = checks_during_ingest(
        engine, story, env, write_jsonl(work / f"paced-{size}.jsonl", extra(300, real, PACED_IDS + size)), PACE
    )
    lexical = getattr(store, "lexical", None)  # absent before issue 13 (a run against older code)
    index = lexical.disk_bytes() / 1e6 if lexical is not None else 0.0
    rss, hwm = memory_mb()
    data = Path(env["FACTDIFF_DATA_DIR"])
    return [
        size,
        "-" if size <= held else f"{rate:.1f} ({cpu_rate:.1f})",
        in_turn,
        f"{disk_mb(data) if not env.get('CHROMA_HOST') else float('nan'):.0f}",
        f"{index:.0f}",
        f"{whole:.1f} ({whole_cpu:.1f})",
        f"{peak:.0f}",
        f"{p50:.2f} ({percentile(warm_cpu, 50):.2f})",
        f"{percentile(warm, 95):.2f}",
        f"{percentile(same, 50):.2f}",
        f"{after:.2f} ({after_cpu:.2f})",
        f"{percentile(during, 50):.2f} / {max(during, default=float('nan')):.2f} ({len(during)})",
        f"{percentile(quiet, 50):.2f} / {max(quiet, default=float('nan')):.2f}",
        f"{percentile(paced, 50):.2f} / {max(paced, default=float('nan')):.2f} ({len(paced)})",
        f"{rss:.0f} / {hwm:.0f}",
        "-" if not size else f"{hits / len(stories):.2f}",
    ]


def check_times(engine: Any, story: str, n: int) -> list[float]:
    """Wall times of ``n`` checks of ``story``."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        engine.check(story)
        times.append(time.perf_counter() - t0)
    return times


def checks_during_ingest(engine: Any, story: str, env: dict[str, str], bulk: Path, every: float = 0.0) -> list[float]:
    """Check times while another process ingests ``bulk``: back to back, or with ``every``,
    one check starting every so many seconds."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "ingest", "-q", "--jsonl", str(bulk)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    times = []
    while proc.poll() is None:
        t0 = time.perf_counter()
        engine.check(story)
        times.append(time.perf_counter() - t0)
        time.sleep(max(0.0, every - times[-1]))
    return times


def chroma_server(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    log = (work / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [binary, "run", "--path", str(work / "server-db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("chroma server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,2000,20000", help="archive sizes, comma-separated (0: empty store)")
    parser.add_argument("--stories", type=int, default=20, help="real articles' summaries checked per size")
    parser.add_argument("--server", action="store_true", help="against a 'chroma run' server instead of embedded")
    parser.add_argument("--work", default=None, help="folder for the store and archives (default: the system's temp)")
    parser.add_argument("--keep", action="store_true", help="leave the store and archives in --work (to inspect them)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    if sizes != sorted(sizes):
        sys.exit("--sizes must grow (one store grows through them)")
    real = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))
    stories = random.Random(SEED).sample(real[:2000], args.stories)  # held by every archive of 2k or more
    rows = []
    folder: contextlib.AbstractContextManager[str] = (
        contextlib.nullcontext(tempfile.mkdtemp(prefix="factdiff-scale-", dir=args.work))
        if args.keep
        else tempfile.TemporaryDirectory(prefix="factdiff-scale-", dir=args.work)
    )
    with folder as tmp:
        work = Path(tmp)
        if args.keep:
            print(f"store and archives kept in {work}", file=sys.stderr)
        env = {**os.environ, "FACTDIFF_EMBEDDINGS": "wordllama", "ANONYMIZED_TELEMETRY": "False"}
        for key in ("CHROMA_HOST", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            env.pop(key, None)
        env.update(FACTDIFF_DATA_DIR=str(work / "data"), FACTDIFF_COLLECTION_PREFIX="scale")
        server = None
        reference: Reference | None = None
        if args.server:
            server, port = chroma_server(work)
            env.update(CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(port))
        try:
            from bot import wiring
            from bot.priority import limit_blas_threads
            from bot.settings import Settings

            settings = Settings(
                data_dir=work / "data",
                collection_prefix="scale",
                chroma_host=env.get("CHROMA_HOST"),
                chroma_port=int(env.get("CHROMA_PORT", "8000")),
            )
            limit_blas_threads()  # as in the bot's process (the CLI sets it for every command)
            engine = wiring.diff_engine(wiring.source_store(settings))  # the bot: one process throughout
            held = 0
            for size in sizes:
                if reference is None and size:
                    source = write_jsonl(work / f"reference-{size}.jsonl", archive(size, real))
                    reference = Reference(work / "reference", env, source, args.server)
                rows.append(measure(size, held, real, work, env, stories, engine, reference))
                held = max(held, size)
                print(f"measured {size} articles: {rows[-1]}", file=sys.stderr, flush=True)
        finally:
            if reference is not None:
                reference.close()
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
    headers = [
        "articles",
        "ingest art/s (per CPU s)",
        "ingest in turns: this / reference art/s",
        "disk MB",
        "index MB",
        "whole check s (CPU)",
        "peak MB",
        "warm p50 s (CPU)",
        "warm p95 s",
        "that story warm s",
        "after other's ingest s (CPU)",
        "during other's ingest p50 / max s (n)",
        "as many with no ingest p50 / max s",
        f"during, a check every {PACE:g} s: p50 / max s (n)",
        "bot MB now / peak",
        "Recall@1",
    ]
    print(f"mode: {'Chroma server' if args.server else 'embedded'}; {args.stories} stories per size")
    if reference is not None:
        print(f"reference store for the in-turn ingest rates: {reference.articles} articles")
    print(table(headers, rows))


if __name__ == "__main__":
    main()
