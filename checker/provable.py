"""Changes the code can prove, whatever a judge says: the only ones that overrule a model.

A model's "supported" stands unless the claim, read against every original, holds

* a figure that no original gives and that cannot be worked out from theirs (a difference,
  sum, share, percentage or percentage-point change, ratio, unit conversion or rounding); a
  figure marked approximate ("about", "more than") may be some way off, but only off the
  originals' own figures or what figures close together give, not off far-fetched combinations;
* quoted words that no original says, in that order;
* a quote that an original gives to someone else.

Anything less certain (a word form such as "a quarter", a weekday, a trimmed quote, a hedge)
is the model's call. The tests here are deliberately one-sided: when in doubt, no proof.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from checker.changes import closest_wording, quotations, speakers
from checker.models import Change
from retrieval.sentences import split_sentences

#: Words before a figure that make it approximate ("about 9,000", "more than 41,000").
APPROXIMATE = re.compile(
    r"(?:about|around|roughly|nearly|almost|some|over|under|more than|less than|fewer than|close to|just over|"
    r"just under|approximately|up to|at least|at most|an estimated|estimated|as many as|as much as|"
    r"upwards of|below|above)\s+$",
    re.IGNORECASE,
)
APPROXIMATE_SHARE = 0.12  # an approximate figure may be this far (relative) from what it stands for
ROUNDING_SHARE = 0.015  # an exact-looking figure may be this far: rounding at its own precision aside
SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
#: Conversions a writer makes from one figure: halves and doubles, days/weeks, months/years,
#: hours/days, weeks/years, minutes/hours.
FACTORS = (2, 7, 12, 24, 52, 60)
NEARBY = 1  # shares and ratios are worked out from figures this many sentences apart, at most
_FIGURE = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s?(thousand|million|billion|trillion|bn|mn|m|k)\b)?"
    r"(\s?(?:%|per\s?cent\b|percentage points?\b|points?\b))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Figure:
    text: str
    value: float
    step: float  # the figure's own precision (1 for "14", 0.01 million for "2.63 million")
    approximate: bool
    year: bool
    percent: bool  # "12%", "12 per cent", "0.3 percentage points"


def figures(text: str) -> list[Figure]:
    """The figures written in digits, with their scale ("2.63 million" is 2,630,000)."""
    out = []
    for m in _FIGURE.finditer(text):
        whole, frac, scale = m.group(1), m.group(2) or "", (m.group(3) or "").lower()
        factor = SCALES.get(scale, 1.0)
        value = float(whole.replace(",", "") + frac) * factor
        step = 10.0 ** -(len(frac) - 1 if frac else 0) * factor
        year = not frac and not scale and "," not in whole and 1800 <= value <= 2200
        approximate = bool(APPROXIMATE.search(text[max(0, m.start() - 24) : m.start()]))
        out.append(Figure(m.group(0).strip(), value, step, approximate, year and not m.group(4), bool(m.group(4))))
    return out


class Pools(NamedTuple):
    """What a story's figure may stand for. ``near``: the originals' own figures and what is
    worked out from figures close together (same or next sentence): an approximate figure
    ("about", "more than") may be some way off these. ``far``: also conversions and sums or
    differences of any two figures, matched only at the figure's own precision."""

    near: frozenset[float]
    near_percent: frozenset[float]
    far: frozenset[float]


def derivable(sentences: list[list[Figure]]) -> Pools:
    """Every figure a writer can work out in one step from the originals' figures (given
    sentence by sentence): amounts (each figure, its conversions, sums and differences of two,
    ratios, spans between years) and percentages (each percentage, differences of two in
    points, a fraction written as a percentage, shares and changes)."""
    found = [f for fs in sentences for f in fs]
    values = [f.value for f in found if not f.year]
    years = [f.value for f in found if f.year]
    near = set(values) | set(years)
    near_percent = set(values) | {100 * v for v in values if v < 1}
    for k in range(len(sentences)):
        close = [f for fs in sentences[k : k + NEARBY + 1] for f in fs if not f.year]
        for a, b in itertools.permutations(close, 2):
            near.update((a.value + b.value, abs(a.value - b.value)))
            if a.percent and b.percent:
                near_percent.update((a.value + b.value, abs(a.value - b.value)))
            if b.value:
                share = a.value / b.value
                near.add(share)
                near_percent.update((100 * share, 100 * (share - 1), 100 * a.value / (a.value + b.value)))
    far = set(near)
    for v in values:
        for k in FACTORS:
            far.update((v * k, v / k))
    for x, y in itertools.permutations(values, 2):
        far.update((x + y, abs(x - y)))
    far.update(abs(x - y) for x, y in itertools.combinations(years, 2))
    return Pools(frozenset(near), frozenset(near_percent), frozenset(far))


def _matches(f: Figure, pools: Pools) -> bool:
    near, far = (pools.near_percent, pools.near_percent) if f.percent else (pools.near, pools.far)
    slack = max(f.step / 2, ROUNDING_SHARE * abs(f.value)) + 1e-9
    if any(abs(f.value - c) <= slack for c in far):
        return True
    return f.approximate and any(abs(f.value - c) <= APPROXIMATE_SHARE * max(abs(c), abs(f.value)) for c in near)


@lru_cache(maxsize=8)
def _pools(sources: str) -> Pools:
    return derivable([figures(s.text) for s in split_sentences(sources)])


def unsupported_figures(claim: str, sources: str) -> list[str]:
    """Figures of the claim that no original gives and none of their figures leads to."""
    pools = _pools(sources)
    return [f.text for f in figures(claim) if not _matches(f, pools)]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower().replace("\u2019", "'"))


def _contains(words: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(words[k : k + n] == part for k in range(len(words) - n + 1))


def unquoted_quotes(claim: str, sources: str) -> list[str]:
    """Quoted passages of the claim whose words no original says, in that order (an
    ellipsis may join passages that are each verbatim)."""
    pool = _words(sources)
    out = []
    for q in quotations(claim):
        parts = [_words(p) for p in re.split(r"\.\.\.|\u2026", q)]
        if any(p and not _contains(pool, p) for p in parts):
            out.append(q)
    return out


def misattributed_quotes(claim: str, sources: str) -> list[tuple[str, set[str]]]:
    """Verbatim quotes the claim gives to someone the originals do not: (quote, their speakers).

    Proof needs a named speaker on both sides: the claim's, next to a speech verb, is named
    nowhere near the quote in the original, and the original names another one there."""
    said_by = speakers(_outside_quotes(claim))
    if not said_by:
        return []
    sentences = [s.text for s in split_sentences(sources)]
    out = []
    for q in quotations(claim):
        words = _words(q)
        if len(words) < 3:
            continue
        at = next((k for k, s in enumerate(sentences) if _contains(_words(s), words)), None)
        if at is None:
            continue
        context = sentences[at]  # the quote's own sentence, or with its neighbours when it names no one
        theirs = speakers(_outside_quotes(context))
        if not theirs:
            context = " ".join(sentences[max(0, at - 1) : at + 2])
            theirs = speakers(_outside_quotes(context))
        if theirs and not theirs & said_by and not said_by & set(_words(context)):
            out.append((q, theirs))
    return out


def _outside_quotes(text: str) -> str:
    for q in quotations(text):
        text = text.replace(q, " ")
    return text


def provable_changes(claim: str, cited: str, sources: str) -> list[Change]:
    """The changes in ``claim`` that the code can prove against ``sources`` (every original's
    text); ``cited`` (the sentences a judge cited) only supplies the words shown beside them."""
    out = []
    wrong = unsupported_figures(claim, sources)
    if wrong:
        near = ", ".join(f.text for f in figures(cited))
        note = f"{', '.join(wrong)}: in no original and not worked out from their figures"
        out.append(Change("number", ", ".join(wrong), near, note))
    for q in unquoted_quotes(claim, sources):
        closest = closest_wording(q, [cited, sources]) if cited else ""
        note = f"the quote \u201c{q}\u201d is not in any original" + (
            f"; the source says \u201c{closest}\u201d" if closest else ""
        )
        out.append(Change("quotation", q, closest, note))
    for q, theirs in misattributed_quotes(claim, sources):
        who = ", ".join(sorted(theirs))
        out.append(Change("attribution", q, who, f"the original gives the quote \u201c{q}\u201d to {who}"))
    return out
