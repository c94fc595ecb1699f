"""Opposite words: a story that says "fell" where its source says "rose".

The opposites of ``lexicon.toml``, common in news copy (movement, decisions, outcomes, legal
status, comparison). A claim is flagged when it uses one side of a pair where its source
sentence uses the other, and neither sentence uses both.
"""

from __future__ import annotations

import re
from functools import cache

from checker.lexicon import lexicon


def _verb(base: str) -> set[str]:
    """Regular inflections of a verb: open, opens, opened, opening."""
    if base.endswith("e"):
        return {base, base + "s", base + "d", base[:-1] + "ing"}
    if re.search(r"[^aeiou]y$", base):
        return {base, base[:-1] + "ies", base[:-1] + "ied", base + "ing"}
    return {base, base + "s", base + "ed", base + "ing"}


def _forms(spec: str) -> frozenset[str]:
    """Words separated by spaces; ``v:base`` expands to a regular verb's forms."""
    out: set[str] = set()
    for item in spec.split():
        out |= _verb(item[2:]) if item.startswith("v:") else {item}
    return frozenset(out)


@cache
def pairs() -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """The opposites of ``lexicon.toml``, each side expanded to its word forms."""
    return tuple((_forms(a), _forms(b)) for a, b, _ in lexicon().opposite_pairs)


@cache
def _opposites_of(word: str) -> frozenset[str]:
    out: set[str] = set()
    for a, b in pairs():
        if word in a:
            out |= b
        if word in b:
            out |= a
    return frozenset(out)


@cache
def _idioms() -> re.Pattern[str]:
    alternation = "|".join(re.escape(i) for i in sorted(lexicon().opposite_idioms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])")


def _words(text: str) -> list[str]:
    low = _idioms().sub(" ", text.lower())  # "falls short of" is not the opposite of "rose"
    return re.findall(r"[a-z][a-z'-]*", low)


def opposites(claim: str, source: str) -> list[tuple[str, str]]:
    """(story word, source word) pairs where the claim says the opposite of its source sentence."""
    cw, sw = _words(claim), _words(source)
    cs, ss = set(cw), set(sw)
    found = []
    for w in dict.fromkeys(cw):
        if w in ss:
            continue
        flipped = _opposites_of(w)
        o = next((o for o in sw if o in flipped and o not in cs), None)  # the source's first opposite
        if o is not None:
            found.append((w, o))
    return found
