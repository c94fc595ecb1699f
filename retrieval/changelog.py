"""The store's change log: which articles were stored or removed, and when.

Every write to the store appends a record to a small Chroma collection
(``<prefix>-changes-<space>``) right after its commit point, naming the articles it stored or
removed (up to ``ENTRIES_PER_RECORD`` a record; a store from before holds one record per
article, which readers still take in). A process that keeps its own
copy of something derived from the stored texts (the lexical index on a machine that talks
to a Chroma server) catches up by reading the records since it last looked, instead of
every stored article. Records carry the writer's clock; readers look back ``MARGIN``
seconds further than the last record they saw, so a slow write or a skewed clock on another
machine is still seen (taking a change in twice is harmless).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MARGIN = 30.0  # seconds a reader of a Chroma server's log looks back past the newest record it has seen
PAGE = 5000
# articles named in one record: a write of 32 articles adds one record, where a record per
# article put as many rows in Chroma's SQLite file (and its metadata indexes) as articles
ENTRIES_PER_RECORD = 256


@dataclass(frozen=True)
class Change:
    article_id: str
    version: str  # the stored text's version ("" for a removal)
    at: float


class ChangeLog:
    """Append-only records of stored and removed articles in a Chroma collection."""

    def __init__(self, collection: Any, call: Callable[[Callable[[], Any]], Any]) -> None:
        self.collection = collection
        self._call = call

    def record(self, stored: Sequence[tuple[str, str]] = (), removed: Sequence[str] = (), writer: str = "") -> None:
        """Log (article id, version) pairs as stored and ids as removed; ``writer``: the search
        index that holds them already (its readers need not read them back)."""
        entries = [[aid, version] for aid, version in stored] + [[aid, ""] for aid in removed]
        if not entries:
            return
        at = time.time()
        tag = {"writer": writer} if writer else {}
        parts = [entries[i : i + ENTRIES_PER_RECORD] for i in range(0, len(entries), ENTRIES_PER_RECORD)]
        self._call(
            lambda: self.collection.add(
                ids=[uuid.uuid4().hex for _ in parts],
                embeddings=[[1.0]] * len(parts),  # Chroma wants a vector; the log is read by time only
                metadatas=[{"entries": json.dumps(part, ensure_ascii=False), "at": at, **tag} for part in parts],
            )
        )

    def since(self, at: float, skip: str = "") -> Iterator[Change]:
        """Every change recorded at or after ``at`` (in no particular order), but those that
        the writer ``skip`` recorded (filtered by the store: they are never sent)."""
        where: dict[str, Any] = {"at": {"$gte": at}}
        if skip:
            where = {"$and": [where, {"writer": {"$ne": skip}}]}
        offset = 0
        while True:
            res = self._call(
                lambda offset=offset: self.collection.get(  # type: ignore[misc]
                    where=where, include=["metadatas"], limit=PAGE, offset=offset
                )
            )
            if not res["ids"]:
                return
            for m in res["metadatas"]:
                yield from _changes(m)
            if len(res["ids"]) < PAGE:  # the last page (a Chroma server's round trip saved)
                return
            offset += len(res["ids"])

    def wrote_since(self, at: float, writer: str) -> bool:
        """Whether ``writer`` recorded a change at or after ``at``."""
        res = self._call(
            lambda: self.collection.get(where={"$and": [{"at": {"$gte": at}}, {"writer": writer}]}, include=[], limit=1)
        )
        return bool(res["ids"])


def _changes(meta: dict[str, Any] | None) -> Iterator[Change]:
    """The changes one record names: a list of (id, version) entries, or (a store from before)
    one article's. A record of neither form (written by another program into the collection)
    is skipped with a warning: it must not stop every catch-up, and what it may have meant is
    healed by the reader's comparison of counts (an addition or removal) or the next write."""
    try:
        meta = meta or {}
        at = float(meta["at"])
        if "entries" in meta:
            pairs = [(str(aid), str(version)) for aid, version in json.loads(str(meta["entries"]))]
        else:
            pairs = [(str(meta["article_id"]), str(meta.get("version", "")))]
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("skipped a change-log record that is not factdiff's (%s): %.200r", exc, meta)
        return
    for aid, version in pairs:
        yield Change(aid, version, at)
