"""A fact-checker reads the report at a glance: counts, originals, findings with verbatim citations."""

from __future__ import annotations

import re

from checker.models import Analyzer, Change, DiffOp, Finding, Report, SourceSentence, StorySpan
from checker.render import render_markdown, render_text
from retrieval.models import ArticleInfo, Candidate

ANSI = re.compile(r"\x1b\[[0-9;]*m")

FERRY = ArticleInfo(
    id="a-ferry",
    title="Harbour board approves night ferry trial",
    url="https://example.org/harbour-board/minutes/2027-03-14_night-ferry-trial?session=full-board",
    published="2027-03-14",
    source="Port of Eastmere harbour board",
)
BUDGET = ArticleInfo(
    id="a-budget",
    title="Eastmere council budget statement",
    url="https://example.org/council/budget-2027",
    published=None,
    source=None,
)

FERRY_SOURCE = (
    "The harbour board voted 7 to 2 on Tuesday to run a night ferry between Eastmere and Holm Island "
    "for a six-month trial."
)
FERRY_STORY = "The harbour board unanimously approved a permanent night ferry to Holm Island on Tuesday."
MAYOR_STORY = "Mayor Ilse Brandt called the vote a turning point for the island's night-shift workers."
FARE_SOURCE = "Single fares will cost 4.50 euros, and season tickets will not be offered during the trial."
REVIEW_SOURCE = "The board will review passenger numbers in September before deciding whether to continue."
BUDGET_SOURCE = "The council set aside 1.2 million euros for harbour maintenance in 2027."


def sentence(sid: str, article: ArticleInfo, text: str, start: int = 0) -> SourceSentence:
    return SourceSentence(id=sid, article=article, start=start, end=start + len(text), text=text)


def candidate(info: ArticleInfo, score: float) -> Candidate:
    return Candidate(info=info, score=score, dense=score, lexical=score, coverage=score)


def reworded() -> Finding:
    return Finding(
        kind="reworded",
        story=StorySpan(0, len(FERRY_STORY), FERRY_STORY),
        source=sentence("A1.1", FERRY, FERRY_SOURCE),
        explanation="The vote was split and the service is a trial, not permanent.",
        confidence=0.9,
        changes=(
            Change("number", story="unanimously", source="7 to 2"),
            Change("scope", story="permanent", source="six-month trial"),
        ),
        diff=(
            DiffOp("equal", "The harbour board"),
            DiffOp("delete", "voted 7 to 2"),
            DiffOp("insert", "unanimously approved a permanent"),
            DiffOp("equal", "night ferry"),
            DiffOp("delete", "between Eastmere and"),
            DiffOp("insert", "to"),
            DiffOp("equal", "Holm Island"),
        ),
    )


def added() -> Finding:
    start = len(FERRY_STORY) + 1
    return Finding(
        kind="added",
        story=StorySpan(start, start + len(MAYOR_STORY), MAYOR_STORY),
        source=None,
        explanation="No source supports this: the minutes quote no mayor.",
        confidence=0.8,
    )


def omitted(sid: str, text: str, why: str, rank: float) -> Finding:
    return Finding(
        kind="omitted",
        story=None,
        source=sentence(sid, FERRY, text, start=200),
        explanation=why,
        confidence=0.7,
        rank=rank,
    )


def supported() -> Finding:
    return Finding(
        kind="supported",
        story=StorySpan(0, 10, "The board"),
        source=sentence("A1.2", FERRY, "The board met."),
        explanation="Faithful.",
        confidence=0.9,
    )


def full_report(notes: list[str] | None = None) -> Report:
    # Deliberately out of order: omitted first, so grouping cannot ride on input order.
    findings = [
        omitted("A1.4", REVIEW_SOURCE, "The trial may end in September.", 0.9),
        added(),
        supported(),
        reworded(),
        omitted("A1.3", FARE_SOURCE, "Fares matter to riders.", 0.6),
        supported(),
    ]
    return Report(
        story_text=f"{FERRY_STORY} {MAYOR_STORY}",
        story_url="https://example.net/news/night-ferry",
        sources=[candidate(FERRY, 0.91), candidate(BUDGET, 0.42)],
        findings=findings,
        analyzer=Analyzer(notes=notes or []),
    )


def unescape(markdown: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def blockquotes(markdown: str) -> list[str]:
    """Each ``>`` blockquote of a Markdown document, prefixes removed, escapes kept."""
    quotes: list[list[str]] = []
    previous = ""
    for line in markdown.split("\n"):
        if line.startswith(">"):
            if not previous.startswith(">"):
                quotes.append([])
            quotes[-1].append(line[2:])
        previous = line
    return ["\n".join(q) for q in quotes]


# --- header and originals


def test_header_counts_each_kind_and_sources() -> None:
    out = render_text(full_report())
    assert out.split("\n")[0] == "1 reworded · 1 added · 2 omitted — against 2 sources (2 supported)"


def test_header_in_markdown_is_the_same_line() -> None:
    first = render_markdown(full_report()).split("\n")[0]
    assert first == "**1 reworded · 1 added · 2 omitted — against 2 sources (2 supported)**"


def test_originals_are_listed_best_first_with_metadata() -> None:
    out = render_text(full_report())
    ferry, budget = out.index(FERRY.title), out.index(BUDGET.title)
    assert ferry < budget
    assert out[ferry:budget].split("\n") == [
        f"{FERRY.title}  [score 0.91]",
        f"     {FERRY.source} · 2027-03-14",
        f"     {FERRY.url}",
        "  2. ",
    ]
    assert out[budget:].split("\n")[:3] == [f"{BUDGET.title}  [score 0.42]", "     undated", f"     {BUDGET.url}"]


def test_supported_findings_are_counted_not_listed() -> None:
    out = render_text(full_report())
    assert "Faithful." not in out
    assert "The board met." not in out


# --- grouping and order


def test_findings_are_grouped_reworded_then_added_then_omitted() -> None:
    for out in (render_text(full_report()), render_markdown(full_report())):
        positions = [out.index(heading) for heading in ("Reworded (1)", "Added (1)", "Omitted (2)")]
        assert positions == sorted(positions)
        assert positions[0] < out.index(FERRY_STORY) < positions[1] < out.index(MAYOR_STORY) < positions[2]


def test_omitted_findings_keep_their_ranked_order() -> None:
    report = full_report()
    report.findings = [
        omitted("A1.3", FARE_SOURCE, "Fares matter to riders.", 0.9),
        omitted("A1.4", REVIEW_SOURCE, "The trial may end in September.", 0.6),
        omitted("A2.1", BUDGET_SOURCE, "The budget is context.", 0.3),
    ]
    for out in (render_text(report), render_markdown(report)):
        assert out.index("Fares matter") < out.index("The trial may end") < out.index("The budget is context")
    # and the order is the findings', not the one the renderer would pick by rank
    report.findings.reverse()
    out = render_text(report)
    assert out.index("The budget is context") < out.index("The trial may end") < out.index("Fares matter")


# --- verbatim quotes and citations


def test_quotes_appear_verbatim_and_unwrapped_in_text() -> None:
    out = render_text(full_report(), width=40)
    for quote in (FERRY_STORY, FERRY_SOURCE, MAYOR_STORY, FARE_SOURCE, REVIEW_SOURCE):
        assert f"\u201c{quote}\u201d" in out


def test_reworded_finding_shows_citation_explanation_and_changes() -> None:
    out = render_text(full_report())
    section = out[out.index("Reworded (1)") : out.index("Added (1)")]
    assert FERRY_STORY in section and FERRY_SOURCE in section
    lines = section.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("—"))
    citation = " ".join(line.strip() for line in lines[start : start + 3])
    assert f"— {FERRY.title} · {FERRY.source} · 2027-03-14 {FERRY.url}" in citation
    assert "The vote was split and the service is a trial, not permanent." in section
    assert "number: '7 to 2' became 'unanimously'" in section
    assert "scope: 'six-month trial' became 'permanent'" in section


def test_added_finding_shows_story_and_why() -> None:
    out = render_text(full_report())
    section = out[out.index("Added (1)") : out.index("Omitted (2)")]
    assert f"Story:  \u201c{MAYOR_STORY}\u201d" in section
    assert "No source supports this: the minutes quote no mayor." in section
    assert "Source:" not in section


def test_omitted_finding_cites_its_source() -> None:
    out = render_text(full_report())
    section = out[out.index("Omitted (2)") :]
    assert f"Source: \u201c{FARE_SOURCE}\u201d" in section
    assert "Story:" not in section
    assert section.count(FERRY.title) == 2
    assert "Fares matter to riders." in section


def test_markdown_cites_title_date_and_url() -> None:
    md = render_markdown(full_report())
    assert f"— *{FERRY.title}* · Port of Eastmere harbour board · 2027-03-14 · <{FERRY.url}>" in md
    assert f"2. *{BUDGET.title}* · undated · <{BUDGET.url}> · score 0.42" in md


# --- word diff


def test_text_diff_uses_wdiff_markers_without_color() -> None:
    out = render_text(full_report(), width=200)
    diff = next(line for line in out.split("\n") if "Diff:" in line)
    assert diff.split("Diff:", 1)[1].strip() == (
        "The harbour board [-voted 7 to 2-] {+unanimously approved a permanent+} night ferry "
        "[-between Eastmere and-] {+to+} Holm Island"
    )
    assert "\x1b[" not in out


def test_text_diff_uses_ansi_only_with_color() -> None:
    out = render_text(full_report(), color=True, width=200)
    assert "\x1b[9;31mvoted\x1b[0m" in out  # deleted: red, struck through
    assert "\x1b[1;32munanimously\x1b[0m" in out  # inserted: green
    assert "[-" not in out and "{+" not in out
    # the colours decorate; the words, the quotes and the layout are the plain ones
    plain = render_text(full_report(), width=200)
    strip_markers = re.sub(r"\[-|-\]|\{\+|\+\}", "", plain)
    assert ANSI.sub("", out) == strip_markers


def test_colored_diff_wraps_on_visible_width() -> None:
    out = render_text(full_report(), color=True, width=60)
    assert all(len(ANSI.sub("", line)) <= 60 for line in out.split("\n") if "\x1b[9;31m" in line)
    diff_lines = [line for line in out.split("\n") if "\x1b[9;31m" in line or "\x1b[1;32m" in line]
    assert len(diff_lines) >= 2


def test_punctuation_stays_with_its_word_in_the_diff() -> None:
    report = full_report()
    report.findings = [
        Finding(
            kind="reworded",
            story=StorySpan(0, 9, "3 ferries"),
            source=sentence("A1.9", FERRY, "two ferries."),
            explanation="Count changed.",
            confidence=0.5,
            diff=(DiffOp("delete", "two"), DiffOp("insert", "3"), DiffOp("equal", "ferries"), DiffOp("delete", ".")),
        )
    ]
    assert "Diff:   [-two-] {+3+} ferries[-.-]" in render_text(report)
    assert "**Difference:** ~~two~~ **3** ferries ~~.~~" in render_markdown(report)


def test_markdown_diff_strikes_deletions_and_bolds_insertions() -> None:
    md = render_markdown(full_report())
    assert (
        "**Difference:** The harbour board ~~voted 7 to 2~~ **unanimously approved a permanent** night ferry "
        "~~between Eastmere and~~ **to** Holm Island"
    ) in md


# --- Markdown escaping


def test_markdown_quotes_are_blockquotes_that_round_trip() -> None:
    md = render_markdown(full_report())
    quotes = [unescape(q) for q in blockquotes(md)]
    assert quotes == [FERRY_STORY, FERRY_SOURCE, MAYOR_STORY, REVIEW_SOURCE, FARE_SOURCE]


def test_markdown_escapes_emphasis_and_link_characters_in_quotes() -> None:
    tricky = "Turnout was *record* high_ish [per the clerk] at 5*3 = 15 stations_total; see <notice> & `log`."
    report = full_report()
    report.findings = [
        Finding(
            kind="added",
            story=StorySpan(0, len(tricky), tricky),
            source=None,
            explanation="No source supports this.",
            confidence=0.5,
        )
    ]
    md = render_markdown(report)
    (quote,) = blockquotes(md)
    assert r"\*record\*" in quote and r"high\_ish" in quote and r"\[per the clerk\]" in quote
    assert r"\<notice\>" in quote and r"\`log\`" in quote
    assert re.search(r"(?<!\\)[*_\[\]<`]", quote) is None  # nothing left for Markdown to interpret
    assert unescape(quote) == tricky


def test_markdown_escapes_line_starts_that_would_become_lists_or_headings() -> None:
    tricky = "- 12 berths\n# of them new\n2027. That was the year.\n\n+ more to come"
    report = full_report()
    report.findings = [omitted("A1.8", tricky, "Berths matter.", 0.5)]
    md = render_markdown(report)
    (quote,) = blockquotes(md)
    escaped = [r"\- 12 berths", r"\# of them new", r"2027\. That was the year.", "", r"\+ more to come"]
    assert quote.split("\n") == escaped
    assert unescape(quote) == tricky
    assert "\n>\n> \\+ more" in md  # the blank line stays inside the blockquote


def test_markdown_escapes_explanations_and_titles() -> None:
    report = full_report()
    report.sources = [candidate(ArticleInfo("x", "Ferry_plan *draft*", None, "2027-01-02", None), 0.8)]
    report.findings = [added()]
    report.findings[0] = Finding("added", added().story, None, "Says *never* in the_minutes.", 0.5)
    md = render_markdown(report)
    assert r"*Ferry\_plan \*draft\** · 2027-01-02 · no link · score 0.80" in md
    assert r"**Why:** Says \*never\* in the\_minutes." in md


# --- no original, clean reports, notes


def test_no_original_shows_the_message_and_no_verdict() -> None:
    report = Report(
        story_text=FERRY_STORY,
        story_url=None,
        sources=[],
        findings=[added()],
        analyzer=Analyzer(notes=["Searched 40 stored articles."]),
        message="no original found: the closest article scored 0.21, below the 0.35 threshold",
    )
    out = render_text(report)
    lines = out.split("\n")
    assert lines[:2] == ["NOT CHECKED", report.message]
    assert "No problems" not in out and "0 reworded" not in out and "against 0" not in out
    assert MAYOR_STORY not in out  # findings without an original would mislead
    assert "Searched 40 stored articles." in out
    md = render_markdown(report)
    assert md.split("\n")[0] == f"**Not checked.** {report.message}"
    assert "No problems" not in md and MAYOR_STORY not in md


def test_no_original_without_a_message_still_says_so() -> None:
    report = Report(story_text=FERRY_STORY, story_url=None, sources=[], findings=[])
    assert render_text(report).split("\n")[1].startswith("No original found")
    assert "No problems" not in render_markdown(report)


def test_clean_report_says_no_problems_with_a_plural() -> None:
    report = full_report()
    report.findings = [supported()]
    out = render_text(report)
    assert out.split("\n")[0] == "No problems found against 2 sources. 1 claim supported."
    assert "Reworded" not in out and "0 reworded" not in out
    assert FERRY.title in out  # the originals are still shown
    assert render_markdown(report).split("\n")[0] == "**No problems found against 2 sources. 1 claim supported.**"


def test_clean_report_against_one_source_is_singular() -> None:
    report = full_report()
    report.sources = report.sources[:1]
    report.findings = []
    assert render_text(report).split("\n")[0] == "No problems found against 1 source."
    assert render_markdown(report).split("\n")[0] == "**No problems found against 1 source.**"


def test_notes_come_last_under_their_heading() -> None:
    notes = ["Offline engine: hedges are not judged.", "Story trimmed to 4,000 characters."]
    out = render_text(full_report(notes=notes))
    tail = out[out.index("\nNotes\n") :]
    assert out.index("\nNotes\n") > out.index(REVIEW_SOURCE)
    assert [line.strip() for line in tail.split("\n")[2:]] == [f"- {n}" for n in notes]
    md = render_markdown(full_report(notes=notes))
    assert md.endswith("### Notes\n\n- Offline engine: hedges are not judged.\n- Story trimmed to 4,000 characters.")


def test_no_notes_no_heading() -> None:
    assert "Notes" not in render_text(full_report())
    assert "Notes" not in render_markdown(full_report())


# --- wrapping


def test_text_wraps_at_width_but_never_inside_a_url() -> None:
    note = "The offline engine compares numbers, dates and names but does not judge hedging or tone. " * 3
    out = render_text(full_report(notes=[note]), width=50)
    lines = out.split("\n")
    quotes = (FERRY_STORY, FERRY_SOURCE, MAYOR_STORY, FARE_SOURCE, REVIEW_SOURCE)
    # only verbatim quotes and unbreakable URLs may run past the width
    assert all(any(q in line for q in quotes) or "https://" in line for line in lines if len(line) > 50)
    assert FERRY.url is not None
    assert sum(line.count(FERRY.url) for line in lines) == 4  # originals, reworded, 2 omitted
    note_lines = lines[lines.index("Notes") + 1 :]
    assert len(note_lines) > 3 and all(len(line) <= 50 for line in note_lines)
    assert " ".join(line.strip() for line in note_lines) == "- " + note.strip()


def test_wrapped_prose_keeps_its_hanging_indent() -> None:
    out = render_text(full_report(), width=50)
    why = out[out.index("Why:    The vote") :].split("\n")
    assert why[0] == "Why:    The vote was split and the service is"
    assert why[1] == "             a trial, not permanent."
