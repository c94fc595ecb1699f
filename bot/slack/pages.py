"""Report pages served by the bot in HTTP mode: ``GET /reports/<id>``.

A page is kept as a file under the data directory, named by a random, unguessable id (192
bits from :mod:`secrets`), for a configurable number of days; an expired page is deleted
when it is next asked for, and every new page sweeps the expired ones. Whoever has the link
can read the page, as with a Slack file link: the id is the secret, so it is never logged.

:func:`respond` is the whole HTTP side, with no server in it: a path in, a status, headers and
body out (or None when the path is not a report's), so any server can mount it in a few lines.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from checker.html import page_csp

log = logging.getLogger(__name__)

PREFIX = "/reports/"
_ID = re.compile(r"[A-Za-z0-9_-]{32}")  # token_urlsafe(24): 24 random bytes, 32 characters


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ReportPages:
    """HTML pages in ``folder``, each readable for ``days`` after it was written."""

    def __init__(self, folder: Path, days: float, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.seconds = days * 86_400
        self.clock = clock

    def put(self, html: str) -> str:
        """Store a page; its new random id."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sweep()
        page_id = secrets.token_urlsafe(24)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".html")  # private (0600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(html.encode("utf-8"))
            os.utime(tmp, (self.clock(), self.clock()))
            os.replace(tmp, self._path(page_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return page_id

    def get(self, page_id: str) -> bytes | None:
        """The page, or None when the id is malformed, unknown or expired (an expired page is deleted)."""
        if not _ID.fullmatch(page_id):
            return None
        path = self._path(page_id)
        try:
            if self._expired(path):
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def sweep(self) -> int:
        """Delete the expired pages (and temporary files left by a crash); how many went."""
        gone = 0
        for path in self.folder.glob("*.html") if self.folder.is_dir() else ():
            try:
                if self._expired(path):
                    path.unlink()
                    gone += 1
            except FileNotFoundError:
                continue
        if gone:
            log.info("deleted %d expired report page(s)", gone)
        return gone

    def _path(self, page_id: str) -> Path:
        return self.folder / f"{page_id}.html"

    def _expired(self, path: Path) -> bool:
        return self.clock() - path.stat().st_mtime >= self.seconds

    def url(self, public_url: str, page_id: str) -> str:
        return f"{public_url.rstrip('/')}{PREFIX}{page_id}"


_NOT_FOUND = b"No such report: it may have expired.\n"


def respond(pages: ReportPages, method: str, path: str) -> Response | None:
    """The answer to a request for ``path``, or None when it is not under ``/reports/``."""
    if not path.startswith(PREFIX):
        return None
    if method not in ("GET", "HEAD"):
        return Response(405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")], b"GET only\n")
    page = pages.get(path[len(PREFIX) :])
    if page is None:
        return Response(404, [("Content-Type", "text/plain; charset=utf-8"), *_PRIVATE], _NOT_FOUND)
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Security-Policy", page_csp()),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        *_PRIVATE,
    ]
    return Response(200, headers, b"" if method == "HEAD" else page)


_PRIVATE = [("Cache-Control", "private, no-store"), ("X-Robots-Tag", "noindex, nofollow")]
