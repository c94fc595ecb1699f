"""The persistent search index: BM25 over whole articles, and a copy of their chunk vectors,
kept on disk and changed in place.

The in-memory :class:`~retrieval.lexical.LexicalIndex` is rebuilt from every stored text,
which at 40k articles is 96% of a check. This index is a SQLite file (standard library) that
an article's write adds to, and its removal takes from, so nothing is ever rebuilt in a check:

* ``docs``: one row per article (id, text version, length in terms, its distinct terms);
* ``postings``: per term and block of 1,024 documents, a blob of (document, term frequency,
  document length) triples. A new article only touches the newest block of each of its
  terms, so an ingest batch rewrites small blobs whatever the archive's size;
* ``fresh``: the same, for the blocks new articles still go to (the newest). Their blobs
  change with every batch; kept in a small table of their own, a batch's reads and writes
  stay in its few pages, where in ``postings`` (keyed by term, of every block) a batch
  touched a page per term all over a table that grows with the archive. Once new articles go
  to a later block, the rows of the ones before move to ``recent`` in one sorted step (once
  per 1,024 articles);
* ``recent``: the blocks moved out of ``fresh`` since the last move to ``postings``; when it
  holds MERGE_BLOCKS of them, they all move to ``postings`` in one sorted step. A sorted
  insert of a block's rows into ``postings`` lands all over its index of (term, block), so it
  rewrote nearly every page of that index, which grows with the archive (at 113k articles:
  62 MB more written per 1,024 articles than at 9k); through ``recent`` that happens once per
  MERGE_BLOCKS blocks;
* ``vocab``: each term's document frequency (the IDF), stored in the order terms were first
  seen (a rowid table, with a unique index by term that only a new term changes): a batch's
  frequent words then sit together at the table's start and its new words at its end, where a
  table keyed by term spread every batch's updates over all of its pages (at 100k articles a
  batch of 128 cost 4.2 ms per article, now 3.1: ``python -m benchmarks.index_writes``);
* ``dfhist``: how many terms have each document frequency, for the median IDF (read from an
  index of ``vocab`` by frequency it took 11-19 ms after every change at 100k articles, a
  vocabulary of 900,000 terms; from the histogram 1.5 ms);
* ``vectors``: per article, its chunks' vectors and offsets and their normalised mean, as
  float16 (half of Chroma's float32: the dense evidence does not need more).

Ranking is the same BM25 (k1, b, query terms weighted 1 + log tf) with the same index terms
(:func:`~retrieval.lexical.terms`) as the in-memory index; a query reads only the postings of
its own terms. Several processes may read and write the file (SQLite locks it; every change is
idempotent: adding a stored version again is a no-op).

Why the vectors are copied here: an embedded Chroma client loads a collection's whole vector
index (HNSW) into memory on first use and never sees another process's later writes to it, so
a process that searched Chroma's chunks held ~5 KB per stored article and, after another
process's ingest, had to open a new client, which reloaded everything (and Chroma 1.5 does not
free the old client's index: measured in docs/benchmarks.md). A check reads from this file only
the vectors of its candidates, and finds dense candidates by the articles' mean vectors, which
it keeps in memory as float32 (1 KB per article at 256-d) and takes in incrementally: numpy's
float16-to-float32 conversion at each comparison cost as much as the comparison itself (the
search for dense candidates at 100,000 articles: 59.5 ms with float16 means converted a block at
a time, 32.6 ms with float32; 51 and 102 MB of means: ``python -m benchmarks.dense``, docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.lexical import terms

log = logging.getLogger(__name__)

BLOCK = 1024  # documents per postings blob: a new article rewrites blobs of at most this many entries
# blocks held in ``recent`` before they move to ``postings`` together: the move rewrites most of
# postings' index pages whatever it moves, so it is made once per this many blocks (16,384
# articles); ``recent`` itself stays small (at most this many blocks' rows)
MERGE_BLOCKS = 16
BUSY_TIMEOUT = 60.0  # seconds a write waits for another process's write to the same file
# WAL pages before the writer copies them into the file: an ingest batch rewrites the newest
# postings blob of each of its terms, the same blobs batch after batch, so a longer WAL copies
# each once per checkpoint (SQLite's default of 1,000 pages copied them at every commit). At
# 100k articles, 1,000 articles' ingest: index commits 2.7 s -> 1.2 s of CPU, 8.0 -> 4.7 GB
# written (docs/benchmarks.md, issue 13). 16,384 -> 65,536 pages: writing 6,000 more articles
# into a 100k index in batches of 128, 13.8/15.4 s -> 12.4/13.6 s (two runs each; the commits
# 0.51-0.64 -> 0.29 ms per article). The WAL file grows to about 256 MB during a bulk ingest
# and is cut back to WAL_KEPT_BYTES after each checkpoint.
WAL_CHECKPOINT_PAGES = 65536
WAL_KEPT_BYTES = 64 * 1024 * 1024
_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)  # INSERT ... RETURNING
# room kept in the array of mean vectors for articles to come, as a share of those held: a
# catch-up appends in place, and the whole array is copied once per this much growth (at
# 100,000 articles, once per 12,500 new ones)
MEANS_ROOM = 0.125
DENSE_BLOCK = 16384  # mean vectors compared with a story per step (bounds the step's similarity matrix)

MEANS_AFTER = "SELECT doc, mean FROM vectors WHERE doc > ? ORDER BY doc LIMIT ?"  # read from vectors_mean

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    version TEXT NOT NULL,
    length INTEGER NOT NULL,
    terms TEXT NOT NULL
);
-- which texts are held, by version (the text hash's first 12 characters): an ingest asks before
-- it embeds (Chroma's metadata filter reads in proportion to the store: 10-17 ms at 100k articles)
CREATE INDEX IF NOT EXISTS docs_version ON docs (version);
CREATE TABLE IF NOT EXISTS postings (term TEXT NOT NULL, block INTEGER NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS postings_key ON postings (term, block);
CREATE TABLE IF NOT EXISTS fresh (term TEXT NOT NULL, block INTEGER NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS fresh_key ON fresh (term, block);
CREATE TABLE IF NOT EXISTS recent (term TEXT NOT NULL, block INTEGER NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS recent_key ON recent (term, block);
CREATE TABLE IF NOT EXISTS vocab (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, df INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dfhist (df INTEGER PRIMARY KEY, terms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vectors (
    doc INTEGER PRIMARY KEY, mean BLOB NOT NULL, chunks BLOB NOT NULL, spans BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_doc ON vectors (doc); -- counts and rowid lists without walking the blobs
-- the mean vectors in doc order without walking the chunk vectors beside them in the table's
-- pages: a check process reads all of them once (0.38 s from the table at 114k articles, 0.22 s
-- from this index; 67 MB more on disk, 6%); made once, by the first process to open an index from before
CREATE INDEX IF NOT EXISTS vectors_mean ON vectors (doc, mean);
"""


@dataclass(frozen=True)
class ChunkVectors:
    """An article's chunk vectors (rows, L2-normalised) and each chunk's (index, start, end)."""

    vectors: np.ndarray
    spans: np.ndarray

    def mean(self) -> np.ndarray:
        m = self.vectors.astype(np.float32).mean(axis=0)
        return m / (np.linalg.norm(m) or 1.0)


class PersistentLexicalIndex:
    """BM25 over whole articles in a SQLite file (``":memory:"`` for a private one)."""

    def __init__(self, path: Path | str = ":memory:", *, k1: float = 1.2, b: float = 0.75) -> None:
        self.path = str(path)
        self.k1 = k1
        self.b = b
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None)
        self._mutex = threading.RLock()
        with self._mutex:
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
                self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
                self._db.execute(f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._migrate()
        self._seen: tuple[int, int] | None = None
        self._idf: dict[str, float | None] = {}
        self._median: float | None = None
        self._stats: tuple[int, float] = (0, 1.0)
        # the articles' mean vectors, in doc order: the first rows of an array with room for more
        self._means = np.zeros((0, 0), dtype=np.float32)
        self._mean_docs = np.zeros(0, dtype=np.int64)  # their docs' rowids
        self._means_seen: tuple[int, int] | None = None
        self._refresh()

    def _migrate(self) -> None:
        """An index from before: made as it is now, once (in one transaction, which another
        process opening it waits for). Its vocabulary keyed by term becomes one stored in the
        order terms were first seen (most frequent first), and its histogram of frequencies is
        made from the vocabulary, replacing the index by frequency."""
        vocab = self._db.execute("SELECT sql FROM sqlite_master WHERE name = 'vocab'").fetchone()
        by_df = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'vocab_df'").fetchone()
        if "WITHOUT ROWID" not in str(vocab[0]).upper() and by_df is None:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DROP INDEX IF EXISTS vocab_df")
            vocab = self._db.execute("SELECT sql FROM sqlite_master WHERE name = 'vocab'").fetchone()
            if "WITHOUT ROWID" in str(vocab[0]).upper():  # looked at again: another process may have done it
                self._db.execute(
                    "CREATE TABLE vocab_new (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, df INTEGER NOT NULL)"
                )
                self._db.execute("INSERT INTO vocab_new (term, df) SELECT term, df FROM vocab ORDER BY df DESC")
                self._db.execute("DROP TABLE vocab")
                self._db.execute("ALTER TABLE vocab_new RENAME TO vocab")
            self._db.execute("DELETE FROM dfhist")
            self._db.execute("INSERT INTO dfhist (df, terms) SELECT df, count(*) FROM vocab GROUP BY df")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ---- changes -------------------------------------------------------------------------

    def apply(
        self,
        added: Iterable[tuple[str, str, str]] = (),
        removed: Iterable[str] = (),
        vectors: Mapping[str, ChunkVectors] | None = None,
    ) -> int:
        """Store (id, version, text) with the id's chunk vectors (when given) and remove ids, in
        one transaction; returns how many documents changed (an id already stored at that
        version is left as it is, but takes in its vectors if it had none)."""
        vectors = vectors or {}
        with self._write() as db:
            changed = 0
            for article_id in removed:
                changed += self._remove(db, article_id)
            new: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
            for article_id, version, text in added:
                row = db.execute("SELECT version, rowid FROM docs WHERE id = ?", (article_id,)).fetchone()
                if row is not None and row[0] == version:
                    if article_id in vectors:
                        self._put_vectors(db, int(row[1]), vectors[article_id], replace=False)
                    continue
                if row is not None:
                    self._remove(db, article_id)
                counts = Counter(terms(text))
                length = sum(counts.values())
                cur = db.execute(
                    "INSERT INTO docs (id, version, length, terms) VALUES (?, ?, ?, ?)",
                    (article_id, version, length, "\n".join(counts)),
                )
                doc = int(cur.lastrowid or 0)
                if article_id in vectors:
                    self._put_vectors(db, doc, vectors[article_id], replace=True)
                for t, tf in counts.items():
                    new.setdefault((t, doc // BLOCK), []).append((doc, tf, length))
                self._bump(db, 1, length)
                changed += 1
            self._append(db, new)
            return changed

    def _put_vectors(self, db: sqlite3.Connection, doc: int, cv: ChunkVectors, *, replace: bool) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        db.execute(
            f"{verb} INTO vectors (doc, mean, chunks, spans) VALUES (?, ?, ?, ?)",  # noqa: S608 (fixed verbs)
            (
                doc,
                cv.mean().astype(np.float16).tobytes(),
                np.ascontiguousarray(cv.vectors, dtype=np.float16).tobytes(),
                np.ascontiguousarray(cv.spans, dtype=np.int32).tobytes(),
            ),
        )

    def _append(self, db: sqlite3.Connection, new: dict[tuple[str, int], list[tuple[int, int, int]]]) -> None:
        """Add postings to their (term, block) blobs and count them in the terms' frequencies.
        A (term, block) blob is updated where it is, ``fresh`` first, else ``postings`` (an
        index from before holds its newest block there); new blobs go to ``fresh``, and the
        blocks before the newest one written move to ``recent``."""
        keys = sorted(new)
        old: dict[tuple[str, int], tuple[str, bytes]] = {}  # where each blob is, and its data
        for block in sorted({k[1] for k in keys}):
            in_block = [t for t, b in keys if b == block]
            for i in range(0, len(in_block), 500):
                part = in_block[i : i + 500]
                for table in ("fresh", "postings"):  # postings: only for the terms fresh lacks
                    part = [t for t in part if (t, block) not in old]
                    if not part:
                        break
                    marks = ",".join("?" * len(part))
                    sql = f"SELECT term, data FROM {table} WHERE block = ? AND term IN ({marks})"  # noqa: S608
                    old.update(((t, block), (table, d)) for t, d in db.execute(sql, [block, *part]))
        for table in ("fresh", "postings"):
            db.executemany(  # blobs of over a page: rowid tables, so a key lookup does not walk them
                f"UPDATE {table} SET data = ? WHERE term = ? AND block = ?",  # noqa: S608 (fixed table names)
                (
                    (old[t, b][1] + np.array(new[t, b], dtype=np.int32).tobytes(), t, b)
                    for t, b in keys
                    if (t, b) in old and old[t, b][0] == table
                ),
            )
        db.executemany(
            "INSERT INTO fresh (term, block, data) VALUES (?, ?, ?)",
            ((t, b, np.array(new[t, b], dtype=np.int32).tobytes()) for t, b in keys if (t, b) not in old),
        )
        if keys:
            self._seal(db, max(b for _, b in keys))
        df = Counter[str]()
        for (t, _), rows in new.items():
            df[t] += len(rows)
        self._add_df(db, df)

    @staticmethod
    def _seal(db: sqlite3.Connection, newest: int) -> None:
        """Move the blobs of blocks before ``newest`` from ``fresh`` to ``recent``: documents
        get ever larger rowids, so no new article goes to them (a removal still changes them);
        and once ``recent`` holds MERGE_BLOCKS blocks, all of them to ``postings``."""
        if db.execute("SELECT 1 FROM fresh WHERE block < ? LIMIT 1", (newest,)).fetchone() is None:
            return
        _move(db, "fresh", "recent", "WHERE block < ?", (newest,))
        if int(db.execute("SELECT count(DISTINCT block) FROM recent").fetchone()[0]) >= MERGE_BLOCKS:
            _move(db, "recent", "postings")

    def _add_df(self, db: sqlite3.Connection, delta: Mapping[str, int]) -> None:
        """Change terms' document frequencies (a term at 0 leaves the vocabulary), and the
        histogram of frequencies with them."""
        # in term order: the unique index by term is then walked from one end to the other, a
        # page read once for all of a batch's terms on it (a 100k index, batches of 128: 0.36 ->
        # 0.25 ms per article; 2k: 0.16 -> 0.11)
        after = self._upsert_df(db, sorted(delta.items()))
        hist = Counter[int]()
        for t, d in delta.items():
            hist[after[t] - d] -= 1
            hist[after[t]] += 1
        gone = [(t,) for t, d in delta.items() if after[t] <= 0]
        if gone:
            db.executemany("DELETE FROM vocab WHERE term = ?", gone)
        db.executemany(
            "INSERT INTO dfhist (df, terms) VALUES (?, ?) "
            "ON CONFLICT (df) DO UPDATE SET terms = terms + excluded.terms",
            [(f, n) for f, n in hist.items() if f > 0 and n],
        )
        if any(n < 0 for f, n in hist.items() if f > 0):
            db.execute("DELETE FROM dfhist WHERE terms <= 0")

    def _upsert_df(self, db: sqlite3.Connection, delta: list[tuple[str, int]]) -> dict[str, int]:
        """Add to terms' frequencies; their frequencies after (one statement per 400 terms that
        returns them, where SQLite has RETURNING: 3.35, 2021; else read first)."""
        after: dict[str, int] = {}
        for i in range(0, len(delta), 400):
            part = delta[i : i + 400]
            if _RETURNING:
                values = ",".join(["(?, ?)"] * len(part))
                sql = (
                    f"INSERT INTO vocab (term, df) VALUES {values} "  # noqa: S608 (placeholders only)
                    "ON CONFLICT (term) DO UPDATE SET df = df + excluded.df RETURNING term, df"
                )
                after.update(db.execute(sql, [x for pair in part for x in pair]).fetchall())
                continue
            marks = ",".join("?" * len(part))
            before = dict(db.execute(f"SELECT term, df FROM vocab WHERE term IN ({marks})", [t for t, _ in part]))  # noqa: S608
            db.executemany(
                "INSERT INTO vocab (term, df) VALUES (?, ?) ON CONFLICT (term) DO UPDATE SET df = df + excluded.df",
                part,
            )
            after.update((t, before.get(t, 0) + d) for t, d in part)
        return after

    def _remove(self, db: sqlite3.Connection, article_id: str) -> int:
        row = db.execute("SELECT rowid, length, terms FROM docs WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            return 0
        doc, length, doc_terms = int(row[0]), int(row[1]), str(row[2])
        words = doc_terms.split("\n") if doc_terms else []
        for t in words:
            for table in ("fresh", "recent", "postings"):  # each: a blob an older factdiff wrote may be in two
                sql = f"SELECT data FROM {table} WHERE term = ? AND block = ?"  # noqa: S608 (fixed table names)
                old = db.execute(sql, (t, doc // BLOCK)).fetchone()
                if old is None:
                    continue
                arr = np.frombuffer(old[0], dtype=np.int32).reshape(-1, 3)
                kept = arr[arr[:, 0] != doc]
                if len(kept):
                    sql = f"UPDATE {table} SET data = ? WHERE term = ? AND block = ?"  # noqa: S608
                    db.execute(sql, (kept.tobytes(), t, doc // BLOCK))
                else:
                    db.execute(f"DELETE FROM {table} WHERE term = ? AND block = ?", (t, doc // BLOCK))  # noqa: S608
        self._add_df(db, dict.fromkeys(words, -1))
        db.execute("DELETE FROM docs WHERE rowid = ?", (doc,))
        db.execute("DELETE FROM vectors WHERE doc = ?", (doc,))
        self._bump(db, -1, -length)
        return 1

    def _bump(self, db: sqlite3.Connection, docs: int, length: int) -> None:
        for key, delta in (("docs", docs), ("length", length)):
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
                (key, str(delta)),
            )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._refresh()

    def clear(self) -> None:
        with self._write() as db:
            for table in ("docs", "postings", "recent", "fresh", "vocab", "dfhist", "meta", "vectors"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed table names)

    # ---- bookkeeping for whoever keeps it in step with the store ----------------------------

    def versions(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """The stored version of each id (of every document when ``ids`` is None)."""
        with self._mutex:
            if ids is None:
                return dict(self._db.execute("SELECT id, version FROM docs").fetchall())
            out: dict[str, str] = {}
            for b in range(0, len(ids), 500):
                part = list(ids[b : b + 500])
                marks = ",".join("?" * len(part))
                out.update(self._db.execute(f"SELECT id, version FROM docs WHERE id IN ({marks})", part).fetchall())  # noqa: S608
            return out

    def held(self, versions: Iterable[str]) -> set[str]:
        """Which of ``versions`` some document is stored at."""
        wanted = sorted(set(versions))
        out: set[str] = set()
        with self._mutex:
            for b in range(0, len(wanted), 500):
                part = wanted[b : b + 500]
                marks = ",".join("?" * len(part))
                sql = f"SELECT DISTINCT version FROM docs WHERE version IN ({marks})"  # noqa: S608
                out.update(str(r[0]) for r in self._db.execute(sql, part).fetchall())
        return out

    def get_meta(self, key: str) -> str | None:
        with self._mutex:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str, *, wait: bool = True) -> bool:
        """Store a bookkeeping value. With ``wait=False`` it is not stored (returns False) while
        another process is writing the file: a check must not wait for an ingest's batch to
        commit only to note where it looked (up to 180 ms at 20k articles, batches of 128)."""
        with self._mutex, self._patience(BUSY_TIMEOUT if wait else 0.0):
            try:
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            except sqlite3.OperationalError as exc:
                if wait or "locked" not in str(exc):
                    raise
                return False
        return True

    def set_metas(self, values: Mapping[str, str]) -> None:
        """Store bookkeeping values in one transaction."""
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items()))

    @contextmanager
    def _patience(self, seconds: float) -> Iterator[None]:
        """How long this connection's statements wait for another process's lock, for the block."""
        if seconds != BUSY_TIMEOUT:
            self._db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        try:
            yield
        finally:
            if seconds != BUSY_TIMEOUT:
                self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")

    def identity(self) -> str:
        """This index file's own id (made at first use; every process using the file shares it):
        what its writers tag their change-log records with, so that its readers skip them."""
        with self._mutex:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
            if row is not None:  # read first: made once, and a write would wait for another process's
                return str(row[0])
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('identity', ?)", (uuid.uuid4().hex,))
            return str(self._db.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()[0])

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the file and cut it to nothing: at the end of an ingest
        (during one it grows to WAL_CHECKPOINT_PAGES, 256 MB, whatever the index's size). False
        when another process's read or write kept it from finishing (nobody waits for it: the
        next checkpoint does it)."""
        if self.path == ":memory:":
            return True
        with self._mutex, self._patience(0.0):
            try:
                return int(self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]) == 0
            except sqlite3.OperationalError:
                return False

    def disk_bytes(self) -> int:
        if self.path == ":memory:":
            return 0
        return sum(p.stat().st_size for p in Path(self.path).parent.glob(Path(self.path).name + "*") if p.is_file())

    # ---- reading -----------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Forget cached IDFs when the file changed (here or in another process)."""
        with self._mutex:
            data_version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            total = int(self._db.total_changes)
            if self._seen == (data_version, total):
                return
            self._seen = (data_version, total)
            rows = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('docs', 'length')").fetchall())
            n = int(rows.get("docs", 0))
            self._stats = (n, int(rows.get("length", 0)) / n if n else 1.0)
            self._idf = {}
            self._median = None

    def refresh(self) -> PersistentLexicalIndex:
        """This index, after taking in what other processes changed in the file."""
        self._refresh()
        return self

    def __len__(self) -> int:
        return self._stats[0]

    def _df(self, term: str) -> int | None:
        with self._mutex:
            row = self._db.execute("SELECT df FROM vocab WHERE term = ?", (term,)).fetchone()
        return None if row is None else int(row[0])

    def _idf_of(self, df: int) -> float:
        # The document count is read when the file changed; a term's frequency (or postings) is
        # read later, and another process may have committed documents in between: a term in
        # every document then counted more documents than the count, and its IDF came out
        # negative (log of less than 1). A check during an ingest could sum such weights into a
        # coverage share below zero and rank a look-alike above the original. In any one
        # state of the file the count is at least the frequency, so it is taken as such.
        n = max(self._stats[0], df)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _lookup(self, term: str) -> float | None:
        if term not in self._idf:
            df = self._df(term)
            self._idf[term] = None if df is None else self._idf_of(df)
        return self._idf[term]

    def idf(self, term: str) -> float:
        """Inverse document frequency; unseen terms get the maximum."""
        value = self._lookup(term)
        return math.log(1 + (self._stats[0] + 0.5) / 0.5) if value is None else value

    def known(self, term: str) -> bool:
        return self._lookup(term) is not None

    @property
    def median_idf(self) -> float:
        """The median IDF over the vocabulary (the middle of the terms ordered by frequency)."""
        if self._median is None:
            with self._mutex:
                hist = self._db.execute("SELECT df, terms FROM dfhist ORDER BY df").fetchall()
            count = sum(int(n) for _, n in hist)
            if not count:
                return 1.0
            middle = [(count - 1) // 2, count // 2]  # one term when the count is odd, else two
            dfs, seen = [], 0
            for df, n in hist:
                seen += int(n)
                while middle and middle[0] < seen:
                    dfs.append(int(df))
                    middle.pop(0)
            self._median = sum(self._idf_of(d) for d in dfs) / len(dfs)
        return self._median

    def _postings(self, term: str) -> np.ndarray:
        with self._mutex:
            sql = (
                "SELECT data FROM postings WHERE term = ? UNION ALL SELECT data FROM recent WHERE term = ? "
                "UNION ALL SELECT data FROM fresh WHERE term = ?"
            )
            blobs = [r[0] for r in self._db.execute(sql, (term, term, term)).fetchall()]
        if not blobs:
            return np.zeros((0, 3), dtype=np.int32)
        return np.frombuffer(b"".join(blobs), dtype=np.int32).reshape(-1, 3)

    def search(self, text: str, top_k: int = 20) -> list[tuple[str, float]]:
        """The ``top_k`` documents for ``text``, best first, with BM25 scores > 0."""
        n, avgdl = self._stats
        if not n:
            return []
        k1, b = self.k1, self.b
        # One score per document rowid, added to term by term: a term's postings are let go
        # before the next term's are read, so a check holds one term's postings (common terms
        # of a 100k archive: tens of thousands of rows) and this array, never all of them.
        total = np.zeros(0, dtype=np.float32)
        for t, qtf in Counter(terms(text)).items():
            post = self._postings(t)
            if not len(post):
                continue
            freqs = post[:, 1].astype(np.float32)
            lengths = post[:, 2].astype(np.float32)
            norm = k1 * (1 - b + b * lengths / max(avgdl, 1.0))
            weight = self._idf_of(len(post)) * (1 + math.log(qtf)) * freqs * (k1 + 1) / (freqs + norm)
            docs = post[:, 0]
            top_doc = int(docs.max())
            if top_doc >= len(total):
                total = np.concatenate([total, np.zeros(top_doc + 1 - len(total) + len(total) // 2, dtype=np.float32)])
            total[docs] += weight.astype(np.float32)  # a document appears once in a term's postings
        hit = np.flatnonzero(total > 0)
        if not len(hit):
            return []
        k = min(top_k, len(hit))
        top = hit[np.argpartition(-total[hit], k - 1)[:k]]
        top = top[np.lexsort((top, -total[top]))]  # best first; ties in storing order
        scores = {int(d): float(total[d]) for d in top}
        if not scores:
            return []
        with self._mutex:
            marks = ",".join("?" * len(scores))
            ids = dict(
                self._db.execute(f"SELECT rowid, id FROM docs WHERE rowid IN ({marks})", list(scores)).fetchall()  # noqa: S608
            )
        return [(ids[d], s) for d, s in scores.items() if d in ids]

    # ---- vectors -----------------------------------------------------------------------------

    def missing_vectors(self) -> list[str]:
        """Ids of the documents stored without their chunk vectors (an index from before they
        were kept here, or a write that gave none)."""
        with self._mutex:
            n_docs = int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])
            n_vecs = int(self._db.execute("SELECT count(*) FROM vectors").fetchone()[0])
            if n_docs == n_vecs:
                return []
            rows = self._db.execute("SELECT id FROM docs WHERE rowid NOT IN (SELECT doc FROM vectors)").fetchall()
        return [str(r[0]) for r in rows]

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, tuple[str, ChunkVectors]]:
        """The stored version and chunk vectors (as float32) of each of ``ids`` that has them."""
        out: dict[str, tuple[str, ChunkVectors]] = {}
        with self._mutex:
            for b in range(0, len(ids), 500):
                part = list(ids[b : b + 500])
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    "SELECT d.id, d.version, v.chunks, v.spans FROM docs d JOIN vectors v ON v.doc = d.rowid "  # noqa: S608
                    f"WHERE d.id IN ({marks})",
                    part,
                ).fetchall()
                for aid, version, chunks, spans in rows:
                    sp = np.frombuffer(spans, dtype=np.int32).reshape(-1, 3)
                    vec = np.frombuffer(chunks, dtype=np.float16).reshape(len(sp), -1).astype(np.float32)
                    out[str(aid)] = (str(version), ChunkVectors(vec, sp))
        return out

    def nearest(self, queries: np.ndarray, k: int) -> dict[str, float]:
        """Dense candidates: the ``k`` articles whose mean vector is nearest to each query
        vector (rows, L2-normalised), with each one's best cosine similarity."""
        with self._mutex:  # one consistent pair (another thread may take in newer ones)
            self._load_means()
            means, mean_docs = self._means, self._mean_docs
        n = len(mean_docs)
        if not n or not len(queries):
            return {}
        q = np.asarray(queries, dtype=np.float32)
        k = min(k, n)
        best_docs = np.zeros((len(q), 0), dtype=np.int64)
        best_sims = np.zeros((len(q), 0), dtype=np.float32)
        for b in range(0, n, DENSE_BLOCK):
            sims = q @ means[b : b + DENSE_BLOCK].T
            docs = np.broadcast_to(mean_docs[b : b + DENSE_BLOCK], sims.shape)
            sims = np.concatenate([best_sims, sims], axis=1)
            docs = np.concatenate([best_docs, docs], axis=1)
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            best_sims = np.take_along_axis(sims, top, axis=1)
            best_docs = np.take_along_axis(docs, top, axis=1)
        best: dict[int, float] = {}
        for d, sim in zip(best_docs.ravel().tolist(), best_sims.ravel().tolist(), strict=True):
            best[d] = max(best.get(d, -1.0), sim)
        with self._mutex:
            marks = ",".join("?" * len(best))
            ids = dict(
                self._db.execute(f"SELECT rowid, id FROM docs WHERE rowid IN ({marks})", list(best)).fetchall()  # noqa: S608
            )
        return {str(ids[d]): s for d, s in sorted(best.items(), key=lambda x: -x[1]) if d in ids}

    def _load_means(self) -> None:
        """Take in the mean vectors written since the last look (here or by another process):
        a new or updated article has a new, higher doc rowid; removals are dropped by rowid.

        The array keeps room for MEANS_ROOM more (unused room is address space, not memory):
        copying every mean into a new array at each catch-up cost the first check after
        another process's batch 30 ms at 100,000 articles, and a copy into a new array
        300 ms when its pages were new to the process (``python -m benchmarks.dense``). New
        rows go after those a search may be reading (it never looks past them); a removal
        compacts into a new array, since a search may be reading the old one."""
        self._refresh()
        with self._mutex:
            if self._means_seen == self._seen:
                return
            last = int(self._mean_docs[-1]) if len(self._mean_docs) else 0
            docs, means = self._read_means(last)
            if len(docs):
                self._append_means(means)
                self._mean_docs = np.concatenate([self._mean_docs, docs])
            total = int(self._db.execute("SELECT count(*) FROM vectors").fetchone()[0])
            if total != len(self._mean_docs):
                keep = np.array([r[0] for r in self._db.execute("SELECT doc FROM vectors")], dtype=np.int64)
                mask = np.isin(self._mean_docs, keep)
                kept = int(mask.sum())
                room = _with_room(kept, self._means.shape[1])
                self._means = np.compress(mask, self._means, axis=0, out=room[:kept])
                self._mean_docs = self._mean_docs[mask]
            if total != len(self._mean_docs):  # vectors added to older documents: read them all again
                self._mean_docs, self._means = self._read_means(0)
            self._means_seen = self._seen

    def _read_means(self, after: int, page: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """The docs after rowid ``after`` and their mean vectors, read a page at a time into
        one array with room for more (no Python object per article is held at once)."""
        n = int(self._db.execute("SELECT count(*) FROM vectors WHERE doc > ?", (after,)).fetchone()[0])
        first = self._db.execute("SELECT mean FROM vectors WHERE doc > ? LIMIT 1", (after,)).fetchone()
        if not n or first is None:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        docs = np.zeros(n, dtype=np.int64)
        means = _with_room(n, len(first[0]) // 2)
        cur = self._db.execute(MEANS_AFTER, (after, n))
        at = 0
        while rows := cur.fetchmany(page):
            docs[at : at + len(rows)] = [r[0] for r in rows]
            means[at : at + len(rows)] = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(
                len(rows), -1
            )
            at += len(rows)
        return docs[:at], means[:at]

    def _append_means(self, new: np.ndarray) -> None:
        """Append ``new`` (as :meth:`_read_means` returns them: the first rows of an array with
        room) after the held means, in the room of the array they are the first rows of."""
        n = len(self._means)
        if not n:  # the first read: its array has room already
            self._means = new
            return
        held = self._means if self._means.base is None else self._means.base
        if n + len(new) > len(held) or held.shape[1] != new.shape[1]:
            held = _with_room(n + len(new), new.shape[1])
            held[:n] = self._means
        held[n : n + len(new)] = new
        self._means = held[: n + len(new)]

    def close(self) -> None:
        with self._mutex:
            self._db.close()


def _move(db: sqlite3.Connection, source: str, target: str, where: str = "", args: tuple[int, ...] = ()) -> None:
    """Move postings blobs from one table to another in one sorted insert; a blob the target
    holds already (written there by a factdiff from before) is joined."""
    db.execute(
        f"INSERT INTO {target} (term, block, data) SELECT term, block, data FROM {source} {where} "  # noqa: S608 (fixed names)
        "ORDER BY term, block ON CONFLICT (term, block) DO UPDATE SET data = CAST(data || excluded.data AS BLOB)",
        args,
    )
    db.execute(f"DELETE FROM {source} {where}", args)  # noqa: S608 (fixed names)


def _with_room(rows: int, dim: int) -> np.ndarray:
    """An array for ``rows`` mean vectors and MEANS_ROOM more (untouched rows take no memory)."""
    return np.empty((max(rows, int(rows * (1 + MEANS_ROOM))), dim), dtype=np.float32)
