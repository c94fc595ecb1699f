"""Index writes benchmark: what the search index costs an ingest per article, by archive size
and by batch size.

The search index (retrieval/lexindex.py) takes every stored article in the same commit as the
store. Its cost per article grows with the archive: a commit rewrites the pages of the
vocabulary and postings that its articles touch, and the bigger the index the more distinct
pages a batch touches. This benchmark builds one index from the scale benchmark's archive
(seeded; the articles' terms and random unit chunk vectors of the usual count, no Chroma and
no embedding), and at each size given writes the same 2,000 further look-alikes into two
copies of it: in batches of 32 (the ingest's batch before) and of 128 (now). It prints
milliseconds per article (wall and CPU) for each.

    python -m benchmarks.index_writes                          # 2k and 20k
    python -m benchmarks.index_writes --sizes 2000,100000      # about 8 minutes
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import read_jsonl, shared_path, table
from benchmarks.scale import archive, extra
from retrieval.lexindex import ChunkVectors, PersistentLexicalIndex

BATCHES = (32, 128)
MEASURED = 2000  # articles written per measurement
CHUNK_CHARS = 500  # about what a chunk of 120 tokens holds


def vectors(text: str, rng: np.random.Generator) -> ChunkVectors:
    n = max(1, len(text) // CHUNK_CHARS)
    v = rng.standard_normal((n, 256)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    spans = np.array([(i, i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS) for i in range(n)], dtype=np.int32)
    return ChunkVectors(v, spans)


def write(index: PersistentLexicalIndex, rows: list[dict], batch: int, rng: np.random.Generator) -> tuple[float, float]:
    """Wall and CPU seconds to write ``rows`` in batches of ``batch``."""
    t0, c0 = time.perf_counter(), time.process_time()
    for b in range(0, len(rows), batch):
        part = rows[b : b + batch]
        index.apply(
            [(r["id"], "v1", r["text"]) for r in part], vectors={r["id"]: vectors(r["text"], rng) for r in part}
        )
    return time.perf_counter() - t0, time.process_time() - c0


def copy(path: Path, to: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            shutil.copy(f"{path}{suffix}", f"{to}{suffix}")
    return to


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,20000", help="index sizes to measure at, comma-separated, growing")
    parser.add_argument("--work", default=None, help="folder for the index (default: the system's temp)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    if sizes != sorted(sizes):
        sys.exit("--sizes must grow (one index grows through them)")
    real = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))
    rows_all = archive(sizes[-1], real)
    more = extra(MEASURED, real, 500_000)  # ids no archive holds
    rng = np.random.default_rng(0)
    out = []
    with tempfile.TemporaryDirectory(prefix="factdiff-index-writes-", dir=args.work) as tmp:
        path = Path(tmp) / "index.sqlite"
        index = PersistentLexicalIndex(path)
        held = 0
        for size in sizes:
            write(index, rows_all[held:size], 128, rng)
            held = size
            index.close()
            for batch in BATCHES:
                trial = PersistentLexicalIndex(copy(path, Path(tmp) / f"trial-{batch}.sqlite"))
                wall, cpu = write(trial, more, batch, rng)
                trial.close()
                out.append([size, batch, f"{1000 * wall / MEASURED:.2f}", f"{1000 * cpu / MEASURED:.2f}"])
                print(f"{size} articles, batches of {batch}: {out[-1]}", file=sys.stderr, flush=True)
            index = PersistentLexicalIndex(path)
        index.close()
    print(f"{MEASURED} further articles written into an index of each size (copies of one index)")
    print(table(["index articles", "batch", "ms per article", "CPU ms per article"], out))


if __name__ == "__main__":
    main()
