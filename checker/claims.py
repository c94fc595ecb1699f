"""Story and source text -> claims: sentences, and the clauses a rewrite tends to tack on.

A rewrite often keeps a sourced sentence and bolts a clause of its own onto it ("..., a move
critics called rushed."). Clauses are split by structure, not by a list of the words one
story used: at a semicolon or a dash, and at a comma that opens a clause of four or more
words: one led by a conjunction, a relative pronoun or a preposition (``clause_openers`` in
``lexicon.toml``), by a participle ("..., raising ...", "..., fanned by ...") or by an
appositive's article ("..., the longest ..."). A tail that only says who said it stays with its
head. Every claim keeps offsets into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from checker.lexicon import lexicon
from retrieval.sentences import Segment, split_sentences

MIN_CLAUSE_WORDS = 4  # a head and a tail each hold at least this many words


@cache
def _clause_cut() -> re.Pattern[str]:
    openers = "|".join(re.escape(o) for o in sorted(lexicon().clause_openers, key=len, reverse=True))
    participle = r"[a-z][a-z-]{2,}(?:ing|ed)"
    return re.compile(
        rf"(?:,[\"'\u201d\u2019]?|[\"'\u201d\u2019],)\s+(?=(?:{openers}|{participle})\b)|;\s+|\s+[\u2014\u2013]\s+|\s+--\s+",
        re.IGNORECASE,
    )


def _attribution_only(tail: str) -> bool:
    """A tail such as "the agency said on Tuesday": who said the head, not a claim of its own.
    Its speech verb ends it, or only a time or place follows."""
    words = re.findall(r"[\w'\u2019-]+", tail.lower())
    verbs = [k for k, w in enumerate(words[:6]) if w in lexicon().speech_verbs]
    if not verbs:
        return False
    rest = words[verbs[0] + 1 :]
    if words[verbs[0]] == "according":  # "according to the union"
        return len(rest) <= 6
    return not rest or (len(rest) <= 4 and rest[0] in lexicon().attribution_times)


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
    for m in _clause_cut().finditer(body):
        if _inside_quotes(body, m.end()):
            continue
        head_end = m.start() + _quote_len(body[m.start() : m.end()])
        cuts.append((head_end, m.end()))
    spans: list[tuple[int, int]] = []
    start = 0
    opening = re.match(r"\W*([\w'-]+)", body)
    if cuts and opening and opening.group(1).lower() in lexicon().introductory_words:
        cuts = cuts[1:]  # "For every household, the council ...": the phrase belongs to the main clause
    for head_end, next_start in cuts:
        tail = body[next_start:]
        if (
            len(body[start:head_end].split()) >= MIN_CLAUSE_WORDS
            and len(tail.split()) >= MIN_CLAUSE_WORDS
            and not _attribution_only(_next_cut(tail))
        ):
            spans.append((seg.start + start, seg.start + head_end))
            start = next_start
    spans.append((seg.start + start, seg.end))
    return spans


def _next_cut(tail: str) -> str:
    m = _clause_cut().search(tail)
    return tail[: m.start()] if m else tail


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
