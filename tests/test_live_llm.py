"""Optional: the LLM judge against the real OpenAI API. Runs only when OPENAI_API_KEY is set
(and OPENAI_BASE_URL is not, so a local server is never mistaken for the real thing)."""

from __future__ import annotations

import os

import pytest

from bot.demo import demo_files
from checker.engine import DiffEngine
from checker.judge import LLMJudge
from checker.llm import LLMConfig
from retrieval.embeddings import Embedder
from retrieval.readers import read_file
from retrieval.search import OriginalFinder
from retrieval.store import SourceStore

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not os.environ.get("OPENAI_API_KEY") or bool(os.environ.get("OPENAI_BASE_URL")),
        reason="needs a real OPENAI_API_KEY (and no OPENAI_BASE_URL)",
    ),
]


def test_real_model_judges_the_demo_story_with_verbatim_citations(store: SourceStore, minilm: Embedder) -> None:
    from openai import OpenAI

    sources, story_path = demo_files()
    for path in sources:
        store.add(read_file(path))
    model = os.environ.get("FACTDIFF_LLM_MODEL", "gpt-4.1-mini")
    judge = LLMJudge(OpenAI(), LLMConfig(model=model))
    report = DiffEngine(OriginalFinder(store), align_embedder=minilm, judge=judge).check(
        story_path.read_text(encoding="utf-8")
    )

    assert report.analyzer.name == "factdiff-llm", report.analyzer.notes
    assert (report.analyzer.prompt_tokens or 0) > 0 and report.analyzer.cost_usd is not None
    figure = next(f for f in report.findings if f.story and "5.4% more" in f.story.text)
    assert figure.kind == "reworded"
    for f in report.findings:
        if f.source is not None:
            assert store.get(f.source.article.id).text[f.source.start : f.source.end] == f.source.text
