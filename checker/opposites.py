"""Opposite words: a story that says "fell" where its source says "rose".

A hand-written list of opposites common in news copy (movement, decisions, outcomes, legal
status, comparison). A claim is flagged when it uses one side of a pair where its source
sentence uses the other, and neither sentence uses both.
"""

from __future__ import annotations

import re
from functools import cache


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


_PAIRS_SPEC = (
    # movement and size
    ("v:rise rose risen", "v:fall fell fallen"),
    ("v:increase", "v:decrease"),
    ("v:increase", "v:reduce"),
    ("v:climb v:soar v:jump v:surge", "v:drop dropped dropping v:plunge v:slump v:tumble"),
    ("v:gain", "v:lose lost losing"),
    ("v:grow grew grown", "v:shrink shrank shrunk"),
    ("v:expand", "v:contract v:shrink shrank"),
    ("v:boost", "v:cut cutting"),
    ("v:raise", "v:lower"),
    ("v:strengthen", "v:weaken"),
    ("v:accelerate", "v:slow"),
    ("higher", "lower"),
    ("more", "fewer less"),
    ("most", "least fewest"),
    ("above", "below"),
    ("maximum", "minimum"),
    ("surplus", "deficit"),
    ("profit profits profitable", "loss losses loss-making"),
    ("growth", "decline contraction"),
    ("rising", "falling"),
    # decisions and positions
    ("v:approve", "v:reject v:block v:veto vetoed vetoing"),
    ("v:accept", "v:reject v:refuse v:decline"),
    ("v:allow", "v:ban banned banning v:forbid forbade forbidden v:prohibit"),
    ("v:support", "v:oppose"),
    ("v:agree", "v:disagree"),
    ("v:confirm", "v:deny denied denies denying"),
    ("v:admit", "v:deny denied denies denying"),
    ("v:praise", "v:criticise v:criticize v:condemn"),
    ("v:welcome", "v:condemn v:criticise v:criticize"),
    ("v:open", "v:close v:shut shutting"),
    ("v:start", "v:end v:stop stopped stopping v:halt v:finish"),
    ("v:begin began begun", "v:end v:stop stopped stopping"),
    ("v:launch", "v:scrap scrapped scrapping v:cancel cancelled cancelling"),
    ("v:hire", "v:fire v:sack v:dismiss"),
    ("v:buy bought", "v:sell sold"),
    ("v:import", "v:export"),
    ("v:join", "v:quit quitting"),
    ("v:include", "v:exclude"),
    ("v:win won winning", "v:lose lost losing"),
    ("victory win", "defeat loss"),
    ("success successful succeeded", "failure failed unsuccessful"),
    ("v:pass", "v:fail"),
    ("v:arrest", "v:release v:free"),
    ("v:arrest v:charge v:convict", "v:acquit acquitted acquitting"),
    ("v:convict", "v:acquit acquitted acquitting v:clear"),
    ("guilty", "innocent"),
    ("legal lawful", "illegal unlawful"),
    ("v:help", "v:hurt hurting v:harm"),
    ("v:protect", "v:endanger v:threaten"),
    ("v:encourage", "v:discourage"),
    ("v:enable", "v:prevent"),
    ("v:attack", "v:defend"),
    # states and judgements
    ("strong stronger strongest", "weak weaker weakest"),
    ("thriving booming", "struggling troubled ailing"),
    ("rich richer wealthy", "poor poorer"),
    ("safe safer", "dangerous unsafe"),
    ("easy easier", "difficult harder"),
    ("cheap cheaper", "expensive costly"),
    ("best", "worst"),
    ("better", "worse"),
    ("positive", "negative"),
    ("optimistic", "pessimistic"),
    ("good", "bad"),
    ("full", "empty"),
    ("earlier early", "later late"),
    ("majority", "minority"),
    ("public", "private"),
    ("peace peaceful", "war violent"),
    ("true", "false"),
    ("possible", "impossible"),
    ("likely", "unlikely"),
    ("popular", "unpopular"),
    ("direct", "indirect roundabout"),
    ("everyone everybody", "no-one nobody"),
)
PAIRS: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple((_forms(a), _forms(b)) for a, b in _PAIRS_SPEC)


@cache
def _opposites_of(word: str) -> frozenset[str]:
    out: set[str] = set()
    for a, b in PAIRS:
        if word in a:
            out |= b
        if word in b:
            out |= a
    return frozenset(out)


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text)]


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
