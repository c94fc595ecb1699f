"""The offline diff engine end to end: a real store, real models, invented sources and stories."""

from __future__ import annotations

import pytest

from bot.demo import demo_files
from checker.engine import CheckConfig, DiffEngine
from checker.models import Report, report_to_json
from retrieval.embeddings import Embedder
from retrieval.errors import InputError
from retrieval.readers import read_file
from retrieval.search import OriginalFinder
from retrieval.store import SourceStore


@pytest.fixture
def engine(store: SourceStore, minilm: Embedder) -> DiffEngine:
    sources, _ = demo_files()
    for path in sources:
        assert store.add(read_file(path)).status == "added"
    return DiffEngine(OriginalFinder(store), align_embedder=minilm)


@pytest.fixture
def report(engine: DiffEngine) -> Report:
    _, story = demo_files()
    return engine.check(story.read_text(encoding="utf-8"))


def finding_for(report: Report, story_words: str) -> object:
    return next(f for f in report.findings if f.story and story_words in f.story.text)


def test_changed_figure_is_reworded_with_both_numbers(report: Report) -> None:
    f = finding_for(report, "5.4% more")
    assert f.kind == "reworded"  # type: ignore[attr-defined]
    assert "'4.5%' became '5.4%'" in f.explanation  # type: ignore[attr-defined]


def test_dropped_hedge_is_reworded(report: Report) -> None:
    f = finding_for(report, "by a third")
    assert f.kind == "reworded" and any(c.type == "hedge" for c in f.changes)  # type: ignore[attr-defined]
    assert "could" in f.source.text  # type: ignore[attr-defined]


def test_trimmed_quote_is_reworded(report: Report) -> None:
    f = finding_for(report, "finish the work by 2029")
    assert f.kind == "reworded" and any(c.type == "quotation" for c in f.changes)  # type: ignore[attr-defined]


def test_dropped_denial_cites_the_denial(report: Report) -> None:
    f = finding_for(report, "had asked for the rise to be postponed")
    assert f.kind == "reworded"  # type: ignore[attr-defined]
    assert f.source.text.startswith("The association denies")  # type: ignore[attr-defined]
    assert f.source.article.source == "Eastgate Residents' Association"  # type: ignore[attr-defined]


def test_added_clause_is_flagged_on_its_own(report: Report) -> None:
    f = finding_for(report, "cash grab")
    assert f.kind == "added" and f.story.text == "a move critics called a cash grab."  # type: ignore[attr-defined]
    assert f.source is None  # type: ignore[attr-defined]


def test_faithful_sentence_is_not_flagged(report: Report) -> None:
    f = finding_for(report, "assistance scheme will be exempt")
    assert f.kind == "supported"  # type: ignore[attr-defined]


def test_newsworthy_omissions_are_listed_and_boilerplate_never(report: Report) -> None:
    omitted = [f.source.text for f in report.of_kind("omitted")]  # type: ignore[union-attr]
    assert any("Daniel Reyes" in t for t in omitted)  # the other side
    assert any("contractor prices" in t for t in omitted)  # the caveat
    assert not any("press@" in t or t.startswith("LARKFIELD, October") for t in omitted)


def test_look_alike_release_is_never_cited(report: Report) -> None:
    cited = {f.source.article.title for f in report.findings if f.source}
    assert cited and not any("2026" in t and "3.2%" in t for t in cited)


def test_every_quote_is_verbatim_from_the_store_and_story_offsets_hold(report: Report, engine: DiffEngine) -> None:
    for f in report.findings:
        if f.story:
            assert report.story_text[f.story.start : f.story.end] == f.story.text
        if f.source:
            stored = engine.finder.store.get(f.source.article.id).text
            assert stored[f.source.start : f.source.end] == f.source.text


def test_json_report_follows_the_report_format(report: Report) -> None:
    data = report_to_json(report)
    assert data["version"] == 1 and data["story"]["text"] == report.story_text
    assert data["sources"][0]["title"] == "Larkfield council approves 4.5% water rate rise for 2027"
    assert {f["kind"] for f in data["findings"]} == {"reworded", "added", "omitted"}
    for f in data["findings"]:
        assert (f["story"] is None) == (f["kind"] == "omitted")
        assert (f["source"] is None) == (f["kind"] == "added")
        assert set(f) >= {"kind", "story", "source", "explanation", "confidence"}
    assert set(data["analyzer"]) >= {"name", "model", "prompt_version", "prompt_tokens", "completion_tokens", "notes"}


def test_story_without_an_original_gets_no_findings(engine: DiffEngine) -> None:
    report = engine.check("A jazz festival on the southern coast sold out in four hours, organisers said on Sunday.")
    assert report.sources == [] and report.findings == [] and "no original" in report.message


def test_non_english_story_invents_nothing(engine: DiffEngine) -> None:
    report = engine.check("Le conseil municipal a voté mardi une hausse des tarifs de l'eau de 4,5 % pour 2027.")
    assert report.findings == [] or report.sources  # either no original, or findings that cite one
    assert all(f.source is None or f.source.text for f in report.findings)


@pytest.mark.parametrize("story", ["", "  \n "])
def test_empty_story_is_an_input_error(engine: DiffEngine, story: str) -> None:
    with pytest.raises(InputError, match="empty"):
        engine.check(story)


def test_one_word_story_is_answered(engine: DiffEngine) -> None:
    report = engine.check("Larkfield")
    assert isinstance(report.message, str)


def test_huge_paste_is_truncated_with_a_notice(store: SourceStore, minilm: Embedder) -> None:
    sources, story = demo_files()
    store.add(read_file(sources[0]))
    engine = DiffEngine(OriginalFinder(store), CheckConfig(max_story_chars=2_000), align_embedder=minilm)
    report = engine.check(story.read_text(encoding="utf-8") * 40)
    assert len(report.story_text) <= 2_000
    assert any("truncated" in n for n in report.analyzer.notes)


def test_empty_store_says_so(store: SourceStore, minilm: Embedder) -> None:
    _, story = demo_files()
    report = DiffEngine(OriginalFinder(store), align_embedder=minilm).check(story.read_text(encoding="utf-8"))
    assert report.findings == [] and "empty" in report.message
