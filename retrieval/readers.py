"""Read primary sources from files: text and Markdown (with a header block), HTML, JSONL.

A text file may start with ``Key: value`` lines ended by a blank line::

    Title: Coalition of the Willing: ...
    Published: 2025-09-04
    URL: https://example.org/...
    Source: TASS

    PARIS, September 4. /TASS/. ...

Every reader either returns drafts or raises :class:`InputError` with one clear line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from retrieval.errors import ExtractionError, InputError
from retrieval.models import ArticleDraft, MetaValue

MAX_FILE_BYTES = 5_000_000
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
HEADER_KEYS = {
    "title": "title",
    "published": "published",
    "date": "published",
    "url": "url",
    "link": "url",
    "source": "source",
    "author": "author",
    "byline": "author",
    "id": "id",
}
MAX_EXTRA_CHARS = 1000
_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z _-]{0,30}):\s*(.*?)\s*$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%d %b %Y", "%B %d %Y")


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, refusing folders, unreadable, oversized and empty files."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InputError(f"{path}: not a file")
        if size > limit:
            raise InputError(f"{path}: {size:,} bytes is over the {limit:,}-byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise InputError(f"{path}: the file is empty")
    return data


def decode_text(data: bytes, origin: str) -> str:
    """UTF-8 text (BOM allowed); binary and other encodings are refused, not guessed."""
    if b"\x00" in data[:8192]:
        raise InputError(f"{origin}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{origin}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert it first, e.g. iconv -f WINDOWS-1252 -t UTF-8"
        ) from exc
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.01 * min(len(text), 8192):
        raise InputError(f"{origin}: looks like a binary file, not text")
    if not text.strip():
        raise InputError(f"{origin}: the file is empty")
    return text


def normalise_date(value: str | None) -> str | None:
    """ISO ``YYYY-MM-DD`` (or the full ISO timestamp) when recognisable, else the raw text."""
    if not value or not value.strip():
        return None
    raw = value.strip()
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date().isoformat()
        except ValueError:
            continue
    return raw


def parse_text_source(text: str, origin: str = "", *, markdown: bool = False) -> ArticleDraft:
    """A text or Markdown source with an optional header block."""
    fields, extra, body = _split_header(text)
    body = body.strip()
    if not body:
        raise InputError(f"{origin}: no article text after the header")
    title = fields.get("title", "")
    if not title:
        first = body.splitlines()[0].strip()
        if markdown and first.startswith("#"):
            title = first.lstrip("#").strip()
            body = body[len(body.splitlines()[0]) :].strip() or body
        else:
            title = first if len(first) <= 120 else first[:117].rstrip() + "..."
    return ArticleDraft(
        title=title,
        text=body,
        url=fields.get("url") or None,
        published=normalise_date(fields.get("published")),
        source=fields.get("source") or None,
        author=fields.get("author") or None,
        id=fields.get("id") or None,
        extra=extra,
        origin=origin,
    )


def _split_header(text: str) -> tuple[dict[str, str], dict[str, MetaValue], str]:
    lines = text.splitlines(keepends=True)
    fields: dict[str, str] = {}
    extra: dict[str, MetaValue] = {}
    consumed = 0
    for line in lines:
        if not line.strip():
            break
        m = _HEADER_LINE.match(line.rstrip("\r\n"))
        if not m:
            return {}, {}, text
        key = m.group(1).strip().lower()
        if key in HEADER_KEYS:
            fields[HEADER_KEYS[key]] = m.group(2)
        else:
            extra[key.replace(" ", "_")] = m.group(2)
        consumed += len(line)
    else:
        return {}, {}, text  # no blank line: the whole file is text, not a header
    if not fields:
        return {}, {}, text
    return fields, extra, text[consumed:]


def read_file(path: Path) -> ArticleDraft:
    """One text, Markdown or HTML file."""
    origin = str(path)
    data = read_bytes(path)
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        from retrieval.extract import extract_article

        try:
            return extract_article(data, origin=origin)
        except ExtractionError as exc:
            raise InputError(f"{origin}: {exc}") from exc
    if suffix not in TEXT_SUFFIXES:
        raise InputError(f"{origin}: unsupported file type {suffix or '(none)'}; use .txt, .md, .html or --jsonl")
    return parse_text_source(decode_text(data, origin), origin, markdown=suffix in (".md", ".markdown"))


def iter_folder(folder: Path) -> Iterator[Path]:
    """Source files below a folder, in a stable order."""
    for p in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in p.relative_to(folder).parts)
        if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES + HTML_SUFFIXES and not hidden:
            yield p


def iter_jsonl(path: Path, max_record_bytes: int = MAX_FILE_BYTES) -> Iterator[ArticleDraft | InputError]:
    """One draft (or one error) per non-blank line of a JSONL file. A line over
    ``max_record_bytes`` (the file limit, by default) is refused without being read whole."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    with handle:
        number = 0
        while raw := handle.readline(max_record_bytes + 1):
            number += 1
            origin = f"{path}:{number}"
            if len(raw) > max_record_bytes and not raw.endswith(b"\n"):
                skipped = _skip_line(handle)
                yield InputError(
                    f"{origin}: the record is over the {max_record_bytes:,}-byte limit "
                    f"({len(raw) + skipped:,} bytes); split the text or store it as a file"
                )
                continue
            if not raw.strip():
                continue
            try:
                yield parse_jsonl_object(json.loads(raw.decode("utf-8-sig")), origin)
            except UnicodeDecodeError:
                yield InputError(f"{origin}: not UTF-8 text")
            except json.JSONDecodeError as exc:
                reason = exc.msg.removesuffix(" at")  # "Invalid control character at": no "at at column"
                yield InputError(f"{origin}: not valid JSON ({reason} at column {exc.colno})")
            except InputError as exc:
                yield exc


def _skip_line(handle: BinaryIO) -> int:
    """Read past the rest of the current line, a block at a time; how many bytes it held."""
    skipped = 0
    while block := handle.readline(1 << 20):
        skipped += len(block)
        if block.endswith(b"\n"):
            break
    return skipped


def count_jsonl(path: Path) -> int:
    """Non-blank lines, read a block at a time (a record may be larger than memory allows)."""
    count = 0
    content = False
    try:
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                *ends, rest = block.split(b"\n")
                for line in ends:
                    count += bool(content or line.strip())
                    content = False
                content = content or bool(rest.strip())
    except OSError:
        return 0
    return count + content


def parse_jsonl_object(obj: object, origin: str) -> ArticleDraft:
    if not isinstance(obj, dict):
        raise InputError(f"{origin}: expected a JSON object with 'title' and 'text'")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{origin}: missing or empty 'text'")
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise InputError(f"{origin}: 'title' must be a string")

    def opt(key: str) -> str | None:
        value = obj.get(key)
        return str(value).strip() or None if isinstance(value, (str, int)) else None

    known = {"title", "text", "id", "url", "published", "source", "author"}
    extra: dict[str, MetaValue] = {
        k: v
        for k, v in obj.items()
        if k not in known
        and isinstance(v, (str, int, float, bool))
        and not (isinstance(v, str) and len(v) > MAX_EXTRA_CHARS)
    }
    return ArticleDraft(
        title=(title or "").strip(),
        text=text,
        url=opt("url"),
        published=normalise_date(opt("published")),
        source=opt("source"),
        author=opt("author"),
        id=opt("id"),
        extra=extra,
        origin=origin,
    )
