"""Sentence segmentation with character offsets.

Handles what news copy throws at a splitter: abbreviations ("Sept.", "U.S.", "Dr."),
initials, decimals and prices, quotations that run over several sentences (kept whole),
curly and straight quotes, datelines ("PARIS, September 4. /TASS/."), list items and
paragraphs or headlines without final punctuation, and sentences glued together without
a space ("...$10.9bn.For the full year...").

Every :class:`Segment` satisfies ``text[seg.start:seg.end] == seg.text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTH_ABBREVIATIONS = ("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec")
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sen",
        "rep",
        "gov",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "maj",
        "st",
        "jr",
        "sr",
        "rev",
        "hon",
        "pres",
        "inc",
        "corp",
        "co",
        "ltd",
        "plc",
        "llc",
        "bros",
        "dept",
        "univ",
        "assn",
        "ave",
        "blvd",
        "rd",
        "mt",
        "ft",
        "vs",
        "etc",
        "al",
        "approx",
        "est",
        *MONTH_ABBREVIATIONS,
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "no",
        "nos",
        "fig",
        "figs",
        "vol",
        "pp",
        "ed",
        "eds",
        "op",
        "cf",
        "ca",
        "p.m",
        "a.m",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "u.s.a",
        "d.c",
    ]
)
#: Words that make "U.S. The" a sentence boundary even though "U.S." is an abbreviation.
SENTENCE_STARTERS = frozenset(
    [
        "the",
        "a",
        "an",
        "he",
        "she",
        "it",
        "they",
        "we",
        "i",
        "in",
        "on",
        "at",
        "but",
        "and",
        "this",
        "that",
        "these",
        "those",
        "there",
        "his",
        "her",
        "its",
        "their",
        "our",
        "after",
        "before",
        "when",
        "while",
        "however",
        "meanwhile",
        "also",
        "yet",
        "so",
        "if",
        "as",
        "for",
        "since",
    ]
)
OPEN_QUOTES = "\u201c\u00ab"
CLOSE_QUOTES = "\u201d\u00bb"
CLOSERS = "\"'\u201d\u2019\u00bb)]"

_DATELINE = re.compile(
    r"""\s*(?:
        [A-Z][A-Z.'\- ]{1,40},\s+[A-Z][a-z]+\.?\s+\d{1,2}\.?\s*/[A-Za-z\-]{2,12}/\.?   # PARIS, September 4. /TASS/.
      | [A-Z][A-Z.'\- ]{1,40}(?:,\s+[A-Z][A-Za-z.]+)*\s+\([A-Za-z .&]{2,30}\)\s*[-\u2013\u2014]+  # LONDON (Reuters) -
      | [A-Z][A-Z.'\- ]{2,40}(?:,\s+[A-Z][A-Za-z.]+)?\s*[\u2013\u2014]                    # WASHINGTON —
    )""",
    re.VERBOSE,
)
_QUOTE_CHARS = re.compile(r"[\"\u201c\u201d]")
_LIST_ITEM = re.compile(r"\s*(?:[-*\u2022\u2013]|\d{1,3}[.)]|[a-z][.)])\s+")
_BOUNDARY = re.compile(
    r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+[\u300d\u300f\uff09\u201d\u2019]*"
)
#: Sentence ends of scripts written without spaces (Chinese, Japanese): they end a sentence
#: wherever they stand, whatever follows.
FULL_WIDTH_ENDS = "\u3002\uff01\uff1f"
_GLUED = re.compile(
    r"(?:(?<=[a-z\d%)\"\u201d'\u2019!?])|(?<=[A-Z]{2})|(?<=\.\.))[.!?]([\"\u201c\u201d]{0,2})(?=[A-Z][A-Za-z\d&'\u2019]|[AI]\s)"
)


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    text: str
    kind: str = "sentence"  # "sentence" | "dateline" | "list_item" | "heading"
    paragraph: int = 0


def split_sentences(text: str, *, keep_quotes: bool = True) -> list[Segment]:
    """Split ``text`` into sentences with offsets into ``text``.

    With ``keep_quotes=False`` a quotation does not hold its sentences together.
    """
    segments: list[Segment] = []
    for p_index, (p_start, p_end) in enumerate(_paragraphs(text)):
        segments.extend(_split_paragraph(text, p_start, p_end, p_index, keep_quotes))
    return segments


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Spans of non-empty lines; a line break ends a paragraph unless the line wraps prose."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            start = pos + (len(body) - len(body.lstrip()))
            end = pos + len(body.rstrip())
            if spans and _wraps(_ends_of(text, spans[-1]), stripped):
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        else:
            spans.append((-1, -1))  # blank line: a hard paragraph break
        pos += len(line)
    return [s for s in spans if s[0] >= 0]


def _ends_of(text: str, span: tuple[int, int]) -> str:
    """A paragraph, or its opening and closing words when it is long: all :func:`_wraps` reads
    (so that a transcript of a million wrapped lines is read once, not once per line)."""
    start, end = span
    if end - start <= 400:
        return text[start:end]
    return text[start : start + 100] + " \u2026 " + text[end - 200 : end]


_JOINERS = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "at", "for", "with", "by", "from", "and", "or", "but"]
    + ["that", "as", "than", "about", "into"]
)


def _wraps(previous: str, line: str) -> bool:
    """True when ``line`` continues a hard-wrapped sentence of ``previous``."""
    if not previous or _LIST_ITEM.match(line) or _LIST_ITEM.match(previous):
        return False
    last = previous.rstrip()[-1]
    if last in ".!?:;\"'\u201d\u2019)":
        return False
    last_word = previous.rstrip().rsplit(None, 1)[-1].lower()
    return line[:1].islower() or line[:1].isdigit() or last_word in _JOINERS or last in ",-\u2013\u2014"


def _split_paragraph(text: str, start: int, end: int, p_index: int, keep_quotes: bool = True) -> list[Segment]:
    out: list[Segment] = []
    kind = "list_item" if _LIST_ITEM.match(text[start:end]) else "sentence"
    m = _DATELINE.match(text, start, end) if kind == "sentence" else None
    if m and m.end() < end:
        d_end = start + len(text[start : m.end()].rstrip())
        out.append(Segment(start, d_end, text[start:d_end], "dateline", p_index))
        start = _skip_space(text, m.end(), end)
    for s, e in _sentence_spans(text, start, end, keep_quotes):
        seg_kind = kind
        if kind == "sentence" and len(out) == 0 and e == end and text[e - 1] not in ".!?\"'\u201d\u2019)":
            seg_kind = "heading" if len(text[s:e].split()) <= 16 else "sentence"
        out.append(Segment(s, e, text[s:e], seg_kind, p_index))
    return out


def _skip_space(text: str, i: int, end: int) -> int:
    while i < end and text[i].isspace():
        i += 1
    return i


def _sentence_spans(text: str, start: int, end: int, keep_quotes: bool = True) -> list[tuple[int, int]]:
    cuts = [c for c in _candidate_cuts(text, start, end, keep_quotes) if start < c < end]
    spans: list[tuple[int, int]] = []
    s = start
    for c in cuts:
        e = c
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        s = _skip_space(text, c, end)
    if s < end:
        e = end
        while e > s and text[e - 1].isspace():
            e -= 1
        spans.append((s, e))
    return spans


def _candidate_cuts(text: str, start: int, end: int, keep_quotes: bool = True) -> list[int]:
    """Offsets where a new sentence starts, outside multi-sentence quotations."""
    cuts: set[int] = set()
    for m in _BOUNDARY.finditer(text, start, end):
        if _is_boundary(text, m.start(), m.end(), end):
            cuts.add(m.end())
    # Sentences glued without a space ("...in 2003.Keys said") come from pasted extracts; a
    # quotation opened before the glue point was cut short there, so it holds nothing together.
    glued: set[int] = set()
    last = start
    for m in _GLUED.finditer(text, start, end):
        if _is_abbreviation(text, m.start(), start):
            continue
        cut = m.start() + 1
        if m.group(1) and len(_QUOTE_CHARS.findall(text, last, m.start())) % 2 == 1:
            cut += 1  # a quotation left open in the sentence before closes with the first mark after the dot
        glued.add(cut)
        last = cut
    marker = _LIST_ITEM.match(text, start, end)
    floor = marker.end() if marker else start  # "1. Ten new buses" is one item, not "1." + ...
    marks = _quote_marks(text, start, end) if keep_quotes and cuts - glued else []
    ordered = sorted(cuts | glued)
    quoted = _inside_quotes(marks, ordered)
    return [c for c in ordered if c > floor and (c in glued or c not in quoted)]


def _is_boundary(text: str, p_start: int, p_end: int, end: int) -> bool:
    nxt = _skip_space(text, p_end, end)
    if nxt >= end:
        return False
    follower = text[nxt]
    if text[p_start] in FULL_WIDTH_ENDS:
        return True
    if not (follower.isupper() or follower.isdigit() or follower in "\"'\u201c\u2018(["):
        return False
    if text[p_start] != "." or text[p_start:p_end].startswith(".."):
        return True
    if _is_abbreviation(text, p_start, 0):
        word = re.match(r"[\"'\u201c\u2018(]*([A-Za-z]+)", text[nxt : nxt + 30])
        return bool(word and word.group(1).lower() in SENTENCE_STARTERS and _ends_acronym(text, p_start))
    return True


def _word_before(text: str, dot: int, floor: int) -> str:
    i = dot
    while i > floor and not text[i - 1].isspace() and text[i - 1] not in "(\"'\u201c\u2018":
        i -= 1
    return text[i:dot]


def _is_abbreviation(text: str, dot: int, floor: int) -> bool:
    word = _word_before(text, dot, floor)
    low = word.lower().rstrip(".")
    if low in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isupper():  # an initial: "J. Smith"
        return True
    return bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word))  # U.S, e.g, Ph.D


def _ends_acronym(text: str, dot: int) -> bool:
    """'U.S.' and 'U.K.' may end a sentence; 'Dr.' and 'Sept.' do not."""
    return bool(re.fullmatch(r"(?:[A-Z]\.)+[A-Z]", _word_before(text, dot, 0)))


def _quote_marks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(position, +1 opening / -1 closing) of every double quote; straight quotes are told
    apart by their neighbours (an opening one follows a space, a closing one precedes one)."""
    marks: list[tuple[int, int]] = []
    depth = 0
    for p in range(start, end):
        ch = text[p]
        if ch in OPEN_QUOTES:
            step = 1
        elif ch in CLOSE_QUOTES:
            step = -1
        elif ch == '"':
            before = text[p - 1] if p > start else " "
            after = text[p + 1] if p + 1 < end else " "
            if before.isspace() or before in "([{:\u2014\u2013-":
                step = 1
            elif after.isspace() or after in ".,;:!?)]}":
                step = -1
            else:
                step = -1 if depth > 0 else 1
        else:
            continue
        depth = max(0, depth + step)
        marks.append((p, step))
    return marks


def _inside_quotes(marks: list[tuple[int, int]], cuts: list[int]) -> set[int]:
    """The ``cuts`` (in order) inside a quotation that opens before them and closes after them,
    in this paragraph; ``marks`` are the paragraph's quote marks (:func:`_quote_marks`). One
    pass over both lists.

    An opening quote that never closes (a quotation cut short) holds nothing together.
    """
    last_close = max((p for p, step in marks if step < 0), default=-1)
    inside: set[int] = set()
    depth = 0
    i = 0
    for cut in cuts:
        while i < len(marks) and marks[i][0] < cut:
            depth = max(0, depth + marks[i][1])
            i += 1
        if depth > 0 and last_close >= cut:
            inside.add(cut)
    return inside
