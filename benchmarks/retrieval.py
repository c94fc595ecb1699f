"""Retrieval benchmark: does factdiff find the original of a story among ~2,400 articles?

Store: shared/data/bbc_news.jsonl (every 20th article held out, see below) plus the source
documents of summedits_news.jsonl and faithbench.jsonl. Queries: each stored BBC article's
extractive summary, and a reworded version of it (benchmarks/reword.py documents the
procedure). Methods, all in the same run on the same store: ours (OriginalFinder), ours as
it was before its vectors moved to the search index (dense candidates from Chroma's chunk
vector index, chunk vectors read from Chroma), BM25 only (our lexical index), dense only
(chunk vectors in Chroma, best similarity per story sentence averaged per article). The
held-out BBC articles' summaries have no original in the store: they measure how often we
wrongly claim one.

The BBC set holds the same story more than once (exact copies, which the store merges, and
near-copies under the same title). A hit on a near-copy of the gold article (same title,
word-trigram Jaccard >= 0.5) counts as a hit. A held-out article whose story is stored
under another id (trigram Jaccard >= 0.3 with any stored article) is not a fair negative
and is left out of the false-match rate; the table says how many.

Each embedding model runs in its own subprocess so its peak memory is its own.

    python -m benchmarks.retrieval                      # both local models, all queries
    python -m benchmarks.retrieval --models minilm --sample 5   # every 5th query
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any

import numpy as np

from benchmarks.common import bbc_drafts, median, peak_rss_mb, percentile, read_jsonl, shared_path, table
from benchmarks.reword import reword
from retrieval.models import ArticleDraft, ChunkHit

HOLD_OUT_EVERY = 20


def shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / max(1, len(a | b))


def near_copies(kept: list[dict]) -> dict[str, set[str]]:
    """For each BBC id, the ids of near-copies stored under the same title."""
    by_title: dict[str, list[dict]] = defaultdict(list)
    for r in kept:
        by_title[r["title"].strip().lower()].append(r)
    groups: dict[str, set[str]] = {}
    for rows in by_title.values():
        sh = {r["id"]: shingles(r["text"]) for r in rows}
        for r in rows:
            groups[r["id"]] = {o["id"] for o in rows if jaccard(sh[r["id"]], sh[o["id"]]) >= 0.5}
    return groups


def fair_negatives(held: list[dict], drafts: list[ArticleDraft]) -> list[dict]:
    stored = [shingles(d.text) for d in drafts]
    return [r for r in held if max(jaccard(shingles(r["text"]), s) for s in stored) < 0.3]


def corpus() -> tuple[list[ArticleDraft], list[dict], list[dict]]:
    """Drafts to store, in-store BBC records (positives) and held-out ones (negatives)."""
    bbc = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))
    held = [r for i, r in enumerate(bbc) if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1]
    kept = [r for i, r in enumerate(bbc) if i % HOLD_OUT_EVERY != HOLD_OUT_EVERY - 1]
    drafts = bbc_drafts(kept)
    seen: set[str] = set()
    for name, field in (("summedits_news.jsonl", "doc"), ("faithbench.jsonl", "source")):
        for r in read_jsonl(shared_path("data", name)):
            text = r[field]
            key = hashlib.sha1(text.encode()).hexdigest()[:12]
            if key in seen or not text.strip():
                continue
            seen.add(key)
            drafts.append(
                ArticleDraft(
                    title=text.strip().splitlines()[0][:100],
                    text=text,
                    id=f"{name.split('_')[0].split('.')[0]}-{key}",
                    origin=name,
                )
            )
    return drafts, kept, held


def rank_metrics(rankings: list[tuple[list[str], set[str]]]) -> dict[str, float]:
    r1 = r5 = mrr = 0.0
    for ranking, gold in rankings:
        ranks = [k for k, aid in enumerate(ranking) if aid in gold]
        if ranks and ranks[0] < 1:
            r1 += 1
        if ranks and ranks[0] < 5:
            r5 += 1
        if ranks:
            mrr += 1 / (ranks[0] + 1)
    n = len(rankings) or 1
    return {"R@1": r1 / n, "R@5": r5 / n, "MRR": mrr / n, "n": len(rankings)}


def run_one(model: str, sample: int) -> dict:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from retrieval.embeddings import make_embedder
    from retrieval.ingest import ingest
    from retrieval.lexical import LexicalIndex
    from retrieval.search import OriginalFinder
    from retrieval.store import SourceStore
    from retrieval.tokens import get_encoding

    drafts, kept, held = corpus()
    with tempfile.TemporaryDirectory(prefix="factdiff-bench-") as tmp:
        client = chromadb.PersistentClient(path=tmp, settings=ChromaSettings(anonymized_telemetry=False))
        store = SourceStore(client, make_embedder(model), get_encoding())
        t0 = time.perf_counter()
        outcomes = ingest(store, drafts, batch_size=32)
        ingest_s = time.perf_counter() - t0
        stored_as = {o.origin: o.article_id for o in outcomes if o.article_id}
        failed = sum(o.status == "failed" for o in outcomes)
        finder = OriginalFinder(store)
        t0 = time.perf_counter()
        index = finder.lexical_index()
        lexical_build_s = time.perf_counter() - t0  # the persistent index, kept up to date by the ingest
        t0 = time.perf_counter()
        rebuilt = LexicalIndex(store.iter_texts())  # before issue 13: rebuilt from every text
        rebuild_s = time.perf_counter() - t0
        nearest = NearestChunks(index)
        before = chunk_ann_finder(store, nearest)

        copies = near_copies(kept)
        queries = []
        for i, r in enumerate(kept):
            if i % sample:
                continue
            gold = {stored_as.get(x, x) for x in copies[r["id"]] | {r["id"]}}
            queries.append(("extractive", r["extractive_summary"], gold))
            queries.append(("reworded", reword(r["extractive_summary"], r["id"]), gold))
        finder.find(queries[0][1])  # warm-up
        rankings: dict[tuple[str, str], list[tuple[list[str], set[str]]]] = defaultdict(list)
        accepted: dict[str, list[int]] = defaultdict(list)
        latency: dict[str, list[float]] = defaultdict(list)
        for kind, text, gold in queries:
            t = time.perf_counter()
            res = finder.find(text)
            latency["ours"].append(time.perf_counter() - t)
            rankings[(kind, "ours")].append(([c.info.id for c in res.considered], gold))
            accepted[kind].append(int(bool(res.matches) and res.matches[0].info.id in gold))
            old = before.find(text)
            rankings[(kind, "ours, chunk ANN (before)")].append(([c.info.id for c in old.considered], gold))
            accepted[f"{kind} before"].append(int(bool(old.matches) and old.matches[0].info.id in gold))
            rankings[(kind, "bm25 only, rebuilt (before)")].append(([a for a, _ in rebuilt.search(text, 10)], gold))
            t = time.perf_counter()
            lex = [aid for aid, _ in index.search(text, 10)]
            latency["bm25"].append(time.perf_counter() - t)
            rankings[(kind, "bm25 only")].append((lex, gold))
            t = time.perf_counter()
            dense = dense_only(finder, store, nearest, text)
            latency["dense"].append(time.perf_counter() - t)
            rankings[(kind, "dense only")].append((dense, gold))
        fair = fair_negatives(held, drafts)
        negatives = [r for i, r in enumerate(fair) if i % max(1, sample // 2) == 0]
        false_matches = false_before = 0
        for r in negatives:  # both the extractive and the reworded summary of each
            for text in (r["extractive_summary"], reword(r["extractive_summary"], r["id"])):
                false_matches += bool(finder.find(text).matches)
                false_before += bool(before.find(text).matches)
        return {
            "model": model,
            "articles": len(drafts),
            "stored": store.count(),
            "failed": failed,
            "ingest_s": ingest_s,
            "ingest_rate": len(drafts) / ingest_s,
            "lexical_build_s": lexical_build_s,
            "rebuild_s": rebuild_s,
            "metrics": {f"{k}|{m}": rank_metrics(v) for (k, m), v in rankings.items()},
            "accepted": {k: sum(v) / len(v) for k, v in accepted.items()},
            "latency_ms": {k: {"p50": 1000 * median(v), "p95": 1000 * percentile(v, 95)} for k, v in latency.items()},
            "negatives": 2 * len(negatives),
            "unfair_negatives": len(held) - len(fair),
            "false_match_rate": false_matches / max(1, 2 * len(negatives)),
            "false_match_before": false_before / max(1, 2 * len(negatives)),
            "peak_rss_mb": peak_rss_mb(),
        }


class NearestChunks:
    """Every stored chunk's vector in one matrix, searched exactly: the dense search over
    chunks that Chroma's per-chunk HNSW index gave before issue 13 (factdiff no longer keeps a
    searchable vector per chunk in Chroma; exact search is an upper bound on what HNSW found)."""

    def __init__(self, index: Any) -> None:
        held = index.chunk_vectors(sorted(index.versions()))
        self.owners = [aid for aid, (_, cv) in held.items() for _ in range(len(cv.vectors))]
        self.spans = np.concatenate([cv.spans for _, cv in held.values()])
        self.matrix = np.concatenate([cv.vectors for _, cv in held.values()]).astype(np.float32)

    def query(self, vectors: np.ndarray, n_results: int) -> list[list[ChunkHit]]:
        sims = np.asarray(vectors, dtype=np.float32) @ self.matrix.T
        out = []
        for row in sims:
            top = np.argsort(-row)[:n_results]
            hits = []
            for k in top:
                index, start, end = (int(x) for x in self.spans[k])
                hits.append(ChunkHit(self.owners[k], index, start, end, float(row[k])))
            out.append(hits)
        return out


def chunk_ann_finder(store: Any, nearest: NearestChunks) -> Any:
    """Our finder as it was before issue 13's second part: dense candidates from the nearest
    chunks per story sentence, chunk vectors read from Chroma."""
    from retrieval.search import OriginalFinder

    class ChunkAnnFinder(OriginalFinder):
        def _nearest(self, vectors: Any, index: Any) -> dict[str, float]:
            best: dict[str, float] = {}
            for row in nearest.query(vectors, self.config.dense_k):
                for h in row:
                    best[h.article_id] = max(best.get(h.article_id, 0.0), h.similarity)
            return best

        def _chunk_vectors(self, ids: list[str], infos: dict[str, Any], index: Any) -> dict[str, Any]:
            return store.stored_chunk_vectors({aid: infos[aid].version for aid in ids if aid in infos})

    return ChunkAnnFinder(store)


def dense_only(finder: object, store: object, nearest: NearestChunks, text: str) -> list[str]:
    """Baseline: sentence vectors -> nearest chunks -> mean best similarity per article."""
    sentences = finder._query(text).texts  # type: ignore[attr-defined]
    hits = nearest.query(store.embedder.embed(sentences), 24)  # type: ignore[attr-defined]
    score: dict[str, float] = defaultdict(float)
    for row in hits:
        best: dict[str, float] = {}
        for h in row:
            best[h.article_id] = max(best.get(h.article_id, 0.0), h.similarity)
        for aid, s in best.items():
            score[aid] += s / len(hits)
    return sorted(score, key=score.__getitem__, reverse=True)[:10]


def report(results: list[dict]) -> str:
    rows = []
    for r in results:
        for key, m in sorted(r["metrics"].items()):
            kind, method = key.split("|")
            rows.append([r["model"], kind, method, m["R@1"], m["R@5"], m["MRR"], m["n"]])
    out = [table(["model", "queries", "method", "Recall@1", "Recall@5", "MRR", "n"], rows), ""]
    rows = [
        [
            r["model"],
            r["articles"],
            round(r["ingest_rate"], 1),
            round(r["lexical_build_s"], 2),
            round(r["rebuild_s"], 2),
            round(r["latency_ms"]["ours"]["p50"], 1),
            round(r["latency_ms"]["ours"]["p95"], 1),
            round(r["latency_ms"]["bm25"]["p50"], 1),
            round(r["latency_ms"]["dense"]["p50"], 1),
            r["accepted"]["extractive"],
            r["accepted"]["reworded"],
            r["false_match_rate"],
            f"{r['accepted']['extractive before']:.3f} / {r['accepted']['reworded before']:.3f} / "
            f"{r['false_match_before']:.3f}",
            f"{r['negatives']} (+{r['unfair_negatives']} left out)",
            round(r["peak_rss_mb"]),
        ]
        for r in results
    ]
    out.append(
        table(
            [
                "model",
                "articles",
                "ingest art/s",
                "BM25 catch-up s",
                "BM25 rebuild s (before)",
                "ours p50 ms",
                "ours p95 ms",
                "bm25 p50 ms",
                "dense p50 ms",
                "accepted@1 extr.",
                "accepted@1 rew.",
                "false match",
                "before: acc. extr. / rew. / false",
                "negative queries",
                "peak RSS MB",
            ],
            rows,
        )
    )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="minilm,wordllama", help="comma-separated local models")
    ap.add_argument("--sample", type=int, default=1, help="use every Nth stored article's summary as a query")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the raw results here")
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one, a.sample)))
        return
    results = []
    for model in a.models.split(","):
        print(f"running {model} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.retrieval", "--one", model, "--sample", str(a.sample)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode:
            sys.exit(f"{model} run failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    print(report(results))


if __name__ == "__main__":
    main()
