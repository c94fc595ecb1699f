"""The primary-source store on a real (in-memory) chromadb."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.chunking import chunk_text
from retrieval.embeddings import Embedder
from retrieval.errors import NotFoundError
from retrieval.models import ArticleDraft
from retrieval.store import SourceStore, StoreConfig, canonical_url, text_hash
from retrieval.tokens import get_encoding
from tests.articles import HARWICH_NOTICE, NORRLAND_Q2, NORRLAND_Q3


def test_stored_article_keeps_its_text_and_metadata_verbatim(store: SourceStore) -> None:
    outcome = store.add(NORRLAND_Q3)
    assert outcome.status == "added"
    stored = store.get(outcome.article_id or "")
    assert stored.text == NORRLAND_Q3.text
    assert stored.info.title == NORRLAND_Q3.title
    assert stored.info.url == NORRLAND_Q3.url
    assert stored.info.published == "2026-10-22"
    assert stored.info.source == NORRLAND_Q3.source
    assert stored.info.chars == len(NORRLAND_Q3.text)


def test_chunk_offsets_index_the_stored_text(store: SourceStore) -> None:
    aid = store.add(NORRLAND_Q3).article_id or ""
    res = store.chunks.get(where={"article_id": aid}, include=["metadatas"])
    text = store.get(aid).text
    expected = chunk_text(aid, text, store.encoding, store.config.chunk_tokens)
    assert len(res["ids"]) >= 2
    got = sorted((int(m["start"]), int(m["end"])) for m in res["metadatas"])
    assert got == [(c.start, c.end) for c in expected]


def test_chunks_keep_no_copy_of_the_text(store: SourceStore) -> None:
    aid = store.add(NORRLAND_Q3).article_id or ""
    res = store.chunks.get(where={"article_id": aid}, include=["documents"])
    assert res["ids"] and all(doc is None for doc in res["documents"])


def test_texts_stay_out_of_chromas_full_text_index(store: SourceStore) -> None:
    """Chroma indexes every document's trigrams, and factdiff never searches them: the text is
    kept in the record's metadata, where Chroma's text search does not look."""
    aid = store.add(NORRLAND_Q3).article_id or ""
    res = store.articles.get(ids=[aid], include=["documents", "metadatas"])
    assert res["documents"] == [None]
    assert store.get(aid).text == NORRLAND_Q3.text
    word = "quarter"
    assert word in NORRLAND_Q3.text
    found = store.articles.get(where_document={"$contains": word}, include=[])
    assert found["ids"] == []


def test_a_store_from_before_is_read_and_its_document_emptied_on_update(store: SourceStore) -> None:
    """An article written as a Chroma document (factdiff before this change) reads the same; an
    update leaves no stale copy in the full-text index."""
    aid = store.add(NORRLAND_Q3).article_id or ""
    meta = store.articles.get(ids=[aid], include=["metadatas"])["metadatas"][0]
    meta.pop("text")
    store.articles.upsert(ids=[aid], embeddings=[[1.0]], documents=[NORRLAND_Q3.text], metadatas=[meta])
    assert store.get(aid).text == NORRLAND_Q3.text
    assert store.get_many([aid])[aid].text == NORRLAND_Q3.text
    assert dict(store.iter_texts())[aid] == NORRLAND_Q3.text
    corrected = replace(NORRLAND_Q3, text=NORRLAND_Q3.text.replace("611 million", "612 million"))
    assert store.add(corrected).status == "updated"
    assert store.get(aid).text == corrected.text
    assert store.articles.get(where_document={"$contains": "611 million"}, include=[])["ids"] == []


def test_same_article_ingested_twice_is_unchanged_not_duplicated(store: SourceStore) -> None:
    first = store.add(NORRLAND_Q3)
    second = store.add(NORRLAND_Q3)
    assert second.status == "unchanged"
    assert second.article_id == first.article_id
    assert store.count() == 1


def test_same_url_with_new_text_updates_the_article(store: SourceStore) -> None:
    first = store.add(NORRLAND_Q3)
    corrected = replace(NORRLAND_Q3, text=NORRLAND_Q3.text.replace("611 million", "612 million"))
    second = store.add(corrected)
    assert second.status == "updated"
    assert second.article_id == first.article_id
    assert store.count() == 1
    assert "612 million" in store.get(first.article_id or "").text
    # only the new version's chunks remain
    metas = store.chunks.get(where={"article_id": first.article_id}, include=["metadatas"])["metadatas"]
    assert {m["text_hash"] for m in metas} == {text_hash(corrected.text)[:12]}


def test_url_variants_are_the_same_article(store: SourceStore) -> None:
    store.add(NORRLAND_Q3)
    variant = replace(NORRLAND_Q3, url="HTTPS://Example.org/norrland/press/q3-2026/#top", title="Q3 (corrected title)")
    assert store.add(variant).status == "updated"
    assert store.count() == 1
    assert canonical_url(variant.url or "") == NORRLAND_Q3.url


def test_same_text_without_url_is_recognised_by_normalised_text(store: SourceStore) -> None:
    bare = ArticleDraft(title="Release", text=NORRLAND_Q2.text)
    store.add(bare)
    respaced = ArticleDraft(title="Release", text="  " + NORRLAND_Q2.text.replace(". ", ".   ").upper())
    assert store.add(respaced).status in ("unchanged", "updated")
    assert store.count() == 1


def test_same_text_under_another_explicit_id_is_a_duplicate(store: SourceStore) -> None:
    a = store.add(replace(NORRLAND_Q2, id="wire-1", url=None))
    b = store.add(replace(NORRLAND_Q2, id="wire-2", url=None))
    assert b.status == "duplicate"
    assert b.article_id == a.article_id == "wire-1"
    assert store.count() == 1


def test_duplicates_inside_one_batch_are_stored_once(store: SourceStore) -> None:
    outcomes = store.add_many([replace(NORRLAND_Q2, id="x-1", url=None), replace(NORRLAND_Q2, id="x-2", url=None)])
    assert [o.status for o in outcomes] == ["added", "duplicate"]
    assert store.count() == 1


def test_empty_article_fails_and_the_rest_of_the_batch_is_stored(store: SourceStore) -> None:
    outcomes = store.add_many([ArticleDraft(title="Blank", text="   \n ", origin="blank.txt"), HARWICH_NOTICE])
    assert outcomes[0].status == "failed" and "no text" in (outcomes[0].error or "")
    assert outcomes[1].status == "added"
    assert store.count() == 1


def test_article_the_store_refuses_leaves_no_trace(store: SourceStore) -> None:
    store.add(HARWICH_NOTICE)  # fixes the collection's dimension
    broken = SourceStore(store.client, _WrongSize(store.embedder), get_encoding(), store.config)
    outcome = broken.add(NORRLAND_Q3)
    assert outcome.status == "failed"
    assert "source store error" in (outcome.error or "")
    assert store.count() == 1
    assert store.chunks.get(where={"article_id": outcome.article_id or ""})["ids"] == []


class _WrongSize:
    def __init__(self, inner: object) -> None:
        self.name = inner.name  # type: ignore[attr-defined]
        self.dimension = 7

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 7), dtype=np.float32) / np.sqrt(7)


def test_failing_embedder_fails_the_batch_with_its_reason(store: SourceStore) -> None:
    class Down:
        name = store.embedder.name
        dimension = store.embedder.dimension

        def embed(self, texts: list[str]) -> np.ndarray:
            raise RuntimeError("model server unavailable")

    outcome = SourceStore(store.client, Down(), get_encoding(), store.config).add(NORRLAND_Q3)
    assert outcome.status == "failed"
    assert "model server unavailable" in (outcome.error or "")
    assert store.count() == 0


def test_list_show_and_remove(store: SourceStore) -> None:
    a = store.add(NORRLAND_Q3).article_id or ""
    b = store.add(HARWICH_NOTICE).article_id or ""
    assert {i.id for i in store.list_articles()} == {a, b}
    removed = store.remove(a)
    assert removed.title == NORRLAND_Q3.title
    assert [i.id for i in store.list_articles()] == [b]
    assert store.chunks.get(where={"article_id": a})["ids"] == []
    with pytest.raises(NotFoundError, match="no stored article"):
        store.get(a)
    with pytest.raises(NotFoundError):
        store.remove(a)


def test_revision_changes_on_every_write(store: SourceStore) -> None:
    r0 = store.revision()
    aid = store.add(NORRLAND_Q3).article_id or ""
    r1 = store.revision()
    store.add(NORRLAND_Q3)  # unchanged: no write
    assert store.revision() == r1
    store.remove(aid)
    assert len({r0, r1, store.revision()}) == 3


def test_extra_metadata_is_kept(store: SourceStore) -> None:
    aid = store.add(replace(HARWICH_NOTICE, extra={"category": "transport", "priority": 2})).article_id or ""
    assert store.get(aid).info.extra == {"category": "transport", "priority": 2}


def test_vector_spaces_of_different_models_do_not_mix(chroma_memory: object, wordllama: object, minilm: object) -> None:
    config = StoreConfig(prefix="spaces")
    a = SourceStore(chroma_memory, wordllama, get_encoding(), config)  # type: ignore[arg-type]
    b = SourceStore(chroma_memory, minilm, get_encoding(), config)  # type: ignore[arg-type]
    assert a.articles.name != b.articles.name
    a.add(HARWICH_NOTICE)
    assert b.count() == 0


# ---- provenance: the first stored version keeps its title, URL, source and date ----------


def test_a_copy_at_another_url_is_a_further_location_not_a_replacement(store: SourceStore) -> None:
    original = store.add(NORRLAND_Q3)
    copy = replace(
        NORRLAND_Q3,
        url="https://aggregator.example/tech/norrland-results",
        title="Norrland Mobile beats forecasts (via Aggregator)",
        source="Aggregator",
        published="2026-10-25",
    )
    outcome = store.add(copy)
    assert (outcome.status, outcome.article_id) == ("duplicate", original.article_id)
    info = store.get(original.article_id or "").info
    assert (info.title, info.url, info.source, info.published) == (
        NORRLAND_Q3.title,
        NORRLAND_Q3.url,
        NORRLAND_Q3.source,
        "2026-10-22",
    )
    [location] = info.locations
    assert location["place"] == "https://aggregator.example/tech/norrland-results"
    assert (location["title"], location["source"], location["published"]) == (copy.title, "Aggregator", "2026-10-25")
    assert store.count() == 1
    assert store.add(copy).status == "unchanged"  # the same copy again: recorded once
    assert len(store.get(original.article_id or "").info.locations) == 1


def test_a_copy_in_another_file_is_a_further_location(store: SourceStore) -> None:
    first = store.add(replace(HARWICH_NOTICE, url=None, origin="desk/harwick.txt"))
    again = store.add(replace(HARWICH_NOTICE, url=None, title="Mill St closure", origin="inbox/copy.txt"))
    assert again.status == "duplicate"
    info = store.get(first.article_id or "").info
    assert info.title == HARWICH_NOTICE.title
    assert [loc["place"] for loc in info.locations] == ["inbox/copy.txt"]


def test_a_copy_under_another_id_keeps_the_first_and_records_where_it_was(store: SourceStore) -> None:
    store.add(replace(NORRLAND_Q2, id="wire-1", url=None, origin="feed.jsonl:1"))
    b = store.add(replace(NORRLAND_Q2, id="wire-2", url=None, title="Copy", origin="feed.jsonl:7"))
    assert (b.status, b.article_id) == ("duplicate", "wire-1")
    [location] = store.get("wire-1").info.locations
    assert (location["place"], location["id"], location["title"]) == ("feed.jsonl", "wire-2", "Copy")


def test_copies_inside_one_batch_are_recorded_on_the_first(store: SourceStore) -> None:
    mirror = replace(NORRLAND_Q3, url="https://mirror.example/q3", title="Mirror")
    outcomes = store.add_many([NORRLAND_Q3, mirror])
    assert [o.status for o in outcomes] == ["added", "duplicate"]
    info = store.get(outcomes[0].article_id or "").info
    assert info.url == NORRLAND_Q3.url and [loc["place"] for loc in info.locations] == ["https://mirror.example/q3"]


def test_an_update_of_the_original_keeps_its_further_locations(store: SourceStore) -> None:
    aid = store.add(NORRLAND_Q3).article_id or ""
    store.add(replace(NORRLAND_Q3, url="https://mirror.example/q3"))
    corrected = replace(NORRLAND_Q3, text=NORRLAND_Q3.text.replace("611 million", "612 million"))
    assert store.add(corrected).status == "updated"
    assert [loc["place"] for loc in store.get(aid).info.locations] == ["https://mirror.example/q3"]


# ---- sizes ---------------------------------------------------------------------------------


def test_chunks_are_read_in_pages_so_no_article_is_too_large(store: SourceStore) -> None:
    paged = SourceStore(store.client, store.embedder, get_encoding(), replace(store.config, read_page=7))
    long_text = " ".join(f"Section {i} of the harbour plan adds {i * 3} berths by {2030 + i % 9}." for i in range(400))
    aid = paged.add(ArticleDraft(title="Harbour plan", text=long_text, url="https://example.org/plan")).article_id
    stored = paged.get(aid or "").info
    assert stored.chunks > 20
    seen = sum(len(ids) for ids, _, _ in paged.chunk_vectors([aid or ""]))
    assert seen == stored.chunks
    paged.remove(aid or "")
    assert store.chunks.count() == 0


# ---- interrupted writes -------------------------------------------------------------------


def test_orphan_chunks_left_by_a_killed_ingest_are_swept_by_the_next_write(store: SourceStore) -> None:
    vector = store.embedder.embed(["left behind"]).tolist()
    left = {"article_id": "a-killed", "text_hash": "0123456789ab", "index": 0, "start": 0, "end": 11, "tokens": 2}
    store.chunks.upsert(ids=["a-killed:0123456789ab:0"], embeddings=vector, documents=["left behind"], metadatas=[left])
    in_flight = {**left, "article_id": "a-writing", "written": int(time.time())}
    store.chunks.upsert(ids=["a-writing:0:0"], embeddings=vector, documents=["left behind"], metadatas=[in_flight])
    store.add(HARWICH_NOTICE)
    remaining = set(store.chunks.get()["ids"])
    assert "a-killed:0123456789ab:0" not in remaining
    # without a write lock (a Chroma server), a young chunk may be another process's write in flight
    assert "a-writing:0:0" in remaining


def test_a_later_process_sweeps_what_was_left_since_the_last_sweep(tmp_path: Path, wordllama: Embedder) -> None:
    """The sweep reads the chunks written since the last one (recorded in the search index)."""
    from bot import wiring
    from bot.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    first = wiring.source_store(settings, emb=wordllama)
    kept = first.add(NORRLAND_Q3).article_id or ""
    assert first.lexical.get_meta("swept") is not None
    vector = wordllama.embed(["left behind"]).tolist()
    left = {"article_id": "a-killed", "text_hash": "0123456789ab", "index": 0, "start": 0, "end": 11}
    first.chunks.upsert(
        ids=["a-killed:0123456789ab:0"], embeddings=vector, metadatas=[{**left, "written": int(time.time()) + 1}]
    )
    stale = {**left, "article_id": kept, "text_hash": "ba9876543210", "written": int(time.time()) + 1}
    first.chunks.upsert(ids=[f"{kept}:ba9876543210:0"], embeddings=vector, metadatas=[stale])
    later = wiring.source_store(settings, emb=wordllama)  # another process's first write sweeps
    assert later.add(HARWICH_NOTICE).status == "added"
    remaining = set(later.chunks.get()["ids"])
    assert "a-killed:0123456789ab:0" not in remaining and f"{kept}:ba9876543210:0" not in remaining
    assert sum(1 for cid in remaining if cid.startswith(f"{kept}:")) == later.get(kept).info.chunks


def test_the_sweep_mark_follows_the_writers_last_write(tmp_path: Path, wordllama: Embedder) -> None:
    """After a long ingest the next process reads only what was written since the ingest's last
    write began (the mark of its first write made it read every chunk of a 100k archive)."""
    from bot import wiring
    from bot.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    first = wiring.source_store(settings, emb=wordllama)
    first.add(NORRLAND_Q3)
    marked = float(first.lexical.get_meta("swept") or 0)
    before_second = time.time()
    first.add(HARWICH_NOTICE)
    assert marked <= before_second <= float(first.lexical.get_meta("swept") or 0)
    # a writer killed in its next write leaves chunks after the mark: the next process sweeps them
    vector = wordllama.embed(["left behind"]).tolist()
    left = {"article_id": "a-killed", "text_hash": "0123456789ab", "index": 0, "start": 0, "end": 11}
    first.chunks.upsert(
        ids=["a-killed:0123456789ab:0"], embeddings=vector, metadatas=[{**left, "written": int(time.time())}]
    )
    later = wiring.source_store(settings, emb=wordllama)
    assert later.add(NORRLAND_Q2).status == "added"
    assert "a-killed:0123456789ab:0" not in set(later.chunks.get()["ids"])


def test_an_article_with_more_chunks_than_sqlite_has_variables_can_be_read(store: SourceStore) -> None:
    """40,000 chunks (a few long transcripts) broke every check with 'too many SQL variables'."""

    class Tiny:  # 2-d vectors in a space of their own: the point is the number of chunks
        name = "tiny-2d"
        dimension = 2

    tiny = SourceStore(store.client, Tiny(), get_encoding(), store.config)  # type: ignore[arg-type]
    n = 40_000
    for b in range(0, n, tiny._max_batch):
        ids = range(b, min(n, b + tiny._max_batch))
        tiny.chunks.upsert(
            ids=[f"a-long:x:{i}" for i in ids],
            embeddings=[[1.0, i / n] for i in ids],
            metadatas=[{"article_id": "a-long", "text_hash": "x", "index": i} for i in ids],
        )
    assert sum(len(ids) for ids, _, _ in tiny.chunk_vectors(["a-long"])) == n


def test_tracking_parameters_default_ports_and_case_do_not_make_a_new_address() -> None:
    base = "https://example.org/news/water-rates?id=7"
    assert canonical_url("HTTPS://Example.ORG:443/news/water-rates?utm_source=x&id=7&fbclid=abc#comments") == base
    assert canonical_url("https://example.org/news/water-rates/") == "https://example.org/news/water-rates"
    assert canonical_url("https://example.org/News") != canonical_url("https://example.org/news")  # paths keep case
