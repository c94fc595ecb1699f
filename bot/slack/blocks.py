"""A report as Slack Block Kit: counts first, the originals, then findings grouped by kind.

Slack's limits: 50 blocks a message, 3,000 characters a section, 150 a header. Long reports
show the first findings of each kind and say how many more there are; the caller attaches the
full report as a Markdown file. Quotes are the stored sentences, cut only with a visible "…".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checker.models import Finding, Report
from checker.render import LISTED, NOT_CHECKED, cited, clean_line, headline, is_clean, report_notes

MAX_BLOCKS = 50
SECTION_CHARS = 3000
HEADER_CHARS = 150
PER_KIND = 5  # findings shown per kind before "N more"
QUOTE_CHARS = 700  # a story excerpt or source quote longer than this is cut, with "…"
FEEDBACK_ACTION = "factdiff_feedback_"  # + right / wrong; the button's value is "CHECK_ID:FINDING_INDEX"
TITLES = {"reworded": "Reworded", "added": "Added", "omitted": "Omitted"}
ICONS = {"reworded": ":pencil2:", "added": ":heavy_plus_sign:", "omitted": ":scissors:"}


@dataclass
class SlackReport:
    blocks: list[dict[str, Any]]
    text: str  # the notification / fallback text
    hidden: int  # findings not shown (the full report should be attached)


def escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int = QUOTE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"


def _quote(text: str) -> str:
    return "\n".join("&gt; " + escape(line) for line in _cut(text).splitlines() or [""])


def _link(url: str | None, label: str) -> str:
    label = escape(label).replace("|", "\u2758")
    return f"<{url}|{label}>" if url else label


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_CHARS)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, SECTION_CHARS)}]}


def _citation(f: Finding) -> str:
    if f.source is None:
        return ""
    info = f.source.article
    title, *rest = cited(info)
    return "\u2014 " + " \u00b7 ".join([_link(info.url, title), *map(escape, rest)])


def finding_block(f: Finding) -> dict[str, Any]:
    lines = []
    if f.story is not None:
        lines += ["*Story:*", _quote(f.story.text)]
    if f.kind != "added" and f.source is not None:
        lines += ["*Source:*", _quote(f.source.text), _citation(f)]
    lines.append(f"_{escape(f.explanation)}_")
    return _section("\n".join(lines))


def feedback_block(check_id: str, index: int) -> dict[str, Any]:
    """Two buttons under a finding: the newsroom says whether it was right."""

    def button(verdict: str, label: str) -> dict[str, Any]:
        return {
            "type": "button",
            "action_id": FEEDBACK_ACTION + verdict,
            "text": {"type": "plain_text", "text": label},
            "value": f"{check_id}:{index}",
        }

    return {"type": "actions", "elements": [button("right", "\u2713 Right"), button("wrong", "\u2717 Wrong")]}


def report_blocks(
    report: Report, *, per_kind: int = PER_KIND, feedback: str | None = None, page_url: str | None = None
) -> SlackReport:
    """The report as blocks; with ``feedback`` (a check id) each finding shown gets its two buttons,
    valued with the finding's index in the JSON report's findings; ``page_url`` links its
    side-by-side page under the header."""
    if not report.sources:
        message = report.message or NOT_CHECKED
        missing = [_section(f":mag: *Not checked.* {escape(message)}")]
        missing += [_context(escape(n)) for n in report_notes(report)[:3]]
        return SlackReport(missing, f"Not checked: {message}", 0)
    clean = is_clean(report)
    head = clean_line(report) if clean else headline(report)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(head, HEADER_CHARS)}}
    ]
    originals = [
        f"{n}. " + " \u00b7 ".join([_link(c.info.url, cited(c.info)[0]), *map(escape, cited(c.info)[1:])])
        for n, c in enumerate(report.sources, start=1)
    ]
    if page_url:
        blocks.append(_section(f":left_right_arrow: {_link(page_url, 'See the story beside its originals')}"))
    blocks.append(_section("*Originals, best first*\n" + "\n".join(originals)))
    hidden = 0
    listed = [f for f in report.findings if f.kind != "supported"]  # the JSON report's findings
    index = {id(f): n for n, f in enumerate(listed)}
    cost = 2 if feedback else 1  # blocks per finding shown
    if not clean:
        room = MAX_BLOCKS - len(blocks) - 3  # keep room for "more" and the notes
        for kind in LISTED:
            findings = report.of_kind(kind)
            if not findings:
                continue
            shown = findings[: max(0, min(per_kind, (room - 2) // cost))]
            if not shown:
                hidden += len(findings)
                continue
            blocks.append({"type": "divider"})
            blocks.append(_section(f"{ICONS[kind]} *{TITLES[kind]} ({len(findings)})*"))
            for f in shown:
                blocks.append(finding_block(f))
                if feedback:
                    blocks.append(feedback_block(feedback, index[id(f)]))
            room -= 2 + cost * len(shown)
            if len(findings) > len(shown):
                more = len(findings) - len(shown)
                hidden += more
                blocks.append(_context(f"{more} more {kind} in the full report (attached)"))
                room -= 1
    notes = report_notes(report)
    if notes:
        blocks.append(_context(escape(" \u2022 ".join(notes))))
    return SlackReport(blocks[:MAX_BLOCKS], f"factdiff: {head}", hidden)
