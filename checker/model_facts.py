"""What factdiff needs to know about a chat model, in one small table that settings override.

A model name is looked up by its longest known prefix, so a dated snapshot
("gpt-4.1-mini-2025-04-14") gets its family's facts. A name the table does not know (an Azure
deployment name, a local model, a model newer than the table) gets :data:`ASSUMED`, and the
report says what was assumed and which setting to use instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ModelFacts:
    context_window: int  # tokens, prompt and completion together
    price_input: float | None  # US dollars per million prompt tokens (None: unknown)
    price_output: float | None  # ... per million completion tokens
    reasoning: bool  # takes no temperature, and max_completion_tokens instead of max_tokens


#: OpenAI's published context windows and list prices (USD per million tokens), November 2026.
MODELS: dict[str, ModelFacts] = {
    "gpt-4.1": ModelFacts(1_047_576, 2.00, 8.00, False),
    "gpt-4.1-mini": ModelFacts(1_047_576, 0.40, 1.60, False),
    "gpt-4.1-nano": ModelFacts(1_047_576, 0.10, 0.40, False),
    "gpt-4o": ModelFacts(128_000, 2.50, 10.00, False),
    "gpt-4o-mini": ModelFacts(128_000, 0.15, 0.60, False),
    "gpt-5": ModelFacts(400_000, 1.25, 10.00, True),
    "gpt-5-mini": ModelFacts(400_000, 0.25, 2.00, True),
    "gpt-5-nano": ModelFacts(400_000, 0.05, 0.40, True),
    "o1": ModelFacts(200_000, 15.00, 60.00, True),
    "o3": ModelFacts(200_000, 2.00, 8.00, True),
    "o3-mini": ModelFacts(200_000, 1.10, 4.40, True),
    "o4-mini": ModelFacts(200_000, 1.10, 4.40, True),
}
#: For a model the table does not know: a context most current chat models have, no price.
ASSUMED = ModelFacts(32_000, None, None, False)


def known_facts(model: str) -> ModelFacts | None:
    """The table's facts for ``model`` (by its longest known prefix), or None."""
    name = model.strip().lower()
    prefix = max((p for p in MODELS if name == p or name.startswith(p + "-")), key=len, default=None)
    return MODELS[prefix] if prefix else None


def model_facts(
    model: str,
    *,
    context_window: int | None = None,
    price_input: float | None = None,
    price_output: float | None = None,
    reasoning: bool | None = None,
) -> tuple[ModelFacts, list[str]]:
    """The facts for ``model``, each setting given overriding the table; and, for a model the
    table does not know, a note of every fact that was assumed rather than set."""
    known = known_facts(model)
    facts = known or ASSUMED
    if context_window is not None:
        facts = replace(facts, context_window=context_window)
    if price_input is not None and price_output is not None:
        facts = replace(facts, price_input=price_input, price_output=price_output)
    if reasoning is not None:
        facts = replace(facts, reasoning=reasoning)
    if known is not None:
        return facts, []
    assumed = []
    if context_window is None:
        assumed.append(f"a {facts.context_window:,}-token context (FACTDIFF_LLM_CONTEXT_WINDOW)")
    if reasoning is None:
        assumed.append("a chat model that takes a temperature (FACTDIFF_LLM_REASONING)")
    if assumed:
        return facts, [f"model {model!r} is not in factdiff's model table: assumed " + " and ".join(assumed)]
    return facts, []
