"""Where chunk vectors live in Chroma: a record per chunk (before) or packed per article (now)?

factdiff never searches chunks in Chroma (checks take them from the search index), yet before
this change each chunk was a Chroma record with its 256-number vector, so Chroma built an HNSW
graph of every chunk, wrote it on every ingest and loaded it whole in every process that wrote.
Now an article's chunk vectors (float16) and offsets are metadata values of one record (per 256
chunks), with a one-number placeholder vector, as the articles' records have.

This writes the same chunk vectors (the scale benchmark's seeded archive, chunked as factdiff
chunks it; random unit vectors, since embedding costs the same either way) into two fresh
embedded stores, in batches of 32 articles, as factdiff writes them, and measures per layout:
the write rate over the first and the last 2,000 articles of one process, what a *new* process
pays to write 1,000 more articles into the full store (wall, CPU, peak memory: it opens the
collection as an ingest does), the data directory's size, and reading back 500 articles'
vectors by article id (what a search index's catch-up does).

    python -m benchmarks.chroma_vectors --size 20000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import read_jsonl, shared_path, table
from benchmarks.scale import SEED, archive, disk_mb

BATCH = 32
DIM = 256
NEXT = 1000  # articles a new process writes into the full store
LAYOUTS = ("a record per chunk (before)", "packed per article (now)")


def chunk_spans(rows: list[dict[str, Any]]) -> list[np.ndarray]:
    from retrieval.chunking import DEFAULT_CHUNK_TOKENS, chunk_text
    from retrieval.tokens import get_encoding

    enc = get_encoding()
    return [
        np.array([(c.index, c.start, c.end) for c in chunk_text("", r["text"], enc, DEFAULT_CHUNK_TOKENS)], np.int32)
        for r in rows
    ]


def vectors_for(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def open_collection(layout: str, path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
    if layout == LAYOUTS[0]:
        return client.get_or_create_collection(
            "bench-chunks", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
    return client.get_or_create_collection(
        "bench-vectors", embedding_function=None, configuration={"hnsw": {"space": "cosine", "max_neighbors": 4}}
    )


def write(layout: str, col: Any, spans: list[np.ndarray], start: int, rng: np.random.Generator) -> None:
    """Articles ``start``.. of ``spans`` in batches of 32, as factdiff's store writes them."""
    from retrieval.store import _F16, _I32, _pack

    written = int(time.time())
    for b in range(0, len(spans), BATCH):
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        embeddings: list[Any] = []
        for k, sp in enumerate(spans[b : b + BATCH]):
            aid, vecs = f"a{start + b + k}", vectors_for(len(sp), rng)
            if layout == LAYOUTS[0]:
                for (i, s, e), v in zip(sp.tolist(), vecs, strict=True):
                    ids.append(f"{aid}:0123456789ab:{i}")
                    metas.append(
                        {"article_id": aid, "text_hash": "0123456789ab", "index": i, "start": s, "end": e}
                        | {"written": written}
                    )
                    embeddings.append(v.tolist())
            else:
                ids.append(f"{aid}:0123456789ab:0")
                metas.append(
                    {"article_id": aid, "text_hash": "0123456789ab", "part": 0, "written": written}
                    | {"vectors": _pack(vecs, _F16), "spans": _pack(sp, _I32)}
                )
                embeddings.append([1.0])
        col.upsert(ids=ids, embeddings=embeddings, metadatas=metas)


def child(layout: str, path: Path, size: int) -> None:
    """A new process writing ``NEXT`` articles into the store of ``size``; prints its costs."""
    rows = archive(size + NEXT, list(read_jsonl(shared_path("data", "bbc_news.jsonl"))))[size:]
    spans = chunk_spans(rows)
    c0, w0 = time.process_time(), time.perf_counter()
    col = open_collection(layout, path)
    write(layout, col, spans, size, np.random.default_rng(SEED + 1))
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    status = Path("/proc/self/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": hwm}))


def run(layout: str, rows: list[dict[str, Any]], spans: list[np.ndarray], work: Path) -> list[object]:
    path = work / layout.split()[1]
    col = open_collection(layout, path)
    rng = np.random.default_rng(SEED)
    edge = min(2000, len(rows) // 2)
    t0 = time.perf_counter()
    write(layout, col, spans[:edge], 0, rng)
    first = edge / (time.perf_counter() - t0)
    write(layout, col, spans[edge:-edge], edge, rng)
    t0 = time.perf_counter()
    write(layout, col, spans[-edge:], len(rows) - edge, rng)
    last = edge / (time.perf_counter() - t0)
    want = [f"a{k}" for k in np.random.default_rng(SEED).choice(len(rows), 500, replace=False)]
    t0 = time.perf_counter()
    include = ["embeddings", "metadatas"] if layout == LAYOUTS[0] else ["metadatas"]
    got = col.get(where={"article_id": {"$in": want}}, include=include)
    read_ms = (time.perf_counter() - t0) * 1000
    assert {m["article_id"] for m in got["metadatas"]} == set(want)
    del col
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.chroma_vectors", "--child", layout, str(path), str(len(rows))],
        capture_output=True,
        text=True,
        check=True,
    )
    nxt = json.loads(proc.stdout.strip().splitlines()[-1])
    disk = disk_mb(path)
    return [
        layout,
        len(rows),
        sum(len(s) for s in spans),
        f"{first:.0f}",
        f"{last:.0f}",
        f"{NEXT / nxt['wall']:.0f}",
        f"{nxt['cpu']:.1f}",
        f"{nxt['peak_mb']:.0f}",
        f"{disk:.0f}",
        f"{read_ms:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20000, help="articles written into each store")
    parser.add_argument("--child", nargs=3, metavar=("LAYOUT", "PATH", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        layout, path, size = args.child
        child(layout, Path(path), int(size))
        return
    rows = archive(args.size, list(read_jsonl(shared_path("data", "bbc_news.jsonl"))))
    spans = chunk_spans(rows)
    out = []
    with tempfile.TemporaryDirectory(prefix="factdiff-vectors-") as tmp:
        for layout in LAYOUTS:
            out.append(run(layout, rows, spans, Path(tmp)))
    headers = ["chunk vectors kept as", "articles", "chunks", "art/s first 2k", "art/s last 2k"]
    headers += [f"next {NEXT}: art/s", "CPU s", "peak MB", "disk MB", "read 500 ms"]
    print(table(headers, out))


if __name__ == "__main__":
    main()
