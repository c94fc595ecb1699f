"""The report page in a real headless Chromium: both widths, no console errors, keyboard focus."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from checker.html import render_html
from checker.models import Report
from tests.browser import DESKTOP, PHONE, Browser, find_browser
from tests.test_html import demo  # noqa: F401 (the demo's report, a module fixture)

CHROMIUM = find_browser()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium installed: apt-get install chromium (CI's .ci/run installs it)"
    ),
]

COLUMNS = """(() => {
  const r = s => document.querySelector(s).getBoundingClientRect();
  const story = r('.story'), originals = r('.originals');
  return {story: [story.left, story.top, story.right, story.bottom],
          originals: [originals.left, originals.top, originals.right, originals.bottom],
          page: document.documentElement.scrollWidth, view: window.innerWidth};
})()"""


@pytest.fixture(scope="module")
def page_url(demo: tuple[Report, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> str:  # noqa: F811
    path = tmp_path_factory.mktemp("page") / "report.html"
    path.write_text(render_html(*demo), encoding="utf-8")
    return path.as_uri()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    with Browser(CHROMIUM) as b:
        yield b


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_on_a_desktop_the_story_and_originals_sit_side_by_side(browser: Browser, page_url: str, tmp_path: Path) -> None:
    browser.events.clear()
    browser.open(page_url, DESKTOP)
    browser.screenshot(tmp_path / "desktop.png")
    assert png_size(tmp_path / "desktop.png") == DESKTOP and (tmp_path / "desktop.png").stat().st_size > 20_000
    box = browser.evaluate(COLUMNS)
    assert box["originals"][0] >= box["story"][2] - 1 and abs(box["originals"][1] - box["story"][1]) < 1
    assert box["page"] <= box["view"]  # nothing wider than the window
    assert browser.errors() == []


def test_on_a_phone_the_columns_stack_and_nothing_overflows(browser: Browser, page_url: str, tmp_path: Path) -> None:
    browser.events.clear()
    browser.open(page_url, PHONE, mobile=True)
    browser.screenshot(tmp_path / "phone.png")
    assert png_size(tmp_path / "phone.png") == PHONE
    box = browser.evaluate(COLUMNS)
    assert box["originals"][1] >= box["story"][3] - 1  # the originals come under the story
    assert box["page"] <= box["view"]
    assert browser.errors() == []


def test_tabbing_to_a_claim_lights_its_source_sentence_and_shows_what_changed(browser: Browser, page_url: str) -> None:
    browser.open(page_url, DESKTOP)
    assert browser.evaluate("document.querySelectorAll('.lit').length") == 0
    # real key presses, as a keyboard user moves through the page
    assert browser.tab_to("document.querySelector('.claim[data-src]')"), "Tab never reached a claim"
    state = browser.evaluate("""(() => {
      const c = document.activeElement, s = document.getElementById(c.dataset.src), r = s.getBoundingClientRect();
      return {lit: [...document.querySelectorAll('.lit')].map(e => e.id), src: c.dataset.src,
              tip: getComputedStyle(c.querySelector('.tip')).display, outline: getComputedStyle(c).outlineStyle,
              visible: r.top >= 0 && r.bottom <= window.innerHeight};
    })()""")
    assert state["lit"] == [state["src"]] and state["visible"]
    assert state["tip"] == "block" and state["outline"] != "none"
    browser.press_tab()  # moving on puts the light out (or moves it to the next claim's sentence)
    after = browser.evaluate("[...document.querySelectorAll('.lit')].map(e => e.id)")
    assert state["src"] not in after or browser.evaluate("document.activeElement.dataset.src") == state["src"]
    assert browser.errors() == []


def test_printed_the_columns_stack_and_the_findings_list_stays(browser: Browser, page_url: str) -> None:
    browser.open(page_url, DESKTOP)
    browser.call("Emulation.setEmulatedMedia", media="print")
    try:
        box = browser.evaluate(COLUMNS)
        hidden = browser.evaluate("getComputedStyle(document.querySelector('.legend')).display")
        findings = browser.evaluate("document.querySelector('.findings').getBoundingClientRect().height")
    finally:
        browser.call("Emulation.setEmulatedMedia", media="")
    assert box["originals"][1] >= box["story"][3] - 1 and hidden == "none" and findings > 100
