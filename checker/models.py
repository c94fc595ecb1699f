"""Findings and reports: what the diff engine says about a story, with verbatim citations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from retrieval.models import ArticleInfo, Candidate

KINDS = ("supported", "reworded", "added", "omitted")
#: What a rewording changed, in the words editors use.
CHANGE_TYPES = (
    "number",
    "date",
    "name",
    "attribution",
    "quotation",
    "hedge",
    "negation",
    "scope",
    "cause",
    "wording",
)


@dataclass(frozen=True)
class StorySpan:
    """A piece of the story: ``story_text[start:end] == text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class SourceSentence:
    """A sentence of a stored original: ``article_text[start:end] == text`` (verbatim)."""

    id: str  # assigned by us, e.g. "A1.7": article 1, sentence 7
    article: ArticleInfo
    start: int
    end: int
    text: str
    kind: str = "sentence"  # sentence | dateline | heading | list_item


@dataclass(frozen=True)
class Change:
    """One way a claim departs from its source sentence."""

    type: str  # one of CHANGE_TYPES
    story: str  # the story's words ("" when the story dropped something)
    source: str  # the source's words ("" when the story added something)
    note: str = ""
    detector: str = ""  # which detector found it, when one type has several (its score is calibrated apart)

    @property
    def basis(self) -> str:
        return self.detector or self.type

    def describe(self) -> str:
        if self.note:
            return self.note
        if self.story and self.source:
            return f"'{self.source}' became '{self.story}'"
        if self.source:
            return f"'{self.source}' was dropped"
        return f"'{self.story}' is not in the source"


@dataclass(frozen=True)
class DiffOp:
    """A word-level difference: ``op`` is 'equal', 'delete' (source only) or 'insert' (story only)."""

    op: str
    text: str


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    story: StorySpan | None  # None for omitted
    source: SourceSentence | None  # None for added
    explanation: str
    confidence: float
    changes: tuple[Change, ...] = ()
    diff: tuple[DiffOp, ...] = ()
    rank: float = 0.0  # omitted: how newsworthy (higher first)
    basis: str = ""  # what raised it: a change type, "added" (nothing corresponds) or "unsupported"


@dataclass
class Analyzer:
    name: str = "factdiff-offline"
    model: str | None = None
    prompt_version: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    notes: list[str] = field(default_factory=list)
    cost_usd: float | None = None  # estimated, from the model's price per token
    requests: int | None = None  # requests sent to the model, retries included


@dataclass
class Report:
    story_text: str
    story_url: str | None
    sources: list[Candidate]
    findings: list[Finding]
    analyzer: Analyzer = field(default_factory=Analyzer)
    message: str = ""  # e.g. "no original found: ..." when there is nothing to compare with
    threshold: float = 0.0  # added and reworded findings scored below this are held back

    def reported(self, f: Finding) -> bool:
        return f.kind not in ("added", "reworded") or f.confidence >= self.threshold

    @property
    def held_back(self) -> list[Finding]:
        """Lower-scored added and reworded findings: in the JSON report, not shown to readers."""
        return [f for f in self.findings if not self.reported(f)]

    def of_kind(self, kind: str) -> list[Finding]:
        """The reported findings of one kind (held-back ones left out)."""
        return [f for f in self.findings if f.kind == kind and self.reported(f)]

    def counts(self) -> dict[str, int]:
        return {k: len(self.of_kind(k)) for k in KINDS}


def report_to_json(report: Report, *, include_supported: bool = False) -> dict[str, Any]:
    """The report in the JSON format of shared/eval/REPORT_FORMAT.md (version 1)."""

    def source_ref(s: SourceSentence) -> dict[str, Any]:
        return {
            "id": s.article.id,
            "sentence_id": s.id,
            "start": s.start,
            "end": s.end,
            "text": s.text,
            "title": s.article.title,
            "url": s.article.url,
            "published": s.article.published,
        }

    def finding_json(f: Finding) -> dict[str, Any]:
        return {
            "kind": f.kind,
            "story": None if f.story is None else {"start": f.story.start, "end": f.story.end, "text": f.story.text},
            "source": None if f.source is None else source_ref(f.source),
            "explanation": f.explanation,
            "confidence": round(f.confidence, 3),
            "changes": [
                {"type": c.type, "story": c.story, "source": c.source, "note": c.describe()} for c in f.changes
            ],
            "diff": [[d.op, d.text] for d in f.diff],
            "basis": f.basis,
        }

    shown = [f for f in report.findings if report.reported(f) and (f.kind != "supported" or include_supported)]
    a = report.analyzer
    return {
        "version": 1,
        "story": {"text": report.story_text, "url": report.story_url},
        "sources": [
            {
                "id": c.info.id,
                "title": c.info.title,
                "url": c.info.url,
                "published": c.info.published,
                "source": c.info.source,
                "score": round(c.score, 4),
            }
            for c in report.sources
        ],
        "findings": [finding_json(f) for f in shown],
        "held_back": [finding_json(f) for f in report.held_back],
        "threshold": report.threshold,
        "analyzer": {
            "name": a.name,
            "model": a.model,
            "prompt_version": a.prompt_version,
            "prompt_tokens": a.prompt_tokens,
            "completion_tokens": a.completion_tokens,
            "cost_usd": a.cost_usd,
            "requests": a.requests,
            "notes": list(a.notes),
        },
        "message": report.message,
    }
