"""Find the stored originals of a pasted story.

1. The story is cut into sentences; each is embedded (dense) and turned into index terms.
2. Candidates: the articles whose mean vector is nearest to any story sentence, and the
   best BM25 matches of the whole story (both from our search index, which keeps a copy of
   the chunk vectors: Chroma's vector index is not read in a check, so a process never
   holds it in memory nor reloads it after another process's write).
3. Evidence per (story sentence, candidate): the best cosine similarity between the sentence
   and the candidate's chunks, and the IDF-weighted share of the sentence's terms that the
   candidate contains. Rare terms (names, numbers, places) dominate that share, which is
   what separates the true original from a look-alike (last quarter's release of the same
   company, another city's identical notice).
4. Candidates are scored by how well they explain the story's sentences; originals are
   picked greedily: the best one, then any other that explains sentences the chosen ones
   do not (a story built from several sources). Nothing is returned, with a message, when
   even the best candidate explains the story poorly.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from retrieval.errors import InputError
from retrieval.lexical import specific_terms, terms
from retrieval.lexindex import ChunkVectors, PersistentLexicalIndex
from retrieval.models import ArticleInfo, Candidate, ChunkHit, SearchResult, StoredArticle
from retrieval.sentences import split_sentences
from retrieval.store import SourceStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchConfig:
    """Knobs of the search; the thresholds were tuned with ``benchmarks/retrieval.py``."""

    dense_k: int = 24  # nearest articles (by their chunks' mean vector) per story sentence
    lexical_k: int = 20  # best BM25 articles for the whole story
    max_candidates: int = 30
    max_sentences: int = 64  # longer stories: sentences are merged into passages
    dense_weight: float = 0.5  # evidence = w * dense + (1 - w) * term coverage
    sentence_evidence: float = 0.55  # a sentence is "explained" by an article at this evidence
    fair_evidence: float = 0.6  # ... shared fairly closely at this one
    strong_evidence: float = 0.72  # ... and clearly comes from it at this one
    min_score: float = 0.35  # below this the best candidate is never an original
    sure_score: float = 0.75  # at or above this it is an original
    min_specifics: float = 0.65  # or: it holds this share of the story's numbers and names ...
    min_specifics_lead: float = 0.1  # ... this much more than the best other article
    min_lead: float = 0.15  # or: its score leads the best other article by this much
    extra_min_sentences: int = 2  # a further source newly explains this many sentences (or one fairly closely)
    max_sources: int = 5


@dataclass
class _Query:
    texts: list[str]
    terms: list[Counter[str]]
    weights: np.ndarray
    specifics: set[str]


class OriginalFinder:
    """Hybrid dense + lexical search for the originals of a story."""

    def __init__(self, store: SourceStore, config: SearchConfig | None = None) -> None:
        self.store = store
        self.config = config or SearchConfig()
        self._lock = threading.Lock()

    def lexical_index(self, *, wait: bool = False) -> PersistentLexicalIndex:
        """The store's persistent BM25 index, caught up with other processes' writes (``wait``:
        see :meth:`SourceStore.lexical_index`)."""
        with self._lock:
            return self.store.lexical_index(wait=wait)

    def find(self, story: str) -> SearchResult:
        query = self._query(story)
        index = self.lexical_index()
        if len(index) == 0:
            return SearchResult([], [], "the source store is empty: add primary sources with 'factdiff ingest'")
        vectors = self.store.embedder.embed(query.texts)
        nearest = self._nearest(vectors, index)
        lexical = dict(index.search(" ".join(query.texts), self.config.lexical_k))
        ids = self._candidate_ids(nearest, lexical)
        stored = self.store.get_many(ids)  # one read: each candidate's metadata and text
        infos = {aid: a.info for aid, a in stored.items()}
        ids = [aid for aid in ids if aid in infos]  # committed articles only
        if not ids:
            return SearchResult([], [], "no stored article shares anything with this story")
        dense, hits = self._dense_matrix(ids, vectors, infos, index)
        coverage, specifics = self._coverage_matrix(ids, query, index, stored)
        evidence = self.config.dense_weight * dense + (1 - self.config.dense_weight) * coverage
        return self._select(ids, infos, query, evidence, dense, coverage, specifics, lexical, hits)

    # ---- the query -------------------------------------------------------------------------

    def _query(self, story: str) -> _Query:
        texts = [s.text for s in split_sentences(story) if s.kind != "dateline" and len(s.text.split()) >= 3]
        if not texts:
            texts = [story.strip()] if story.strip() else []
        if not texts:
            raise InputError("the story is empty")
        limit = self.config.max_sentences
        if len(texts) > limit:  # merge neighbours so every part of a long story is queried
            size = -(-len(texts) // limit)
            texts = [" ".join(texts[i : i + size]) for i in range(0, len(texts), size)]
        bags = [Counter(terms(t)) for t in texts]
        return _Query(texts, bags, np.ones(len(texts), dtype=np.float32), specific_terms(" ".join(texts)))

    def _candidate_ids(self, nearest: dict[str, float], lexical: dict[str, float]) -> list[str]:
        dense_top = sorted(nearest, key=nearest.__getitem__, reverse=True)
        ids: list[str] = []
        for aid in (
            [x for pair in zip(dense_top, list(lexical), strict=False) for x in pair] + dense_top + list(lexical)
        ):
            if aid not in ids:
                ids.append(aid)
            if len(ids) >= self.config.max_candidates:
                break
        return ids

    # ---- evidence ----------------------------------------------------------------------------

    def _dense_matrix(
        self, ids: list[str], vectors: np.ndarray, infos: dict[str, ArticleInfo], index: PersistentLexicalIndex
    ) -> tuple[np.ndarray, dict[str, list[ChunkHit]]]:
        """Best cosine similarity of each sentence (rows) to each candidate's chunks (columns),
        and each candidate's best-matching chunks. The chunk vectors come from the search
        index; an article whose stored version it does not hold yet (a write that another
        machine's index has not taken in) is read from the store."""
        found = self._chunk_vectors(ids, infos, index)
        out = np.zeros((len(vectors), len(ids)), dtype=np.float32)
        hits: dict[str, list[ChunkHit]] = {}
        for j, aid in enumerate(ids):
            cv = found.get(aid)
            if cv is None or not len(cv.vectors):
                continue  # not committed (yet)
            sims = vectors @ cv.vectors.T
            out[:, j] = sims.max(axis=1)
            best = sims.max(axis=0)
            hits[aid] = [
                ChunkHit(aid, int(cv.spans[k, 0]), int(cv.spans[k, 1]), int(cv.spans[k, 2]), float(best[k]))
                for k in np.argsort(-best)[:5]
            ]
        return np.clip(out, 0.0, 1.0), hits

    def _nearest(self, vectors: np.ndarray, index: PersistentLexicalIndex) -> dict[str, float]:
        """Dense candidates: the articles nearest to the story's sentences (by their mean vector)."""
        return index.nearest(vectors, self.config.dense_k)

    def _chunk_vectors(
        self, ids: list[str], infos: dict[str, ArticleInfo], index: PersistentLexicalIndex
    ) -> dict[str, ChunkVectors]:
        """The current version's chunk vectors of each candidate."""
        current = {aid: info.version for aid, info in infos.items()}
        stored = index.chunk_vectors(ids)
        found = {aid: cv for aid, (version, cv) in stored.items() if current.get(aid) == version}
        lagging = {aid: current[aid] for aid in ids if aid not in found and aid in current}
        if lagging and self.store.lock is not None:
            # another process's write in flight (an update): it applies itself to the shared
            # index when it is done (in a store from before, reading Chroma's chunk records
            # would load their whole vector index)
            again = self.lexical_index(wait=True).chunk_vectors(list(lagging))
            found.update({aid: cv for aid, (version, cv) in again.items() if lagging.get(aid) == version})
            lagging = {aid: v for aid, v in lagging.items() if aid not in found}
        if lagging:
            log.debug("chunk vectors of %d candidate(s) read from the store", len(lagging))
            found.update(self.store.stored_chunk_vectors(lagging))
        return found

    def _coverage_matrix(
        self, ids: list[str], query: _Query, index: PersistentLexicalIndex, stored: Mapping[str, StoredArticle]
    ) -> tuple[np.ndarray, np.ndarray]:
        """IDF-weighted share of each sentence's terms found in each candidate (rows x columns),
        and the share of the story's numbers and names found in each candidate."""
        vocab = [set(terms(stored[aid].text)) if aid in stored else set() for aid in ids]
        cap = index.median_idf  # a word no stored article uses says little about which one is the source
        out = np.zeros((len(query.texts), len(ids)), dtype=np.float32)
        for i, bag in enumerate(query.terms):
            weights = {t: index.idf(t) if index.known(t) else cap for t in bag}
            total = sum(weights.values()) or 1.0
            for j, v in enumerate(vocab):
                out[i, j] = sum(w for t, w in weights.items() if t in v) / total
        spec_weights = {t: index.idf(t) if index.known(t) else cap for t in query.specifics}
        spec_total = sum(spec_weights.values())
        specifics = np.array(
            [sum(w for t, w in spec_weights.items() if t in v) / spec_total if spec_total else 0.0 for v in vocab],
            dtype=np.float32,
        )
        return out, specifics

    # ---- choosing the originals --------------------------------------------------------------

    def _select(
        self,
        ids: list[str],
        infos: dict[str, ArticleInfo],
        query: _Query,
        evidence: np.ndarray,
        dense: np.ndarray,
        coverage: np.ndarray,
        specifics: np.ndarray,
        lexical: dict[str, float],
        hits: dict[str, list[ChunkHit]],
    ) -> SearchResult:
        cfg = self.config
        w = query.weights / query.weights.sum()
        scores = w @ evidence
        explained = evidence >= cfg.sentence_evidence
        top_lex = max(lexical.values(), default=1.0) or 1.0
        candidates = [
            Candidate(
                info=infos[aid],
                score=round(float(scores[j]), 4),
                dense=round(float(w @ dense[:, j]), 4),
                lexical=round(lexical.get(aid, 0.0) / top_lex, 4),
                coverage=round(float(w @ coverage[:, j]), 4),
                specifics=round(float(specifics[j]), 4),
                sentences=int(explained[:, j].sum()),
                hits=tuple(hits.get(aid, ())),
            )
            for j, aid in enumerate(ids)
        ]
        order = sorted(range(len(candidates)), key=lambda j: -candidates[j].score)
        considered = [candidates[j] for j in order]
        if not considered:
            return SearchResult([], [], "no stored article matches this story")
        chosen = self._choose(order, evidence, explained, candidates)
        best = considered[0]
        others = [candidates[j] for j in order if j not in chosen]
        runner_up = others[0] if others else None
        solid = self._solid(chosen, evidence, explained)
        joint = evidence[:, solid].max(axis=1)  # each sentence explained by its best solid source
        strongest = float(joint.max())
        combined = replace(best, score=round(float(w @ joint), 4))
        verdict = self._verdict(combined, runner_up, strongest)
        if verdict:
            return SearchResult(
                [],
                considered,
                f"no original found: the closest stored article ({best.info.title!r}, "
                f"score {best.score:.2f}) {verdict}",
            )
        matches = sorted((candidates[j] for j in chosen), key=lambda c: -c.score)
        return SearchResult(matches, considered, f"{len(matches)} original(s) found")

    def _solid(self, chosen: list[int], evidence: np.ndarray, explained: np.ndarray) -> list[int]:
        """The first original, and further ones that each explain at least two story sentences
        the others do not, one of them closely: together they vouch for the whole story."""
        solid = [chosen[0]]
        covered = explained[:, chosen[0]].copy()
        for j in chosen[1:]:
            new = explained[:, j] & ~covered
            if int(new.sum()) >= 2 and bool((new & (evidence[:, j] >= self.config.strong_evidence)).any()):
                solid.append(j)
                covered |= explained[:, j]
        return solid

    def _verdict(self, best: Candidate, runner_up: Candidate | None, strongest: float) -> str:
        """Why the best candidate is not an original ('' when it is)."""
        cfg = self.config
        lead = best.score - (runner_up.score if runner_up else 0.0)
        spec_lead = best.specifics - (runner_up.specifics if runner_up else 0.0)
        if best.score >= cfg.sure_score:
            return ""
        if best.score < cfg.min_score:
            return "explains too little of the story"
        if (
            best.specifics >= cfg.min_specifics
            and spec_lead >= cfg.min_specifics_lead
            and strongest >= cfg.fair_evidence
        ):
            return ""  # it holds the story's numbers and names, clearly more than any other article
        if lead >= cfg.min_lead and strongest >= cfg.strong_evidence:
            return ""  # it is clearly closer than any other article and shares a sentence closely
        if strongest < cfg.fair_evidence:
            return "shares no sentence closely with it"
        return f"is hardly closer to it than other stored articles (lead {lead:.2f})"

    def _choose(
        self, order: list[int], evidence: np.ndarray, explained: np.ndarray, candidates: list[Candidate]
    ) -> list[int]:
        """The best candidate, then each one that explains story sentences the chosen do not."""
        cfg = self.config
        chosen = [order[0]]
        covered = explained[:, order[0]].copy()
        for j in order[1:]:
            if len(chosen) >= cfg.max_sources:
                break
            new = explained[:, j] & ~covered
            strong = new & (evidence[:, j] >= cfg.fair_evidence)
            if candidates[j].score >= cfg.min_score * 0.5 and (
                int(new.sum()) >= min(cfg.extra_min_sentences, len(new)) or strong.any()
            ):
                chosen.append(j)
                covered |= explained[:, j]
        return chosen
