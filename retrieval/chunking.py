"""Cut an article into chunks of whole sentences, sized in tiktoken tokens.

Chunks keep character offsets into the article, so a hit can be traced back to the exact
stored text. A sentence longer than the budget is cut at clause or word boundaries.
"""

from __future__ import annotations

import re

import tiktoken

from retrieval.models import Chunk
from retrieval.sentences import split_sentences
from retrieval.tokens import count_tokens

DEFAULT_CHUNK_TOKENS = 120


def chunk_text(
    article_id: str, text: str, encoding: tiktoken.Encoding, max_tokens: int = DEFAULT_CHUNK_TOKENS
) -> list[Chunk]:
    """Pack consecutive sentences into chunks of at most ``max_tokens`` tokens."""
    pieces: list[tuple[int, int, int]] = []  # start, end, tokens
    for seg in split_sentences(text):
        n = count_tokens(seg.text, encoding)
        if n <= max_tokens:
            pieces.append((seg.start, seg.end, n))
        else:
            pieces.extend(_split_long(text, seg.start, seg.end, encoding, max_tokens))
    chunks: list[Chunk] = []
    cur_start = cur_end = -1
    for start, end, _ in pieces:
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


def _split_long(
    text: str, start: int, end: int, encoding: tiktoken.Encoding, max_tokens: int
) -> list[tuple[int, int, int]]:
    """Cut one over-long sentence at commas/semicolons, else at spaces."""
    out: list[tuple[int, int, int]] = []
    s = start
    while s < end:
        e = _fit(text, s, end, encoding, max_tokens)
        piece_end = e
        while piece_end > s + 1 and text[piece_end - 1].isspace():
            piece_end -= 1
        out.append((s, piece_end, count_tokens(text[s:piece_end], encoding)))
        s = e
        while s < end and text[s].isspace():
            s += 1
    return out


def _fit(text: str, s: int, end: int, encoding: tiktoken.Encoding, max_tokens: int) -> int:
    """The furthest clause (or word) boundary after ``s`` that keeps within the budget."""
    if count_tokens(text[s:end], encoding) <= max_tokens:
        return end
    tokens = encoding.encode_ordinary(text[s:end])
    approx = s + len(encoding.decode(tokens[:max_tokens]))
    window = text[s:approx]
    for pattern in (r"[;:,]\s", r"\s"):
        cut = [m.end() for m in re.finditer(pattern, window)]
        if cut and cut[-1] > len(window) // 3:
            return s + cut[-1]
    return max(approx, s + 1)
