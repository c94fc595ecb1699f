"""The report as one self-contained HTML page: the story beside its originals.

Left, the story: every claim tinted by its verdict, with a text label too (colour is never
the only sign), the words that changed marked, and a link to the source sentence it came
from. Right, each original in full: the sentences the story used tinted to match, the
omitted ones marked. Hovering or focusing a claim lights its source sentence and shows what
changed; following its link scrolls there. Under the columns, the findings as a list (what
prints and what a screen reader reads in order).

The page is built by a Jinja2 template with autoescaping, so every piece of story and source
text is escaped; its one script and one style sheet are inline and allowed by the page's
Content-Security-Policy by their hashes, so nothing else could run and nothing is fetched.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from checker.models import DiffOp, Finding, Report, SourceSentence
from checker.render import LISTED, NOT_CHECKED, analyzer_line, clean_line, headline, is_clean
from retrieval.models import Candidate
from retrieval.sentences import split_sentences

#: What each verdict is called on the page: a word, so colour is never the only sign.
LABELS = {"reworded": "reworded", "added": "added", "supported": "supported", "omitted": "omitted"}
#: Which verdict tints a source sentence several claims used: the one an editor must see.
_PRECEDENCE = ("reworded", "supported")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Piece:
    """A run of text; ``changed`` marks words the other side does not have."""

    text: str
    changed: bool = False


@dataclass
class Claim:
    """A finding's span of the story, as shown in the left column."""

    anchor: str  # "c3"
    number: int
    finding: Finding
    pieces: list[Piece]
    target: str | None  # the anchor of its source sentence

    @property
    def kind(self) -> str:
        return self.finding.kind


@dataclass
class Sentence:
    """A sentence of an original, as shown in the right column."""

    anchor: str  # "s1-7": original 1, sentence 7
    start: int
    end: int
    pieces: list[Piece]
    kind: str = ""  # "" | reworded | supported | omitted
    claims: list[Claim] = field(default_factory=list)  # the story's claims that cite it
    omission: Finding | None = None  # the omitted finding it stands for


@dataclass
class Original:
    number: int
    candidate: Candidate
    parts: list[Sentence | str]  # the text between sentences is kept as it is (line breaks too)
    complete: bool  # False when only the cited sentences are known (no full text given)

    @property
    def url(self) -> str | None:
        return safe_url(self.candidate.info.url)


def safe_url(url: str | None) -> str | None:
    """A link only for http(s) URLs; anything else (``javascript:``, ``data:``) is shown as text."""
    return url if url and re.match(r"https?://", url, re.IGNORECASE) else None


def render_html(report: Report, texts: Mapping[str, str] | None = None, *, checked_at: datetime | None = None) -> str:
    """The page for ``report``. ``texts`` maps an original's article id to its full stored text
    (``SourceStore.get_many``); an original without one shows only the sentences cited from it."""
    texts = texts or {}
    claims = _claims(report)
    originals = _originals(report, texts, claims)
    findings = [f for kind in LISTED for f in report.of_kind(kind)]
    anchors = {id(c.finding): c.anchor for c in claims}  # where each finding is shown in the columns
    for o in originals:
        anchors.update({id(p.omission): p.anchor for p in o.parts if isinstance(p, Sentence) and p.omission})
    numbers = {id(f): n for n, f in enumerate(findings, start=1)}  # its number in the findings list
    return _template().render(
        report=report,
        title=_title(report),
        summary=clean_line(report) if is_clean(report) else headline(report),
        counts=report.counts(),
        listed=LISTED,
        labels=LABELS,
        story=_story_parts(report.story_text, claims),
        originals=originals,
        findings=findings,
        held_back=report.held_back,
        anchors=anchors,
        numbers=numbers,
        analyzer=analyzer_line(report) or "the offline engine (no model)",
        notes=list(report.analyzer.notes),
        not_checked=report.message or NOT_CHECKED,
        checked_at=(checked_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        story_url=safe_url(report.story_url),
        csp=page_csp(),
        style=_asset("report.css"),
        script=_asset("report.js"),
    )


# --- the story


def _claims(report: Report) -> list[Claim]:
    """The reported findings with a story span, in story order, without overlaps."""
    spans = sorted(
        (f for f in report.findings if f.story is not None and f.kind != "omitted" and report.reported(f)),
        key=lambda f: (f.story.start, -f.story.end) if f.story else (0, 0),
    )
    claims: list[Claim] = []
    end = 0
    for f in spans:
        assert f.story is not None
        if f.story.start < end:
            continue
        n = len(claims) + 1
        marks = _marked_words(f.diff, "insert") if f.kind == "reworded" else set()
        claims.append(Claim(f"c{n}", n, f, _pieces(f.story.text, marks), None))
        end = f.story.end
    return claims


def _story_parts(text: str, claims: list[Claim]) -> list[Claim | str]:
    parts: list[Claim | str] = []
    pos = 0
    for c in claims:
        span = c.finding.story
        assert span is not None
        parts += [text[pos : span.start], c]
        pos = span.end
    parts.append(text[pos:])
    return [p for p in parts if p != ""]


def _marked_words(diff: Iterable[DiffOp], side: str) -> set[int]:
    """Indexes of the words (whitespace-split) of one side that the diff marks as changed.

    ``side`` is "insert" (the story's words) or "delete" (the source's); an "equal" op holds
    as many words on both sides, the other side's ops hold none of this side's words.
    """
    other = "delete" if side == "insert" else "insert"
    marked: set[int] = set()
    i = 0
    for d in diff:
        if d.op == other:
            continue
        n = len(d.text.split())
        if d.op == side:
            marked.update(range(i, i + n))
        i += n
    return marked


def _pieces(text: str, marked: set[int]) -> list[Piece]:
    """``text`` cut into runs of marked and unmarked words, whitespace kept as it is."""
    runs: list[tuple[int, int]] = []  # character spans of consecutive marked words
    last = -2
    for i, m in enumerate(_WORD.finditer(text)):
        if i not in marked:
            continue
        if i == last + 1 and runs:
            runs[-1] = (runs[-1][0], m.end())
        else:
            runs.append((m.start(), m.end()))
        last = i
    pieces: list[Piece] = []
    pos = 0
    for start, end in runs:
        if start > pos:
            pieces.append(Piece(text[pos:start]))
        pieces.append(Piece(text[start:end], True))
        pos = end
    if pos < len(text) or not pieces:
        pieces.append(Piece(text[pos:]))
    return pieces


# --- the originals


def _originals(report: Report, texts: Mapping[str, str], claims: list[Claim]) -> list[Original]:
    omitted = report.of_kind("omitted")
    originals = []
    for k, cand in enumerate(report.sources, start=1):
        aid = cand.info.id
        text = texts.get(aid)
        cited = [f.source for f in report.findings if f.source is not None and f.source.article.id == aid]
        quoted = {(s.start, s.end): s.text for s in cited}
        if text is not None:
            segments = [(s.start, s.end, s.text) for s in split_sentences(text)]
        else:  # only what the findings quote, in the order of the original
            segments = [(start, end, quoted[start, end]) for start, end in sorted(quoted)]
        parts: list[Sentence | str] = []
        pos = 0
        for n, (start, end, sentence_text) in enumerate(segments, start=1):
            if text is not None and start > pos:
                parts.append(text[pos:start])
            elif text is None and parts:
                parts.append(" \u2026 ")
            parts.append(_sentence(f"s{k}-{n}", aid, start, end, sentence_text, claims, omitted))
            pos = end
        if text is not None and pos < len(text):
            parts.append(text[pos:])
        originals.append(Original(k, cand, parts, text is not None))
    return originals


def _sentence(
    anchor: str, aid: str, start: int, end: int, text: str, claims: list[Claim], omitted: list[Finding]
) -> Sentence:
    """One sentence of an original, with the claims that cite it (their source overlaps it)."""

    def here(s: SourceSentence | None) -> bool:
        return s is not None and s.article.id == aid and s.start < end and s.end > start

    users = [c for c in claims if c.target is None and here(c.finding.source)]
    kind = next((k for k in _PRECEDENCE if any(c.kind == k for c in users)), "")
    omission = next((f for f in omitted if here(f.source)), None)
    if not kind and omission is not None:
        kind = "omitted"
    exact = [c for c in users if c.kind == "reworded" and c.finding.source and c.finding.source.text == text]
    marks = set().union(*(_marked_words(c.finding.diff, "delete") for c in exact))
    for c in users:
        c.target = anchor
    return Sentence(anchor, start, end, _pieces(text, marks), kind, users, omission if kind == "omitted" else None)


def _title(report: Report) -> str:
    first = report.story_text.strip().split("\n", 1)[0].strip()
    return "factdiff: " + (first[:80] + "\u2026" if len(first) > 80 else first or "report")


# --- the template and its assets


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("checker", "templates"),
        autoescape=True,  # every value is escaped unless the template says otherwise (it never does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["id"] = id  # findings are matched to their anchors and numbers by identity
    return env.get_template("report.html.j2")


@cache
def _asset(name: str) -> str:
    return (resources.files("checker") / "templates" / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


@cache
def page_csp() -> str:
    """Only our own inline style and script run; nothing is fetched (links still work)."""
    return (
        f"default-src 'none'; style-src {_sha256(_asset('report.css'))}; "
        f"script-src {_sha256(_asset('report.js'))}; img-src data:; base-uri 'none'; form-action 'none'"
    )


def original_texts(store: Any, report: Report) -> dict[str, str]:
    """The full stored text of each of the report's originals, for :func:`render_html`."""
    stored = store.get_many([c.info.id for c in report.sources]) if report.sources else {}
    return {aid: article.text for aid, article in stored.items()}
