"""HTML -> ArticleDraft: the main text and metadata of a news page, via trafilatura.

Only markup we were handed is read: the HTML is parsed here and trafilatura gets the parsed
tree, so neither it nor htmldate ever downloads anything (not even when the "HTML" happens
to be a URL string).
"""

from __future__ import annotations

import logging
import re

from lxml.html import HtmlElement
from trafilatura import bare_extraction, load_html
from trafilatura.settings import Document
from trafilatura.xml import xmltotxt

from retrieval.errors import ExtractionError
from retrieval.models import ArticleDraft

logger = logging.getLogger(__name__)

#: Less main text than this is treated as "no article" (menus, cookie banners, stubs).
MIN_TEXT_CHARS = 200
#: Longest title made from the first line of text when the page has no title.
MAX_FALLBACK_TITLE_CHARS = 120

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Publication date only, from markup and URL; no guessing from free text such as footers.
_DATE_PARAMS = {"original_date": True, "extensive_search": False, "outputformat": "%Y-%m-%d"}


def extract_article(html: str | bytes, *, url: str | None = None, origin: str = "") -> ArticleDraft:
    """Extract the article in ``html`` (bytes are decoded by sniffing the document).

    ``url`` is where the page was fetched from; the page's own canonical URL wins over it.
    ``origin`` names the page in messages and on the draft (defaults to ``url``).
    The text is trafilatura's main text, one paragraph (or list, or heading) per block,
    blocks separated by a blank line, otherwise unchanged.

    Raises ExtractionError when the page holds less than ``MIN_TEXT_CHARS`` of article text.
    """
    where = origin or url or "the page"
    tree = load_html(html)
    if tree is None:
        raise ExtractionError(f"no article text in {where}: it is empty or not HTML")
    document = bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        date_extraction_params=dict(_DATE_PARAMS),
    )
    if not isinstance(document, Document):
        raise ExtractionError(f"no article text in {where}: only menus or boilerplate found")
    text = _paragraphs(document)
    if not text:
        raise ExtractionError(f"no article text in {where}: only menus or boilerplate found")
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError(
            f"no article text in {where}: only {len(text)} characters of main text (need at least {MIN_TEXT_CHARS})"
        )
    return ArticleDraft(
        title=_title(document, tree, text),
        text=text,
        url=_absolute_http(document.url) or url,
        published=_iso_date(document.date),
        source=document.sitename or None,
        author=document.author or None,
        origin=origin or url or "",
    )


def _paragraphs(document: Document) -> str:
    """Main text with one blank line between top-level blocks (paragraphs, headings, lists)."""
    if document.body is None:
        return ""
    blocks = (xmltotxt(block, False).strip() for block in document.body)
    return "\n\n".join(block for block in blocks if block)


def _title(document: Document, tree: HtmlElement, text: str) -> str:
    """trafilatura's title, else ``<title>``, else the first line of text, shortened."""
    if document.title and document.title.strip():
        return document.title.strip()
    page_title = " ".join((tree.findtext(".//title") or "").split())
    if page_title:
        return page_title
    return _shorten(text.splitlines()[0], MAX_FALLBACK_TITLE_CHARS)


def _shorten(line: str, limit: int) -> str:
    """``line`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    line = line.strip()
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def _absolute_http(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL, else None."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def _iso_date(value: str | None) -> str | None:
    """``YYYY-MM-DD`` or None."""
    if value and _ISO_DATE.fullmatch(value):
        return value
    if value:
        logger.debug("ignoring date %r: not YYYY-MM-DD", value)
    return None
