"""The store survives its users: huge unpunctuated sources and compression bombs.

1. **Ingest of a large source** (targets: a 4.9 MB unpunctuated source ingested in under
   30 s, time in step with size). Each source goes through the whole ingest path —
   ``SourceStore.add`` into an embedded ``PersistentClient`` on disk: chunking, embedding
   (WordLlama) and Chroma writes — and is then found by a check of a passage of it
   (``OriginalFinder.find``: every chunk of it is read back), each in a fresh store. Sources, all invented by a
   seeded generator: caption-like lines without punctuation at 0.6 to 4.9 MB (the size
   series shows whether time grows with size only), Chinese-like text with no spaces and no
   punctuation (hard cuts), and, as the baseline, ordinary punctuated prose of the same size.
2. **Peak memory of a compression bomb** (target: under 200 MB). A local server sends
   responses; each case is fetched by ``retrieval.fetch.fetch`` in a fresh child process that
   reports its own peak RSS. Baselines in the same run: an ordinary 10 kB page, and the old
   way of reading a body (httpx decoding every coding, then counting) on a smaller stacked
   bomb.

    python -m benchmarks.robustness               # both parts, about a minute
    python -m benchmarks.robustness --part ingest
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from benchmarks.common import REPO, peak_rss_mb, table

MB = 1_000_000
WORDS = (  # noqa: SIM905 (a sentence of words reads better than a list)
    "the council harbour plan water rate vote budget road bridge ferry school mayor said would "
    "and then we went on to the next item residents asked about bus stops depot repairs district "
    "tender contract spring autumn meeting members agreed objected costs rise fall million"
).split()
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 400)]


def captions(size: int, seed: int = 1) -> str:
    """Lower-case caption lines without punctuation, ~``size`` bytes: one long 'sentence'."""
    rng = random.Random(seed)
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12)))
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)[:size]


def prose(size: int, seed: int = 2) -> str:
    """Ordinary sentences and paragraphs of the same words, ~``size`` bytes."""
    rng = random.Random(seed)
    out, total = [], 0
    while total < size:
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
        sentence = " ".join(words).capitalize() + rng.choice([".", ".", ".", "?"])
        out.append(sentence + ("\n\n" if rng.random() < 0.2 else " "))
        total += len(sentence) + 1
    return "".join(out)[:size]


def han(size: int, seed: int = 3) -> str:
    """Han characters with no spaces and no punctuation, ~``size`` bytes of UTF-8."""
    rng = random.Random(seed)
    return "".join(rng.choice(HAN) for _ in range(size // 3))


def ingest_part() -> None:
    from retrieval.models import ArticleDraft
    from retrieval.search import OriginalFinder
    from retrieval.sentences import split_sentences

    cases = [("captions", captions(n), n) for n in (int(0.6 * MB), int(1.2 * MB), int(2.4 * MB), int(4.9 * MB))]
    cases += [("no spaces or punctuation (Han)", han(int(4.9 * MB)), int(4.9 * MB))]
    cases += [("punctuated prose (baseline)", prose(int(4.9 * MB)), int(4.9 * MB))]
    rows = []
    for n, (name, text, size) in enumerate(cases):
        with tempfile.TemporaryDirectory(prefix="factdiff-bench-") as tmp:  # a fresh store for each source
            store = _store(Path(tmp))
            finder = OriginalFinder(store)
            started = time.perf_counter()
            outcome = store.add(ArticleDraft(title=f"{name} {n}", text=text, url=f"https://example.org/b/{n}"))
            took = time.perf_counter() - started
            assert outcome.status == "added", outcome
            passage = text[len(text) // 2 : len(text) // 2 + 600]
            started = time.perf_counter()
            found = finder.find(passage if split_sentences(passage) else text[:600])
            check = time.perf_counter() - started
            hit = bool(found.considered) and found.considered[0].info.id == outcome.article_id
            rows.append(
                [
                    name,
                    f"{len(text.encode()) / MB:.1f}",
                    outcome.chunks,
                    f"{took:.1f}",
                    f"{took / (len(text.encode()) / MB):.2f}",
                    f"{check:.1f}",
                    "yes" if hit else "no",
                ]
            )
            print(f"  {name} {size / MB:.1f} MB: {took:.1f} s", file=sys.stderr)
    headers = ["source", "MB", "chunks", "ingest s", "s per MB", "check s", "check finds it"]
    print(table(headers, rows))
    print(f"\npeak RSS of the ingest process: {peak_rss_mb():.0f} MB")


def _store(folder: Path):  # type: ignore[no-untyped-def]
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from retrieval.embeddings import WordLlamaEmbedder
    from retrieval.locking import WriteLock
    from retrieval.store import SourceStore
    from retrieval.tokens import get_encoding

    def client():  # type: ignore[no-untyped-def]
        return chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))

    return SourceStore(client(), WordLlamaEmbedder(), get_encoding(), lock=WriteLock(folder, 60), reopen=client)


# ---- compression bombs -----------------------------------------------------------------------


def zeros_gzip(total: int) -> bytes:
    """gzip of ``total`` zero bytes, made a megabyte at a time (never held whole)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * MB
    parts = [packer.compress(block) for _ in range(total // MB)]
    return b"".join(parts) + packer.flush()


def bomb_part() -> None:
    from tests.servers.web import WebServer, page

    inner_big = zeros_gzip(4_000 * MB)  # 4 GB of zeros, gzip: ~4 MB
    inner_small = zeros_gzip(400 * MB)
    stacked_big = gzip.compress(inner_big, 9)
    stacked_small = gzip.compress(inner_small, 9)
    single = zeros_gzip(1_000 * MB)
    html = b"<html><body>" + b"<p>An ordinary paragraph of an ordinary page.</p>" * 200 + b"</body></html>"
    routes = {
        "/page": page(html),
        "/stacked-big": page(stacked_big, headers={"Content-Encoding": "gzip, gzip"}),
        "/stacked-small": page(stacked_small, headers={"Content-Encoding": "gzip, gzip"}),
        "/single": page(single, headers={"Content-Encoding": "gzip"}),
    }
    cases = [
        ("ordinary page (baseline)", "/page", "fetch", len(html)),
        ("gzip, gzip: 4 GB inside", "/stacked-big", "fetch", len(stacked_big)),
        ("gzip: 1 GB inside", "/single", "fetch", len(single)),
        ("gzip, gzip: 400 MB inside, old way (httpx decodes)", "/stacked-small", "old", len(stacked_small)),
        ("gzip, gzip: 400 MB inside", "/stacked-small", "fetch", len(stacked_small)),
    ]
    rows = []
    with WebServer(routes) as web:
        for name, path, how, wire in cases:
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.robustness", "--child", how, web.url(path)],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=300,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
            rows.append(
                [name, f"{wire / 1000:.1f}", result.get("outcome", done.stderr[-200:]), result.get("peak_mb", "-")]
            )
    print(table(["response", "kB sent", "outcome", "peak RSS MB"], rows))


def child(how: str, url: str) -> None:
    """One fetch in a fresh process; prints its outcome and peak RSS as JSON."""
    import httpx

    from retrieval.errors import FetchError
    from retrieval.fetch import FetchPolicy, fetch

    policy = FetchPolicy(allow_private=True, timeout=60)
    try:
        if how == "old":  # what fetch did before: httpx decodes every coding, then the cap counts
            size = 0
            with httpx.stream("GET", url, timeout=60) as response:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > policy.max_bytes:
                        raise FetchError("page too large")
            outcome = f"read {size:,} bytes"
        else:
            outcome = f"read {len(fetch(url, policy).body):,} bytes"
    except FetchError as exc:
        outcome = "refused: " + str(exc).split(": ", 1)[-1][:60]
    print(json.dumps({"outcome": outcome, "peak_mb": round(peak_rss_mb())}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["ingest", "bombs", "all"], default="all")
    ap.add_argument("--child", nargs=2, metavar=("HOW", "URL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        child(*args.child)
        return
    if args.part in ("bombs", "all"):
        print("## Compression bombs: peak memory of one fetch (fresh process each)\n")
        bomb_part()
        print()
    if args.part in ("ingest", "all"):
        print("## Large sources: ingest (chunk, embed, store) and a check against each\n")
        ingest_part()


if __name__ == "__main__":
    main()
