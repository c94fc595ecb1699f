"""Our own lexical index: BM25 over whole articles.

chromadb has no BM25 in local mode, and rewritten stories keep names, numbers and quoted
words, so exact terms are the strongest signal for finding an original. The index is built
in memory from the given texts: the benchmarks' baseline, and a small corpus's index. The store's
own index is persistent and incremental (:mod:`retrieval.lexindex`), with these same terms.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "said",
        "same",
        "say",
        "says",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "mr",
        "mrs",
        "ms",
    ]
)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:['\u2019][^\W\d_]+)?", re.UNICODE)


@functools.lru_cache(maxsize=1 << 18)  # a word's stem never changes; news vocabularies repeat
def stem(word: str) -> str:
    """A light, conservative suffix stripper (pledged/pledges -> pledg, countries -> country)."""
    if word[:1].isdigit() or len(word) <= 3:
        return word
    for suffix in ("'s", "\u2019s"):
        if word.endswith(suffix):
            word = word[: -len(suffix)]
    if len(word) <= 4:
        return word
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif re.search(r"(?:ss|x|z|ch|sh)es$", word):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def terms(text: str) -> list[str]:
    """Index terms: lower-cased, stemmed words and numbers without stopwords."""
    out = []
    for m in _TOKEN.finditer(text):
        w = m.group(0).lower()
        if w in STOPWORDS:
            continue
        if w[:1].isdigit():
            w = w.replace(",", "")
        out.append(stem(w))
    return out


_SPECIFIC = re.compile(r"\S*\d\S*|\b[A-Z][A-Za-z'\u2019-]+")


def specific_terms(text: str) -> set[str]:
    """The terms of a text's numbers and capitalised words (names, places, organisations).

    Capitalised ordinary words that open a sentence come along too; weighted by IDF they
    count for little."""
    out: set[str] = set()
    for m in _SPECIFIC.finditer(text.strip()):
        out.update(terms(m.group(0)))
    return out


class LexicalIndex:
    """BM25 (k1, b) over a fixed set of documents; rebuild to change it."""

    def __init__(self, docs: Iterable[tuple[str, str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.ids: list[str] = []
        counts: list[Counter[str]] = []
        for doc_id, text in docs:
            self.ids.append(doc_id)
            counts.append(Counter(terms(text)))
        self._build(counts, k1, b)

    def _build(self, counts: list[Counter[str]], k1: float, b: float) -> None:
        n = len(counts)
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float32)
        avgdl = float(lengths.mean()) if n else 1.0
        norm = k1 * (1 - b + b * lengths / max(avgdl, 1.0))
        postings: dict[str, list[tuple[int, int]]] = {}
        for i, c in enumerate(counts):
            for t, tf in c.items():
                postings.setdefault(t, []).append((i, tf))
        self._docs: dict[str, np.ndarray] = {}
        self._weights: dict[str, np.ndarray] = {}
        self._idf: dict[str, float] = {}
        for t, plist in postings.items():
            idx = np.fromiter((p[0] for p in plist), dtype=np.int32, count=len(plist))
            freqs = np.fromiter((p[1] for p in plist), dtype=np.float32, count=len(plist))
            self._docs[t] = idx
            self._weights[t] = freqs * (k1 + 1) / (freqs + norm[idx])
            self._idf[t] = math.log(1 + (n - len(plist) + 0.5) / (len(plist) + 0.5))
        self._n = n

    def __len__(self) -> int:
        return self._n

    def idf(self, term: str) -> float:
        """Inverse document frequency; unseen terms get the maximum."""
        return self._idf.get(term, math.log(1 + (self._n + 0.5) / 0.5))

    def known(self, term: str) -> bool:
        return term in self._idf

    @property
    def median_idf(self) -> float:
        if not self._idf:
            return 1.0
        return float(np.median(np.fromiter(self._idf.values(), dtype=np.float32)))

    def scores(self, query: Counter[str]) -> np.ndarray:
        """BM25 score of every document for a bag of query terms."""
        total = np.zeros(self._n, dtype=np.float32)
        for t, qtf in query.items():
            docs = self._docs.get(t)
            if docs is None:
                continue
            total[docs] += self._idf[t] * (1 + math.log(qtf)) * self._weights[t]
        return total

    def search(self, text: str, top_k: int = 20) -> list[tuple[str, float]]:
        """The ``top_k`` documents for ``text``, best first, with BM25 scores > 0."""
        if not self._n:
            return []
        s = self.scores(Counter(terms(text)))
        k = min(top_k, self._n)
        top = np.argpartition(-s, k - 1)[:k]
        top = top[np.argsort(-s[top])]
        return [(self.ids[i], float(s[i])) for i in top if s[i] > 0]
