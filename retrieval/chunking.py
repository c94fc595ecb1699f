"""Cut an article into chunks of whole sentences, sized in tiktoken tokens.

Chunks keep character offsets into the article, so a hit can be traced back to the exact
stored text. A sentence longer than the budget is cut at clause or word boundaries, and
text with neither (a script written without spaces, a run of symbols) is cut hard at the
budget. Only windows a little larger than one chunk are ever tokenised, so the work grows
in step with the text's length, whatever its punctuation.
"""

from __future__ import annotations

import re

import tiktoken

from retrieval.models import Chunk
from retrieval.sentences import split_sentences
from retrieval.tokens import count_tokens

DEFAULT_CHUNK_TOKENS = 120
#: Characters per token are at most about this many in real text (long words, numbers, runs
#: of spaces); a sentence longer than ``budget * CHARS_PER_TOKEN`` characters is never counted whole.
CHARS_PER_TOKEN = 8
#: Where an over-long sentence is cut, in order of preference: after a clause mark, then a space.
_CUTS = (re.compile(r"[;:,]\s|[\uff0c\uff1b\uff1a\u3001]"), re.compile(r"\s"))


def chunk_text(
    article_id: str, text: str, encoding: tiktoken.Encoding, max_tokens: int = DEFAULT_CHUNK_TOKENS
) -> list[Chunk]:
    """Pack consecutive sentences into chunks of at most ``max_tokens`` tokens."""
    pieces: list[tuple[int, int]] = []  # start, end
    for seg in split_sentences(text):
        if len(seg.text) <= max_tokens * CHARS_PER_TOKEN and count_tokens(seg.text, encoding) <= max_tokens:
            pieces.append((seg.start, seg.end))
        else:
            pieces.extend(_split_long(text, seg.start, seg.end, encoding, max_tokens))
    chunks: list[Chunk] = []
    cur_start = cur_end = -1
    for start, end in pieces:
        if cur_start >= 0 and count_tokens(text[cur_start:end], encoding) > max_tokens:
            chunks.append(_make(article_id, len(chunks), text, cur_start, cur_end, encoding))
            cur_start = -1
        if cur_start < 0:
            cur_start = start
        cur_end = end
    if cur_start >= 0:
        chunks.append(_make(article_id, len(chunks), text, cur_start, cur_end, encoding))
    return chunks


def _make(article_id: str, index: int, text: str, start: int, end: int, encoding: tiktoken.Encoding) -> Chunk:
    return Chunk(article_id, index, start, end, text[start:end], count_tokens(text[start:end], encoding))


def _split_long(text: str, start: int, end: int, encoding: tiktoken.Encoding, max_tokens: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence at commas/semicolons, else at spaces, else hard."""
    out: list[tuple[int, int]] = []
    s = start
    while s < end:
        e = _fit(text, s, end, encoding, max_tokens)
        piece_end = e
        while piece_end > s + 1 and text[piece_end - 1].isspace():
            piece_end -= 1
        out.append((s, piece_end))
        s = e
        while s < end and text[s].isspace():
            s += 1
    return out


def _fit(text: str, s: int, end: int, encoding: tiktoken.Encoding, max_tokens: int) -> int:
    """The furthest clause (or word) boundary after ``s`` that keeps within the budget; the
    budget's last character when there is none."""
    limit = _budget_end(text, s, end, encoding, max_tokens)
    if limit >= end:
        return end
    window = text[s:limit]
    for pattern in _CUTS:
        cut = [m.end() for m in pattern.finditer(window)]
        if cut and cut[-1] > len(window) // 3:
            return s + cut[-1]
    return max(limit, s + 1)


def _budget_end(text: str, s: int, end: int, encoding: tiktoken.Encoding, max_tokens: int) -> int:
    """The offset where ``max_tokens`` tokens from ``s`` end (``end`` if the rest fits),
    tokenising only a window that grows until it holds more than the budget."""
    size = max_tokens * CHARS_PER_TOKEN
    while True:
        stop = min(end, s + size)
        tokens = encoding.encode_ordinary(text[s:stop])
        if len(tokens) > max_tokens:
            fits = len(encoding.decode_bytes(tokens[:max_tokens]))  # bytes; may end inside a character
            chars = len(text[s:stop].encode("utf-8")[:fits].decode("utf-8", errors="ignore"))
            return s + max(chars, 1)
        if stop >= end:
            return end
        size *= 2
