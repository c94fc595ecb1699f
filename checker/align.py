"""Align story claims with the sentences of the matched originals.

Similarity of a claim and a source sentence mixes meaning (cosine of the store's sentence
embeddings) and shared content (IDF-weighted share of the claim's terms found in the source
sentence). Both directions are kept: "claim is covered by the sentence" decides support,
"sentence is covered by the story" decides omissions.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from checker.changes import quotations
from checker.claims import Claim
from checker.models import SourceSentence
from retrieval.embeddings import Embedder
from retrieval.lexical import STOPWORDS, terms
from retrieval.models import StoredArticle
from retrieval.sentences import split_sentences

MIN_SHARED = 0.15  # share of content a claim and a source sentence must have in common to be compared


def source_sentences(articles: Sequence[StoredArticle]) -> list[SourceSentence]:
    """Every sentence of every original, with offsets into the stored text and our own ids."""
    out: list[SourceSentence] = []
    for a, art in enumerate(articles, start=1):
        for n, seg in enumerate(split_sentences(art.text), start=1):
            out.append(SourceSentence(f"A{a}.{n}", art.info, seg.start, seg.end, seg.text, seg.kind))
    return out


@dataclass
class Alignment:
    claims: list[Claim]
    sources: list[SourceSentence]
    dense: np.ndarray  # claims x sources cosine
    claim_cover: np.ndarray  # share of each claim's weighted terms found in each source sentence
    source_cover: np.ndarray  # share of each source sentence's weighted terms found in each claim
    anchors: np.ndarray  # 1 where a claim and a source sentence share a quote or a content phrase
    claim_terms: list[set[str]]
    source_terms: list[set[str]]
    idf: Callable[[str], float]

    @property
    def similarity(self) -> np.ndarray:
        return 0.6 * self.dense + 0.4 * self.claim_cover + 0.15 * self.anchors

    def best_sources(self, i: int, k: int = 3) -> list[int]:
        order = np.argsort(-self.similarity[i])
        return [int(j) for j in order[:k]]

    def cover_by(self, i: int, js: Sequence[int]) -> float:
        """Weighted share of claim i's terms found in the union of source sentences js."""
        pool: set[str] = set().union(*(self.source_terms[j] for j in js)) if js else set()
        return weighted_share(self.claim_terms[i], pool, self.idf)

    @cached_property
    def story_terms(self) -> set[str]:
        return set().union(*self.claim_terms)

    def story_cover_of_source(self, j: int) -> float:
        """Weighted share of source sentence j's terms found anywhere in the story."""
        return weighted_share(self.source_terms[j], self.story_terms, self.idf)


def weighted_share(part: AbstractSet[str], whole: AbstractSet[str], idf: Callable[[str], float]) -> float:
    if not part:
        return 1.0
    total = sum(idf(t) for t in part)
    return sum(idf(t) for t in part if t in whole) / total if total else 1.0


def align(
    claims: list[Claim],
    sources: list[SourceSentence],
    embedder: Embedder,
    idf: Callable[[str], float],
    cache: SentenceVectors | None = None,
) -> Alignment:
    claim_terms = [set(terms(c.text)) for c in claims]
    source_terms = [set(terms(s.text)) for s in sources]
    weights: dict[str, float] = {t: idf(t) for t in set().union(*claim_terms, *source_terms)}
    weight = weights.__getitem__
    claim_cover = np.array(
        [[weighted_share(ct, st, weight) for st in source_terms] for ct in claim_terms], dtype=np.float32
    ).reshape(len(claims), len(sources))
    source_cover = np.array(
        [[weighted_share(st, ct, weight) for st in source_terms] for ct in claim_terms], dtype=np.float32
    ).reshape(len(claims), len(sources))
    dense = np.zeros((len(claims), len(sources)), dtype=np.float32)
    if claims and sources:
        # A source sentence that shares (almost) no content with any claim cannot be aligned
        # with one, and is left out of the embedding work: its similarity stays 0.
        related = [
            j for j in range(len(sources)) if max(claim_cover[:, j].max(), source_cover[:, j].max()) >= MIN_SHARED
        ]
        claim_vecs = embedder.embed([c.text for c in claims])
        if related:
            source_vecs = (cache or SentenceVectors(embedder, 0)).embed([sources[j].text for j in related])
            dense[:, related] = np.clip(claim_vecs @ source_vecs.T, 0.0, 1.0)
    source_phrases = [_phrases(s.text) for s in sources]
    norm_sources = [_normal_quotes(s.text) for s in sources]
    anchors = np.zeros((len(claims), len(sources)), dtype=np.float32)
    for i, c in enumerate(claims):
        phrases = _phrases(c.text)
        quotes = [q for q in (_normal_quotes(q).strip(" ,.") for q in quotations(c.text)) if len(q.split()) >= 2]
        for j in range(len(sources)):
            if phrases & source_phrases[j] or any(q in norm_sources[j] for q in quotes):
                anchors[i, j] = 1.0
    return Alignment(claims, sources, dense, claim_cover, source_cover, anchors, claim_terms, source_terms, weight)


class SentenceVectors:
    """Embeddings of source sentences, remembered across checks (the same originals recur)."""

    def __init__(self, embedder: Embedder, capacity: int = 20_000) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        fresh = self.embedder.embed(missing) if missing else None
        with self._lock:
            known = dict(self._vectors)
            if fresh is not None:
                for t, v in zip(missing, fresh, strict=True):
                    known[t] = v
                    self._vectors[t] = v
            out = np.vstack([known[t] for t in texts])
            for t in texts:
                if t in self._vectors:
                    self._vectors.move_to_end(t)
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)
        return out


def _normal_quotes(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u201c", '"').replace("\u201d", '"')).lower()


def _phrases(text: str) -> set[tuple[str, ...]]:
    ws = [w.lower() for w in re.findall(r"[\w'\u2019]+", text)]
    return {tuple(ws[k : k + 3]) for k in range(len(ws) - 2) if sum(w not in STOPWORDS for w in ws[k : k + 3]) >= 2}
