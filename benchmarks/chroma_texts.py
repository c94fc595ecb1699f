"""Where an article's text lives in Chroma: its document (before) or its metadata (now)?

Chroma puts every record's *document* into a trigram full-text index (SQLite FTS5) that
factdiff never queries, and Chroma 1.5 cannot switch it off. This writes the same articles
(the scale benchmark's seeded archive: real BBC articles and look-alikes) into two fresh
embedded stores, as factdiff's articles collection is written (batches of 32, a one-number
placeholder vector, 4 HNSW links, the same metadata keys), once with the text as the
document and once as a metadata value, and measures per store: write CPU and wall time,
data directory size, the full-text index's share of it (SQLite's ``dbstat``), and reading
texts back by id (what a check does).

    python -m benchmarks.chroma_texts --size 10000
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import read_jsonl, shared_path, table
from benchmarks.scale import SEED, archive, disk_mb

BATCH = 32


def fts_mb(db: Path) -> float:
    """Size of Chroma's full-text index tables (dbstat), or nan if this SQLite lacks dbstat."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'embedding_fulltext_search%'").fetchone()
        return float(row[0] or 0) / 1e6
    except sqlite3.OperationalError:
        return float("nan")
    finally:
        con.close()


def run(mode: str, rows: list[dict[str, Any]], work: Path) -> list[object]:
    import chromadb

    path = work / mode
    client = chromadb.PersistentClient(path=str(path))
    col = client.get_or_create_collection(
        "bench-articles", embedding_function=None, configuration={"hnsw": {"space": "cosine", "max_neighbors": 4}}
    )
    c0, w0 = time.process_time(), time.perf_counter()
    for b in range(0, len(rows), BATCH):
        part = rows[b : b + BATCH]
        ids = [f"a{b + i}" for i in range(len(part))]
        metas: list[dict[str, Any]] = [
            {"title": r.get("title", "")[:200], "url": f"https://example.org/{b + i}", "text_hash": f"{b + i:064x}"}
            for i, r in enumerate(part)
        ]
        if mode == "document (before)":
            col.upsert(
                ids=ids,
                embeddings=[[1.0]] * len(part),  # type: ignore[arg-type]
                documents=[r["text"] for r in part],
                metadatas=metas,  # type: ignore[arg-type]
            )
        else:
            for m, r in zip(metas, part, strict=True):
                m["text"] = r["text"]
            col.upsert(ids=ids, embeddings=[[1.0]] * len(part), metadatas=metas)  # type: ignore[arg-type]
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    rng = random.Random(SEED)
    reads = []
    for _ in range(50):
        want = [f"a{i}" for i in rng.sample(range(len(rows)), 10)]
        t0 = time.perf_counter()
        got = col.get(ids=want, include=["documents", "metadatas"])
        reads.append((time.perf_counter() - t0) * 1000)
        assert len(got["ids"]) == len(set(want))
    del col, client
    disk = disk_mb(path)
    return [
        mode,
        len(rows),
        f"{cpu:.1f}",
        f"{len(rows) / wall:.0f}",
        f"{disk:.0f}",
        f"{fts_mb(path / 'chroma.sqlite3'):.0f}",
        f"{statistics.median(reads):.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10000, help="articles written into each store")
    args = parser.parse_args()
    real = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))
    rows = archive(args.size, real)
    out = []
    with tempfile.TemporaryDirectory(prefix="factdiff-texts-") as tmp:
        for mode in ("document (before)", "metadata (now)"):
            out.append(run(mode, rows, Path(tmp)))
    headers = ["text kept as", "articles", "write CPU s", "articles/s", "disk MB", "full-text index MB"]
    print(table([*headers, "get 10 p50 ms"], out))


if __name__ == "__main__":
    main()
