"""``factdiff demo``: a self-contained example, written for factdiff.

Four invented primary sources (a council press release, last year's look-alike release, a
residents' association statement and an unrelated harbour report) and a rewritten story
built from the first and third. The demo stores them in a temporary local store, then
finds the story's originals.
"""

from __future__ import annotations

import importlib.resources
import tempfile
from collections.abc import Callable
from pathlib import Path

from bot import wiring
from bot.settings import Settings
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


def run_demo(settings: Settings, echo: Callable[[str], None]) -> None:
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
        result = wiring.finder(store).find(story)
        echo("")
        echo("Originals found, best first:" if result.matches else result.message)
        for rank, c in enumerate(result.matches, start=1):
            i = c.info
            echo(f"  {rank}. {i.title}")
            echo(f"     {i.source} · {i.published} · {i.url}")
            echo(
                f"     score {c.score:.2f} (meaning {c.dense:.2f}, shared terms {c.coverage:.2f}); "
                f"explains {c.sentences} of the story's sentences"
            )
        rest = [c for c in result.considered if c not in result.matches]
        if rest:
            echo("Also considered, not originals:")
            for c in rest:
                echo(f"     {c.info.title}  (score {c.score:.2f})")
