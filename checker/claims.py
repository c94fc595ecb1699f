"""Story and source text -> claims: sentences, and the clauses a rewrite tends to tack on.

A rewrite often keeps a sourced sentence and adds a clause of its own ("..., marking a
significant shift in international involvement."). Such trailing clauses are split off so
they can be judged on their own: at a comma before a participle or a contrast ("marking",
"though", "even as"), at a semicolon, or at a dash. Every claim keeps offsets into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.sentences import Segment, split_sentences

#: Words that open a clause a writer can bolt onto a sentence.
CLAUSE_OPENERS = (
    "though",
    "although",
    "even though",
    "even as",
    "while",
    "whereas",
    "but",
    "yet",
    "marking",
    "signalling",
    "signaling",
    "underscoring",
    "highlighting",
    "raising",
    "prompting",
    "fuelling",
    "fueling",
    "sparking",
    "drawing",
    "accusing",
    "framing",
    "adding",
    "saying",
    "suggesting",
    "indicating",
    "reflecting",
    "amid",
    "despite",
    "a move",
    "a sign",
    "a step",
    "which could",
    "which would",
    "which will",
    "which may",
    "which might",
)
_OPENER = "|".join(re.escape(o) for o in sorted(CLAUSE_OPENERS, key=len, reverse=True))
_CLAUSE_CUT = re.compile(
    rf"(?:,[\"'\u201d\u2019]?|[\"'\u201d\u2019],)\s+(?=(?:{_OPENER})\b)|;\s+|\s+[\u2014\u2013]\s+|\s+--\s+",
    re.IGNORECASE,
)
MIN_CLAUSE_WORDS = 4


@dataclass(frozen=True)
class Claim:
    """A checkable piece of text: a whole sentence, or a clause of one."""

    id: str
    start: int
    end: int
    text: str
    sentence: int  # index of the sentence it belongs to
    kind: str = "sentence"  # "sentence" | "clause"
    segment_kind: str = "sentence"  # the segment's kind: sentence, heading, dateline, list_item


def split_clauses(text: str, seg: Segment) -> list[tuple[int, int]]:
    """(start, end) spans of the clauses of one sentence, trailing punctuation kept on the last."""
    body = text[seg.start : seg.end]
    cuts: list[tuple[int, int]] = []  # (end of the previous clause, start of the next)
    for m in _CLAUSE_CUT.finditer(body):
        if _inside_quotes(body, m.end()):
            continue
        head_end = m.start() + _quote_len(body[m.start() : m.end()])
        cuts.append((head_end, m.end()))
    spans: list[tuple[int, int]] = []
    start = 0
    for head_end, next_start in cuts:
        if len(body[start:head_end].split()) >= MIN_CLAUSE_WORDS and len(body[next_start:].split()) >= MIN_CLAUSE_WORDS:
            spans.append((seg.start + start, seg.start + head_end))
            start = next_start
    spans.append((seg.start + start, seg.end))
    return spans


def _quote_len(separator: str) -> int:
    """How much of a separator stays with the clause before it: a closing quote does."""
    m = re.match(r",?([\"'\u201d\u2019]),?", separator)
    if not m:
        return 0
    return m.end(1)


def _inside_quotes(body: str, pos: int) -> bool:
    before = body[:pos]
    curly = before.count("\u201c") - before.count("\u201d")
    return curly > 0 or before.count('"') % 2 == 1


def story_claims(text: str) -> list[Claim]:
    """The claims of a story: every sentence, split into clauses where a clause was tacked on."""
    claims: list[Claim] = []
    for i, seg in enumerate(split_sentences(text)):
        if seg.kind == "dateline":
            continue
        spans = split_clauses(text, seg) if seg.kind == "sentence" else [(seg.start, seg.end)]
        for k, (s, e) in enumerate(spans):
            kind = "sentence" if len(spans) == 1 else "clause"
            claims.append(
                Claim(f"S{i + 1}" + (f".{k + 1}" if kind == "clause" else ""), s, e, text[s:e], i, kind, seg.kind)
            )
    return claims
