"""A documented, deterministic procedure that rewords a summary the way rewrites drift.

Used by the retrieval benchmark to make queries that are not verbatim extracts:

1. cut the summary into sentences (factdiff's own segmenter);
2. drop sentences: after the first two, each sentence is dropped with probability 0.3;
3. shuffle the remaining sentences;
4. replace common news words with synonyms from the hand-written table below (every
   occurrence, capitalisation kept), e.g. "said" -> "stated", "rose" -> "climbed",
   "company" -> "firm", "government" -> "administration";
5. write "%" as " per cent" and "bn" as " billion".

Names, most numbers and rare words survive, as they do in real rewrites. The random
generator is seeded with the article id, so every run makes the same queries.
"""

from __future__ import annotations

import random
import re

from retrieval.sentences import split_sentences

SYNONYMS = {
    "said": "stated",
    "says": "states",
    "told": "informed",
    "rose": "climbed",
    "risen": "climbed",
    "fell": "dropped",
    "fallen": "dropped",
    "increase": "rise",
    "increased": "grew",
    "decrease": "decline",
    "company": "firm",
    "companies": "firms",
    "firm": "company",
    "government": "administration",
    "profits": "earnings",
    "profit": "earnings",
    "sales": "turnover",
    "people": "individuals",
    "also": "additionally",
    "new": "fresh",
    "big": "large",
    "large": "big",
    "won": "secured",
    "win": "secure",
    "announced": "unveiled",
    "plans": "proposals",
    "plan": "proposal",
    "expected": "forecast",
    "market": "marketplace",
    "help": "assist",
    "show": "indicate",
    "showed": "indicated",
    "shows": "indicates",
    "added": "continued",
    "however": "but",
    "major": "key",
    "bought": "acquired",
    "buy": "acquire",
    "sold": "offloaded",
    "sell": "offload",
    "start": "begin",
    "started": "began",
    "think": "believe",
    "believe": "think",
    "warned": "cautioned",
    "claimed": "asserted",
    "country": "nation",
    "countries": "nations",
    "minister": "secretary",
    "film": "movie",
    "films": "movies",
    "game": "match",
    "match": "game",
    "players": "athletes",
    "player": "athlete",
    "music": "songs",
    "chief": "head",
    "boss": "chief",
    "firms": "businesses",
    "jobs": "posts",
    "cut": "reduce",
    "cuts": "reductions",
    "rise": "increase",
    "rises": "increases",
    "record": "all-time",
    "year": "twelve months",
    "week": "seven days",
    "month": "four weeks",
    "before": "prior to",
    "after": "following",
    "because": "as",
    "about": "around",
    "around": "about",
    "biggest": "largest",
    "largest": "biggest",
    "quickly": "rapidly",
    "main": "principal",
    "public": "general public",
    "deal": "agreement",
    "agreement": "deal",
    "talks": "negotiations",
    "leader": "head",
    "party": "political party",
    "election": "vote",
    "users": "customers",
    "phone": "handset",
    "phones": "handsets",
    "technology": "tech",
    "internet": "web",
    "online": "web-based",
}
_WORD = re.compile(r"[A-Za-z]+")


def _swap(match: re.Match[str]) -> str:
    word = match.group(0)
    repl = SYNONYMS.get(word.lower())
    if repl is None:
        return word
    return repl[0].upper() + repl[1:] if word[0].isupper() else repl


def reword(summary: str, seed: str) -> str:
    rng = random.Random(seed)
    sentences = [s.text for s in split_sentences(summary)]
    kept = sentences[:2] + [s for s in sentences[2:] if rng.random() >= 0.3]
    rng.shuffle(kept)
    out = []
    for s in kept:
        s = _WORD.sub(_swap, s)
        s = re.sub(r"(\d)%", r"\1 per cent", s)
        s = re.sub(r"(\d)bn\b", r"\1 billion", s)
        out.append(s)
    return " ".join(out)
