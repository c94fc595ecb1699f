"""What the offline engine worked out about one story, handed to a judge to refine.

A judge (the LLM judge of :mod:`checker.judge`) sees the claims, their aligned source
sentences and the offline verdicts, and returns verdicts of its own; every quote in a verdict
is still a :class:`~checker.models.SourceSentence` built from the stored text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from checker.align import Alignment
from checker.changes import SourceFacts
from checker.claims import Claim
from checker.models import Analyzer, Change, SourceSentence


@dataclass
class Verdict:
    claim: Claim
    kind: str  # supported | reworded | added
    source: SourceSentence | None
    changes: list[Change]
    confidence: float
    cover: float
    verbatim: bool = False  # the claim is word for word in an original: settled, no judge needed
    reason: str = ""  # a judge's short explanation in plain words (never a quotation)
    basis: str = ""  # what raised an added verdict: "added" (nothing corresponds) or "unsupported"


@dataclass(frozen=True)
class OmissionCandidate:
    """A source sentence the story may leave out: ``index`` into ``Alignment.sources``."""

    index: int
    rank: float  # newsworthiness, higher first
    covered: float  # how closely the nearest claim covers it (0..1)
    offline: bool  # the offline engine reports it as omitted


@dataclass
class Analysis:
    text: str
    alignment: Alignment
    verdicts: list[Verdict]
    omission_candidates: list[OmissionCandidate]
    sources_text: str  # every original's text: where a figure, date or quotation is looked up
    #: the originals with their publication dates ("three years" past a five-year life from 2017
    #: is worked out from the date a source was published); None: the text alone
    facts: SourceFacts | None = None


@dataclass
class Judgement:
    """A judge's answer: new verdicts by claim index, the omitted source sentences (indices
    into ``Alignment.sources``, most newsworthy first; None keeps the offline omissions)."""

    verdicts: dict[int, Verdict]
    omitted: list[int] | None
    analyzer: Analyzer = field(default_factory=Analyzer)
    #: what became of each claim (index): "judged", "kept" (the code overruled the model),
    #: "implausible" / "unresolvable" (a guard dropped the answer), "unanswered", "failed",
    #: "verbatim" or "not sent"; for benchmarks and logs, not shown to users
    outcomes: dict[int, str] = field(default_factory=dict)


class Judge(Protocol):
    def judge(self, analysis: Analysis) -> Judgement: ...
