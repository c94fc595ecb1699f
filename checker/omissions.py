"""Omitted facts: newsworthy source sentences the story does not cover, most newsworthy first.

Figures, quotes, named people, caveats, denials and the other side's response rank first;
datelines, headings, boilerplate and contact lines are never reported.
"""

from __future__ import annotations

import re

import numpy as np

from checker.align import Alignment
from checker.analysis import OmissionCandidate
from checker.dates import dated, years
from checker.figures import figures
from checker.lexicon import lexicon
from checker.models import Finding, SourceSentence

COVERED = 0.55  # a claim covers a source sentence at this similarity (meaning + shared terms)
STORY_COVERED = 0.7  # ... or the story as a whole holds this share of its terms
# any statement of six words or more that is not boilerplate, the most newsworthy listed first;
# calibrated on the dev set and the seed (omitted F1 0.62 -> 0.72 and 0.80 -> 1.00 against 1.0,
# which left out plain statements)
MIN_RANK = 0.5
USED = 0.42  # a claim this similar to its closest source sentence was built on it (the engine's align_min)
FIGURES_COVERED = 0.5  # a sentence whose figures are all in the story is covered at this share of its terms
JUDGE_COVERED = 0.75  # a judge also sees source sentences covered less closely than this


def newsworthiness(text: str) -> float:
    """How much a fact-checker would miss this sentence (0 = not at all)."""
    lx = lexicon()
    if lx.boilerplate.search(text):
        return 0.0
    words = re.findall(r"[\w'\u2019]+", text.lower())
    score = 0.5
    score += 1.0 if figures(text) or years(text) or dated(text, None) else 0.0
    score += 1.0 if re.search(r"[\u201c\"][^\u201c\u201d\"]{8,}[\u201d\"]", text) else 0.0
    score += 0.7 if re.search(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+\s+[A-Z][a-z]+", text.strip()) else 0.0
    score += 0.8 if set(words) & (lx.negators | lx.caveats) else 0.0
    score += 1.0 if set(words) & lx.denials else 0.0
    score += 0.6 if set(words) & lx.speech_verbs else 0.0
    return score if len(words) >= 6 else 0.0


def omission_candidates(
    al: Alignment, findings: list[Finding], pool: int = 20, *, keep_cited: bool = False
) -> list[OmissionCandidate]:
    """Source sentences the story may leave out: the offline omissions (``offline``), then
    the nearly covered or less newsworthy ones a judge may still call omitted, up to ``pool``.
    A sentence a finding cites is never an offline omission; with ``keep_cited`` (for a judge,
    who may cite another sentence for that claim) it stays a candidate."""
    cited = {f.source.id for f in findings if f.source is not None}
    # a sentence some claim was built on (its closest, and close enough to correspond) is used,
    # not left out, however the story reworded it
    used = {int(np.argmax(al.similarity[i])) for i in range(len(al.claims)) if al.similarity[i].max() >= USED}
    story_figures = {round(f.value, 6) for c in al.claims for f in figures(c.text)}
    out = []
    for j, s in enumerate(al.sources):
        if s.kind in ("dateline", "heading") or (s.id in cited and not keep_cited):
            continue
        rank = newsworthiness(s.text)
        if rank <= 0.0:
            continue
        best = float((0.5 * al.dense[:, j] + 0.5 * al.source_cover[:, j]).max(initial=0.0))
        story_cover = al.story_cover_of_source(j)
        if figures_told(s.text, story_figures) and story_cover >= FIGURES_COVERED:
            story_cover = 1.0  # every figure it gives is in the story, and half its words
        offline = (
            best < COVERED and story_cover < STORY_COVERED and rank >= MIN_RANK and s.id not in cited and j not in used
        )
        if offline or best < JUDGE_COVERED:
            out.append(OmissionCandidate(j, rank, max(best, story_cover), offline))
    out.sort(key=lambda c: (not c.offline, -c.rank, c.index))
    return out[: max(pool, sum(c.offline for c in out))]


def figures_told(text: str, story_figures: set[float]) -> bool:
    """The sentence gives figures, and the story gives every one of them (whatever its words)."""
    own = {round(f.value, 6) for f in figures(text)}
    return bool(own) and own <= story_figures


def omission_finding(s: SourceSentence, rank: float) -> Finding:
    return Finding("omitted", None, s, _why(s.text), round(min(0.9, 0.4 + rank / 8), 3), rank=rank)


def omissions(al: Alignment, findings: list[Finding], limit: int = 8) -> list[Finding]:
    """The offline engine's omissions, most newsworthy first."""
    chosen = [c for c in omission_candidates(al, findings) if c.offline]
    return [omission_finding(al.sources[c.index], c.rank) for c in chosen[:limit]]


def _why(text: str) -> str:
    parts = []
    if figures(text):
        parts.append("figures")
    if years(text) or dated(text, None):
        parts.append("a date")
    if re.search(r"[\u201c\"][^\u201c\u201d\"]{8,}[\u201d\"]", text):
        parts.append("a quote")
    low = set(re.findall(r"[\w']+", text.lower()))
    if low & (lexicon().negators | lexicon().caveats):
        parts.append("a caveat or denial")
    return "the story leaves out " + (", ".join(parts) if parts else "this statement")
