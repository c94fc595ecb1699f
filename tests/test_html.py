"""The HTML report page: the demo's report rendered and read back as a document."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import lxml.html
import pytest

from bot.demo import demo_files
from checker.engine import DiffEngine
from checker.html import original_texts, render_html
from checker.models import DiffOp, Finding, Report, SourceSentence, StorySpan
from retrieval.embeddings import Embedder
from retrieval.models import ArticleInfo, Candidate
from retrieval.readers import read_file
from retrieval.search import OriginalFinder
from retrieval.store import SourceStore, StoreConfig
from retrieval.tokens import get_encoding


@pytest.fixture(scope="module")
def demo(chroma_memory: object, wordllama: Embedder, minilm: Embedder) -> tuple[Report, dict[str, str]]:
    store = SourceStore(chroma_memory, wordllama, get_encoding(), StoreConfig(prefix="h" + uuid.uuid4().hex[:10]))
    sources, story = demo_files()
    for path in sources:
        store.add(read_file(path))
    report = DiffEngine(OriginalFinder(store), align_embedder=minilm).check(story.read_text(encoding="utf-8"))
    return report, original_texts(store, report)


@pytest.fixture(scope="module")
def page(demo: tuple[Report, dict[str, str]]) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(render_html(*demo))


def text_of(el: lxml.html.HtmlElement) -> str:
    """An element's visible text, without its verdict label, tooltip and back links."""
    parts = [el.text or ""]
    for child in el:
        if "tag" not in child.classes and "tip" not in child.classes and "back" not in child.classes:
            parts.append(text_of(child))
        parts.append(child.tail or "")
    return "".join(parts)


def test_every_reported_claim_links_to_its_source_sentence(demo: tuple[Report, dict[str, str]], page: object) -> None:
    report, _ = demo
    claims = page.cssselect(".story .claim")  # type: ignore[attr-defined]
    linked = [f for f in report.findings if f.kind in ("reworded", "supported") and report.reported(f)]
    assert linked and len(claims) == len(linked) + len(report.of_kind("added"))
    for f in linked:
        assert f.story and f.source
        claim = next(c for c in claims if text_of(c) == f.story.text)
        assert f"k-{f.kind}" in claim.classes
        target = page.get_element_by_id(claim.get("href").removeprefix("#"))  # type: ignore[attr-defined]
        assert claim.get("data-src") == target.get("id")
        assert text_of(target) == f.source.text  # the verbatim sentence of the original
        assert target.cssselect(f'a.back[href="#{claim.get("id")}"]')  # and back again
        tip = page.get_element_by_id(claim.get("aria-describedby"))  # type: ignore[attr-defined]
        assert f.explanation in tip.text_content()


def test_added_claims_are_labelled_and_focusable_without_a_link(
    demo: tuple[Report, dict[str, str]], page: object
) -> None:
    report, _ = demo
    added = page.cssselect(".story .claim.k-added")  # type: ignore[attr-defined]
    assert [text_of(c) for c in added] == [f.story.text for f in report.of_kind("added") if f.story]
    for c in added:
        assert c.tag == "span" and c.get("tabindex") == "0" and c.get("href") is None
        assert c.cssselect(".tag")[0].text_content().startswith("added")


def test_every_omitted_sentence_is_marked_in_its_original(demo: tuple[Report, dict[str, str]], page: object) -> None:
    report, _ = demo
    marked = page.cssselect(".originals .sent.k-omitted")  # type: ignore[attr-defined]
    omitted = report.of_kind("omitted")
    assert len(omitted) >= 3 and len(marked) == len(omitted)
    assert {text_of(s) for s in marked} == {f.source.text for f in omitted if f.source}
    for s in marked:
        assert s.cssselect(".tag")[0].text_content().startswith("omitted")  # a label, not colour alone


def test_changed_words_are_marked_on_both_sides(page: object) -> None:
    story_ins = [i.text_content() for i in page.cssselect(".story ins")]  # type: ignore[attr-defined]
    source_del = [d.text_content() for d in page.cssselect(".originals del")]  # type: ignore[attr-defined]
    assert any("5.4%" in w for w in story_ins)
    assert any("could" in w for w in source_del)


def test_the_originals_are_shown_in_full_with_citation(demo: tuple[Report, dict[str, str]], page: object) -> None:
    report, texts = demo
    for n, c in enumerate(report.sources, start=1):
        article = page.get_element_by_id(f"o{n}")  # type: ignore[attr-defined]
        assert text_of(article.cssselect(".text")[0]) == texts[c.info.id]
        assert c.info.title in article.cssselect("h3")[0].text_content()
        assert article.cssselect(f'.cite a[href="{c.info.url}"]')


def test_the_header_has_counts_originals_analyzer_and_date(demo: tuple[Report, dict[str, str]]) -> None:
    report, texts = demo
    when = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    top = lxml.html.fromstring(render_html(report, texts, checked_at=when)).cssselect("header")[0].text_content()
    counts = report.counts()
    assert f"{counts['reworded']} reworded" in top and f"{counts['omitted']} omitted" in top
    assert "checked 2026-11-30 09:15 UTC" in top and "the offline engine" in top
    assert all(c.info.title in top for c in report.sources)


def test_the_page_fetches_nothing_and_runs_only_its_own_script(page: object) -> None:
    html = lxml.html.tostring(page, encoding="unicode")  # type: ignore[call-overload]
    assert not page.cssselect("[src], link, iframe, object, embed, img")  # type: ignore[attr-defined]
    assert len(page.cssselect("script")) == 1 and "url(" not in html and "@import" not in html  # type: ignore[attr-defined]
    csp = page.cssselect('meta[http-equiv="Content-Security-Policy"]')[0].get("content")  # type: ignore[attr-defined]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp


# ---- hand-made reports: hostile text, held-back findings, missing texts

HOSTILE = '<script>alert("story")</script> & <b>bold</b>'


def hostile_report() -> tuple[Report, dict[str, str]]:
    info = ArticleInfo("a-1", '<img src=x onerror=alert("title")>', "javascript:alert(1)", "2026-01-01", "<i>Desk</i>")
    source_text = 'The minister said "<script>alert(1)</script>" at 4.5%. Nothing else happened here today.'
    first = source_text.index(" Nothing")
    s1 = SourceSentence("A1.1", info, 0, first, source_text[:first])
    s2 = SourceSentence("A1.2", info, first + 1, len(source_text), source_text[first + 1 :])
    story = f"{HOSTILE} The minister said it at 5.4%. A low-scored extra claim."
    claim = story.index("The minister")
    low = story.index("A low")
    findings = [
        Finding(
            "reworded",
            StorySpan(claim, low - 1, story[claim : low - 1]),
            s1,
            "'4.5%' became '5.4%' <script>x</script>",
            0.9,
            diff=(DiffOp("equal", "The minister said"), DiffOp("delete", "x"), DiffOp("insert", "it")),
        ),
        Finding("added", StorySpan(low, len(story), story[low:]), None, "no source supports this", 0.1),
        Finding("omitted", None, s2, "the source's sentence is not in the story", 0.8),
    ]
    cand = Candidate(info, 0.5, 0.5, 0.5, 0.5)
    return Report(story, "javascript:alert(2)", [cand], findings, threshold=0.5), {"a-1": source_text}


def test_story_and_source_markup_shows_as_text() -> None:
    report, texts = hostile_report()
    html = render_html(report, texts)
    doc = lxml.html.fromstring(html)
    assert len(doc.cssselect("script")) == 1 and not doc.cssselect("img, b, i")
    assert "&lt;script&gt;alert(" in html  # escaped, not markup
    assert HOSTILE in doc.cssselect(".story .text")[0].text_content()
    assert '"<script>alert(1)</script>"' in doc.cssselect(".originals .text")[0].text_content()
    assert '<img src=x onerror=alert("title")>' in doc.cssselect(".original h3")[0].text_content()
    assert not any(a.get("href", "").lower().startswith("javascript") for a in doc.cssselect("a"))


def test_held_back_findings_are_only_in_a_collapsed_labelled_section() -> None:
    report, texts = hostile_report()
    doc = lxml.html.fromstring(render_html(report, texts))
    assert not doc.cssselect(".story .claim.k-added")  # not tinted in the story
    held = doc.cssselect("details.held")[0]
    assert (
        held.get("open") is None and "Held back: 1 lower-scored finding" in held.cssselect("summary")[0].text_content()
    )
    assert "A low-scored extra claim." in held.text_content()


def test_without_the_full_texts_the_cited_sentences_are_shown() -> None:
    report, _ = hostile_report()
    doc = lxml.html.fromstring(render_html(report))
    original = doc.cssselect(".original")[0]
    assert "Only the sentences the findings cite are shown." in original.text_content()
    assert len(original.cssselect(".sent")) == 2 and original.cssselect(".sent.k-omitted")
    assert doc.cssselect(".story a.claim")[0].get("href") == "#s1-1"


def test_a_report_without_originals_says_it_was_not_checked() -> None:
    report = Report("A story.", None, [], [], message="no original found: nothing is close enough")
    doc = lxml.html.fromstring(render_html(report))
    assert doc.cssselect("h1")[0].text_content() == "Not checked"
    assert "nothing is close enough" in doc.text_content() and not doc.cssselect(".columns")
