"""Dense candidates benchmark: what the search for the articles nearest to a story's sentences
costs a check, by archive size, with the articles' mean vectors kept in memory as float32 (now)
or as float16 converted to float32 a block at a time (before, the baseline, run the same way).

The search index (retrieval/lexindex.py) keeps every stored article's normalised mean vector
in memory and compares a story's sentence vectors with all of them at each check. This
benchmark builds an index of random unit chunk vectors (seeded; a one-word text per article, so
that building 100,000 articles takes about 10 seconds), then times ``nearest`` for 12 sentence
vectors both ways in the same process, and prints p50 and p95 in milliseconds, the memory the
means take, and how many of the candidates the two ways share.

A second table times the first search after another writer (a second connection, as another
process) added a batch of 128 articles, eight batches in turn: with no room kept in the
array of means (every catch-up copied the whole array: before) and with ``MEANS_ROOM`` (now).

A third table times a new process's first read of every mean (once per whole check): from the
table's rows (before) and from the index of the means alone (now).

    python -m benchmarks.dense                         # 20k and 100k articles
    python -m benchmarks.dense --sizes 2000,100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import percentile, table
from bot.priority import limit_blas_threads
from retrieval import lexindex
from retrieval.lexindex import ChunkVectors, PersistentLexicalIndex

SEED = 20261201
DIM = 256
QUERIES = 12  # sentence vectors of a story
K = 20  # the finder's dense_k
REPEATS = 40


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def add(index: PersistentLexicalIndex, ids: list[str], rng: np.random.Generator, chunks: int = 0) -> None:
    """Articles of a one-word text and ``chunks`` random unit chunk vectors (0: 1 to 11)."""
    vectors = {}
    for aid in ids:
        n = chunks or int(rng.integers(1, 12))
        vectors[aid] = ChunkVectors(unit_rows(rng, n), np.array([(c, 0, 1) for c in range(n)], dtype=np.int32))
    index.apply([(aid, "v1", "word") for aid in ids], (), vectors)


def build(path: Path, size: int, rng: np.random.Generator) -> PersistentLexicalIndex:
    index = PersistentLexicalIndex(path)
    for start in range(0, size, 2000):
        add(index, [f"a{i}" for i in range(start, min(size, start + 2000))], rng)
    return index


def nearest_float16(index: PersistentLexicalIndex, means16: np.ndarray, queries: np.ndarray, k: int) -> set[int]:
    """The search as it was: float16 means, each block converted to float32 when compared."""
    docs_all = index._mean_docs
    best_docs = np.zeros((len(queries), 0), dtype=np.int64)
    best_sims = np.zeros((len(queries), 0), dtype=np.float32)
    for b in range(0, len(docs_all), lexindex.DENSE_BLOCK):
        sims = queries @ means16[b : b + lexindex.DENSE_BLOCK].astype(np.float32).T
        docs = np.broadcast_to(docs_all[b : b + lexindex.DENSE_BLOCK], sims.shape)
        sims = np.concatenate([best_sims, sims], axis=1)
        docs = np.concatenate([best_docs, docs], axis=1)
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        best_sims = np.take_along_axis(sims, top, axis=1)
        best_docs = np.take_along_axis(docs, top, axis=1)
    return set(best_docs.ravel().tolist())


def timed(fn: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return sorted(out)


def measure(size: int, rng: np.random.Generator) -> list[list[object]]:
    with tempfile.TemporaryDirectory(prefix="factdiff-dense-") as tmp:
        t0 = time.perf_counter()
        index = build(Path(tmp) / "index.sqlite", size, rng)
        built = time.perf_counter() - t0
        q = unit_rows(rng, QUERIES)
        now = set(index.nearest(q, K))  # loads the means
        means16 = index._means.astype(np.float16)
        ids = dict(index._db.execute("SELECT rowid, id FROM docs").fetchall())
        before = {ids[d] for d in nearest_float16(index, means16, q, K)}
        shared = f"{len(before & now)}/{len(before)}"
        rows = []
        for name, t, nbytes in (
            (
                "float16, converted per block (before)",
                timed(lambda: nearest_float16(index, means16, q, K)),
                means16.nbytes,
            ),
            ("float32 (now)", timed(lambda: index.nearest(q, K)), index._means.nbytes),
        ):
            p50, p95 = percentile(t, 50), percentile(t, 95)
            rows.append([size, name, f"{p50:.1f}", f"{p95:.1f}", f"{nbytes / 1e6:.0f}", shared, f"{built:.0f}"])
        index.close()
    return rows


def catch_up(size: int, room: float, rng: np.random.Generator) -> list[object]:
    """First searches after each of 8 batches of 128 articles another writer adds."""
    saved = lexindex.MEANS_ROOM
    lexindex.MEANS_ROOM = room
    try:
        with tempfile.TemporaryDirectory(prefix="factdiff-dense-") as tmp:
            path = Path(tmp) / "index.sqlite"
            build(path, size, rng).close()
            reader, writer = PersistentLexicalIndex(path), PersistentLexicalIndex(path)
            q = unit_rows(rng, QUERIES)
            warm = timed(lambda: reader.nearest(q, K), 10)
            after = []
            for b in range(8):
                add(writer, [f"new{b}-{i}" for i in range(128)], rng, chunks=5)
                t0 = time.perf_counter()
                reader.nearest(q, K)
                after.append((time.perf_counter() - t0) * 1000)
            reader.close()
            writer.close()
    finally:
        lexindex.MEANS_ROOM = saved
    name = "none: the whole array copied (before)" if not room else f"{room:g} of those held (now)"
    return [size, name, f"{percentile(warm, 50):.1f}", f"{percentile(after, 50):.1f}", f"{max(after):.1f}"]


def first_read(size: int, rng: np.random.Generator, repeats: int = 5) -> list[list[object]]:
    """A new process's first read of every mean (a whole ``factdiff check`` does it once): from
    the table's rows, whose pages hold the chunk vectors too (before), and from the index of
    the means alone (now); fresh connections, taking turns, the file in the page cache."""
    saved = lexindex.MEANS_AFTER
    table_scan = saved.replace("FROM vectors", "FROM vectors NOT INDEXED")  # by rowid, as before
    times: dict[str, list[float]] = {table_scan: [], saved: []}
    with tempfile.TemporaryDirectory(prefix="factdiff-dense-") as tmp:
        path = Path(tmp) / "index.sqlite"
        build(path, size, rng).close()
        try:
            for _ in range(repeats):
                for sql, out in times.items():
                    lexindex.MEANS_AFTER = sql
                    index = PersistentLexicalIndex(path)
                    t0 = time.perf_counter()
                    index._read_means(0)
                    out.append((time.perf_counter() - t0) * 1000)
                    index.close()
        finally:
            lexindex.MEANS_AFTER = saved
        mb = path.stat().st_size / 1e6
    names = {table_scan: "the table's rows (before)", saved: "index vectors_mean (now)"}
    return [[size, names[sql], f"{percentile(t, 50):.0f}", f"{max(t):.0f}", f"{mb:.0f}"] for sql, t in times.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,100000", help="archive sizes, comma-separated")
    args = parser.parse_args()
    limit_blas_threads()  # as every factdiff command
    rng = np.random.default_rng(SEED)
    rows = [row for size in args.sizes.split(",") for row in measure(int(size), rng)]
    headers = ["articles", "means kept as", "p50 ms", "p95 ms", "means MB", "candidates shared", "index built s"]
    print(table(headers, rows))
    rooms = [0.0, lexindex.MEANS_ROOM]
    rows = [catch_up(int(size), room, rng) for size in args.sizes.split(",") for room in rooms]
    print()
    headers = ["articles", "room kept for more means", "warm p50 ms", "first after a batch p50 ms", "max ms"]
    print(table(headers, rows))
    rows = [row for size in args.sizes.split(",") for row in first_read(int(size), rng)]
    print()
    headers = ["articles", "a new process reads the means from", "p50 ms", "max ms", "index file MB"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
