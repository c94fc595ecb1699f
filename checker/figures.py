"""Figures as facts: what a number says (its value, unit and how it is bounded), and whether a
story's figure follows from the figures of its originals.

A story may restate a source's figures: round them ("just over 2.63 million" for 2,631,000),
bound them ("more than a quarter" for 28%), work them out (a difference, a sum, a share, a
percentage or percentage-point change, a ratio) or write them in words ("twice a year" for
every six months). Such a figure is supported; only a figure that neither stands in an original
nor follows from its figures is a change.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from checker.lexicon import lexicon

#: Kinds of figure. A duration's value is in days.
KINDS = ("count", "percent", "pp", "fraction", "multiplier", "duration")


@dataclass(frozen=True)
class Figure:
    text: str  # as written, with its bound: "more than 41,000"
    value: float
    kind: str
    # "" exact as rounded; "=" about; ">" more than; "<" less than; ">=" at least; "<=" at most;
    # "unit" a unit of time ("a year earlier"), not a figure of its own
    sense: str
    precision: float  # the rounding unit its writing implies (10,000 for "2.63 million")
    start: int
    end: int
    written: float = 0.0  # the number as written, before a unit of time turned it into days


_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in sorted(words, key=len, reverse=True))


def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    lx = lexicon()
    scale = _alternation(lx.scales)
    pct = _alternation(lx.percent_words)
    dur = _alternation(lx.durations)
    approx = _alternation(lx.approximators)
    words = _alternation(list(lx.number_words) + list(lx.fractions) + list(lx.multipliers))
    number = (
        rf"(?:(?<![\w.,/:-])[$\u00a3\u20ac]?(?P<num>{_NUM})(?:(?=bn\b|mn\b)|(?![\w/:]|,\d|\.\d))"
        rf"|(?<![\w-])(?P<word>(?:{words})(?:-(?:{words}))?)(?![\w])(?!-(?!(?:{dur})\b)))"
    )
    figure = re.compile(
        rf"(?:(?P<approx>{approx})\s+)?{number}"
        rf"(?P<half>\s+and\s+a\s+half)?"
        rf"(?:[\s-]*(?P<scale>{scale})\b)?"
        rf"(?:\s*(?P<pct>%|(?:{pct})\b))?"
        rf"(?:[\s-]+(?P<dur>{dur})\b)?",
        re.IGNORECASE,
    )
    date_like = re.compile(
        r"(?i)\b\d{1,2}(?:st|nd|rd|th)?\s+(?:"
        + _alternation(lx.months)
        + r")\b|\b(?:"
        + _alternation(lx.months)
        + r")\.?\s+\d{1,2}(?:st|nd|rd|th)?\b(?!,?\d)|\b\d{1,2}(?:[:.]\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)|\b\d{1,2}:\d{2}\b"
        r"|\b\d{4}-\d{2}-\d{2}\b"
    )
    single = re.compile(rf"(?i)(?<![\w-])(?:a|an|one|the|per|each|every|previous|last|next|this)\s+(?P<dur>{dur})\b")
    return figure, date_like, single


_CACHE: dict[str, tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]] = {}


def _compiled() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    if "p" not in _CACHE:
        _CACHE["p"] = _patterns()
    return _CACHE["p"]


def _word_value(word: str) -> tuple[float, str] | None:
    lx = lexicon()
    w = re.sub(r"[\s-]+", " ", word.lower())
    if w in lx.fractions:
        return lx.fractions[w], "fraction"
    if w in lx.multipliers:
        return lx.multipliers[w], "multiplier"
    if w in lx.number_words:
        return lx.number_words[w], "count"
    parts = w.split(" ")
    if len(parts) == 2 and all(p in lx.number_words for p in parts):  # twenty one
        return lx.number_words[parts[0]] + lx.number_words[parts[1]], "count"
    return None


def _precision(num: str, scale: float) -> float:
    digits = num.replace(",", "")
    if "." in digits:
        return 10 ** -len(digits.split(".")[1]) * scale
    trailing = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
    return 10**trailing * scale


_LIST_MARK = re.compile(r"\d{1,2}[.)]\s")


def _line_start(text: str, at: int) -> bool:
    """Nothing but blanks or a bullet before ``at`` on its line."""
    return not text[text.rfind("\n", 0, at) + 1 : at].strip(" \t-*\u2022")


def figures(text: str) -> list[Figure]:
    """The figures of a text; dates, times, years and codes are not figures."""
    lx = lexicon()
    figure_re, date_re, single_re = _compiled()
    taken = [m.span() for m in date_re.finditer(text)]
    out: list[Figure] = []
    for m in figure_re.finditer(text):
        start = m.start("num") if m.group("num") else m.start("word")
        if any(s <= start < e for s, e in taken):
            continue
        scale = lx.scales.get((m.group("scale") or "").lower(), 1.0)
        pct = m.group("pct")
        dur = (m.group("dur") or "").lower()
        if m.group("num"):
            raw = m.group("num")
            if re.fullmatch(r"\d{1,2}", raw) and _LIST_MARK.match(text, m.start("num")) and _line_start(text, start):
                continue  # "2. A drama film ...": a list's number, not a figure
            value = float(raw.replace(",", "")) * scale
            precision = _precision(raw, scale)
            kind = "count"
            if re.fullmatch(r"(19|20)\d\d", raw) and not (pct or dur or m.group("scale")):
                continue  # a year: a date, compared as one
        else:
            word = m.group("word")
            if word.lower() == "one" and not (pct or dur or m.group("scale")):
                continue  # "one of the ...": rarely a figure
            wv = _word_value(word)
            if wv is None:
                continue
            value, kind = wv[0] * scale, wv[1]
            precision = 1e-9
        if m.group("half"):
            value += 0.5 * scale
        if pct:
            unit = "%" if pct == "%" else lx.percent_words.get(re.sub(r"[\s-]+", " ", pct.lower()), "%")
            kind = "pp" if unit == "pp" else "percent"
            if kind == "percent" and m.group("word") and wv and wv[1] == "fraction":
                kind = "fraction"
        written = value
        if dur:
            value, kind = value * lx.durations[dur], "duration"
            precision *= lx.durations[dur]
        if kind == "fraction":
            value, kind, precision = value * 100, "percent", 1e-6
        approx = (m.group("approx") or "").lower()
        sense = lx.approximators.get(re.sub(r"[\s-]+", " ", approx), "") if approx else ""
        out.append(Figure(m.group(0), value, kind, sense, precision, m.start(), m.end(), written))
    for m in single_re.finditer(text):  # "a year earlier", "the previous quarter": one unit
        days = lx.durations[m.group("dur").lower()]
        out.append(Figure(m.group(0), days, "duration", "unit", days / 2, m.start(), m.end(), 1.0))
    return out


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def fits(claim: Figure, value: float) -> bool:
    """Whether a source value (or one worked out from source values) bears out the claim's figure."""
    c, v = claim.value, value
    if claim.sense == "=":
        return abs(c - v) <= 0.1 * max(abs(v), abs(c))
    if claim.sense == ">":
        return c <= v <= c * 1.15
    if claim.sense == "<":
        return c * 0.85 <= v <= c
    if claim.sense == ">=":
        return c * (1 - 1e-6) <= v <= c * 1.5
    if claim.sense == "<=":
        return c * 0.5 <= v <= c * (1 + 1e-6)
    return abs(c - v) <= claim.precision / 2 + 1e-9 * max(1.0, abs(v)) or _close(c, v)


def _derived(claim_kind: str, pool: Sequence[Figure], durations: Sequence[float]) -> Iterable[float]:
    """Values a writer can work out from the pool for a figure of ``claim_kind``."""
    counts = [f.value for f in pool if f.kind == "count"] + [f.written for f in pool if f.kind == "duration"]
    pcts = [f.value for f in pool if f.kind == "percent"]
    days = [f.value for f in pool if f.kind == "duration"] + list(durations)
    if claim_kind == "count":
        yield from counts
        for a, b in itertools.permutations(counts, 2):
            yield a - b
            yield a + b
        yield from days
    elif claim_kind == "percent":
        yield from pcts
        for a, b in itertools.permutations(counts, 2):
            if b:
                yield 100 * a / b
                yield 100 * (a - b) / b
                yield 100 * (a - b) / a if a else 0.0
        for a, b in itertools.permutations(pcts, 2):
            if b:
                yield 100 * (a - b) / b
    elif claim_kind == "pp":
        for a, b in itertools.permutations(pcts, 2):
            yield a - b
    elif claim_kind == "multiplier":
        values = counts + pcts + days + list(lexicon().conversions)
        for a, b in itertools.permutations(values, 2):
            if b:
                yield a / b
    elif claim_kind == "duration":
        yield from days
        for a, b in itertools.permutations(days, 2):
            yield a - b
            yield a + b
        for c in counts:  # a bare number of days, weeks, months or years elsewhere
            for unit in set(lexicon().durations.values()):
                yield c * unit


def unsupported(
    claim: Sequence[Figure],
    near: Sequence[Figure],
    everywhere: Sequence[Figure],
    durations: Sequence[float] = (),
    own: Sequence[Figure] = (),
) -> list[Figure]:
    """The claim's figures that no original gives and that do not follow from the figures of
    the claim's source sentence (``near``) and the claim's ``own`` other figures; ``durations``
    are spans between the sources' dates."""
    out = []
    for f in claim:
        if f.sense == "unit":
            continue  # "a year earlier": a unit of time, not a figure to check
        direct = [g.value for g in everywhere if _same_kind(f.kind, g.kind)]
        if any(fits(f, v) for v in direct):
            continue
        pool = [*near, *(g for g in own if g is not f and g.sense != "unit")]
        if any(fits(f, v) for v in _derived(f.kind, pool, durations)):
            continue
        out.append(f)
    return out


def _same_kind(a: str, b: str) -> bool:
    return a == b


def counterpart(f: Figure, near: Sequence[Figure], claim: Sequence[Figure]) -> Figure | None:
    """The source figure a changed figure stands for: the same kind, not restated anywhere in the
    claim, closest in size."""
    said = [g.value for g in claim]
    options = [
        g for g in near if _same_kind(g.kind, f.kind) and not any(_close(g.value, v) for v in said) and g.value > 0
    ]
    if not options or f.value <= 0:
        return None
    return min(options, key=lambda g: (g.kind != f.kind, abs(math.log(g.value / f.value))))
