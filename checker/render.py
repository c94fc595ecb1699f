"""Reports for people: plain text for a terminal, Markdown for documents and chat.

Both show the same things in the same order: a count line, the matched originals (best
first), the reworded, added and omitted findings, then the analyzer's notes. Quotes from the
story and the sources are printed verbatim: text mode never reflows them (only the prose around
them is wrapped), and Markdown escapes them with backslashes, so the rendered text is identical.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from checker.models import DiffOp, Finding, Report, SourceSentence
from retrieval.models import ArticleInfo

#: The kinds a fact-checker acts on, in the order they are listed.
LISTED = ("reworded", "added", "omitted")
NOT_CHECKED = "No original found: there is nothing to compare the story with."

_TITLES = {"reworded": "Reworded", "added": "Added", "omitted": "Omitted"}
_RESET = "\x1b[0m"
_BOLD = "1"
_DELETED = "9;31"  # strikethrough, red
_INSERTED = "1;32"  # bold, green
_CLOSING = tuple(".,;:!?)]}%\u201d\u2019")


def render_text(report: Report, *, color: bool = False, width: int = 100) -> str:
    """The report for a terminal, wrapped at ``width`` (quotes and URLs are never broken).

    With ``color`` the word diff uses ANSI colours (deletions red and struck through, insertions
    green); without it the diff uses wdiff markers: ``[-source words-]{+story words+}``.
    """
    return "\n".join(_TextRenderer(color=color, width=width).report(report))


def render_markdown(report: Report) -> str:
    """The report as Markdown: quotes in ``>`` blockquotes, the diff as ``~~deleted~~ **inserted**``."""
    return "\n".join(_markdown(report))


# --- wording shared by both formats


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def headline(report: Report) -> str:
    counts = report.counts()
    line = " · ".join(f"{counts[k]} {k}" for k in LISTED)
    line += f" — against {_plural(len(report.sources), 'source')}"
    if counts["supported"]:
        line += f" ({counts['supported']} supported)"
    return line


def clean_line(report: Report) -> str:
    line = f"No problems found against {_plural(len(report.sources), 'source')}."
    supported = report.counts()["supported"]
    if supported:
        line += f" {_plural(supported, 'claim')} supported."
    return line


def is_clean(report: Report) -> bool:
    return not any(report.of_kind(kind) for kind in LISTED)


def cited(info: ArticleInfo) -> list[str]:
    """Citation fields, in the order they are printed: title, outlet, date (the URL comes apart)."""
    parts = [info.title]
    if info.source:
        parts.append(info.source)
    parts.append(info.published or "undated")
    return parts


@dataclass(frozen=True)
class _Word:
    op: str  # equal | delete | insert
    text: str
    glued: bool  # follows the previous word without a space ("buses" + ".")


def _diff_words(diff: Iterable[DiffOp]) -> list[_Word]:
    """The diff as words; ops are joined with a space unless their own whitespace says otherwise."""
    words: list[_Word] = []
    spaced = True  # whitespace at the boundary with the previous op
    for d in diff:
        op = d.op if d.op in ("delete", "insert") else "equal"
        spaced = spaced or d.text[:1].isspace()
        for i, word in enumerate(d.text.split()):
            glued = bool(words) and i == 0 and not spaced and word.startswith(_CLOSING)
            words.append(_Word(op, word, glued))
        spaced = d.text[-1:].isspace() or not d.text
    return words


def _runs(words: list[_Word]) -> list[tuple[str, list[_Word]]]:
    """Consecutive words with the same op, so markers wrap a whole run."""
    runs: list[tuple[str, list[_Word]]] = []
    for w in words:
        if runs and runs[-1][0] == w.op:
            runs[-1][1].append(w)
        else:
            runs.append((w.op, [w]))
    return runs


# --- text


class _TextRenderer:
    def __init__(self, *, color: bool, width: int) -> None:
        self.color = color
        self.width = width

    def report(self, report: Report) -> list[str]:
        if not report.sources:
            lines = [self._style("NOT CHECKED", _BOLD), *self._para(report.message or NOT_CHECKED)]
            return lines + self._notes(report)
        clean = is_clean(report)
        lines = self._para(clean_line(report) if clean else headline(report))
        if report.story_url:
            lines += self._para(f"Story: {report.story_url}")
        if report.message:
            lines += self._para(report.message)
        lines += ["", self._style("Originals, best first", _BOLD)]
        for n, c in enumerate(report.sources, start=1):
            lines += self._para(f"{c.info.title}  [score {c.score:.2f}]", first=f"  {n}. ", indent="     ")
            lines += self._para(" · ".join(cited(c.info)[1:]), indent="     ")
            lines.append(f"     {c.info.url or 'no link'}")  # on a line of its own: never broken
        if not clean:
            for kind in LISTED:
                lines += self._section(kind, report.of_kind(kind))
        return lines + self._notes(report)

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}{_RESET}" if self.color else text

    def _para(self, text: str, *, first: str | None = None, indent: str = "", hanging: int = 0) -> list[str]:
        wrapper = textwrap.TextWrapper(
            width=self.width,
            initial_indent=indent if first is None else first,
            subsequent_indent=indent + " " * hanging,
            break_long_words=False,  # a URL or a long word stays whole
            break_on_hyphens=False,
        )
        return wrapper.wrap(text) or [wrapper.initial_indent.rstrip()]

    def _section(self, kind: str, findings: list[Finding]) -> list[str]:
        if not findings:
            return []
        lines = ["", self._style(f"{_TITLES[kind]} ({len(findings)})", _BOLD)]
        for n, f in enumerate(findings, start=1):
            lines += ["", *self._finding(n, f)]
        return lines

    def _finding(self, n: int, f: Finding) -> list[str]:
        number = f"  {n}. "
        pad = " " * len(number)
        lines: list[str] = []
        if f.kind != "omitted":
            lines.append(self._quote(f"{number}Story:  ", f.story.text if f.story else None))
        if f.kind != "added":
            first = f"{number}Source: " if not lines else f"{pad}Source: "
            lines += self._source(first, f.source)
        lines += self._para(f.explanation, first=f"{pad}Why:    ", indent=f"{pad}        ")
        if f.changes:
            lines.append(f"{pad}Changes:")
            for c in f.changes:
                lines += self._para(c.describe(), first=f"{pad}  - {c.type}: ", indent=f"{pad}    ")
        if f.diff:
            lines += self._diff(f.diff, first=f"{pad}Diff:   ", indent=f"{pad}        ")
        return lines

    def _quote(self, first: str, text: str | None) -> str:
        # Verbatim on purpose: reflowing would change the quote's whitespace.
        return f"{first}\u201c{text}\u201d" if text is not None else f"{first}(no text)"

    def _source(self, first: str, s: SourceSentence | None) -> list[str]:
        if s is None:
            return [f"{first}(no source sentence)"]
        indent = " " * len(first)
        cite = self._para("— " + " · ".join(cited(s.article)), indent=indent, hanging=2)
        return [self._quote(first, s.text), *cite, f"{indent}  {s.article.url or 'no link'}"]

    def _diff(self, diff: Iterable[DiffOp], *, first: str, indent: str) -> list[str]:
        pieces: list[tuple[int, str, bool]] = []  # (visible width, text as printed, glued)
        for op, words in _runs(_diff_words(diff)):
            for i, w in enumerate(words):
                text = w.text
                if op != "equal" and not self.color:
                    opening, closing = ("[-", "-]") if op == "delete" else ("{+", "+}")
                    text = (opening if i == 0 else "") + text + (closing if i == len(words) - 1 else "")
                    pieces.append((len(text), text, w.glued))
                elif op != "equal":
                    pieces.append((len(text), self._style(text, _DELETED if op == "delete" else _INSERTED), w.glued))
                else:
                    pieces.append((len(text), text, w.glued))
        return _flow(pieces, width=self.width, first=first, indent=indent)

    def _notes(self, report: Report) -> list[str]:
        notes = report_notes(report)
        if not notes:
            return []
        lines = ["", self._style("Notes", _BOLD)]
        for note in notes:
            lines += self._para(note, first="  - ", indent="    ")
        return lines


def _flow(pieces: list[tuple[int, str, bool]], *, width: int, first: str, indent: str) -> list[str]:
    """Greedy word wrap that measures visible width, so ANSI codes do not count."""
    lines: list[str] = []
    line, used, empty = first, len(first), True
    for size, text, glued in pieces:
        gap = 0 if empty or glued else 1
        if not empty and not glued and used + gap + size > width:
            lines.append(line)
            line, used, gap = indent, len(indent), 0
        line += " " * gap + text
        used += gap + size
        empty = False
    lines.append(line)
    return lines


# --- Markdown

_MD_INLINE = re.compile(r"([\\`*_\[\]<>~|])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
_MD_LINE_START = re.compile(r"^([ \t]*)([#+=-])|^([ \t]*\d+)([.)])", re.MULTILINE)


def md_escape(text: str) -> str:
    """Backslash-escape what Markdown would otherwise interpret; the rendered text is unchanged."""
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_ENTITY.sub(r"\\&", text)
    return _MD_LINE_START.sub(lambda m: "\\".join(g for g in m.groups() if g is not None), text)


def _md_quote(text: str) -> list[str]:
    return ["> " + line if line else ">" for line in md_escape(text).split("\n")]


def _md_url(url: str | None) -> str:
    if url and not re.search(r"[\s<>]", url):
        return f"<{url}>"
    return md_escape(url or "no link")


def _md_cite(info: ArticleInfo) -> str:
    title, *fields = cited(info)
    return " · ".join([f"*{md_escape(title)}*", *map(md_escape, fields), _md_url(info.url)])


def _markdown(report: Report) -> list[str]:
    if not report.sources:
        return ["**Not checked.** " + md_escape(report.message or NOT_CHECKED), *_md_notes(report)]
    clean = is_clean(report)
    lines = [f"**{clean_line(report) if clean else headline(report)}**"]
    if report.story_url:
        lines += ["", f"Story: {_md_url(report.story_url)}"]
    if report.message:
        lines += ["", md_escape(report.message)]
    lines += ["", "### Originals, best first", ""]
    for n, c in enumerate(report.sources, start=1):
        lines.append(f"{n}. {_md_cite(c.info)} · score {c.score:.2f}")
    if not clean:
        for kind in LISTED:
            findings = report.of_kind(kind)
            if findings:
                lines += ["", f"### {_TITLES[kind]} ({len(findings)})"]
                for n, f in enumerate(findings, start=1):
                    lines += ["", f"#### {n}.", "", *_md_finding(f)]
    return lines + _md_notes(report)


def _md_finding(f: Finding) -> list[str]:
    lines: list[str] = []
    if f.kind != "omitted":
        lines += ["**Story:**", "", *(_md_quote(f.story.text) if f.story else ["(no text)"]), ""]
    if f.kind != "added":
        if f.source is None:
            lines += ["**Source:** (no source sentence)", ""]
        else:
            lines += ["**Source:**", "", *_md_quote(f.source.text), "", "— " + _md_cite(f.source.article), ""]
    lines.append(f"**Why:** {md_escape(f.explanation)}")
    if f.changes:
        lines += ["", "**Changes:**", ""]
        lines += [f"- {md_escape(c.type)}: {md_escape(c.describe())}" for c in f.changes]
    if f.diff:
        lines += ["", f"**Difference:** {_md_diff(f.diff)}"]
    return lines


def _md_diff(diff: Iterable[DiffOp]) -> str:
    out = ""
    for op, words in _runs(_diff_words(diff)):
        text = ""
        for i, w in enumerate(words):
            text += ("" if i == 0 or w.glued else " ") + md_escape(w.text)
        if op != "equal":
            mark = "~~" if op == "delete" else "**"
            text = f"{mark}{text}{mark}"
        # Runs always differ in op, so one side has a marker: keep a space, as "buses**.**" is not bold.
        out += (" " if out else "") + text
    return out


def _md_notes(report: Report) -> list[str]:
    notes = report_notes(report)
    if not notes:
        return []
    return ["", "### Notes", "", *(f"- {md_escape(note)}" for note in notes)]


def analyzer_line(report: Report) -> str | None:
    """Who judged the claims, when a model took part: model, prompts, tokens, estimated cost."""
    a = report.analyzer
    if a.model is None:
        return None
    line = (
        f"judged by {a.model} (prompts {a.prompt_version})"
        if a.name == "factdiff-llm"
        else (f"the offline engine's findings ({a.model} was configured but did not answer)")
    )
    if a.requests:
        line += f": {a.prompt_tokens or 0:,} prompt + {a.completion_tokens or 0:,} completion tokens"
        line += f" in {a.requests} request{'s' if a.requests != 1 else ''}"
        if a.cost_usd is not None:
            line += f", about ${a.cost_usd:.4f}"
    return line


def report_notes(report: Report) -> list[str]:
    line = analyzer_line(report)
    return ([line] if line else []) + list(report.analyzer.notes)
