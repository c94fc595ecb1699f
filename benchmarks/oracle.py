"""The LLM path at its ceiling: the real judge path answered by a perfect model.

``python -m benchmarks.accuracy --oracle`` stores the dev set's sources (originals and
look-alikes, under neutral file names, as ``shared/eval/run_set.sh`` does) and checks every
story twice on the same store: with the offline engine (the baseline), and with the LLM judge
built from settings exactly as ``factdiff check`` builds it (the real openai client) pointed at
a local OpenAI-compatible server that answers from the gold labels
(:mod:`tests.servers.oracle`). Both sets of reports are scored by ``shared/eval/score.py``.

What the perfect model could not fix is ours, and each loss is put down to its first cause:

* never sent: the claim over the label was settled by the code (verbatim, or not sent);
* claim boundaries differ from the labels: the claim straddles labels of other verdicts, so
  the model answered for another one, or the claim is too small a part of the label;
* right sentence not offered: the request did not hold the gold source sentence;
* overruled by the code: the model's "supported" was replaced by the code's "reworded";
* dropped by a guard: the model's verdict was dropped (implausible citation, nothing to cite);
* merged by the engine: the model's verdict stood, but the finding took another kind when the
  engine merged the clauses of a sentence;
* omission not offered (no candidate / beyond the pool): the gold omission was never asked about;
* omission dropped after the model: called omitted, but cited by another finding or cut;
* engine's own omission, never offered: reported without the model having judged it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.common import median, shared_path, table

TARGETS = {"problems": 0.9, "reworded": 0.9, "omitted": 0.9, "added": 0.85}
FALSE_FLAGS_TARGET = 0.3
PROMPT_P50_TARGET = 2_500
CAUSES = (
    "never sent",
    "claim boundaries differ from the labels",
    "right sentence not offered",
    "overruled by the code",
    "dropped by a guard",
    "request failed",
    "merged by the engine",
    "omission not offered (no candidate)",
    "omission not offered (beyond the pool)",
    "omission dropped after the model",
    "engine's own omission, never offered",
    "other",
)


def scorer() -> ModuleType:
    """shared/eval/score.py, imported, so losses are judged by the scorer's own rules."""
    path = shared_path("eval", "score.py")
    spec = importlib.util.spec_from_file_location("factdiff_score", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Recorder:
    """A judge that passes everything through and keeps the last analysis and judgement."""

    inner: Any
    last: tuple[Any, Any] | None = None

    @property
    def config(self) -> Any:
        return self.inner.config

    @property
    def prompt_version(self) -> str:
        return str(self.inner.prompt_version)

    def judge(self, analysis: Any) -> Any:
        judgement = self.inner.judge(analysis)
        self.last = (analysis, judgement)
        return judgement


def neutral_copies(sources: list[Path], folder: Path) -> list[Path]:
    """The sources under neutral names, so only a file's header and text tell them apart."""
    out = []
    for p in sources:
        q = folder / (hashlib.sha1(p.read_bytes()).hexdigest()[:12] + ".txt")
        shutil.copyfile(p, q)
        out.append(q)
    return out


def run_oracle(kit: Any, a: argparse.Namespace) -> dict[str, Any]:
    from bot import wiring
    from bot.settings import Settings
    from checker.engine import DiffEngine
    from checker.models import report_to_json
    from retrieval.readers import read_file
    from retrieval.search import OriginalFinder
    from tests.servers.openai_api import FakeOpenAI
    from tests.servers.oracle import GoldOracle

    dev = shared_path("data", "dev")
    gold = dev / "gold.json"
    cases = json.loads(gold.read_text(encoding="utf-8"))["cases"]
    if a.limit:
        cases = cases[: a.limit]
    sources = sorted(dev.glob("sources/*.txt"))
    score = scorer()
    oracle = GoldOracle.load(gold, kit.encoding)
    with tempfile.TemporaryDirectory(prefix="factdiff-oracle-") as tmp, FakeOpenAI(oracle) as api:
        root = Path(tmp)
        (root / "src").mkdir()
        store = kit.store([read_file(p) for p in neutral_copies(sources, root / "src")])
        finder = OriginalFinder(store)
        settings = Settings(OPENAI_BASE_URL=api.base_url, OPENAI_API_KEY="oracle")  # type: ignore[call-arg]
        judge = Recorder(wiring.llm_judge(settings))
        engines = {
            "offline": DiffEngine(finder, align_embedder=kit.aligner),
            "oracle": DiffEngine(finder, align_embedder=kit.aligner, judge=judge),
        }
        stories: list[dict[str, Any]] = []
        for case in cases:
            name = Path(case["story"]).stem
            text = (dev / case["story"]).read_text(encoding="utf-8")
            row: dict[str, Any] = {"case": name}
            for key, engine in engines.items():
                folder = root / key
                folder.mkdir(exist_ok=True)
                report = engine.check(text)
                data = report_to_json(report)
                (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
                if key == "oracle":
                    assert judge.last is not None
                    analysis, judgement = judge.last
                    row["losses"] = losses(score, case, text, data, analysis, judgement, oracle, name)
                    row["tokens"] = [data["analyzer"]["prompt_tokens"] or 0, data["analyzer"]["completion_tokens"] or 0]
                    row["requests"] = data["analyzer"]["requests"] or 0
            stories.append(row)
        subset = root / "gold.json"
        subset.write_text(json.dumps({"cases": cases}), encoding="utf-8")
        for p in ("sources", "cases"):
            (root / p).symlink_to(dev / p)
        scored = {key: score.score(subset, root / key, sources) for key in engines}
    return {
        "scored": scored,
        "stories": stories,
        "proofs": proofs(dev, cases),
        "unplaced": oracle.unplaced,
        "model": judge.config.model,
        "prompt_version": judge.prompt_version,
        "pool": getattr(judge.inner, "omission_pool", None),
    }


def proofs(dev: Path, cases: list[dict[str, Any]]) -> dict[str, list[int]]:
    """What the code proves on its own (checker.provable) on the gold labels, by label: the
    safety net left when a model says "supported" wrongly. [labels with a proof, labels]."""
    from checker.provable import provable_changes

    out: dict[str, list[int]] = {}
    for case in cases:
        sources = "\n".join((dev / s).read_text(encoding="utf-8") for s in case["sources"])
        for lab in case["labels"]:
            row = out.setdefault(lab["label"], [0, 0])
            row[0] += bool(provable_changes(lab["story_text"], lab.get("source_text", ""), sources))
            row[1] += 1
    return out


# ---- what each loss came from ----------------------------------------------------------------


def losses(
    score: ModuleType,
    case: dict[str, Any],
    story: str,
    report: dict[str, Any],
    analysis: Any,
    judgement: Any,
    oracle: Any,
    name: str,
) -> dict[str, Any]:
    """Counts by cause of: missed problem labels, false flags, missed and false omissions."""
    details: list[str] = []  # for --json: which text each loss was on
    out: dict[str, Counter[str]] = {
        k: Counter() for k in ("missed", "false_flags", "missed_omissions", "false_omissions")
    }
    claims = analysis.alignment.claims
    seen = {c.claim_id: c for c in oracle.claims if c.case == name}
    labels = []
    for lab in case["labels"]:
        at = story.find(lab["story_text"])
        labels.append((lab, (at, at + len(lab["story_text"]))))
    flagged = []
    for f in report["findings"]:
        if f["kind"] in ("added", "reworded"):
            flagged.append((f["kind"], score.span_of(story, f["story"])))

    def final_kind(i: int) -> str:
        return str((judgement.verdicts.get(i) or analysis.verdicts[i]).kind)

    def cause(i: int, wanted: str, k: int | None) -> str:
        outcome = judgement.outcomes.get(i, "not sent")
        if outcome in ("verbatim", "not sent"):
            return "never sent"
        s = seen.get(claims[i].id)
        if s is None:
            return "other"
        if k is not None and s.label != k and s.verdict != wanted:
            return "claim boundaries differ from the labels"
        if s.verdict != "added" and s.source_offered is False:
            return "right sentence not offered"
        if outcome == "kept":
            return "overruled by the code"
        if outcome in ("implausible", "unresolvable", "unanswered"):
            return "dropped by a guard"
        if outcome == "failed":
            return "request failed"
        if final_kind(i) == wanted:
            return "merged by the engine"
        return "claim boundaries differ from the labels"

    def main_claim(span: tuple[int, int]) -> int | None:
        share = [(min(span[1], c.end) - max(span[0], c.start), i) for i, c in enumerate(claims)]
        best = max((s for s in share if s[0] > 0), default=None)
        return best[1] if best else None

    for k, (lab, span) in enumerate(labels):
        if lab["label"] == "supported" or lab.get("minor"):
            continue
        size = span[1] - span[0]
        if any(kind == lab["label"] and sp and score.covered(span, [sp]) >= 0.5 * size for kind, sp in flagged):
            continue
        i = main_claim(span)
        why = cause(i, lab["label"], k) if i is not None else "other"
        out["missed"][why] += 1
        details.append(f"missed {lab['label']} ({why}): {lab['story_text'][:90]}")
    problem = {
        kind: [sp for lab, sp in labels if lab["label"] == kind and not lab.get("minor")]
        for kind in ("added", "reworded")
    }
    minor = [sp for lab, sp in labels if lab.get("minor")]
    for _, sp in flagged:
        if sp is None:
            out["false_flags"]["other"] += 1
            continue
        size = sp[1] - sp[0]
        if score.covered(sp, minor) >= 0.5 * size:
            continue
        if score.covered(sp, problem["added"] + problem["reworded"]) >= 0.5 * size:
            continue  # a problem found (perhaps of the other kind): not a false flag
        inside = [i for i, c in enumerate(claims) if sp[0] <= c.start and c.end <= sp[1]]
        culprits = [i for i in inside if final_kind(i) in ("added", "reworded")]
        if not culprits:
            out["false_flags"]["merged by the engine"] += 1
            continue
        i = culprits[0]
        where = next((n for n, (_, ls) in enumerate(labels) if ls[0] <= claims[i].start < ls[1]), None)
        why = cause(i, "supported", where)
        out["false_flags"][why] += 1
        details.append(f"false {final_kind(i)} ({why}): {claims[i].text[:90]}")
    omission_losses(score, case, report, analysis, oracle, name, out)
    return {k: dict(v) for k, v in out.items()} | {"details": details}


def omission_losses(
    score: ModuleType,
    case: dict[str, Any],
    report: dict[str, Any],
    analysis: Any,
    oracle: Any,
    name: str,
    out: dict[str, Counter[str]],
) -> None:
    gold = [o["source_text"] for o in case.get("omitted", [])]
    optional = [o["source_text"] for o in case.get("omitted_optional", [])]
    minor_src = [lab["source_text"] for lab in case["labels"] if lab.get("minor") and lab.get("source_text")]
    found = [(f.get("source") or {}).get("text", "") for f in report["findings"] if f["kind"] == "omitted"]
    asked = [o for o in oracle.omissions if o.case == name]
    sentences = analysis.alignment.sources
    pool = {c.index for c in analysis.omission_candidates}
    for g in gold:
        if any(score.overlap(t, g) >= 0.5 for t in found):
            continue
        if any(score.overlap(o.text, g) >= 0.5 for o in asked):
            out["missed_omissions"]["omission dropped after the model"] += 1
            continue
        j = max(range(len(sentences)), key=lambda j: score.overlap(sentences[j].text, g), default=None)
        in_pool = j is not None and score.overlap(sentences[j].text, g) >= 0.5 and j in pool
        out["missed_omissions"][f"omission not offered ({'beyond the pool' if in_pool else 'no candidate'})"] += 1
    for t in found:
        if any(score.containment(t, m) >= 0.6 for m in minor_src + optional) and not any(
            score.containment(t, o) >= 0.5 for o in gold
        ):
            continue
        if any(score.overlap(t, o) >= 0.5 for o in gold):
            continue
        offered = any(score.overlap(o.text, t) >= 0.9 for o in asked)
        out["false_omissions"]["other" if offered else "engine's own omission, never offered"] += 1


# ---- tables ----------------------------------------------------------------------------------


def report_oracle(r: dict[str, Any]) -> str:
    ours, base = r["scored"]["oracle"], r["scored"]["offline"]
    rows: list[list[object]] = []
    for kind in ("problems", "added", "reworded", "omitted"):
        o, b = ours[kind], base[kind]
        rows.append(
            [kind, f"F1 >= {TARGETS[kind]}", o["precision"], o["recall"], o["f1"]]
            + [
                f"{o['found_correct']}/{o['found']}",
                f"{o['gold_detected']}/{o['gold']}",
                b["precision"],
                b["recall"],
                b["f1"],
            ]
        )
    head = ["kind", "target", "oracle P", "oracle R", "oracle F1", "correct/found", "detected/gold"]
    head += ["offline P", "offline R", "offline F1"]
    out = [table(head, rows), ""]
    of, bf = ours["false_flags"], base["false_flags"]
    tokens = [s["tokens"] for s in r["stories"]]
    prompt, completion = [t[0] for t in tokens], [t[1] for t in tokens]
    rows = [
        ["false flags per story", f"<= {FALSE_FLAGS_TARGET}", of["per_story"], bf["per_story"]],
        ["false flags per faithful story", "-", of["per_faithful_story"], bf["per_faithful_story"]],
        [
            "quotes not verbatim in any source",
            "0",
            ours["citations"]["not_verbatim_in_any_source"],
            base["citations"]["not_verbatim_in_any_source"],
        ],
        ["retrieval (top sources = gold sources)", "-", ours["retrieval"], base["retrieval"]],
        ["prompt tokens per story, p50", f"<= {PROMPT_P50_TARGET:,}", round(median(prompt)), "-"],
        ["prompt tokens per story, mean / max", "-", f"{sum(prompt) / len(prompt):.0f} / {max(prompt)}", "-"],
        ["completion tokens per story, p50 / max", "-", f"{round(median(completion))} / {max(completion)}", "-"],
        [
            "requests per story, p50 / max",
            "-",
            f"{round(median([s['requests'] for s in r['stories']]))} / {max(s['requests'] for s in r['stories'])}",
            "-",
        ],
    ]
    out += [table(["measure", "target", "oracle", "offline"], rows), ""]
    kinds = ("missed", "false_flags", "missed_omissions", "false_omissions")
    totals = {k: Counter() for k in kinds}  # type: dict[str, Counter[str]]
    for s in r["stories"]:
        for k in kinds:
            totals[k].update(s["losses"][k])
    rows = [[c] + [totals[k].get(c, 0) for k in kinds] for c in CAUSES if any(totals[k].get(c) for k in kinds)]
    rows.append(["total"] + [sum(totals[k].values()) for k in kinds])
    head = ["what the loss came from", "problem labels missed", "false flags", "omissions missed", "false omissions"]
    out += [table(head, rows), ""]
    rows = [[kind, f"{n}/{total}"] for kind, (n, total) in sorted(r["proofs"].items())]
    out += [table(["gold label", "the code proves a change (overrules a model's 'supported')"], rows), ""]
    per = ours["cases"]
    rows = []
    for c, s, b in zip(per, r["stories"], base["cases"], strict=True):
        rows.append(
            [
                s["case"],
                c["problems"]["f1"],
                c["added"]["f1"],
                c["reworded"]["f1"],
                c["omitted"]["f1"],
                c["false_flags"],
            ]
            + [b["problems"]["f1"], b["false_flags"], s["tokens"][0], s["tokens"][1]]
        )
    head = ["story", "problems F1", "added F1", "reworded F1", "omitted F1", "false flags"]
    head += ["offline problems F1", "offline false flags", "prompt tokens", "completion tokens"]
    out.append(table(head, rows))
    return "\n".join(out)


def explain_oracle(r: dict[str, Any]) -> str:
    n = len(r["stories"])
    return (
        f"How it was measured: the {n} dev stories (`shared/data/dev`), each checked twice on one fresh store "
        "holding every dev source (originals and look-alikes, neutral file names): by the offline engine, and by "
        f"the LLM judge ({r['model']}, prompts {r['prompt_version']}) built by `bot.wiring.llm_judge` from "
        "settings, talking through the real openai client to a local server (`tests/servers/oracle.py`) that "
        "answers every request from the gold labels as a perfect model would. Both sets of reports scored by "
        "`shared/eval/score.py` (all dev sources given for the citation check). Tokens are the server's "
        "tiktoken counts of what was sent (messages and JSON schema) and returned. Each loss is put down to its "
        f"first cause (see `benchmarks/oracle.py`); {r['unplaced']} claims were found in no labelled story. "
        "The proofs table runs `checker.provable` on each gold label's text against its case's originals: on "
        "'supported' labels a proof would be a false flag; on the others it is what still stands if a model "
        "wrongly says 'supported'."
    )
