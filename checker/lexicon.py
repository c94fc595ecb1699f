"""The language facts of ``lexicon.toml``, read once: word lists and tables the detectors use.

Every list entry in the file carries a sentence of our own that shows it, with the word in
[brackets]; :func:`examples` hands them to the tests.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Lexicon:
    negators: frozenset[str]
    negation_idioms: tuple[str, ...]
    negative_words: frozenset[str]
    negation_scope_ends: frozenset[str]
    possibility: frozenset[str]
    certainty: frozenset[str]
    backshift: dict[str, str]  # will -> would ...
    approximators: dict[str, str]  # phrase -> sense: = > < >= <=
    number_words: dict[str, float]
    fractions: dict[str, float]
    multipliers: dict[str, float]
    scales: dict[str, float]
    percent_words: dict[str, str]
    durations: dict[str, float]  # unit -> days
    conversions: tuple[float, ...]
    weekdays: dict[str, int]
    months: dict[str, int]
    quarters: dict[str, tuple[int, ...]]
    universal: frozenset[str]
    causal: tuple[str, ...]
    speech_verbs: frozenset[str]
    clause_openers: frozenset[str]
    opposite_pairs: tuple[tuple[str, str, str], ...]  # (side a spec, side b spec, example)
    opposite_idioms: tuple[str, ...]
    caveats: frozenset[str]
    titles: frozenset[str]
    pronouns: frozenset[str]
    attribution_times: frozenset[str]
    quote_conditions: frozenset[str]
    clock_words: dict[str, int]
    comparatives: frozenset[str]
    superlatives: frozenset[str]
    introductory_words: frozenset[str]
    denials: frozenset[str]
    boilerplate: re.Pattern[str]


def _raw() -> dict[str, Any]:
    return tomllib.loads(resources.files("checker").joinpath("lexicon.toml").read_text(encoding="utf-8"))


@cache
def lexicon() -> Lexicon:
    d = _raw()
    return Lexicon(
        negators=frozenset(d["negators"]),
        negation_idioms=tuple(sorted(d["negation_idioms"], key=len, reverse=True)),
        negative_words=frozenset(d["negative_words"]),
        negation_scope_ends=frozenset(d["negation_scope_ends"]),
        possibility=frozenset(d["possibility"]),
        certainty=frozenset(d["certainty"]),
        backshift=dict(d["backshift"]),
        approximators={k: v["sense"] for k, v in d["approximators"].items()},
        number_words={k: float(v) for k, v in d["number_words"].items()},
        fractions={k: float(v) for k, v in d["fractions"].items()},
        multipliers={k: float(v) for k, v in d["multipliers"].items()},
        scales={k: float(v) for k, v in d["scales"].items()},
        percent_words=dict(d["percent_words"]),
        durations={k: float(v) for k, v in d["durations"].items()},
        conversions=tuple(float(v) for v in d["conversions"].values()),
        weekdays={k: int(v) for k, v in d["weekdays"].items()},
        months={k: int(v) for k, v in d["months"].items()},
        quarters={k: tuple(v) for k, v in d["quarters"].items()},
        universal=frozenset(d["universal"]),
        causal=tuple(d["causal"]),
        speech_verbs=frozenset(d["speech_verbs"]),
        clause_openers=frozenset(d["clause_openers"]),
        opposite_pairs=tuple((a, b, ex) for a, b, ex in d["opposites"]["pairs"]),
        opposite_idioms=tuple(d["opposite_idioms"]),
        caveats=frozenset(d["caveats"]),
        titles=frozenset(d["titles"]),
        pronouns=frozenset(d["pronouns"]),
        attribution_times=frozenset(d["attribution_times"]),
        quote_conditions=frozenset(d["quote_conditions"]),
        clock_words={k: int(v) for k, v in d["clock_words"].items()},
        comparatives=frozenset(d["comparatives"]),
        superlatives=frozenset(d["superlatives"]),
        introductory_words=frozenset(d["introductory_words"]),
        denials=frozenset(d["denials"]),
        boilerplate=re.compile("(?i)" + "|".join(f"(?:{p})" for p in d["boilerplate"])),
    )


def examples(section: str) -> list[tuple[str, str]]:
    """(entry, example sentence) of a list section whose entries carry examples."""
    value = _raw()[section]
    if section == "opposites":
        return [(f"{a} / {b}", ex) for a, b, ex in value["pairs"]]
    out = []
    for word, v in value.items():
        out.append((word, v["example"] if isinstance(v, dict) else v))
    return out


def marked(example: str) -> tuple[str, str]:
    """The example without its brackets, and the bracketed word."""
    m = re.search(r"\[([^\]]+)\]", example)
    if not m:
        raise ValueError(f"no [word] marked in {example!r}")
    return example.replace("[", "").replace("]", ""), m.group(1)
