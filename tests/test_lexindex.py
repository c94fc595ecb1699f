"""retrieval.lexindex: the persistent search index ranks as the in-memory one, changes in place,
keeps the articles' chunk vectors and finds the nearest by them, and is shared by processes;
the store keeps it in step and other stores catch up from its log."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.embeddings import Embedder
from retrieval.lexical import LexicalIndex
from retrieval.lexindex import ChunkVectors, PersistentLexicalIndex
from retrieval.store import SourceStore, StoreConfig
from retrieval.tokens import get_encoding
from tests.articles import HARWICH_NOTICE, NORRLAND_Q2, NORRLAND_Q3
from tests.test_lexical import DOCS

QUERIES = [
    "Marlow council votes to rebuild its sea wall for $40.5m",
    "Ferry fares rise 12% on the island routes",
    "The council approved the budget; taxes will not rise",
    "new schools open next year",
    "a harbour levy and a budget",
]


def persistent(docs: list[tuple[str, str]], path: Path | str = ":memory:") -> PersistentLexicalIndex:
    index = PersistentLexicalIndex(path)
    index.apply([(doc_id, "v1", text) for doc_id, text in docs])
    return index


def assert_same_ranking(a: PersistentLexicalIndex, b: LexicalIndex) -> None:
    assert len(a) == len(b)
    for q in QUERIES:
        got, want = a.search(q), b.search(q)
        assert [i for i, _ in got] == [i for i, _ in want], q
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-4)
    for term in ("council", "harbour", "40.5", "ferry", "unheard"):
        assert a.known(term) == b.known(term)
        assert a.idf(term) == pytest.approx(b.idf(term), rel=1e-6)
    assert a.median_idf == pytest.approx(b.median_idf, rel=1e-5)


def test_ranks_and_weighs_terms_as_the_in_memory_index() -> None:
    assert_same_ranking(persistent(DOCS), LexicalIndex(DOCS))


def test_adding_one_by_one_equals_adding_at_once() -> None:
    index = PersistentLexicalIndex()
    for doc_id, text in DOCS:
        assert index.apply([(doc_id, "v1", text)]) == 1
    assert_same_ranking(index, LexicalIndex(DOCS))


def test_removing_an_article_leaves_the_index_of_the_others() -> None:
    index = persistent(DOCS)
    assert index.apply(removed=["ferry"]) == 1
    rest = [d for d in DOCS if d[0] != "ferry"]
    assert_same_ranking(index, LexicalIndex(rest))
    assert not index.known("ferry")


def test_a_new_version_replaces_the_old_one() -> None:
    index = persistent(DOCS)
    index.apply([("ferry", "v2", "The island ferry company cancelled every crossing for a storm.")])
    changed = [
        (i, "The island ferry company cancelled every crossing for a storm." if i == "ferry" else t) for i, t in DOCS
    ]
    assert_same_ranking(index, LexicalIndex(changed))
    assert index.versions(["ferry"]) == {"ferry": "v2"}


def test_the_same_version_again_changes_nothing() -> None:
    index = persistent(DOCS)
    assert index.apply([(doc_id, "v1", text) for doc_id, text in DOCS]) == 0
    assert_same_ranking(index, LexicalIndex(DOCS))


def test_removing_an_unknown_id_changes_nothing() -> None:
    index = persistent(DOCS)
    assert index.apply(removed=["nothing-here"]) == 0
    assert len(index) == len(DOCS)


def histogram(index: PersistentLexicalIndex) -> tuple[dict[int, int], dict[int, int]]:
    """The index's histogram of document frequencies, and one counted afresh from its vocabulary."""
    kept = dict(index._db.execute("SELECT df, terms FROM dfhist").fetchall())
    counted = dict(index._db.execute("SELECT df, count(*) FROM vocab GROUP BY df").fetchall())
    return kept, counted


@pytest.mark.parametrize("returning", [True, False], ids=["with RETURNING", "SQLite before 3.35"])
def test_the_histogram_of_term_frequencies_follows_additions_updates_and_removals(
    returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retrieval.lexindex._RETURNING", returning)
    index = PersistentLexicalIndex()
    for doc_id, text in DOCS:
        index.apply([(doc_id, "v1", text)])
    index.apply([("ferry", "v2", "The island ferry company cancelled every crossing for a storm.")])
    index.apply(removed=[DOCS[0][0], DOCS[1][0]])
    kept, counted = histogram(index)
    assert kept == counted and sum(kept) > 0
    index.apply(removed=[doc_id for doc_id, _ in DOCS])
    assert histogram(index) == ({}, {})
    assert index.median_idf == 1.0
    index.apply([(doc_id, "v2", text) for doc_id, text in DOCS])
    assert_same_ranking(index, LexicalIndex(DOCS))


def test_an_index_from_before_is_made_as_now_once(tmp_path: Path) -> None:
    """Its vocabulary keyed by term (with an index by frequency) becomes a table in first-seen
    order with a histogram of frequencies; ranking and median IDF stay the in-memory index's,
    and it takes changes as a new one does."""
    path = tmp_path / "old.sqlite"
    old = persistent(DOCS, path)
    old._db.executescript(
        """
        CREATE TABLE vocab_old (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO vocab_old SELECT term, df FROM vocab;
        DROP TABLE vocab;
        ALTER TABLE vocab_old RENAME TO vocab;
        CREATE INDEX vocab_df ON vocab (df);
        DELETE FROM dfhist;
        """
    )
    old.close()
    index = PersistentLexicalIndex(path)
    schema = dict(index._db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall())
    assert "vocab_df" not in schema and "WITHOUT ROWID" not in schema["vocab"].upper()
    kept, counted = histogram(index)
    assert kept == counted and kept
    assert_same_ranking(index, LexicalIndex(DOCS))
    index.apply(removed=["ferry"])
    assert_same_ranking(index, LexicalIndex([d for d in DOCS if d[0] != "ferry"]))
    assert histogram(index)[0] == histogram(index)[1]


def test_a_bookkeeping_value_is_not_waited_for_while_another_process_writes(tmp_path: Path) -> None:
    import sqlite3

    index = persistent(DOCS, tmp_path / "index.sqlite")
    index.set_meta("cursor", "1.0")
    other = sqlite3.connect(index.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of its write
    assert index.set_meta("cursor", "2.0", wait=False) is False
    assert index.get_meta("cursor") == "1.0"
    other.execute("COMMIT")
    assert index.set_meta("cursor", "2.0", wait=False) is True
    assert index.get_meta("cursor") == "2.0"
    assert index.apply([("late", "v1", "a write after it waits as before")]) == 1  # its patience is back
    other.close()


def test_an_empty_index_finds_nothing() -> None:
    index = PersistentLexicalIndex()
    assert len(index) == 0
    assert index.search("the harbour council") == []
    assert index.median_idf == 1.0


def test_another_process_sees_the_changes_of_one_that_wrote_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lexical.sqlite"
    reader = persistent(DOCS[:2], path)
    assert [i for i, _ in reader.search("new schools open")] == []
    script = textwrap.dedent(
        f"""
        from retrieval.lexindex import ChunkVectors, PersistentLexicalIndex
        from tests.test_lexical import DOCS
        index = PersistentLexicalIndex({str(path)!r})
        index.apply([(i, "v1", t) for i, t in DOCS[2:]], removed=["ferry"])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    reader.refresh()
    assert reader.search("new schools open")[0][0] == "schools"
    assert_same_ranking(reader, LexicalIndex([d for d in DOCS if d[0] != "ferry"]))


def test_weights_stay_positive_when_another_process_commits_after_the_count_was_read(tmp_path: Path) -> None:
    """A reader takes the document count when the file changes and each term's frequency and
    postings later: another process's commit in between made a term in every document count
    more documents than the count, and its IDF negative (a check during an ingest then ranked a
    look-alike above the original)."""
    path = tmp_path / "lexical.sqlite"
    reader = PersistentLexicalIndex(path)
    reader.apply([(f"notice-{i}", "v1", f"Council budget for district {i} approved.") for i in range(4)])
    reader.refresh()
    writer = PersistentLexicalIndex(path)
    writer.apply([(f"later-{i}", "v1", f"Council budget for district {100 + i} approved.") for i in range(32)])
    assert len(reader) == 4  # the count it read before the commit
    assert reader.idf("council") >= 0.0
    assert reader.idf("2") > reader.idf("council")
    assert [i for i, _ in reader.search("council budget district 2 approved", 3)][:1] == ["notice-2"]
    assert reader.median_idf >= 0.0


# --- chunk vectors ---------------------------------------------------------------------------


def unit(*rows: list[float]) -> np.ndarray:
    arr = np.array(rows, dtype=np.float32)
    return arr / np.linalg.norm(arr, axis=1, keepdims=True)


def chunks(*rows: list[float]) -> ChunkVectors:
    spans = np.array([(i, 10 * i, 10 * i + 9) for i in range(len(rows))], dtype=np.int32)
    return ChunkVectors(unit(*rows), spans)


VECTORS = {
    "harbour": chunks([1, 0, 0, 0], [0.9, 0.1, 0, 0]),
    "ferry": chunks([0, 1, 0, 0]),
    "budget": chunks([0, 0, 1, 0], [0, 0.2, 1, 0], [0, 0, 0.8, 0.2]),
}


def with_vectors(path: Path | str = ":memory:") -> PersistentLexicalIndex:
    index = PersistentLexicalIndex(path)
    texts = dict(DOCS)
    index.apply([(i, "v1", texts[i]) for i in VECTORS], vectors=VECTORS)
    return index


def test_the_index_keeps_each_articles_chunk_vectors_and_offsets() -> None:
    index = with_vectors()
    got = index.chunk_vectors(["budget", "harbour", "unknown"])
    assert set(got) == {"budget", "harbour"}
    version, cv = got["budget"]
    assert version == "v1"
    assert cv.vectors == pytest.approx(VECTORS["budget"].vectors, abs=1e-3)  # kept as float16
    assert cv.spans.tolist() == [[0, 0, 9], [1, 10, 19], [2, 20, 29]]
    assert index.missing_vectors() == []


def test_the_nearest_articles_are_found_by_their_mean_vector() -> None:
    index = with_vectors()
    near = index.nearest(unit([0.1, 0, 1, 0], [1, 0.1, 0, 0]), k=1)
    assert list(near) == ["budget", "harbour"] or list(near) == ["harbour", "budget"]
    assert near["harbour"] > 0.9 and near["budget"] > 0.9
    assert set(index.nearest(unit([0, 1, 0, 0]), k=3)) == {"harbour", "ferry", "budget"}


def test_removed_and_replaced_articles_leave_the_nearest_search() -> None:
    index = with_vectors()
    index.nearest(unit([1, 0, 0, 0]), k=3)  # its mean vectors are in memory now
    index.apply(
        [("ferry", "v2", "The ferry now sails to the harbour.")],
        removed=["harbour"],
        vectors={"ferry": chunks([1, 0, 0, 0])},
    )
    near = index.nearest(unit([1, 0, 0, 0]), k=3)
    assert "harbour" not in near and near["ferry"] == pytest.approx(1.0, abs=1e-3)
    assert index.chunk_vectors(["ferry"])["ferry"][0] == "v2"
    assert "harbour" not in index.chunk_vectors(["harbour"])


def test_an_article_stored_without_vectors_is_listed_and_takes_them_in_later() -> None:
    index = PersistentLexicalIndex()
    index.apply([("ferry", "v1", dict(DOCS)["ferry"])])
    assert index.missing_vectors() == ["ferry"] and index.nearest(unit([0, 1, 0, 0]), k=2) == {}
    assert index.apply([("ferry", "v1", dict(DOCS)["ferry"])], vectors={"ferry": VECTORS["ferry"]}) == 0
    assert index.missing_vectors() == []
    assert list(index.nearest(unit([0, 1, 0, 0]), k=2)) == ["ferry"]


def test_another_processs_vectors_reach_the_nearest_search(tmp_path: Path) -> None:
    path = tmp_path / "lexical.sqlite"
    reader = with_vectors(path)
    assert "schools" not in reader.nearest(unit([0, 0, 0, 1]), k=4)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from retrieval.lexindex import ChunkVectors, PersistentLexicalIndex
        from tests.test_lexical import DOCS
        index = PersistentLexicalIndex({str(path)!r})
        cv = ChunkVectors(np.array([[0, 0, 0, 1]], dtype=np.float32), np.array([[0, 0, 5]], dtype=np.int32))
        index.apply([("schools", "v1", dict(DOCS)["schools"])], removed=["budget"], vectors={{"schools": cv}})
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    near = reader.nearest(unit([0, 0, 0, 1]), k=4)
    assert set(near) == {"harbour", "ferry", "schools"} and near["schools"] == pytest.approx(1.0, abs=1e-3)


def test_mean_vectors_taken_in_batch_after_batch_are_appended_in_place(tmp_path: Path) -> None:
    path = tmp_path / "lexical.sqlite"
    reader, writer = PersistentLexicalIndex(path), PersistentLexicalIndex(path)
    rng = np.random.default_rng(7)
    query = unit([1, 0, 0, 0], [0, 0, 1, 0])

    def batch(first: int, count: int) -> None:
        ids = [f"a{i}" for i in range(first, first + count)]
        vectors = {aid: chunks(*rng.standard_normal((2, 4)).tolist()) for aid in ids}
        writer.apply([(aid, "v1", f"words of {aid}") for aid in ids], vectors=vectors)

    batch(0, 40)
    reader.nearest(query, k=5)
    batch(40, 40)  # the array grows: room is made for more
    reader.nearest(query, k=5)
    held = reader._means  # what a search running in another thread would be reading
    before = held.copy()
    batch(80, 3)
    near = reader.nearest(query, k=5)
    assert np.shares_memory(reader._means, held)  # appended in the room kept, not copied again
    assert np.array_equal(held, before)  # and never written over what a search may be reading
    writer.apply(removed=["a3", "a50"])
    batch(83, 2)
    near = reader.nearest(query, k=5)
    fresh = PersistentLexicalIndex(path).nearest(query, k=5)
    assert near == pytest.approx(fresh) and "a3" not in near and len(reader._means) == 83


def test_mean_vectors_are_read_from_their_own_index_which_an_index_from_before_gains(tmp_path: Path) -> None:
    import sqlite3

    from retrieval.lexindex import MEANS_AFTER

    path = tmp_path / "lexical.sqlite"
    rng = np.random.default_rng(11)
    ids = [f"a{i}" for i in range(30)]
    vectors = {aid: chunks(*rng.standard_normal((3, 4)).tolist()) for aid in ids}
    PersistentLexicalIndex(path).apply([(aid, "v1", f"words of {aid}") for aid in ids], vectors=vectors)
    query = unit([1, 0, 0, 0], [0, 1, 0, 0])
    expected = PersistentLexicalIndex(path).nearest(query, k=4)
    with sqlite3.connect(path) as db:  # an index made before the means had their own
        db.execute("DROP INDEX vectors_mean")

    def plan() -> str:
        with sqlite3.connect(path) as db:
            return " ".join(str(r[-1]) for r in db.execute(f"EXPLAIN QUERY PLAN {MEANS_AFTER}", (0, 30)))

    assert "vectors_mean" not in plan()
    reopened = PersistentLexicalIndex(path)
    assert "COVERING INDEX vectors_mean" in plan()  # the means alone, not the rows of chunk vectors
    assert reopened.nearest(query, k=4) == pytest.approx(expected)


# --- kept in step with the store -------------------------------------------------------------


def test_the_store_indexes_what_it_stores_and_forgets_what_it_removes(store: SourceStore) -> None:
    q3 = store.add(NORRLAND_Q3).article_id or ""
    store.add(HARWICH_NOTICE)
    index = store.lexical_index()
    assert len(index) == 2
    assert index.search(NORRLAND_Q3.text)[0][0] == q3
    store.remove(q3)
    assert len(store.lexical_index()) == 1
    assert q3 not in [i for i, _ in store.lexical_index().search(NORRLAND_Q3.text)]


def test_another_machine_catches_up_from_the_change_log(chroma_memory: object, wordllama: Embedder) -> None:
    """Two stores on one Chroma (as two machines on one server), each with its own index."""
    config = StoreConfig(prefix="t" + uuid.uuid4().hex[:10])
    writer = SourceStore(chroma_memory, wordllama, get_encoding(), config)
    q3 = writer.add(NORRLAND_Q3).article_id or ""
    reader = SourceStore(chroma_memory, wordllama, get_encoding(), config)
    assert reader.lexical_index().versions() == writer.lexical.versions()  # built once from the store
    q2 = writer.add(NORRLAND_Q2).article_id or ""
    writer.remove(q3)
    caught_up = reader.lexical_index()
    assert set(caught_up.versions()) == {q2}
    assert caught_up.search(NORRLAND_Q2.text)[0][0] == q2


def test_a_change_the_index_missed_is_healed_at_the_next_catch_up(store: SourceStore) -> None:
    store.add(NORRLAND_Q3)
    store.lexical_index()
    store.lexical.clear()  # as if a write had died between the store's commit and the index
    store.lexical.set_meta("cursor", "9e12")  # ... and its log record were lost
    store.add(HARWICH_NOTICE)
    assert len(store.lexical_index()) == 2


def test_the_store_gives_the_index_the_vectors_it_stored(store: SourceStore) -> None:
    q3 = store.add(NORRLAND_Q3).article_id or ""
    version, cv = store.lexical_index().chunk_vectors([q3])[q3]
    held = store.stored_chunk_vectors({q3: version})[q3]
    assert cv.spans.tolist() == held.spans.tolist()
    assert cv.vectors == pytest.approx(held.vectors, abs=2e-3)
    assert list(store.lexical_index().nearest(held.vectors[:1], k=1)) == [q3]


def test_an_index_from_before_it_kept_vectors_takes_them_in_from_the_store(tmp_path: Path, wordllama: Embedder) -> None:
    import sqlite3

    from bot import wiring
    from bot.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    writer = wiring.source_store(settings, emb=wordllama)
    ids = [o.article_id or "" for o in writer.add_many([NORRLAND_Q3, HARWICH_NOTICE])]
    path = writer.lexical.path
    with sqlite3.connect(path) as db:  # the index as an older factdiff left it
        db.execute("DROP TABLE vectors")
    reader = wiring.source_store(settings, emb=wordllama)
    assert sorted(reader.lexical.missing_vectors()) == sorted(ids)
    index = reader.lexical_index()
    assert index.missing_vectors() == [] and set(index.chunk_vectors(ids)) == set(ids)


def test_a_machine_defers_a_whole_reconciliation_while_others_are_writing(
    chroma_memory: object, wordllama: Embedder
) -> None:
    """On a Chroma server a count read after the change log nearly always includes a commit
    whose record is not written yet: reading every article's metadata then (seconds at 100k)
    is put off until the log is quiet, and the index is compared again at every check till then."""
    config = StoreConfig(prefix="t" + uuid.uuid4().hex[:10])
    writer = SourceStore(chroma_memory, wordllama, get_encoding(), config)
    writer.add(NORRLAND_Q2)
    reader = SourceStore(chroma_memory, wordllama, get_encoding(), config)
    assert len(reader.lexical_index()) == 1
    q3 = writer.add(NORRLAND_Q3).article_id or ""
    committed = writer.get(q3)
    writer.articles.upsert(  # a commit whose change-log record another writer has not written yet
        ids=["in-flight"],
        embeddings=[[1.0]],
        documents=[HARWICH_NOTICE.text],
        metadatas=[committed.info.extra | {"text_hash": "f" * 64}],
    )
    caught_up = reader.lexical_index()
    assert q3 in caught_up.versions() and "in-flight" not in caught_up.versions()
    reader.lexical.set_meta("cursor", "9e12")  # the log quiet since
    assert "in-flight" in reader.lexical_index().versions()


def test_a_machine_does_not_read_back_its_own_writes_from_the_change_log(
    tmp_path: Path, chroma_memory: object, wordllama: Embedder
) -> None:
    """Processes of one machine share its search index, which their writes update as they
    commit: their change-log records name that index, and its readers are not sent them (after
    a 100,000-article ingest the next check read 69,000 records back: 2.7 s). Another machine
    (its own index) still takes them in."""
    import time

    from retrieval.changelog import MARGIN

    config = StoreConfig(prefix="t" + uuid.uuid4().hex[:10])
    here = tmp_path / "index.sqlite"

    def process(path: Path) -> SourceStore:
        return SourceStore(chroma_memory, wordllama, get_encoding(), config, lexical=PersistentLexicalIndex(path))

    bot = process(here)
    assert len(bot.lexical_index()) == 0
    ingest = process(here)
    q3 = ingest.add(NORRLAND_Q3).article_id or ""
    q2 = ingest.add(NORRLAND_Q2).article_id or ""
    logged = list(bot.changelog.since(0.0))
    assert {c.article_id for c in logged} == {q3, q2}
    assert list(bot.changelog.since(0.0, skip=bot.lexical.identity())) == []
    before = time.time()
    assert set(bot.lexical_index().versions()) == {q3, q2}
    assert float(bot.lexical.get_meta("cursor") or 0) >= before - MARGIN  # moved on, though it read nothing
    elsewhere = process(tmp_path / "another-machine.sqlite")
    assert len(elsewhere.lexical_index()) == 2  # built once from the store
    q2_updated = ingest.add(replace(NORRLAND_Q2, text=NORRLAND_Q2.text + " The board meets again in March."))
    assert q2_updated.status == "updated"
    version = ingest.get(q2).info.version
    assert elsewhere.lexical_index().versions()[q2] == version  # from the log
    assert bot.lexical_index().versions()[q2] == version  # from the shared index itself


def test_a_write_its_own_index_missed_is_logged_for_that_index_to_read(
    tmp_path: Path, chroma_memory: object, wordllama: Embedder
) -> None:
    """A writer whose index could not take its write in logs it again without its index's
    name, so the other processes sharing that index catch up from the log."""
    config = StoreConfig(prefix="t" + uuid.uuid4().hex[:10])
    path = tmp_path / "index.sqlite"
    store = SourceStore(chroma_memory, wordllama, get_encoding(), config, lexical=PersistentLexicalIndex(path))
    assert store.add(NORRLAND_Q2).status == "added"
    store.lexical._db.close()  # the index file cannot be written any more in this process
    q3 = store.add(NORRLAND_Q3).article_id or ""
    reader = SourceStore(chroma_memory, wordllama, get_encoding(), config, lexical=PersistentLexicalIndex(path))
    assert [c.article_id for c in reader.changelog.since(0.0, skip=reader.lexical.identity())] == [q3]
    assert q3 in reader.lexical_index().versions()


def test_a_machine_defers_a_whole_reconciliation_while_its_own_processes_write(
    tmp_path: Path, chroma_memory: object, wordllama: Embedder
) -> None:
    """The records of this machine's own writers are not read back, but they still say that
    the store is being written: a count that differs then is a commit in flight, not a loss."""
    config = StoreConfig(prefix="t" + uuid.uuid4().hex[:10])
    path = tmp_path / "index.sqlite"
    writer = SourceStore(chroma_memory, wordllama, get_encoding(), config, lexical=PersistentLexicalIndex(path))
    writer.add(NORRLAND_Q2)
    reader = SourceStore(chroma_memory, wordllama, get_encoding(), config, lexical=PersistentLexicalIndex(path))
    assert len(reader.lexical_index()) == 1
    q3 = writer.add(NORRLAND_Q3).article_id or ""
    committed = writer.get(q3)
    writer.articles.upsert(  # the same writer's next commit, not yet in the index nor the log
        ids=["in-flight"], embeddings=[[1.0]], metadatas=[committed.info.extra | {"text_hash": "f" * 64}]
    )
    caught_up = reader.lexical_index()
    assert q3 in caught_up.versions() and "in-flight" not in caught_up.versions()
    reader.lexical.set_meta("cursor", "9e12")  # the log quiet since
    assert "in-flight" in reader.lexical_index().versions()


def test_a_check_does_not_wait_for_its_machines_ingest_to_note_where_it_looked(
    tmp_path: Path, chroma_memory: object, wordllama: Embedder
) -> None:
    """While another process of the machine writes a batch into the shared search index, a
    check that caught up keeps its place in the change log in memory (waiting for the batch's
    commit took up to 180 ms at 20k articles) and notes it in the file at a later check."""
    import sqlite3
    import time

    config = StoreConfig(prefix="t" + uuid.uuid4().hex[:10])
    here = tmp_path / "index.sqlite"

    def process() -> SourceStore:
        return SourceStore(chroma_memory, wordllama, get_encoding(), config, lexical=PersistentLexicalIndex(here))

    bot, ingest = process(), process()
    ingest.add(NORRLAND_Q2)
    assert len(bot.lexical_index()) == 1
    noted = time.time() - 3600
    bot.lexical.set_meta("cursor", repr(noted))  # its machine last looked at the log an hour ago
    q3 = ingest.add(NORRLAND_Q3).article_id or ""
    batch = sqlite3.connect(here, isolation_level=None)
    batch.execute("BEGIN IMMEDIATE")  # the ingest's next batch, being written (waiting would take 60 s, then fail)
    assert q3 in bot.lexical_index().versions()
    assert float(bot.lexical.get_meta("cursor") or 0) == noted  # where it got to is not in the file yet
    batch.execute("COMMIT")
    batch.close()
    ingest.add(HARWICH_NOTICE)
    assert len(bot.lexical_index()) == 3
    assert float(bot.lexical.get_meta("cursor") or 0) > time.time() - 600  # noted at the next check


def test_a_machine_defers_a_whole_reconciliation_while_one_of_its_processes_writes(
    tmp_path: Path, chroma_memory: object, wordllama: Embedder
) -> None:
    """A write gives way to the machine's checks between its requests to Chroma, so its records
    can be in the store for a while before its change-log records: the write says it is in
    progress, and a count that differs meanwhile is not taken for a loss."""
    from retrieval.locking import ChecksInProgress

    config = StoreConfig(prefix="t" + uuid.uuid4().hex[:10])
    path = tmp_path / "index.sqlite"

    def process() -> SourceStore:
        lexical = PersistentLexicalIndex(path)
        return SourceStore(
            chroma_memory, wordllama, get_encoding(), config, lexical=lexical, checks=ChecksInProgress(tmp_path, 1.0)
        )

    writer, reader = process(), process()
    committed = writer.get(writer.add(NORRLAND_Q2).article_id or "")
    assert len(reader.lexical_index()) == 1
    reader.lexical.set_meta("cursor", "9e12")  # the log quiet since
    assert writer.checks is not None
    with writer.checks.writing():
        writer.articles.upsert(  # the write's first request, its change-log records not written yet
            ids=["in-flight"], embeddings=[[1.0]], metadatas=[committed.info.extra | {"text_hash": "f" * 64}]
        )
        assert "in-flight" not in reader.lexical_index().versions()
    assert "in-flight" in reader.lexical_index().versions()


def test_an_ingest_leaves_no_write_ahead_log_behind(tmp_path: Path, chroma_memory: object, wordllama: Embedder) -> None:
    from retrieval.ingest import ingest

    path = tmp_path / "index.sqlite"
    wal = Path(f"{path}-wal")
    config = StoreConfig(prefix="t" + uuid.uuid4().hex[:10])
    store = SourceStore(chroma_memory, wordllama, get_encoding(), config, lexical=PersistentLexicalIndex(path))
    store.add(NORRLAND_Q2)
    assert wal.stat().st_size > 0  # a write goes to the log first
    outcomes = ingest(store, [NORRLAND_Q3, HARWICH_NOTICE])
    assert [o.status for o in outcomes] == ["added", "added"]
    assert wal.stat().st_size == 0 and len(store.lexical_index()) == 3


def test_a_checkpoint_does_not_wait_for_another_processs_write(tmp_path: Path) -> None:
    import sqlite3

    index = persistent(DOCS, tmp_path / "index.sqlite")
    other = sqlite3.connect(index.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    assert index.checkpoint() is False
    other.execute("COMMIT")
    other.close()
    assert index.checkpoint() is True and Path(f"{index.path}-wal").stat().st_size == 0


def test_the_change_log_names_a_writes_articles_in_a_record_and_reads_a_log_from_before(chroma_memory: object) -> None:
    """A write of many articles adds one log record per ENTRIES_PER_RECORD articles (not one
    per article: every record is a row in Chroma's file); a log written one record per article
    (a store from before) is read as before; ids of any characters come back as written."""
    import time

    from retrieval.changelog import ENTRIES_PER_RECORD, ChangeLog

    collection = chroma_memory.get_or_create_collection("t" + uuid.uuid4().hex[:10], embedding_function=None)  # type: ignore[attr-defined]
    log = ChangeLog(collection, lambda call: call())
    stored = [(f"a{i}", "v1") for i in range(ENTRIES_PER_RECORD + 44)] + [('odd "id"\nwith a line', "v2")]
    log.record(stored, removed=["gone"], writer="this-machine")
    assert collection.count() == 2
    at = time.time()
    collection.add(ids=["old"], embeddings=[[1.0]], metadatas=[{"article_id": "before", "version": "v0", "at": at}])
    changes = list(log.since(0.0))
    assert sorted((c.article_id, c.version) for c in changes) == sorted([*stored, ("gone", ""), ("before", "v0")])
    others = list(log.since(0.0, skip="this-machine"))
    assert [(c.article_id, c.version) for c in others] == [("before", "v0")]
    assert abs(others[0].at - at) < 1e-3  # a time comes back from Chroma to about a microsecond
    assert list(log.since(at + 1)) == []


def test_a_change_log_record_of_another_form_is_skipped_with_a_warning_and_the_rest_read(
    chroma_memory: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A record that is not factdiff's (another program's, written into the collection) stopped
    every catch-up of every process with a KeyError; it is skipped, the others are read."""
    import time

    from retrieval.changelog import ChangeLog

    collection = chroma_memory.get_or_create_collection("t" + uuid.uuid4().hex[:10], embedding_function=None)  # type: ignore[attr-defined]
    log = ChangeLog(collection, lambda call: call())
    log.record([("a1", "v1")])
    at = time.time()
    foreign = [
        {"at": at},
        {"at": at, "entries": "x" * 40},
        {"at": at, "entries": "[1, 2]"},
        {"at": at, "entries": '[["a9"]]'},
    ]
    collection.add(ids=[f"f{i}" for i in range(4)], embeddings=[[1.0]] * 4, metadatas=foreign)
    log.record([("a2", "v1")], removed=["a0"])
    with caplog.at_level("WARNING", logger="retrieval.changelog"):
        changes = sorted((c.article_id, c.version) for c in log.since(0.0))
    assert changes == [("a0", ""), ("a1", "v1"), ("a2", "v1")]
    assert sum("not factdiff's" in r.getMessage() for r in caplog.records) == 4


def blocks(index: PersistentLexicalIndex, table: str) -> set[int]:
    return {int(b) for (b,) in index._db.execute(f"SELECT DISTINCT block FROM {table}")}  # noqa: S608


def test_sealed_blocks_wait_in_recent_and_move_to_postings_together_ranking_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blocks new articles no longer go to move from ``fresh`` to ``recent`` one at a time,
    and from ``recent`` to ``postings`` MERGE_BLOCKS at a time (a move into ``postings``
    rewrites most of its index). Rankings stay those of the in-memory index at every step, and
    through updates and removals of articles in each of the three tables."""
    monkeypatch.setattr("retrieval.lexindex.BLOCK", 2)
    monkeypatch.setattr("retrieval.lexindex.MERGE_BLOCKS", 3)
    texts = [t for _, t in DOCS] + QUERIES
    pairs = [(a, b) for a in range(len(texts)) for b in range(a + 1, len(texts))]
    docs = [(f"d{i}", f"{texts[a]} {texts[b]}") for i, (a, b) in enumerate(pairs[:17])]
    index = PersistentLexicalIndex()
    for n, (doc_id, text) in enumerate(docs, start=1):  # rowid n: block n // 2
        index.apply([(doc_id, "v1", text)])
        sealed = n // 2  # the blocks before the newest
        merged = sealed - sealed % 3
        assert blocks(index, "fresh") == {n // 2}
        assert blocks(index, "recent") == set(range(merged, sealed))
        assert blocks(index, "postings") == set(range(merged))
        assert_same_ranking(index, LexicalIndex(docs[:n]))
    # removed: one article from each table (d2: rowid 3, block 1; d13: block 7; d16: block 8)
    gone = {"d2", "d13", "d16"}
    assert blocks(index, "recent") == {6, 7} and blocks(index, "fresh") == {8}
    index.apply(removed=sorted(gone))
    rest = [d for d in docs if d[0] not in gone]
    assert_same_ranking(index, LexicalIndex(rest))
    # updated: one from postings, one from recent (their new versions fill block 8 and start
    # block 9, which moves 8 to recent and the three there to postings)
    new_text = "The island ferry company cancelled every crossing for a storm."
    index.apply([("d4", "v2", new_text), ("d12", "v2", new_text + " Again.")])
    assert blocks(index, "recent") == set() and blocks(index, "postings") == set(range(9))
    now = [(i, {"d4": new_text, "d12": new_text + " Again."}.get(i, t)) for i, t in rest]
    assert_same_ranking(index, LexicalIndex(now))
    for table in ("postings", "recent", "fresh"):  # a (term, block) blob in one row of a table
        rows, keys = index._db.execute(f"SELECT count(*), count(DISTINCT term || ' ' || block) FROM {table}").fetchone()  # noqa: S608
        assert rows == keys


def test_blocks_new_articles_no_longer_go_to_move_from_the_fresh_table_and_rank_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The newest block's postings are kept in ``fresh``, the blocks before in ``postings``
    (moved there when new articles go to a later block); an index from before, whose newest
    block is in ``postings``, takes further articles there. Rankings stay those of the
    in-memory index through additions, updates and removals either way."""
    monkeypatch.setattr("retrieval.lexindex.BLOCK", 2)
    monkeypatch.setattr("retrieval.lexindex.MERGE_BLOCKS", 1)  # a sealed block goes on to postings at once

    index = PersistentLexicalIndex()
    for doc_id, text in DOCS:
        index.apply([(doc_id, "v1", text)])
    newest = (len(DOCS)) // 2  # rowids start at 1
    assert blocks(index, "fresh") == {newest}
    assert blocks(index, "postings") == set(range(newest)) and not blocks(index, "recent")
    assert_same_ranking(index, LexicalIndex(DOCS))
    index.apply(removed=[DOCS[0][0], DOCS[-1][0]])  # one from a moved block, one from the fresh one
    index.apply([(DOCS[2][0], "v2", "The island ferry company cancelled every crossing for a storm.")])
    changed = [
        (i, "The island ferry company cancelled every crossing for a storm." if i == DOCS[2][0] else t)
        for i, t in DOCS[1:-1]
    ]
    assert_same_ranking(index, LexicalIndex(changed))

    before = PersistentLexicalIndex()  # every block in postings, as an index from before kept them
    before.apply([(doc_id, "v1", text) for doc_id, text in DOCS[:2]])
    before._db.execute("INSERT INTO postings SELECT * FROM fresh")
    before._db.execute("DELETE FROM fresh")
    for doc_id, text in DOCS[2:]:  # the third goes to a block held in postings
        before.apply([(doc_id, "v1", text)])
    assert blocks(before, "fresh") == {newest}
    assert_same_ranking(before, LexicalIndex(DOCS))
    # a factdiff from before writing the same file puts the fresh block's new blobs in postings:
    # a blob then in both tables is read from both, and joined when its block moves
    late = [("late", "The board said a third new school will open in the district."), ("later", "A ferry notice.")]
    before.apply([(doc_id, "v1", text) for doc_id, text in late[:1]])  # the fresh block's second article
    term, data = before._db.execute(
        "SELECT term, data FROM fresh WHERE block = ? AND length(data) = 24 LIMIT 1", (newest,)
    ).fetchone()
    before._db.execute("UPDATE fresh SET data = ? WHERE term = ? AND block = ?", (data[:12], term, newest))
    before._db.execute("INSERT INTO postings VALUES (?, ?, ?)", (term, newest, data[12:]))
    assert_same_ranking(before, LexicalIndex([*DOCS, *late[:1]]))
    before.apply([(doc_id, "v1", text) for doc_id, text in late[1:]])  # to the next block
    assert newest not in blocks(before, "fresh")
    (joined,) = before._db.execute("SELECT data FROM postings WHERE term = ? AND block = ?", (term, newest)).fetchone()

    def entries(blob: bytes) -> list[list[int]]:
        return sorted(np.frombuffer(blob, dtype=np.int32).reshape(-1, 3).tolist())

    assert entries(joined) == entries(data)
    assert_same_ranking(before, LexicalIndex([*DOCS, *late]))
    counts = before._db.execute("SELECT count(*), count(DISTINCT term || ' ' || block) FROM postings").fetchone()
    assert counts[0] == counts[1]  # a (term, block) blob in one row only
