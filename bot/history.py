"""The record of what was checked: every check, who asked and where, what was found, and the
newsroom's feedback on each finding, in one SQLite file (``history.db`` in the data directory).

A standards editor can list the week's checks, print a report again, purge old ones, and
export the checks that got feedback as labelled cases in the format of the project's
evaluation sets (``gold.json``, ``cases/``, ``sources/``), with the bot's own reports beside
them (``reports/``), so that ``score.py gold.json reports`` scores the bot on them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.errors import ConfigError, InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id TEXT PRIMARY KEY,
    at REAL NOT NULL,             -- unix time the check finished
    origin TEXT NOT NULL,         -- 'slack' or 'cli'
    team TEXT, channel TEXT, user TEXT,
    story_hash TEXT NOT NULL,
    first_line TEXT NOT NULL,
    story TEXT NOT NULL,
    story_url TEXT,
    sources TEXT NOT NULL,        -- JSON list of {id, title, url, published}
    counts TEXT NOT NULL,         -- JSON {reworded, added, omitted}
    analyzer TEXT NOT NULL,
    duration REAL NOT NULL,
    report TEXT NOT NULL,         -- the JSON report (shared/eval/REPORT_FORMAT.md)
    report_text TEXT NOT NULL     -- the report as the CLI prints it
);
CREATE INDEX IF NOT EXISTS checks_at ON checks (at);
CREATE TABLE IF NOT EXISTS feedback (
    check_id TEXT NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    finding INTEGER NOT NULL,     -- index in the report's findings
    user TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('right', 'wrong')),
    at REAL NOT NULL,
    PRIMARY KEY (check_id, finding, user)
);
"""

VERDICTS = ("right", "wrong")


def new_check_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Asker:
    """Who asked and where: Slack ids, or the command line."""

    origin: str = "cli"
    team: str | None = None
    channel: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class CheckRecord:
    id: str
    at: float
    asker: Asker
    story: str
    story_url: str | None
    report: dict[str, Any]  # report_to_json
    report_text: str
    duration: float

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.story.splitlines() if line.strip()), "")[:200]


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the history database {path}: {exc}") from exc

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        try:
            with db:
                yield db
        finally:
            db.close()

    # ---- writing ------------------------------------------------------------------------

    def record(self, rec: CheckRecord) -> None:
        r = rec.report
        sources = [{k: s.get(k) for k in ("id", "title", "url", "published")} for s in r.get("sources", [])]
        counts = {k: sum(1 for f in r.get("findings", []) if f["kind"] == k) for k in ("reworded", "added", "omitted")}
        a = rec.asker
        with self._lock, self._db() as db:
            db.execute(
                "INSERT INTO checks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    rec.id,
                    rec.at,
                    a.origin,
                    a.team,
                    a.channel,
                    a.user,
                    hashlib.sha256(rec.story.encode("utf-8")).hexdigest(),
                    rec.first_line,
                    rec.story,
                    rec.story_url,
                    json.dumps(sources, ensure_ascii=False),
                    json.dumps(counts),
                    (r.get("analyzer") or {}).get("name") or "",
                    rec.duration,
                    json.dumps(r, ensure_ascii=False),
                    rec.report_text,
                ),
            )

    def add_feedback(self, check_id: str, finding: int, user: str, verdict: str) -> bool:
        """Store one user's verdict on one finding; False when that user already gave one."""
        if verdict not in VERDICTS:
            raise InputError(f"feedback must be one of {', '.join(VERDICTS)}")
        with self._lock, self._db() as db:
            if db.execute("SELECT 1 FROM checks WHERE id = ?", (check_id,)).fetchone() is None:
                raise InputError(f"no check {check_id} in the history (purged?)")
            cur = db.execute(
                "INSERT OR IGNORE INTO feedback VALUES (?,?,?,?,?)", (check_id, finding, user, verdict, time.time())
            )
            return cur.rowcount == 1

    def purge(self, before: float) -> int:
        with self._lock, self._db() as db:
            return db.execute("DELETE FROM checks WHERE at < ?", (before,)).rowcount

    def keep_days(self, days: int) -> int:
        """Retention: delete checks older than ``days``."""
        return self.purge(time.time() - days * 86400)

    # ---- reading ------------------------------------------------------------------------

    def checks(self, since: float | None = None) -> list[dict[str, Any]]:
        query = (
            "SELECT c.id, c.at, c.origin, c.team, c.channel, c.user, c.story_hash, c.first_line, c.story_url, "
            "c.sources, c.counts, c.analyzer, c.duration, "
            "(SELECT COUNT(*) FROM feedback f WHERE f.check_id = c.id AND f.verdict = 'right') AS right, "
            "(SELECT COUNT(*) FROM feedback f WHERE f.check_id = c.id AND f.verdict = 'wrong') AS wrong "
            "FROM checks c WHERE c.at >= ? ORDER BY c.at DESC"
        )
        with self._db() as db:
            rows = db.execute(query, (since or 0.0,)).fetchall()
        return [_row(r) for r in rows]

    def get(self, check_id: str) -> dict[str, Any]:
        """One check (an unambiguous prefix of its id will do), with its report and feedback."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM checks WHERE id LIKE ? || '%' LIMIT 2", (check_id,)).fetchall()
            if len(rows) != 1:
                what = "matches several checks" if rows else "is not in the history"
                raise InputError(f"check {check_id} {what}")
            fb = db.execute("SELECT * FROM feedback WHERE check_id = ? ORDER BY at", (rows[0]["id"],)).fetchall()
        out = _row(rows[0])
        out["report"] = json.loads(out["report"])
        out["feedback"] = [dict(f) for f in fb]
        return out

    def with_feedback(self) -> list[dict[str, Any]]:
        with self._db() as db:
            ids = [r[0] for r in db.execute("SELECT DISTINCT check_id FROM feedback ORDER BY check_id").fetchall()]
        return [self.get(i) for i in ids]


def _row(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    for key in ("sources", "counts"):
        if key in d:
            d[key] = json.loads(d[key])
    return d


# ---- export as labelled cases -------------------------------------------------------------


def _majority(votes: list[str]) -> str | None:
    right, wrong = votes.count("right"), votes.count("wrong")
    return "right" if right > wrong else "wrong" if wrong > right else None


def export_cases(history: History, out: Path, source_text: Callable[[str], dict[str, Any] | None]) -> tuple[int, int]:
    """Write the checks with feedback as labelled cases in ``out``; returns (cases, labels).

    A finding the newsroom called right becomes a label of its kind (omitted: an ``omitted``
    entry); a reworded or added finding called wrong becomes a ``supported`` label, an omitted
    one called wrong an ``omitted_optional`` entry. Ties are left out. ``source_text(id)``
    gives a stored article's title, published, url and text (None when it is gone).
    """
    for sub in ("cases", "sources", "reports"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    cases: list[dict[str, Any]] = []
    n_labels = 0
    for check in history.with_feedback():
        report = check["report"]
        findings = report.get("findings", [])
        source_files: dict[str, str] = {}
        for s in report.get("sources", []):
            art = source_text(s["id"])
            if art is None:
                continue
            name = f"sources/{s['id']}.txt"
            header = [f"Title: {art.get('title') or ''}"]
            header += [f"{k.title()}: {art[k]}" for k in ("published", "url") if art.get(k)]
            (out / name).write_text("\n".join(header) + "\n\n" + art["text"], encoding="utf-8")
            source_files[s["id"]] = name
        if not source_files:
            continue  # its originals were removed from the store: nothing to score against
        labels: list[dict[str, Any]] = []
        omitted: list[dict[str, Any]] = []
        optional: list[dict[str, Any]] = []
        votes: dict[int, list[str]] = {}
        for fb in check["feedback"]:
            votes.setdefault(fb["finding"], []).append(fb["verdict"])
        for index, vs in sorted(votes.items()):
            verdict = _majority(vs)
            if verdict is None or index >= len(findings):
                continue
            f = findings[index]
            src = f.get("source") or {}
            note = f"{len(vs)} editor(s) called this finding {verdict}: {f.get('explanation', '')}"
            if f["kind"] == "omitted":
                if src.get("id") not in source_files:
                    continue
                entry = {"source_file": source_files[src["id"]], "source_text": src["text"], "note": note}
                (omitted if verdict == "right" else optional).append(entry)
            elif f.get("story"):
                labels.append(
                    {
                        "story_text": f["story"]["text"],
                        "label": f["kind"] if verdict == "right" else "supported",
                        "source_file": source_files.get(src.get("id", "")),
                        "source_text": src.get("text"),
                        "note": note,
                    }
                )
        story_file = f"cases/check-{check['id']}.txt"
        (out / story_file).write_text(check["story"], encoding="utf-8")
        (out / "reports" / f"check-{check['id']}.json").write_text(
            json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        cases.append(
            {
                "story": story_file,
                "sources": list(source_files.values()),
                "labels": labels,
                "omitted": omitted,
                "omitted_optional": optional,
                "tests": f"feedback on factdiff check {check['id']} ({check['origin']})",
            }
        )
        n_labels += len(labels) + len(omitted) + len(optional)
    (out / "gold.json").write_text(json.dumps({"cases": cases}, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(cases), n_labels
