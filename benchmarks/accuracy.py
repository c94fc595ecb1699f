"""Accuracy benchmark: does the offline diff engine flag what is wrong, and only that?

Six measurements, each run in its own subprocess (so memory and Chroma state are its own),
each printed as Markdown tables with a baseline measured in the same run:

* seed: the hand-labelled TASS story (shared/data/seed), scored by shared/eval/score.py.
  Baseline: a report that flags every story sentence as added.
* dev: the twelve labelled rewrites of shared/data/dev, run by shared/eval/run_set.sh exactly as
  the held-out set is measured; a table of each detector's findings and how many were right
  (see benchmarks/devset.py). ``--calibrate`` (with summedits and faithbench) prints the scores
  it suggests.
* summedits: SummEdits news (819 summaries of 25 articles; label 1 consistent, 0 not).
  One store per distinct article, so retrieval cannot pick the wrong one; a summary is
  predicted inconsistent when the report has an added or reworded finding, or when no
  original is found at all (counted, and shown). Balanced accuracy next to published
  numbers and a lexical baseline (inconsistent if any summary word of more than three
  letters, lower-cased, is absent from the article).
* faithbench: FaithBench (750 LLM summaries of 75 passages). One store per distinct
  passage. Sample level: gold-hallucinated if any annotation label contains "Unwanted";
  balanced accuracy of ours, the lexical baseline and the detectors stored in the data.
  Span level: our added / reworded finding spans against the Unwanted.Extrinsic /
  Unwanted.Intrinsic spans (overlap of at least one character).
* bbc: the extractive summaries of the BBC articles, checked against a store of all 2,225
  articles: verbatim extracts, so every flagged sentence is a false alarm. Checked as stored
  (sentences glued without spaces) and, as a diagnostic, with a space at each glue point.
* speed: ~800-word stories (2-3 related BBC summaries, some sentences reworded) checked
  against a store of all BBC articles plus the summedits and FaithBench sources.

    python -m benchmarks.accuracy                                  # everything (~40 min, 2 cores)
    python -m benchmarks.accuracy --only summedits --limit 120     # an evenly spaced sample
    python -m benchmarks.accuracy --only speed --json speed.json
    python -m benchmarks.accuracy --oracle                         # the LLM path's ceiling (~3 min)

--oracle checks the dev set (shared/data/dev) with the LLM judge answered by a perfect model
(a local server that knows the gold labels; see benchmarks/oracle.py), against the offline engine.

--limit N takes N evenly spaced rows of each data set (every article / passage stays
represented); the BBC store always holds every article, only the checked summaries are limited.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, bbc_drafts, median, peak_rss_mb, percentile, read_jsonl, shared_path, table
from benchmarks.devset import calibration, explain_dev, report_dev, run_dev
from benchmarks.oracle import explain_oracle, report_oracle, run_oracle
from benchmarks.reword import reword
from retrieval.models import ArticleDraft

log = logging.getLogger("benchmarks.accuracy")

SECTIONS = ("seed", "dev", "summedits", "faithbench", "bbc", "speed")
FLAGGED = ("added", "reworded")
#: Balanced accuracy on SummEdits news, as published (shared/README.md).
LITERATURE = (("SummaC-Conv", 61.9), ("QAFactEval", 74.4), ("GPT-4", 83.3), ("humans", 90.0))
SUMMEDITS_TARGET = 75.0
SEED_TARGETS = {"added": 0.85, "reworded": 0.6, "omitted": 0.8}
BBC_TARGET = 0.01
SPEED_TARGETS = {"p50_s": 1.0, "peak_mb": 1500.0}
HHEM = ("hhemv1", "hhem-2.1", "hhem-2.1-english")
BINARY_DETECTORS = ("trueteacher", "true_nli", "gpt-3.5-turbo", "gpt-4-turbo", "gpt_4o")
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?](?=\S)")
_CLOSERS = "\"'\u2019\u201d)"


# ---- small helpers ------------------------------------------------------------------------


def sample(rows: list[dict], limit: int | None) -> list[dict]:
    """``limit`` evenly spaced rows (all rows when there is no limit)."""
    if not limit or limit >= len(rows):
        return rows
    return [rows[i * len(rows) // limit] for i in range(limit)]


def absent_words(text: str, doc: str) -> list[tuple[int, int]]:
    """The lexical baseline: spans of words of more than 3 letters (lower-cased) not in ``doc``."""
    vocab = {w.lower() for w in _WORD.findall(doc)}
    return [m.span() for m in _WORD.finditer(text) if len(m.group()) > 3 and m.group().lower() not in vocab]


def doc_draft(text: str, dataset: str) -> ArticleDraft:
    key = hashlib.sha1(text.encode()).hexdigest()[:12]
    return ArticleDraft(title=text.strip().splitlines()[0][:100], text=text, id=f"{dataset}-{key}", origin=dataset)


def overlaps(span: tuple[int, int], spans: Iterable[tuple[int, int]]) -> bool:
    return any(min(span[1], e) > max(span[0], s) for s, e in spans)


def pct(v: float) -> str:
    """A share as a percentage with one decimal ('-' when undefined)."""
    return "-" if v != v else f"{100 * v:.1f}"


def balanced(pred_bad: list[bool], gold_bad: list[bool]) -> dict[str, Any]:
    """Balanced accuracy: the mean of the recall on consistent and on inconsistent rows."""
    good = [not p for p, g in zip(pred_bad, gold_bad, strict=True) if not g]
    bad = [p for p, g in zip(pred_bad, gold_bad, strict=True) if g]
    r_good = sum(good) / len(good) if good else float("nan")
    r_bad = sum(bad) / len(bad) if bad else float("nan")
    return {
        "ba": (r_good + r_bad) / 2,
        "recall_consistent": r_good,
        "recall_inconsistent": r_bad,
        "n": len(good) + len(bad),
    }


def summary_sentences(summary: str, article: str) -> list[tuple[int, int]]:
    """Spans of the article sentences glued into an extractive summary ("...bn.For the...").

    Candidate cuts follow sentence-final punctuation with no space after it (before or after a
    closing quote). From each start the longest piece found verbatim in the article (whitespace
    folded) is taken, so a cut inside "U.S." is not, and a quote mark after a full stop goes
    with the sentence it belongs to; where no piece is found, the first cut is taken.
    """
    flat = " ".join(article.split())
    cuts = set()
    for m in _SENTENCE_END.finditer(summary):
        cuts.add(m.end())
        if m.end() < len(summary) and summary[m.end()] in _CLOSERS:
            cuts.add(m.end() + 1)
    cuts.add(len(summary))
    ordered = sorted(cuts)
    spans: list[tuple[int, int]] = []
    p = 0
    while p < len(summary):
        ahead = [q for q in ordered if q > p]
        found = next((q for q in reversed(ahead) if " ".join(summary[p:q].split()) in flat), ahead[0])
        s, e = p, found
        while s < e and summary[s].isspace():
            s += 1
        while e > s and summary[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        p = found
    return spans


def flagged_spans(report: Any, text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of the report's added and reworded findings, as offsets into ``text``:
    the reported ones (held-back findings are not shown, and score.py does not read them)."""
    out = []
    for f in report.findings:
        if f.kind not in FLAGGED or f.story is None or not report.reported(f):
            continue
        start, end = f.story.start, f.story.end
        if text[start:end] != f.story.text:
            log.warning("finding offsets do not index the checked text: %r", f.story.text[:60])
            start = text.find(f.story.text)
            if start < 0:
                continue
            end = start + len(f.story.text)
        out.append((f.kind, start, end))
    return out


def progress(name: str, done: int, total: int, t0: float) -> None:
    if done == total or done % 20 == 0:
        spent = time.perf_counter() - t0
        eta = spent / done * (total - done) if done else 0.0
        print(f"  {name}: {done}/{total} checked, {spent:.0f} s, ~{eta:.0f} s to go", file=sys.stderr, flush=True)


class Kit:
    """One Chroma client, the store's embedder (WordLlama) and the alignment embedder (MiniLM)."""

    def __init__(self, path: Path | None = None, *, llm: bool = False) -> None:
        import chromadb
        from chromadb.config import Settings

        from retrieval.embeddings import make_embedder
        from retrieval.tokens import get_encoding

        settings = Settings(anonymized_telemetry=False)
        self.client = (
            chromadb.PersistentClient(path=str(path), settings=settings)
            if path
            else chromadb.EphemeralClient(settings=settings)
        )
        self.embedder = make_embedder("wordllama")
        from checker.engine import default_aligner

        self.aligner = default_aligner()
        self.encoding = get_encoding()
        self.judge = None
        if llm:  # the newsroom's own model, from the same settings as `factdiff check`
            from bot import wiring
            from bot.settings import load_settings

            self.judge = wiring.llm_judge(load_settings())

    def store(self, drafts: list[ArticleDraft]) -> Any:
        from retrieval.ingest import ingest
        from retrieval.store import SourceStore, StoreConfig

        store = SourceStore(self.client, self.embedder, self.encoding, StoreConfig(prefix="bench" + uuid.uuid4().hex))
        failed = [o for o in ingest(store, drafts, batch_size=32) if o.status == "failed"]
        if failed:
            log.warning("%d article(s) not stored, e.g. %s", len(failed), failed[0].error)
        return store

    def engine(self, store: Any) -> Any:
        from checker.engine import DiffEngine
        from retrieval.search import OriginalFinder

        return DiffEngine(OriginalFinder(store), align_embedder=self.aligner, judge=self.judge)

    def drop(self, store: Any) -> None:
        for name in (store.articles.name, store.vectors.name, store.changes.name):
            self.client.delete_collection(name)


#: With --llm: what the LLM judge did over a section (summed from every report's analyzer).
LLM_TALLY: Counter[str] = Counter()


def check(engine: Any, text: str, where: str) -> Any | None:
    """The engine's report, or None when it fails on this input (logged and counted)."""
    try:
        report = engine.check(text)
    except Exception as exc:  # a crash on one row must not lose an hour-long run; it is counted
        log.error("check failed on %s: %s: %s", where, type(exc).__name__, exc)
        return None
    tally_llm(report)
    return report


def tally_llm(report: Any) -> None:
    a = report.analyzer
    if a.model is None:
        return
    LLM_TALLY["checks"] += 1
    LLM_TALLY["offline_fallbacks"] += a.name != "factdiff-llm" and bool(a.requests)
    LLM_TALLY["notes_with_failures"] += any("failed" in n for n in a.notes)
    LLM_TALLY["requests"] += a.requests or 0
    LLM_TALLY["prompt_tokens"] += a.prompt_tokens or 0
    LLM_TALLY["completion_tokens"] += a.completion_tokens or 0
    LLM_TALLY["cost_micro_usd"] += round((a.cost_usd or 0.0) * 1_000_000)


def llm_line(r: dict[str, Any]) -> str:
    t = r.get("llm")
    if not t:
        return ""
    return (
        f" LLM judge ({t['model']}, prompts {t['prompt_version']}): {t.get('checks', 0)} checks, "
        f"{t.get('requests', 0)} requests, {t.get('prompt_tokens', 0):,} prompt + "
        f"{t.get('completion_tokens', 0):,} completion tokens, about ${t.get('cost_micro_usd', 0) / 1e6:.2f}; "
        f"{t.get('notes_with_failures', 0)} checks fell back (in part) to the offline verdicts."
    )


# ---- seed ---------------------------------------------------------------------------------


def every_sentence_added(story: str) -> dict[str, Any]:
    """The seed baseline: a report-format JSON that flags every story sentence as added."""
    from retrieval.sentences import split_sentences

    findings = [
        {
            "kind": "added",
            "story": {"start": s.start, "end": s.end, "text": s.text},
            "source": None,
            "explanation": "baseline: every sentence is flagged",
            "confidence": 0.5,
        }
        for s in split_sentences(story)
    ]
    analyzer: dict[str, Any] = {"name": "baseline-all-added", "model": None, "prompt_version": None}
    analyzer |= {"prompt_tokens": None, "completion_tokens": None, "notes": []}
    return {
        "version": 1,
        "story": {"text": story, "url": None},
        "sources": [],
        "findings": findings,
        "analyzer": analyzer,
        "message": "",
    }


def score_reports(gold: Path, reports: Path, out: Path) -> dict[str, Any]:
    script = shared_path("eval", "score.py")
    cmd = [sys.executable, str(script), str(gold), str(reports), "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"score.py failed:\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def run_seed(kit: Kit, a: argparse.Namespace) -> dict[str, Any]:
    from checker.models import report_to_json
    from retrieval.readers import read_file

    seed = shared_path("data", "seed")
    story = (seed / "story.txt").read_text(encoding="utf-8")
    store = kit.store([read_file(seed / "source-tass.txt")])
    engine = kit.engine(store)
    t0 = time.perf_counter()
    report = engine.check(story)
    tally_llm(report)
    seconds = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="factdiff-accuracy-") as tmp:
        ours, base = Path(tmp, "ours"), Path(tmp, "baseline")
        ours.mkdir()
        base.mkdir()
        (ours / "story.json").write_text(json.dumps(report_to_json(report), indent=1), encoding="utf-8")
        (base / "story.json").write_text(json.dumps(every_sentence_added(story), indent=1), encoding="utf-8")
        scored = score_reports(seed / "gold.json", ours, Path(tmp, "score.json"))
        scored_base = score_reports(seed / "gold.json", base, Path(tmp, "score-baseline.json"))
    return {"ours": scored, "baseline": scored_base, "check_s": seconds, "counts": report.counts()}


def report_seed(r: dict[str, Any]) -> str:
    ours, base = r["ours"], r["baseline"]
    rows: list[list[object]] = []
    for kind in ("problems", "added", "reworded", "omitted"):
        target = f"F1 >= {SEED_TARGETS[kind]}" if kind in SEED_TARGETS else "-"
        o, b = ours[kind], base[kind]
        rows.append(
            [kind, target, o["precision"], o["recall"], o["f1"], f"{o['found_correct']}/{o['found']}"]
            + [f"{o['gold_detected']}/{o['gold']}", b["precision"], b["recall"], b["f1"]]
            + [f"{b['found_correct']}/{b['found']}", f"{b['gold_detected']}/{b['gold']}"]
        )
    head = ["kind", "target", "ours P", "ours R", "ours F1", "correct/found", "detected/gold"]
    head += ["baseline P", "baseline R", "baseline F1", "correct/found", "detected/gold"]
    out = [table(head, rows), ""]
    rows = [
        ["quotes", "-", ours["citations"]["quotes"], base["citations"]["quotes"]],
        [
            "quotes not verbatim in the source",
            "0",
            ours["citations"]["not_verbatim_in_any_source"],
            base["citations"]["not_verbatim_in_any_source"],
        ],
        ["detected reworded labels quoting the gold sentence", "-", ours["reworded"]["cited_correctly"], "-"],
        ["retrieval (top sources = gold sources)", "-", ours["retrieval"], base["retrieval"]],
        ["check time (s)", "-", round(r["check_s"], 2), "-"],
    ]
    out.append(table(["measure", "target", "ours", "baseline"], rows))
    return "\n".join(out)


def explain_seed(r: dict[str, Any]) -> str:
    c = r["counts"]
    return (
        "How it was measured: `source-tass.txt` read with `read_file` into a fresh store (WordLlama "
        "chunk vectors, in-memory Chroma); `story.txt` checked by `DiffEngine` (MiniLM alignment); the "
        "JSON report written as `story.json` and scored by `shared/eval/score.py` against `gold.json` "
        "(a finding counts when at least half of it lies on a gold span of its kind; 'minor' labels are "
        f"left out). The engine reported {c['added']} added, {c['reworded']} reworded, {c['omitted']} "
        f"omitted and {c['supported']} supported; the check time is that of the first check in a fresh "
        "process. Baseline, scored the same way: every story sentence (our segmenter) flagged as added, no "
        "quotes, no omissions."
    )


# ---- summedits ----------------------------------------------------------------------------


def run_summedits(kit: Kit, a: argparse.Namespace) -> dict[str, Any]:
    rows = sample(list(read_jsonl(shared_path("data", "summedits_news.jsonl"))), a.limit)
    by_doc: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_doc[r["doc"]].append(r)
    out: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for doc, group in by_doc.items():
        store = kit.store([doc_draft(doc, "summedits")])
        engine = kit.engine(store)
        for r in group:
            t = time.perf_counter()
            report = check(engine, r["summary"], r["id"])
            row = {
                "id": r["id"],
                "label": r["label"],
                "edit_types": r["edit_types"],
                "seconds": time.perf_counter() - t,
                "lexical": bool(absent_words(r["summary"], doc)),
                "error": report is None,
            }
            if report is not None:
                counts = report.counts()
                row |= {"no_original": not report.sources, "added": counts["added"], "reworded": counts["reworded"]}
                # every added or reworded finding, reported or held back: what calibrates the scores
                row["bases"] = [f.basis or f.kind for f in report.findings if f.kind in FLAGGED]
                row["inconsistent"] = row["no_original"] or counts["added"] > 0 or counts["reworded"] > 0
            out.append(row)
            progress("summedits", len(out), len(rows), t0)
        kit.drop(store)
    return {"rows": out, "docs": len(by_doc), "limit": a.limit}


def report_summedits(r: dict[str, Any]) -> str:
    rows = [x for x in r["rows"] if not x["error"]]
    gold = [x["label"] == 0 for x in rows]
    ours = balanced([x["inconsistent"] for x in rows], gold)
    lex = balanced([x["lexical"] for x in rows], gold)
    with_orig = [x for x in rows if not x["no_original"]]
    ours_found = balanced([x["inconsistent"] for x in with_orig], [x["label"] == 0 for x in with_orig])
    test = [x for n, x in enumerate(r["rows"]) if n % 2 and not x["error"]]  # the half not used to calibrate
    ours_test = balanced([x["inconsistent"] for x in test], [x["label"] == 0 for x in test])

    def line(name: str, m: dict[str, Any]) -> list[object]:
        return [name, pct(m["ba"]), pct(m["recall_consistent"]), pct(m["recall_inconsistent"]), m["n"], "this run"]

    table_rows = [
        line("ours (no original counts as inconsistent)", ours),
        line("ours, rows with an original only", ours_found),
        line("ours, test half (odd rows: not used to calibrate scores)", ours_test),
        line("baseline: a summary word (>3 letters) absent from the doc", lex),
    ]
    table_rows += [[name, f"{value:.1f}", "-", "-", 819, "published"] for name, value in LITERATURE]
    table_rows.append(["target", f">= {SUMMEDITS_TARGET}", "-", "-", "-", "-"])
    head = ["method", "balanced acc. %", "recall consistent %", "recall inconsistent %", "n", "source"]
    out = [table(head, table_rows), ""]
    n_types: Counter[str] = Counter()
    ours_hit: Counter[str] = Counter()
    lex_hit: Counter[str] = Counter()
    for x in rows:
        if x["label"] != 0:
            continue
        for t in x["edit_types"] or ["(none given)"]:
            n_types[t] += 1
            ours_hit[t] += x["inconsistent"]
            lex_hit[t] += x["lexical"]
    type_rows: list[list[object]] = [
        [t, n, pct(ours_hit[t] / n), pct(lex_hit[t] / n)] for t, n in sorted(n_types.items(), key=lambda kv: -kv[1])
    ]
    out.append(table(["edit type (inconsistent rows)", "n", "ours detected %", "baseline detected %"], type_rows))
    return "\n".join(out)


def explain_summedits(r: dict[str, Any]) -> str:
    rows = [x for x in r["rows"] if not x["error"]]
    errors = len(r["rows"]) - len(rows)
    no_orig = [x for x in rows if x["no_original"]]
    flagged = [x for x in rows if x["inconsistent"]]
    secs = [x["seconds"] for x in r["rows"]]
    scope = f"an evenly spaced sample of {len(r['rows'])} of the 819 rows" if r["limit"] else "all 819 rows"
    return (
        f"How it was measured: {scope} ({r['docs']} distinct articles). Each article goes alone into a fresh "
        "store (so retrieval cannot confuse them), and each of its summaries is checked by `DiffEngine`. "
        "Predicted inconsistent: the report has an added or reworded finding, or no original was found "
        f"(for {len(no_orig)} of them: {sum(x['label'] == 0 for x in no_orig)} gold-inconsistent, "
        f"{sum(x['label'] == 1 for x in no_orig)} consistent). Of the {len(flagged)} flagged summaries, "
        f"{sum(x.get('added', 0) > 0 for x in flagged)} have an added finding and "
        f"{sum(x.get('reworded', 0) > 0 for x in flagged)} a reworded one. Balanced accuracy = mean of the "
        "recall on label 1 (consistent) and on label 0 (inconsistent). Published rows are from the "
        "SummEdits paper on the whole news domain (not re-run). A row with several edit types counts under "
        f"each. Check time per summary: p50 {median(secs):.2f} s, p95 {percentile(secs, 95):.2f} s. "
        f"Engine errors (left out): {errors}."
    )


# ---- faithbench ---------------------------------------------------------------------------


def gold_spans(annotations: list[dict]) -> dict[str, list[tuple[int, int]]]:
    """Gold spans by kind: 'added' (Unwanted.Extrinsic), 'reworded' (Unwanted.Intrinsic), 'any' Unwanted."""
    out: dict[str, set[tuple[int, int]]] = {"added": set(), "reworded": set(), "any": set()}
    for ann in annotations:
        span = (ann["summary_start"], ann["summary_end"])
        if span[0] is None or span[1] is None or span[1] <= span[0]:
            continue
        labels = ann["label"]
        if any("Unwanted" in lab for lab in labels):
            out["any"].add(span)
        if "Unwanted.Extrinsic" in labels:
            out["added"].add(span)
        if "Unwanted.Intrinsic" in labels:
            out["reworded"].add(span)
    return {k: sorted(v) for k, v in out.items()}


def detector_says_bad(name: str, value: Any) -> bool | None:
    """Our reading of the stored detectors: HHEM scores are P(consistent), < 0.5 = hallucinated;
    the others are binary with 1 = consistent (FaithBench's own convention, checked against the
    gold labels in the table). None when the detector gave no verdict."""
    if value is None:
        return None
    if name in HHEM:
        return float(value) < 0.5
    return int(value) == 0


def detector_evidence(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per binary detector, over all rows: the share of gold-hallucinated summaries among those
    it gave 0 and among those it gave 1 (which value means 'consistent' is read off this)."""
    out: dict[str, dict[str, float]] = {}
    for d in BINARY_DETECTORS:
        by_value: dict[str, list[bool]] = defaultdict(list)
        for r in rows:
            value = r["detectors"].get(d)
            if value is not None:
                by_value[str(int(value))].append(any("Unwanted" in lab for a in r["annotations"] for lab in a["label"]))
        out[d] = {v: sum(g) / len(g) for v, g in by_value.items()}
    return out


def run_faithbench(kit: Kit, a: argparse.Namespace) -> dict[str, Any]:
    everything = list(read_jsonl(shared_path("data", "faithbench.jsonl")))
    rows = sample(everything, a.limit)
    by_source: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_source[r["source"]].append(r)
    out: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for source, group in by_source.items():
        store = kit.store([doc_draft(source, "faithbench")])
        engine = kit.engine(store)
        for r in group:
            where = f"batch {r['batch']} sample {r['sample_id']}"
            t = time.perf_counter()
            report = check(engine, r["summary"], where)
            row: dict[str, Any] = {
                "id": where,
                "gold_bad": any("Unwanted" in lab for ann in r["annotations"] for lab in ann["label"]),
                "gold_spans": gold_spans(r["annotations"]),
                "detectors": {k: v for k, v in r["detectors"].items() if k in HHEM + BINARY_DETECTORS},
                "lexical_spans": absent_words(r["summary"], source),
                "seconds": time.perf_counter() - t,
                "error": report is None,
            }
            if report is not None:
                spans = flagged_spans(report, r["summary"])
                row |= {"no_original": not report.sources, "spans": spans}
                # each added or reworded finding with its detector, reported or held back: what
                # calibrates the scores (right when it overlaps an annotated span)
                row["bases"] = [
                    (f.basis or f.kind, f.story.start, f.story.end)
                    for f in report.findings
                    if f.kind in FLAGGED and f.story is not None
                ]
                row["bad"] = row["no_original"] or bool(spans)
            out.append(row)
            progress("faithbench", len(out), len(rows), t0)
        kit.drop(store)
    return {"rows": out, "sources": len(by_source), "limit": a.limit, "evidence": detector_evidence(everything)}


def span_prf(pairs: list[tuple[list[tuple[int, int]], list[tuple[int, int]]]]) -> list[object]:
    """Over (predicted spans, gold spans) per sample: precision, recall, counts (>= 1 char overlap)."""
    n_pred = sum(len(p) for p, _ in pairs)
    n_gold = sum(len(g) for _, g in pairs)
    ok_pred = sum(overlaps(s, g) for p, g in pairs for s in p)
    ok_gold = sum(overlaps(s, p) for p, g in pairs for s in g)
    precision = ok_pred / n_pred if n_pred else float("nan")
    recall = ok_gold / n_gold if n_gold else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return [n_gold, n_pred, precision, recall, f1]


def report_faithbench(r: dict[str, Any]) -> str:
    rows = [x for x in r["rows"] if not x["error"]]
    gold = [x["gold_bad"] for x in rows]

    def line(name: str, reading: str, preds: list[bool | None], golds: list[bool] = gold) -> list[object]:
        kept = [(p, g) for p, g in zip(preds, golds, strict=True) if p is not None]
        m = balanced([p for p, _ in kept], [g for _, g in kept])
        flagged = [g for p, g in kept if p]
        passed = [g for p, g in kept if not p]
        return [
            name,
            reading,
            pct(m["ba"]),
            pct(m["recall_consistent"]),
            pct(m["recall_inconsistent"]),
            pct(sum(flagged) / len(flagged) if flagged else float("nan")),
            pct(sum(passed) / len(passed) if passed else float("nan")),
            m["n"],
        ]

    test = [x for n, x in enumerate(r["rows"]) if n % 2 and not x["error"]]  # the half not used to calibrate
    table_rows = [
        line("ours", "added/reworded finding or no original", [x["bad"] for x in rows]),
        line(
            "ours, test half (odd rows: not used to calibrate scores)",
            "added/reworded finding or no original",
            [x["bad"] for x in test],
            [x["gold_bad"] for x in test],
        ),
        line(
            "baseline: a summary word (>3 letters) absent from the source",
            "-",
            [bool(x["lexical_spans"]) for x in rows],
        ),
    ]
    for d in HHEM + BINARY_DETECTORS:
        reading = "score < 0.5" if d in HHEM else "0 (1 = consistent)"
        table_rows.append(line(d, reading, [detector_says_bad(d, x["detectors"].get(d)) for x in rows]))
    head = ["detector", "hallucinated when", "balanced acc. %", "recall consistent %", "recall halluc. %"]
    head += ["gold-halluc. among flagged %", "gold-halluc. among passed %", "n"]
    out = [table(head, table_rows), ""]

    def ours(kind: str, x: dict) -> list[tuple[int, int]]:
        return [(s, e) for k, s, e in x["spans"] if kind == "any" or k == kind]

    span_rows: list[list[object]] = []
    for label, kind, gold_kind in (
        ("ours added vs Unwanted.Extrinsic", "added", "added"),
        ("ours reworded vs Unwanted.Intrinsic", "reworded", "reworded"),
        ("ours added+reworded vs any Unwanted", "any", "any"),
    ):
        pairs = [(ours(kind, x), [tuple(g) for g in x["gold_spans"][gold_kind]]) for x in rows]
        span_rows.append([label, *span_prf(pairs)])  # type: ignore[arg-type]
    pairs = [([tuple(s) for s in x["lexical_spans"]], [tuple(g) for g in x["gold_spans"]["any"]]) for x in rows]
    span_rows.append(["baseline absent words vs any Unwanted", *span_prf(pairs)])  # type: ignore[arg-type]
    out.append(table(["spans", "gold", "predicted", "precision", "recall", "F1"], span_rows))
    return "\n".join(out)


def explain_faithbench(r: dict[str, Any]) -> str:
    rows = [x for x in r["rows"] if not x["error"]]
    errors = len(r["rows"]) - len(rows)
    no_orig = [x for x in rows if x["no_original"]]
    secs = [x["seconds"] for x in r["rows"]]
    evidence = "; ".join(
        f"{d} {pct(e.get('0', float('nan')))}% vs {pct(e.get('1', float('nan')))}%" for d, e in r["evidence"].items()
    )
    scope = f"an evenly spaced sample of {len(r['rows'])} of the 750 rows" if r["limit"] else "all 750 rows"
    return (
        f"How it was measured: {scope} ({r['sources']} distinct passages), each passage alone in a fresh store, "
        "each summary checked by `DiffEngine`. Gold: hallucinated when any annotation label contains "
        f"'Unwanted' ({sum(x['gold_bad'] for x in rows)} of {len(rows)}). Ours: hallucinated when the report has "
        f"an added or reworded finding, or no original was found (for {len(no_orig)} of them). The other "
        "detectors' verdicts are the ones stored in the data set, on the same rows; our reading of them (the "
        "'hallucinated when' column) is checked by the last two columns (share of gold-hallucinated among the "
        "summaries a detector flags / passes) and, over all 750 rows, by the share of gold-hallucinated "
        f"summaries among those given 0 vs 1: {evidence}; so 1 = consistent, as in FaithBench's own binarised "
        "labels (gpt-3.5-turbo and true_nli are near chance either way). Spans: gold spans are "
        "the annotated summary spans, de-duplicated by (start, end) per sample; a predicted span is correct, "
        "and a gold span found, when they share at least one character; 'any Unwanted' includes annotations "
        "labelled only 'Unwanted'. Our spans are whole sentences or clauses, the baseline's single words, so "
        f"precision is not comparable across them. Check time per summary: p50 {median(secs):.2f} s, "
        f"p95 {percentile(secs, 95):.2f} s. Engine errors (left out): {errors}."
    )


# ---- bbc ------------------------------------------------------------------------------------


def spaced(summary: str, sentences: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """The summary with its glued sentences joined by one space, and their spans in that text."""
    parts, spans, pos = [], [], 0
    for s, e in sentences:
        parts.append(summary[s:e])
        spans.append((pos, pos + e - s))
        pos += e - s + 1
    return " ".join(parts), spans


def bbc_check(engine: Any, text: str, sentences: list[tuple[int, int]], own: dict, titles: dict) -> dict[str, Any]:
    """Check one summary; count the sentences that an added / reworded finding overlaps."""
    t = time.perf_counter()
    report = check(engine, text, own["id"])
    row: dict[str, Any] = {"seconds": time.perf_counter() - t, "error": report is None}
    if report is None:
        return row
    spans = flagged_spans(report, text)
    top = report.sources[0].info if report.sources else None
    changes = Counter(c.type for f in report.findings if f.kind in FLAGGED for c in f.changes)

    def hit(kinds: tuple[str, ...]) -> int:
        return sum(overlaps(sent, [(s, e) for k, s, e in spans if k in kinds]) for sent in sentences)

    return row | {
        "no_original": top is None,
        "other_original": top is not None and top.id != own["id"] and top.title.strip().lower() != titles[own["id"]],
        "flagged": hit(FLAGGED),
        "added": hit(("added",)),
        "reworded": hit(("reworded",)),
        "changes": dict(changes),
    }


def run_bbc(kit: Kit, a: argparse.Namespace) -> dict[str, Any]:
    records = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))
    t = time.perf_counter()
    store = kit.store(bbc_drafts(records))
    ingest_s = time.perf_counter() - t
    engine = kit.engine(store)
    titles = {r["id"]: r["title"].strip().lower() for r in records}
    rows = sample(records, a.limit)
    out: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for r in rows:
        summary = r["extractive_summary"]
        sentences = summary_sentences(summary, r["text"])
        joined, joined_spans = spaced(summary, sentences)
        out.append(
            {
                "id": r["id"],
                "sentences": len(sentences),
                "lexical": sum(bool(absent_words(summary[s:e], r["text"])) for s, e in sentences),
                "glued": bbc_check(engine, summary, sentences, r, titles),
                "spaced": bbc_check(engine, joined, joined_spans, r, titles),
            }
        )
        progress("bbc", len(out), len(rows), t0)
    return {"rows": out, "stored": store.count(), "articles": len(records), "ingest_s": ingest_s, "limit": a.limit}


def report_bbc(r: dict[str, Any]) -> str:
    table_rows: list[list[object]] = []
    for variant, label in (("glued", "ours, summaries as stored (glued)"), ("spaced", "ours, glue points spaced")):
        rows = [x for x in r["rows"] if not x[variant]["error"]]
        n_sent = sum(x["sentences"] for x in rows)
        res = [x[variant] for x in rows]
        flagged = sum(v["flagged"] for v in res)
        lost = sum(x["sentences"] for x in rows if x[variant]["no_original"])
        table_rows.append(
            [
                label,
                len(rows),
                n_sent,
                flagged,
                sum(v["added"] for v in res),
                sum(v["reworded"] for v in res),
                pct(flagged / max(1, n_sent)),
                pct((flagged + lost) / max(1, n_sent)),
                sum(v["flagged"] > 0 for v in res),
                sum(v["no_original"] for v in res),
                f"<= {pct(BBC_TARGET)}",
            ]
        )
    rows = r["rows"]
    n_sent = sum(x["sentences"] for x in rows)
    lexical = sum(x["lexical"] for x in rows)
    table_rows.append(
        ["baseline: a word (>3 letters) absent from the article", len(rows), n_sent, lexical, "-", "-"]
        + [pct(lexical / max(1, n_sent)), "-", sum(x["lexical"] > 0 for x in rows), "-", "-"]
    )
    head = ["method", "summaries", "sentences", "flagged", "added", "reworded", "flagged %"]
    head += ["flagged or no original %", "summaries with a flag", "no original", "target %"]
    return table(head, table_rows)


def explain_bbc(r: dict[str, Any]) -> str:
    errors = sum(x[v]["error"] for x in r["rows"] for v in ("glued", "spaced"))
    secs = [x["glued"]["seconds"] for x in r["rows"]]
    other = [sum(x[v].get("other_original", False) for x in r["rows"]) for v in ("glued", "spaced")]
    changes = []
    for v in ("glued", "spaced"):
        tally: Counter[str] = Counter()
        for x in r["rows"]:
            tally.update(x[v].get("changes", {}))
        changes.append(", ".join(f"{k} {n}" for k, n in tally.most_common()) or "none")
    scope = f"an evenly spaced sample of {len(r['rows'])}" if r["limit"] else f"all {len(r['rows'])}"
    return (
        f"How it was measured: all {r['articles']:,} BBC articles stored ({r['stored']:,} after the store merged "
        f"exact copies; ingest {r['ingest_s']:.0f} s); the extractive summaries of {scope} articles checked "
        "as stored, with their sentences glued without spaces ('...$10.9bn.For the full-year...'), and again "
        "with one space at each glue point (a diagnostic: the difference is what the glue costs). Every summary "
        "sentence is verbatim from its article, so every flagged sentence is a false alarm. Summary sentences "
        "are recovered by cutting at the glue points and keeping the longest pieces found verbatim in the "
        "article; a sentence is flagged when an added or reworded finding overlaps it (one finding over two "
        "glued sentences flags both). 'flagged or no original' also counts every sentence of a summary for "
        "which no original was found. The top original was a different article (other id and title) for "
        f"{other[0]} / {other[1]} summaries (glued / spaced). The changes the flagged findings name (a "
        f"finding may name several): glued {changes[0]}; spaced {changes[1]}. Check time per glued summary: p50 "
        f"{median(secs):.2f} s, p95 {percentile(secs, 95):.2f} s. Engine errors (left out): {errors}."
    )


# ---- speed ----------------------------------------------------------------------------------


def speed_stories(records: list[dict], n: int, words: tuple[int, int] = (700, 950)) -> list[dict[str, Any]]:
    """``n`` stories of 2-3 consecutive same-category BBC summaries totalling ~800 words, with
    every fifth sentence (the 3rd, 8th, ...) reworded by benchmarks.reword (synonyms, per cent...)."""
    sentences = {
        r["id"]: [r["extractive_summary"][s:e] for s, e in summary_sentences(r["extractive_summary"], r["text"])]
        for r in records
    }
    eligible: list[list[dict]] = []
    i = 0
    while i < len(records):
        for k in (2, 3):
            group = records[i : i + k]
            if len(group) < k or len({g["category"] for g in group}) > 1:
                continue
            total = sum(len(s.split()) for g in group for s in sentences[g["id"]])
            if words[0] <= total <= words[1]:
                eligible.append(group)
                i += k - 1
                break
        i += 1
    picked = [eligible[j * len(eligible) // n] for j in range(n)] if len(eligible) > n else eligible
    stories = []
    for group in picked:
        paragraphs, k, changed = [], 0, 0
        for g in group:
            sents = []
            for s in sentences[g["id"]]:
                if k % 5 == 2:
                    new = reword(s, f"{g['id']}:{k}")
                    changed += new != s
                    s = new
                sents.append(s)
                k += 1
            paragraphs.append(" ".join(sents))
        text = "\n\n".join(paragraphs)
        stories.append({"ids": [g["id"] for g in group], "text": text, "words": len(text.split()), "reworded": changed})
    return stories


def speed_drafts(records: list[dict]) -> list[ArticleDraft]:
    drafts = bbc_drafts(records)
    seen: set[str] = set()
    for name, field, tag in (
        ("summedits_news.jsonl", "doc", "summedits"),
        ("faithbench.jsonl", "source", "faithbench"),
    ):
        for r in read_jsonl(shared_path("data", name)):
            text = r[field]
            if text.strip() and text not in seen:
                seen.add(text)
                drafts.append(doc_draft(text, tag))
    return drafts


def run_speed(a: argparse.Namespace) -> dict[str, Any]:
    from retrieval.sentences import split_sentences

    records = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))
    stories = speed_stories(records, a.stories + 1)  # the first one warms up, untimed
    keep = {i for s in stories for i in s["ids"]}  # a smaller store still holds the stories' own articles
    kept = {r["id"] for r in sample(records, a.store_limit)} | keep
    stored_records = [r for r in records if r["id"] in kept]
    with tempfile.TemporaryDirectory(prefix="factdiff-speed-") as tmp:
        kit = Kit(Path(tmp))
        drafts = speed_drafts(stored_records)
        t = time.perf_counter()
        store = kit.store(drafts)
        ingest_s = time.perf_counter() - t
        rss_ingest = peak_rss_mb()
        engine = kit.engine(store)
        t = time.perf_counter()
        engine.finder.lexical_index()
        bm25_s = time.perf_counter() - t
        engine.check(stories[0]["text"])
        titles = {r["id"]: r["title"].strip().lower() for r in records}
        times, floors, finds, findings = [], [], [], []
        for s in stories[1:]:
            texts = [seg.text for seg in split_sentences(s["text"])]
            t = time.perf_counter()
            kit.embedder.embed(texts)
            kit.aligner.embed(texts)
            floors.append(time.perf_counter() - t)
            t = time.perf_counter()
            engine.finder.find(s["text"])
            finds.append(time.perf_counter() - t)
            t = time.perf_counter()
            report = engine.check(s["text"])
            times.append(time.perf_counter() - t)
            found = {c.info.title.strip().lower() for c in report.sources} | {c.info.id for c in report.sources}
            own = sum(i in found or titles[i] in found for i in s["ids"])
            findings.append(
                {**report.counts(), "own_found": own, "own": len(s["ids"]), "originals": len(report.sources)}
            )
            print(f"  speed: {len(times)}/{len(stories) - 1} stories, last {times[-1]:.2f} s", file=sys.stderr)
        return {
            "articles": len(drafts),
            "stored": store.count(),
            "store_limit": a.store_limit,
            "ingest_s": ingest_s,
            "bm25_s": bm25_s,
            "times": times,
            "floors": floors,
            "finds": finds,
            "words": [s["words"] for s in stories[1:]],
            "sentences": [len(split_sentences(s["text"])) for s in stories[1:]],
            "reworded": [s["reworded"] for s in stories[1:]],
            "articles_per_story": [len(s["ids"]) for s in stories[1:]],
            "findings": findings,
            "rss_after_ingest_mb": rss_ingest,
            "peak_rss_mb": peak_rss_mb(),
        }


def report_speed(r: dict[str, Any]) -> str:
    t, f = r["times"], r["floors"]
    found = [i for i, x in enumerate(r["findings"]) if x["originals"]]
    t_found, f_found = [t[i] for i in found], [f[i] for i in found]
    rows: list[list[object]] = [
        [f"engine.check p50 (s), all {len(t)} stories", median(t), f"<= {SPEED_TARGETS['p50_s']}", median(f)],
        ["engine.check p95 (s), all stories", percentile(t, 95), "-", percentile(f, 95)],
        ["engine.check max (s), all stories", max(t), "-", max(f)],
        [f"engine.check p50 (s), the {len(found)} with an original found", median(t_found), "-", median(f_found)],
        ["engine.check p95 (s), those with an original found", percentile(t_found, 95), "-", percentile(f_found, 95)],
        ["finder.find alone (a part of each check) p50 (s)", median(r["finds"]), "-", "-"],
        ["peak RSS (MB)", round(r["peak_rss_mb"]), f"<= {SPEED_TARGETS['peak_mb']:.0f}", "-"],
        ["peak RSS after ingest, before checks (MB)", round(r["rss_after_ingest_mb"]), "-", "-"],
    ]
    return table(["measure", "ours", "target", "floor: embed the story (WordLlama + MiniLM)"], rows)


def explain_speed(r: dict[str, Any]) -> str:
    none = sum(not x["originals"] for x in r["findings"])
    all_own = sum(x["own_found"] == x["own"] for x in r["findings"])
    some_own = sum(x["own_found"] > 0 for x in r["findings"])
    store = "all" if not r["store_limit"] else f"an evenly spaced {r['store_limit']} (plus the stories' own) of the"
    return (
        f"How it was measured: {store} BBC articles plus the summedits and FaithBench sources, {r['articles']:,} "
        f"articles ({r['stored']:,} stored after exact copies merged), ingested in batches of 32 into an on-disk "
        f"Chroma (PersistentClient, WordLlama vectors) in {r['ingest_s']:.0f} s; BM25 index built once "
        f"({r['bm25_s']:.1f} s, not in the timings); one untimed warm-up check. Then {len(r['times'])} stories, "
        f"each the extractive summaries of 2-3 consecutive same-category BBC articles (median "
        f"{median(r['words']):.0f} words, {median(r['sentences']):.0f} sentences; every fifth sentence reworded by "
        f"benchmarks/reword.py, median {median(r['reworded']):.0f} per story), timed one by one with "
        f"`engine.check` in this process. The floor is the time to embed the story's sentences with both models "
        f"(the least any check must spend); finder.find was timed on its own, just before each check. The "
        f"originals found held all of the story's own articles for {all_own} of {len(r['findings'])} stories "
        f"(at least one for {some_own}); for {none} no original was found, and such a check stops early, "
        "hence the rows for the stories with an original. Peak RSS is the whole benchmark process (ingest included)."
    )


# ---- the driver -----------------------------------------------------------------------------

TITLES = {
    "seed": "Seed story (hand-labelled TASS rewrite)",
    "dev": "Dev set: twelve labelled newsroom rewrites, run as the held-out set is measured",
    "summedits": "SummEdits news: consistent or not",
    "faithbench": "FaithBench: hallucinated or not, and where",
    "bbc": "BBC extractive summaries: false alarms on verbatim extracts",
    "speed": "Speed: an ~800-word story against every stored benchmark article",
    "oracle": "The LLM path at its ceiling: the dev set judged by a perfect model",
}
REPORTS = {
    "seed": (report_seed, explain_seed),
    "dev": (report_dev, explain_dev),
    "summedits": (report_summedits, explain_summedits),
    "faithbench": (report_faithbench, explain_faithbench),
    "bbc": (report_bbc, explain_bbc),
    "speed": (report_speed, explain_speed),
    "oracle": (report_oracle, explain_oracle),
}


def run_section(name: str, a: argparse.Namespace) -> dict[str, Any]:
    if name == "speed":
        result = run_speed(a)
    elif name == "dev":
        result = run_dev(Path(a.dev_out) if a.dev_out else None)
    elif name == "oracle":
        result = run_oracle(Kit(), a)
    else:
        kit = Kit(llm=a.llm)
        runners = {"seed": run_seed, "summedits": run_summedits, "faithbench": run_faithbench, "bbc": run_bbc}
        runner = runners[name]
        result = runner(kit, a)
        if kit.judge is not None:
            result["llm"] = dict(LLM_TALLY) | {
                "model": kit.judge.config.model,
                "prompt_version": kit.judge.prompt_version,
            }
    return result


def child(name: str, a: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.accuracy", "--section", name, "--stories", str(a.stories)]
    if a.limit:
        cmd += ["--limit", str(a.limit)]
    if a.store_limit:
        cmd += ["--store-limit", str(a.store_limit)]
    if a.dev_out:
        cmd += ["--dev-out", a.dev_out]
    if a.llm:
        cmd.append("--llm")
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode:
        sys.exit(f"the {name} benchmark failed (exit {proc.returncode}); its errors are above")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - t
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ",".join(SECTIONS))
    ap.add_argument("--limit", type=int, help="check N evenly spaced rows of each data set (default: all)")
    ap.add_argument("--stories", type=int, default=24, help="speed: number of timed stories (default 24)")
    ap.add_argument("--store-limit", type=int, help="speed: store only N evenly spaced BBC articles (default: all)")
    ap.add_argument("--json", help="also write the raw results (every checked row) here")
    ap.add_argument(
        "--llm",
        action="store_true",
        help="judge with the LLM configured as for `factdiff check` (OPENAI_API_KEY / OPENAI_BASE_URL, "
        "FACTDIFF_LLM_MODEL); the speed section stays offline",
    )
    ap.add_argument("--dev-out", help="dev: keep the store, reports and scores in this folder")
    ap.add_argument(
        "--calibrate",
        action="store_true",
        help="with dev and summedits: print each detector's precision and the score it suggests "
        "(checker.engine.SCORES)",
    )
    ap.add_argument(
        "--oracle",
        action="store_true",
        help="the dev set through the LLM judge, answered by a perfect model (a local server that knows the "
        "labels), against the offline engine; --limit N takes the first N stories",
    )
    ap.add_argument("--section", help=argparse.SUPPRESS)
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if a.section:
        print(json.dumps(run_section(a.section, a)))
        return
    if a.llm:
        from bot.settings import load_settings

        if not load_settings().openai_configured:
            ap.error("--llm needs OPENAI_API_KEY or OPENAI_BASE_URL (and FACTDIFF_LLM_MODEL for another model)")
    names = ["oracle"] if a.oracle else [n.strip() for n in a.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SECTIONS) - {"oracle"})
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}: use {', '.join(SECTIONS)}")
    results: dict[str, Any] = {}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = child(name, a)
        if a.json:
            Path(a.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"`python -m benchmarks.accuracy {' '.join(sys.argv[1:])}`\n")
    for name in names:
        render, explain = REPORTS[name]
        print(f"## {TITLES[name]}\n")
        print(render(results[name]))
        wall = f"(Wall time of this part: {results[name]['wall_s']:.0f} s.)"
        print(f"\n{explain(results[name])}{llm_line(results[name])} {wall}\n")
    if a.calibrate and "dev" in results:
        print("## Calibration: each detector's precision, and the score it suggests\n")
        print(calibration(results["dev"], results.get("summedits"), results.get("faithbench")))


if __name__ == "__main__":
    main()
