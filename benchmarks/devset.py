"""The labelled dev set (shared/data/dev), run exactly as the held-out set is measured, and the
calibration of the findings' scores.

* ``run_dev``: `shared/eval/run_set.sh` (a fresh store, neutral file names, `factdiff check` on
  each story as `story.txt`), scored by `shared/eval/score.py`; a baseline that flags every story
  sentence as added is scored in the same run. Every added or reworded finding, reported or held
  back, is matched with the labels, so each detector's record shows: raised, and how many right.
* ``calibration``: each detector's precision on the dev set, on the dev half (even rows) of
  SummEdits (a finding on a consistent summary is wrong; one on an inconsistent summary is counted
  right), smoothed toward the record p of its kind (added or reworded) as (right + 2p) /
  (raised + 2): the values of ``checker.engine.SCORES``. The dev half of FaithBench (a finding is
  right where it overlaps an annotated 'Unwanted' span) is shown beside them and scores a
  detector never raised on the news data; one never seen anywhere gets p. The odd rows of
  SummEdits and FaithBench are reported apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import shared_path, table

FLAGGED = ("added", "reworded")
PRIOR_WEIGHT = 2  # a detector's score leans on its kind's record as much as on two findings of its own
# the data a score is the precision on: news rewrites (the dev set, SummEdits news). FaithBench's
# dev half is shown beside it and scores only a detector never raised on news: LLM summaries of
# encyclopaedia passages, whose sparse span labels and meta sentences ("Here is a summary:")
# would otherwise set the score of every news finding
NEWS_SETS = ("dev", "se")


def _scorer() -> Any:
    sys.path.insert(0, str(shared_path("eval")))
    import score  # type: ignore[import-not-found]

    return score


def run_dev(out: Path | None = None) -> dict[str, Any]:
    """Run and score the dev set; ``out`` keeps the store and reports (default: a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="factdiff-dev-") as tmp:
        where = out or Path(tmp, "run")
        factdiff = Path(sys.executable).with_name("factdiff")
        env = {**os.environ, "FACTDIFF": str(factdiff)}
        dev = shared_path("data", "dev")
        cmd = ["bash", str(shared_path("eval", "run_set.sh")), str(dev), str(where)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.exit(f"run_set.sh failed:\n{proc.stderr[-3000:]}")
        scored = json.loads((where / "score.json").read_text(encoding="utf-8"))
        detectors = detector_record(dev / "gold.json", where / "reports")
        base_dir = Path(tmp, "baseline")
        base_dir.mkdir()
        baseline = _baseline(dev, base_dir)
    return {"ours": scored, "baseline": baseline, "detectors": detectors}


def _baseline(dev: Path, reports: Path) -> dict[str, Any]:
    from benchmarks.accuracy import every_sentence_added, score_reports

    gold = json.loads((dev / "gold.json").read_text(encoding="utf-8"))
    for case in gold["cases"]:
        story = (dev / case["story"]).read_text(encoding="utf-8")
        name = Path(case["story"]).stem + ".json"
        (reports / name).write_text(json.dumps(every_sentence_added(story)), encoding="utf-8")
    return score_reports(dev / "gold.json", reports, reports.parent / "baseline-score.json")


def detector_record(gold_path: Path, reports: Path) -> dict[str, dict[str, int]]:
    """Per detector (a finding's basis): findings raised and right, reported or held back.
    Right: at least half of the finding lies on labels of its own kind (score.py's rule); a
    finding mostly on a "minor" label is left out, as score.py does."""
    score = _scorer()
    base = gold_path.parent
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    record: dict[str, Counter[str]] = {}
    for case in gold["cases"]:
        story = (base / case["story"]).read_text(encoding="utf-8")
        report = json.loads((reports / (Path(case["story"]).stem + ".json")).read_text(encoding="utf-8"))
        spans: dict[str, list[tuple[int, int]]] = {"added": [], "reworded": [], "minor": []}
        for lab in case["labels"]:
            i = story.find(lab["story_text"])
            key = "minor" if lab.get("minor") else lab["label"]
            if key in spans:
                spans[key].append((i, i + len(lab["story_text"])))
        for held, findings in ((False, report.get("findings", [])), (True, report.get("held_back", []))):
            for f in findings:
                if f["kind"] not in FLAGGED:
                    continue
                sp = score.span_of(story, f.get("story"))
                if sp is None or score.covered(sp, spans["minor"]) >= 0.5 * (sp[1] - sp[0]):
                    continue
                basis = f.get("basis") or f["kind"]
                c = record.setdefault(basis, Counter())
                c["raised"] += 1
                c["right"] += score.covered(sp, spans[f["kind"]]) >= 0.5 * (sp[1] - sp[0])
                c["held_back"] += held
    return {k: dict(v) for k, v in sorted(record.items())}


def report_dev(r: dict[str, Any]) -> str:
    ours, base = r["ours"], r["baseline"]
    rows: list[list[object]] = []
    for kind in ("problems", "added", "reworded", "omitted"):
        o, b = ours[kind], base[kind]
        rows.append([kind, o["precision"], o["recall"], o["f1"], b["precision"], b["recall"], b["f1"]])
    ff, bff = ours["false_flags"], base["false_flags"]
    rows.append(["false flags per story", ff["per_story"], "", "", bff["per_story"], "", ""])
    rows.append(["false flags per faithful story", ff["per_faithful_story"], "", "", bff["per_faithful_story"], "", ""])
    head = ["measure", "ours P", "ours R", "ours F1", "baseline P", "baseline R", "baseline F1"]
    out = [table(head, rows), ""]
    case_rows = [
        [
            Path(c["story"]).stem,
            c["problems"]["f1"],
            c["added"]["f1"],
            c["reworded"]["f1"],
            c["omitted"]["f1"],
            c["false_flags"],
            "yes" if c["retrieval_top"] else "no",
        ]
        for c in ours["cases"]
    ]
    out.append(
        table(["story", "problems F1", "added F1", "reworded F1", "omitted F1", "false flags", "originals"], case_rows)
    )
    out.append("")
    det_rows = [
        [k, v.get("raised", 0), v.get("right", 0), v.get("held_back", 0), f"{v.get('right', 0) / v['raised']:.2f}"]
        for k, v in r["detectors"].items()
        if v.get("raised")
    ]
    out.append(table(["detector (finding basis)", "raised", "right", "held back", "precision"], det_rows))
    return "\n".join(out)


def explain_dev(r: dict[str, Any]) -> str:
    ours = r["ours"]
    return (
        "How it was measured: `shared/eval/run_set.sh shared/data/dev` (a fresh store with the 26 originals "
        "and look-alikes under neutral file names, `factdiff check story.txt --format json` per story), "
        "scored by `shared/eval/score.py`. Baseline: every story sentence flagged as added, scored the same "
        f"way. Citations: {ours['citations']['quotes']} quotes, "
        f"{ours['citations']['not_verbatim_in_any_source']} not verbatim; reworded cited correctly "
        f"{ours['reworded']['cited_correctly']}; originals found {ours['retrieval']}. The detector table counts "
        "every added or reworded finding, shown or held back (below the reporting threshold); right = at "
        "least half of it on labels of its own kind."
    )


def calibration(dev: dict[str, Any], summedits: dict[str, Any] | None, faithbench: dict[str, Any] | None = None) -> str:
    """Each detector's precision on the calibration data, and the score it suggests.

    The data: the dev set; the even rows of SummEdits (a finding on an inconsistent summary is
    right); the even rows of FaithBench (a finding is right where it overlaps an annotated
    'Unwanted' span). The odd rows of both are where they are reported."""
    from checker.engine import SCORES

    pooled: dict[str, Counter[str]] = {}
    for k, v in dev["detectors"].items():
        pooled.setdefault(k, Counter()).update({"dev_raised": v.get("raised", 0), "dev_right": v.get("right", 0)})
    if summedits:
        for n, row in enumerate(summedits["rows"]):
            if n % 2 or row["error"]:
                continue  # the other half is where SummEdits is reported
            for basis in row.get("bases", []):
                c = pooled.setdefault(basis, Counter())
                c["se_raised"] += 1
                c["se_right"] += row["label"] == 0
    if faithbench:
        for n, row in enumerate(faithbench["rows"]):
            if n % 2 or row["error"]:
                continue
            gold = [tuple(g) for g in row["gold_spans"]["any"]]
            for basis, start, end in row.get("bases", []):
                c = pooled.setdefault(basis, Counter())
                c["fb_raised"] += 1
                c["fb_right"] += any(min(end, e) > max(start, s) for s, e in gold)
    # a detector with little evidence leans on the record of its kind (added or reworded) as a whole
    added_kinds = {"added", "unsupported"}

    def suggested(sets: tuple[str, ...]) -> dict[str, float]:
        prior = {}
        for group in (True, False):
            members = [c for k, c in pooled.items() if (k in added_kinds) == group]
            raised = sum(c[f"{x}_raised"] for c in members for x in sets)
            right = sum(c[f"{x}_right"] for c in members for x in sets)
            prior[group] = right / raised if raised else 0.5
        out = {}
        for k in set(pooled) | set(SCORES):
            c = pooled.get(k, Counter())
            raised = sum(c[f"{x}_raised"] for x in sets)
            right = sum(c[f"{x}_right"] for x in sets)
            out[k] = (right + PRIOR_WEIGHT * prior[k in added_kinds]) / (raised + PRIOR_WEIGHT)
        return out

    news = suggested(NEWS_SETS)
    every = suggested(("dev", "se", "fb"))
    rows: list[list[object]] = []
    for k in sorted(pooled) + sorted(set(SCORES) - set(pooled)):
        c = pooled.get(k, Counter())
        # a detector never raised on news is scored on all the data, FaithBench too
        seen_in_news = any(c[f"{x}_raised"] for x in NEWS_SETS) or not c["fb_raised"]
        rows.append(
            [
                k,
                f"{c['dev_right']}/{c['dev_raised']}",
                f"{c['se_right']}/{c['se_raised']}",
                f"{c['fb_right']}/{c['fb_raised']}",
                f"{news[k]:.3f}",
                f"{every[k]:.3f}",
                f"{(news if seen_in_news else every)[k]:.3f}",
                f"{SCORES.get(k, 0.5):.3f}",
            ]
        )
    head = ["detector", "dev set right/raised", "SummEdits dev half right/raised", "FaithBench dev half right/raised"]
    head += ["news: dev + SummEdits", "with FaithBench too", "suggested score", "in use"]
    return table(head, rows)
