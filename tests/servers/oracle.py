"""A perfect model for the LLM judge: answers judge requests from a labelled set's gold labels.

Used with :class:`tests.servers.openai_api.FakeOpenAI` as its responder (benchmarks and tests
only, never the product). It finds each claim of a request in the labelled stories by its text,
answers with the gold label that covers most of the claim, cites the gold source sentence when
the request holds it (else the sentence of the request closest to it, as a model would), and
calls an omission candidate omitted exactly when it is a gold omission. Every answer is recorded
(``seen``), so a benchmark can tell what a loss came from: a claim never sent, a claim whose
boundaries straddle labels, a right sentence or an omission that was not offered.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tiktoken

from tests.servers.openai_api import Reply, claim_rows, omission_rows, source_rows

MESSAGE_OVERHEAD = 12  # tokens the chat format adds around two messages (as checker.judge counts)
MATCH = 0.5  # word overlap at which a sentence counts as the gold one (as shared/eval/score.py)


def flat(text: str) -> str:
    """Text as the judge writes it on one line (whitespace folded, angle brackets replaced)."""
    return re.sub(r"\s+", " ", text).replace("<", "\u2039").replace(">", "\u203a").strip()


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def containment(part: str, whole: str) -> float:
    """Share of the words of ``part`` found in ``whole`` (as a multiset)."""
    p, pool = _words(part), _words(whole)
    if not p:
        return 0.0
    counts: dict[str, int] = {}
    for w in pool:
        counts[w] = counts.get(w, 0) + 1
    hit = 0
    for w in p:
        if counts.get(w, 0) > 0:
            counts[w] -= 1
            hit += 1
    return hit / len(p)


def overlap(a: str, b: str) -> float:
    return max(containment(a, b), containment(b, a))


@dataclass
class Label:
    start: int  # in the flattened story
    end: int
    label: str  # supported | reworded | added
    source_text: str
    minor: bool = False


@dataclass
class Case:
    name: str
    story: str  # flattened
    labels: list[Label]
    omitted: list[str]
    optional: list[str]
    sources: str  # every source file of the set, flattened (to place an omissions-only request)


@dataclass
class ClaimSeen:
    case: str
    claim_id: str
    start: int  # in the flattened story
    end: int
    label: int | None  # index into Case.labels of the label answered
    verdict: str
    source_offered: bool | None  # for supported / reworded: was the gold sentence in the request


@dataclass
class OmissionSeen:
    case: str
    source_id: str
    text: str
    verdict: str


@dataclass
class GoldOracle:
    """The responder: ``FakeOpenAI(GoldOracle.load(gold_json, encoding))``."""

    cases: list[Case]
    encoding: tiktoken.Encoding
    claims: list[ClaimSeen] = field(default_factory=list)
    omissions: list[OmissionSeen] = field(default_factory=list)
    unplaced: int = 0  # claims found in no labelled story
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, gold: Path, encoding: tiktoken.Encoding) -> GoldOracle:
        base = gold.parent
        data = json.loads(gold.read_text(encoding="utf-8"))
        every_source = " ".join(flat(p.read_text(encoding="utf-8")) for p in sorted(base.glob("sources/*.txt")))
        cases = []
        for c in data["cases"]:
            story = flat((base / c["story"]).read_text(encoding="utf-8"))
            labels = []
            for lab in c["labels"]:
                text = flat(lab["story_text"])
                at = story.find(text)
                if at < 0:
                    raise ValueError(f"label not in {c['story']}: {text[:60]}")
                labels.append(
                    Label(at, at + len(text), lab["label"], lab.get("source_text", ""), lab.get("minor", False))
                )
            cases.append(
                Case(
                    Path(c["story"]).stem,
                    story,
                    labels,
                    [o["source_text"] for o in c.get("omitted", [])],
                    [o["source_text"] for o in c.get("omitted_optional", [])],
                    every_source,
                )
            )
        return cls(cases, encoding)

    def __call__(self, body: dict[str, Any]) -> Reply:
        rows, sources, offered = claim_rows(body), source_rows(body), omission_rows(body)
        case = self._case(rows, offered)
        claims = [self._claim(case, r, sources) for r in rows] if case else []
        omissions = [self._omission(case, r) for r in offered] if case else []
        content = {"claims": claims, "omissions": omissions}
        return Reply(content, tokens=(self._prompt_tokens(body), len(self.encoding.encode(json.dumps(content)))))

    # ---- finding things by their text ----------------------------------------------------

    def _case(self, rows: list[dict[str, Any]], offered: list[dict[str, Any]]) -> Case | None:
        for case in self.cases:
            if rows and all(r["text"] in case.story for r in rows):
                return case
        if rows:
            with self.lock:
                self.unplaced += len(rows)
            return None
        # an omissions-only request: the case whose gold omissions it offers, else any (all minor)
        for case in self.cases:
            if any(overlap(r["text"], o) >= MATCH for r in offered for o in case.omitted):
                return case
        return self.cases[0] if self.cases else None

    def _claim(self, case: Case, row: dict[str, Any], sources: dict[str, str]) -> dict[str, Any]:
        start = case.story.find(row["text"])
        end = start + len(row["text"])
        share = [(min(end, lab.end) - max(start, lab.start), k) for k, lab in enumerate(case.labels)]
        best = max((s for s in share if s[0] > 0), default=None)
        k = best[1] if best else None
        label = case.labels[k] if k is not None else None
        verdict = label.label if label else ("supported" if row["candidates"] else "added")
        cited: list[str] = []
        offered: bool | None = None
        if verdict != "added":
            gold = label.source_text if label else row["text"]
            scored = sorted(((overlap(t, gold), sid) for sid, t in sources.items()), reverse=True)
            offered = bool(scored) and scored[0][0] >= MATCH
            if offered or (scored and scored[0][0] >= 0.3):
                cited = [scored[0][1]]
            elif row["candidates"]:
                cited = row["candidates"][:1]
        changes = [{"type": "wording", "story": "", "source": ""}] if verdict == "reworded" else []
        with self.lock:
            self.claims.append(ClaimSeen(case.name, row["id"], start, end, k, verdict, offered))
        return {
            "claim": row["id"],
            "verdict": verdict,
            "sources": cited,
            "changes": changes,
            "reason": "per the labels",
        }

    def _omission(self, case: Case, row: dict[str, Any]) -> dict[str, str]:
        if any(overlap(row["text"], o) >= MATCH for o in case.omitted):
            verdict = "omitted"
        elif any(overlap(row["text"], o) >= MATCH for o in case.optional):
            verdict = "minor"
        else:
            verdict = "covered"
        with self.lock:
            self.omissions.append(OmissionSeen(case.name, row["id"], row["text"], verdict))
        return {"source": row["id"], "verdict": verdict}

    def _prompt_tokens(self, body: dict[str, Any]) -> int:
        """What the request costs: its messages and its JSON schema, counted with tiktoken."""
        text = "".join(str(m.get("content", "")) for m in body.get("messages", []))
        schema = body.get("response_format", {}).get("json_schema", {}).get("schema")
        extra = json.dumps(schema, separators=(",", ":")) if schema else ""
        return len(self.encoding.encode(text)) + len(self.encoding.encode(extra)) + MESSAGE_OVERHEAD
