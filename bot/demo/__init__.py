"""``factdiff demo``: a self-contained example, written for factdiff.

Four invented primary sources (a council press release, last year's look-alike release, a
residents' association statement and an unrelated harbour report) and a rewritten story
built from the first and third, with each kind of drift: a changed figure, a dropped hedge,
a trimmed quote, a dropped denial, an added claim and omitted facts. The demo stores the
sources in a temporary local store and checks the story against them.
"""

from __future__ import annotations

import importlib.resources
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import wiring
from bot.settings import Settings
from checker.render import render_text
from retrieval.ingest import IngestRequest, ingest, iter_items

SOURCES = (
    "council-water-rates-2027.txt",
    "council-water-rates-2026.txt",
    "residents-association-statement.txt",
    "harbour-cargo.txt",
)
STORY = "story.txt"


def demo_files() -> tuple[list[Path], Path]:
    root = Path(str(importlib.resources.files("bot.demo")))
    return [root / name for name in SOURCES], root / STORY


def run_demo(
    settings: Settings,
    echo: Callable[[str], None],
    *,
    color: bool = False,
    judge: Any = None,
    page: Path | None = None,
) -> None:
    """Store the sources, check the story, print the report; with ``page``, also write the HTML page there."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    sources, story_path = demo_files()
    with tempfile.TemporaryDirectory(prefix="factdiff-demo-") as tmp:
        client = chromadb.PersistentClient(path=tmp, settings=ChromaSettings(anonymized_telemetry=False))
        store = wiring.source_store(settings, client=client)
        echo(f"Storing {len(sources)} primary sources in a temporary store ({store.embedder.name} embeddings):")
        for o in ingest(store, iter_items(IngestRequest(tuple(str(p) for p in sources)))):
            echo(f"  {o.status:<8} {o.title}" + (f"  ({o.error})" if o.error else ""))
        story = story_path.read_text(encoding="utf-8")
        echo("")
        echo("The story to check:")
        for line in story.strip().splitlines():
            if line.strip():
                echo(f"  | {line}")
        report = wiring.diff_engine(store, judge).check(story)
        echo("")
        echo(render_text(report, color=color))
        if page is not None:
            from checker.html import original_texts, render_html

            page.write_text(render_html(report, original_texts(store, report)), encoding="utf-8")
