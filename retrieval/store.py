"""The primary-source store on chromadb.

Two collections per embedding space (vectors from different models never mix):

* ``<prefix>-articles-<space>``: one record per article; the document is the article's
  full original text (quoted verbatim later), metadata holds title, URL, date, source and
  the text's hash; the vector is the mean of its chunk vectors.
* ``<prefix>-chunks-<space>``: sentence-aligned chunks with offsets into the article.

Everything a check needs lives in Chroma, so a process with an empty data directory can
answer from a Chroma server. Writes are ordered so that nothing is half-stored: new
chunks first (ids carry the text hash), then the article record (the commit point), then
the old version's chunks are deleted. Readers ignore chunks whose hash is not the
article's current one.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import courlan
import numpy as np
import tiktoken

from retrieval.chunking import DEFAULT_CHUNK_TOKENS, chunk_text
from retrieval.embeddings import Embedder
from retrieval.errors import NotFoundError, StoreError
from retrieval.models import (
    ArticleDraft,
    ArticleInfo,
    Chunk,
    ChunkHit,
    IngestOutcome,
    MetaValue,
    StoredArticle,
)

log = logging.getLogger(__name__)

_CORE_KEYS = ("title", "url", "published", "source", "author")
_EXTRA_PREFIX = "x_"
_SAFE_ID = re.compile(r"[^A-Za-z0-9._:-]+")


def normalised_text(text: str) -> str:
    """Whitespace- and case-folded text: the identity of an article without a URL."""
    return re.sub(r"\s+", " ", text).strip().lower()


def text_hash(text: str) -> str:
    return hashlib.sha256(normalised_text(text).encode("utf-8")).hexdigest()


def canonical_url(url: str) -> str:
    """One address per article (courlan): scheme and host lower-cased, default port, tracking
    parameters (utm_*, fbclid, ...) and fragment dropped, query sorted, no trailing slash."""
    url = url.strip().split("#", 1)[0]
    if not re.match(r"(?i)^https?://[^/?]", url):
        return url
    try:
        url = courlan.normalize_url(url)
    except ValueError:  # not parseable: keep it as given
        return url
    m = re.match(r"^(https?://[^/?]+)(.*)$", url)
    if not m:
        return url
    rest = m.group(2)
    if rest.endswith("/") and "?" not in rest:
        rest = rest.rstrip("/")
    return f"{m.group(1)}{rest}"


@dataclass(frozen=True)
class StoreConfig:
    prefix: str = "factdiff"
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS


@dataclass
class _Prepared:
    draft: ArticleDraft
    article_id: str
    status: str
    hash: str
    chunks: list[Chunk]


class SourceStore:
    """Primary sources in chromadb: add, update, list, get, remove and search chunks."""

    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        encoding: tiktoken.Encoding,
        config: StoreConfig | None = None,
    ) -> None:
        self.client = client
        self.embedder = embedder
        self.encoding = encoding
        self.config = config or StoreConfig()
        space = _SAFE_ID.sub("-", embedder.name).strip("-.")
        try:
            self.articles = client.get_or_create_collection(
                f"{self.config.prefix}-articles-{space}",
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
            self.chunks = client.get_or_create_collection(
                f"{self.config.prefix}-chunks-{space}",
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:  # chromadb raises many kinds; one clear message at our edge
            raise StoreError(f"cannot open the source store: {exc}") from exc
        try:
            self._max_batch = int(client.get_max_batch_size())
        except Exception:  # older servers do not say
            self._max_batch = 1000

    # ---- reading -------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._call(self.articles.count))

    def revision(self) -> str:
        """Changes whenever an article is added, updated or removed."""
        meta = self._call(lambda: self.client.get_collection(self.articles.name).metadata) or {}
        return f"{meta.get('revision', '0')}:{self.count()}"

    def get(self, article_id: str) -> StoredArticle:
        res = self._call(lambda: self.articles.get(ids=[article_id], include=["documents", "metadatas"]))
        if not res["ids"]:
            raise NotFoundError(f"no stored article with id {article_id!r} (see 'factdiff sources list')")
        return StoredArticle(_info(res["ids"][0], res["metadatas"][0]), res["documents"][0])

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredArticle]:
        if not ids:
            return {}
        res = self._call(lambda: self.articles.get(ids=list(ids), include=["documents", "metadatas"]))
        return {
            i: StoredArticle(_info(i, m), d)
            for i, m, d in zip(res["ids"], res["metadatas"], res["documents"], strict=True)
        }

    def infos(self, ids: Sequence[str]) -> dict[str, ArticleInfo]:
        if not ids:
            return {}
        res = self._call(lambda: self.articles.get(ids=list(ids), include=["metadatas"]))
        return {i: _info(i, m) for i, m in zip(res["ids"], res["metadatas"], strict=True)}

    def list_articles(self) -> list[ArticleInfo]:
        """Every stored article's metadata, newest ingested first."""
        out: list[ArticleInfo] = []
        for ids, metas, _ in self._pages(include=["metadatas"]):
            out.extend(_info(i, m) for i, m in zip(ids, metas, strict=True))
        return sorted(out, key=lambda a: a.ingested_at or "", reverse=True)

    def iter_texts(self, page: int = 500) -> Iterator[tuple[str, str]]:
        """(id, full text) of every article, page by page."""
        for ids, _, docs in self._pages(include=["documents"], page=page):
            yield from zip(ids, docs, strict=True)

    def _pages(self, include: list[str], page: int = 1000) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
        offset = 0
        while True:
            res = self._call(lambda: self.articles.get(include=include, limit=page, offset=offset))  # noqa: B023
            if not res["ids"]:
                return
            yield (
                res["ids"],
                res.get("metadatas") or [None] * len(res["ids"]),
                res.get("documents") or [None] * len(res["ids"]),
            )
            offset += len(res["ids"])

    def query_chunks(self, vectors: np.ndarray, n_results: int) -> list[list[ChunkHit]]:
        """Nearest chunks to each vector (current versions only), as cosine similarities."""
        if len(vectors) == 0 or self._call(self.chunks.count) == 0:
            return [[] for _ in range(len(vectors))]
        res = self._call(
            lambda: self.chunks.query(
                query_embeddings=vectors.tolist(), n_results=n_results, include=["metadatas", "distances"]
            )
        )
        out: list[list[ChunkHit]] = []
        for metas, dists in zip(res["metadatas"], res["distances"], strict=True):
            out.append(
                [
                    ChunkHit(str(m["article_id"]), int(m["index"]), int(m["start"]), int(m["end"]), 1.0 - float(d))
                    for m, d in zip(metas, dists, strict=True)
                ]
            )
        return out

    # ---- writing -------------------------------------------------------------------------

    def add(self, draft: ArticleDraft) -> IngestOutcome:
        return self.add_many([draft])[0]

    def add_many(self, drafts: Sequence[ArticleDraft]) -> list[IngestOutcome]:
        """Store or update articles; each one either fully lands or leaves no trace.

        Returns one outcome per draft, in order. Lookups and writes are batched.
        """
        outcomes: list[IngestOutcome | None] = [None] * len(drafts)
        cleaned: list[tuple[int, ArticleDraft, str]] = []
        for i, draft in enumerate(drafts):
            text = draft.text.strip()
            if not text:
                outcomes[i] = IngestOutcome(
                    draft.origin, "failed", error=f"{draft.origin or draft.title}: the article has no text"
                )
                continue
            draft = replace(draft, text=text, title=(draft.title or "").strip() or _first_line(text))
            cleaned.append((i, draft, text_hash(text)))
        try:
            known = self._lookup(cleaned)
        except StoreError as exc:
            return [
                o or IngestOutcome(d.origin, "failed", error=str(exc)) for o, d in zip(outcomes, drafts, strict=True)
            ]
        to_write: dict[str, tuple[int, _Prepared]] = {}
        first_of_text: dict[str, str] = {}
        for i, draft, h in cleaned:
            article_id, existing, duplicate = _identify(draft, h, known)
            first = first_of_text.setdefault(h, article_id)
            if first != article_id and draft.id:
                duplicate, article_id = True, first  # the same text twice in this batch
            if duplicate or (existing is not None and existing.get("text_hash") == h and _same_meta(existing, draft)):
                n_chunks = int((existing or {}).get("chunks", 0))
                outcomes[i] = IngestOutcome(
                    draft.origin, "duplicate" if duplicate else "unchanged", article_id, draft.title, n_chunks
                )
                continue
            if article_id in to_write:  # the same article twice in this batch: the last one wins
                j, earlier = to_write[article_id]
                outcomes[j] = IngestOutcome(earlier.draft.origin, "unchanged", article_id, earlier.draft.title)
            status = "updated" if existing is not None else "added"
            chunks = chunk_text(article_id, draft.text, self.encoding, self.config.chunk_tokens)
            to_write[article_id] = (i, _Prepared(draft, article_id, status, h, chunks))
        if to_write:
            for i, outcome in self._write(list(to_write.values())):
                outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def remove(self, article_id: str) -> ArticleInfo:
        info = self.get(article_id).info
        self._call(lambda: self.chunks.delete(where={"article_id": article_id}))
        self._call(lambda: self.articles.delete(ids=[article_id]))
        self._bump()
        return info

    def _lookup(self, cleaned: list[tuple[int, ArticleDraft, str]]) -> dict[str, dict[str, tuple[str, dict[str, Any]]]]:
        """Existing records that share an id, a URL or a text hash with the drafts: 3 queries."""
        ids = sorted({_safe_id(d.id) for _, d, _ in cleaned if d.id} - {""})
        urls = sorted({canonical_url(d.url) for _, d, _ in cleaned if d.url})
        hashes = sorted({h for _, _, h in cleaned})
        known: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {"id": {}, "url": {}, "text_hash": {}}
        if ids:
            res = self._call(lambda: self.articles.get(ids=ids, include=["metadatas"]))
            known["id"] = {i: (i, m) for i, m in zip(res["ids"], res["metadatas"], strict=True)}
        for key, values in (("url", urls), ("text_hash", hashes)):
            if values:
                res = self._get_where({key: {"$in": values}})
                known[key] = {str(m[key]): (i, m) for i, m in zip(res["ids"], res["metadatas"], strict=True)}
        return known

    def _get_where(self, where: dict[str, Any]) -> Any:
        return self._call(lambda: self.articles.get(where=where, include=["metadatas"]))

    def _write(self, batch: list[tuple[int, _Prepared]]) -> Iterator[tuple[int, IngestOutcome]]:
        texts = [c.text for _, p in batch for c in p.chunks]
        try:
            vectors = self.embedder.embed(texts)
        except Exception as exc:  # a model or API failure fails the batch, with its reason
            for i, p in batch:
                yield (
                    i,
                    IngestOutcome(
                        p.draft.origin, "failed", p.article_id, p.draft.title, error=f"embedding failed: {exc}"
                    ),
                )
            return
        now = datetime.now(UTC).isoformat(timespec="seconds")
        parts: list[tuple[int, _Prepared, np.ndarray]] = []
        pos = 0
        for i, p in batch:
            parts.append((i, p, vectors[pos : pos + len(p.chunks)]))
            pos += len(p.chunks)
        try:
            self._write_group(parts, now)
            results = [
                (i, IngestOutcome(p.draft.origin, p.status, p.article_id, p.draft.title, len(p.chunks)))
                for i, p, _ in parts
            ]
        except StoreError:
            results = []  # isolate the article the store refuses: write them one by one
            for i, p, vecs in parts:
                try:
                    self._write_group([(i, p, vecs)], now)
                    results.append(
                        (i, IngestOutcome(p.draft.origin, p.status, p.article_id, p.draft.title, len(p.chunks)))
                    )
                except StoreError as exc:
                    results.append(
                        (i, IngestOutcome(p.draft.origin, "failed", p.article_id, p.draft.title, error=str(exc)))
                    )
        if any(o.status != "failed" for _, o in results):
            self._bump()
        yield from results

    def _write_group(self, parts: list[tuple[int, _Prepared, np.ndarray]], now: str) -> None:
        """New chunks, then the article records (the commit point), then old chunks go."""
        ids: list[str] = []
        metas: list[dict[str, MetaValue]] = []
        docs: list[str] = []
        vecs: list[np.ndarray] = []
        for _, p, v in parts:
            short = p.hash[:12]
            for c in p.chunks:
                ids.append(f"{p.article_id}:{short}:{c.index}")
                metas.append(
                    {
                        "article_id": p.article_id,
                        "text_hash": short,
                        "index": c.index,
                        "start": c.start,
                        "end": c.end,
                        "tokens": c.tokens,
                    }
                )
                docs.append(c.text)
            vecs.append(v)
        all_vecs = np.concatenate(vecs) if vecs else np.zeros((0, 1), dtype=np.float32)
        try:
            for b in range(0, len(ids), self._max_batch):
                self._call(
                    lambda b=b: self.chunks.upsert(  # type: ignore[misc]
                        ids=ids[b : b + self._max_batch],
                        embeddings=all_vecs[b : b + self._max_batch].tolist(),
                        documents=docs[b : b + self._max_batch],
                        metadatas=metas[b : b + self._max_batch],
                    )
                )
            means = []
            for _, _, v in parts:
                m = v.mean(axis=0) if len(v) else np.zeros(all_vecs.shape[1], dtype=np.float32)
                means.append((m / (np.linalg.norm(m) or 1.0)).tolist())
            self._call(
                lambda: self.articles.upsert(
                    ids=[p.article_id for _, p, _ in parts],
                    embeddings=means,
                    documents=[p.draft.text for _, p, _ in parts],
                    metadatas=[_metadata(p.draft, p.hash, len(p.chunks), now) for _, p, _ in parts],
                )
            )
        except StoreError:
            self._try(lambda: self.chunks.delete(ids=ids))  # leave no half-stored version
            raise
        for _, p, _ in parts:
            if p.status == "updated":
                self._try(
                    lambda p=p: self.chunks.delete(  # type: ignore[misc]
                        where={"$and": [{"article_id": p.article_id}, {"text_hash": {"$ne": p.hash[:12]}}]}
                    )
                )

    def _bump(self) -> None:
        self._try(lambda: self.articles.modify(metadata={"revision": uuid.uuid4().hex[:12]}))

    # ---- helpers -------------------------------------------------------------------------

    @staticmethod
    def _call(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except StoreError:
            raise
        except Exception as exc:  # connection refused, server errors, validation errors
            raise StoreError(f"source store error: {exc}") from exc

    @staticmethod
    def _try(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:  # best-effort clean-up; the commit point already decided
            log.warning("clean-up in the source store failed: %s", exc)


def _safe_id(raw: str | None) -> str:
    return _SAFE_ID.sub("-", (raw or "").strip())[:128].strip("-")


def _identify(
    draft: ArticleDraft, h: str, known: dict[str, dict[str, tuple[str, dict[str, Any]]]]
) -> tuple[str, dict[str, Any] | None, bool]:
    """The id to store under, the existing record (an update), and whether the draft only
    repeats another stored article's text under a different id (a duplicate)."""
    given = _safe_id(draft.id)
    if given and given in known["id"]:
        return given, known["id"][given][1], False
    if draft.url and canonical_url(draft.url) in known["url"]:
        found_id, meta = known["url"][canonical_url(draft.url)]
        return found_id, meta, False
    if h in known["text_hash"]:
        found_id, meta = known["text_hash"][h]
        return found_id, meta, bool(given)
    if given:
        return given, None, False
    basis = canonical_url(draft.url) if draft.url else h
    return "a-" + hashlib.sha256(basis.encode()).hexdigest()[:16], None, False


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0]
    return line if len(line) <= 120 else line[:117].rstrip() + "..."


def _metadata(draft: ArticleDraft, h: str, chunks: int, now: str) -> dict[str, MetaValue]:
    meta: dict[str, MetaValue] = {"text_hash": h, "chars": len(draft.text), "chunks": chunks, "ingested_at": now}
    for key in _CORE_KEYS:
        value = getattr(draft, key)
        if value:
            meta[key] = canonical_url(value) if key == "url" else str(value)
    for key, value in draft.extra.items():
        if isinstance(value, (str, int, float, bool)) and value != "":
            meta[_EXTRA_PREFIX + _SAFE_ID.sub("_", key)[:60]] = value
    return meta


def _same_meta(existing: dict[str, Any], draft: ArticleDraft) -> bool:
    for key in _CORE_KEYS:
        value = getattr(draft, key)
        if key == "url" and value:
            value = canonical_url(value)
        if (value or None) != existing.get(key):
            return False
    return True


def _info(article_id: str, meta: dict[str, Any] | None) -> ArticleInfo:
    m = meta or {}
    return ArticleInfo(
        id=article_id,
        title=str(m.get("title", "")),
        url=m.get("url"),
        published=m.get("published"),
        source=m.get("source"),
        author=m.get("author"),
        chars=int(m.get("chars", 0)),
        chunks=int(m.get("chunks", 0)),
        ingested_at=m.get("ingested_at"),
        version=str(m.get("text_hash", ""))[:12],
        extra={k[len(_EXTRA_PREFIX) :]: v for k, v in m.items() if k.startswith(_EXTRA_PREFIX)},
    )
