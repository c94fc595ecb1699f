"""Model facts: one table, looked up by prefix, overridden by settings, assumptions said aloud."""

from __future__ import annotations

from checker.llm import LLMConfig
from checker.model_facts import ASSUMED, MODELS, known_facts, model_facts


def test_a_dated_snapshot_gets_its_family_facts() -> None:
    assert known_facts("gpt-4.1-mini-2025-04-14") == MODELS["gpt-4.1-mini"]
    assert known_facts("gpt-4o-mini") == MODELS["gpt-4o-mini"]  # the longest prefix, not gpt-4o
    assert known_facts("gpt-4o") == MODELS["gpt-4o"]
    assert known_facts("gpt-4") is None  # not a prefix of a longer name's family


def test_a_known_model_needs_no_assumptions() -> None:
    facts, notes = model_facts("gpt-5-mini")

    assert facts.reasoning and facts.context_window == 400_000 and notes == []


def test_an_unknown_model_is_assumed_and_the_assumptions_are_named() -> None:
    facts, notes = model_facts("my-azure-deployment")

    assert facts == ASSUMED
    assert len(notes) == 1 and "FACTDIFF_LLM_CONTEXT_WINDOW" in notes[0] and "FACTDIFF_LLM_REASONING" in notes[0]


def test_settings_override_the_table_and_silence_what_they_set() -> None:
    facts, notes = model_facts("my-azure-deployment", context_window=128_000, reasoning=False)
    priced, _ = model_facts("gpt-4o", price_input=1.0, price_output=2.0)

    assert facts.context_window == 128_000 and notes == []
    assert (priced.price_input, priced.price_output) == (1.0, 2.0)


def test_the_prompt_budget_stays_within_the_context_window() -> None:
    roomy = LLMConfig(model="gpt-4.1-mini", max_prompt_tokens=8_000)
    small = LLMConfig(model="local-model", context_window=10_000, max_completion_tokens=4_096)

    assert roomy.prompt_budget == 8_000
    assert small.prompt_budget == 10_000 - 4_096
    assert LLMConfig(model="local-model").prices() is None
