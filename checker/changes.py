"""What a rewording changed: numbers, dates, names, attribution, quotations, hedges,
negation, scope and cause — found by comparing a claim with its source sentence(s).

Each detector is small and conservative: it reports a change only when the story and the
source disagree on something it can name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from checker.models import Change, DiffOp
from checker.opposites import opposites
from retrieval.lexical import terms
from retrieval.sentences import MONTH_ABBREVIATIONS

_WORD = re.compile(r"[\w'\u2019%$.,-]+|[^\w\s]", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])[$\u00a3\u20ac]?\d+(?:[.,]\d+)*(?:%|bn|m|k)?(?![\w])")
NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
    "dozen": "12",
    "half": "1/2",
    "third": "1/3",
    "quarter": "1/4",
    "twice": "x2",
    "double": "x2",
    "doubled": "x2",
    "triple": "x3",
    "tripled": "x3",
}
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
] + list(MONTH_ABBREVIATIONS)
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
NEGATIONS = {
    "not",
    "no",
    "never",
    "n't",
    "without",
    "none",
    "nor",
    "neither",
    "nobody",
    "nothing",
    "cannot",
    "declined",
    "refused",
    "denied",
    "denies",
    "deny",
    "rejected",
    "rejects",
    "failed",
    "unable",
}
HEDGES = {
    "may",
    "might",
    "could",
    "possibly",
    "reportedly",
    "allegedly",
    "preliminary",
    "estimate",
    "estimates",
    "estimated",
    "suggest",
    "suggests",
    "suggested",
    "likely",
    "unlikely",
    "expected",
    "approximately",
    "roughly",
    "nearly",
    "almost",
    "about",
    "around",
    "considering",
    "proposed",
    "potential",
    "potentially",
    "would",
    "up to",
    "unconfirmed",
    "believed",
    "appears",
    "seems",
    "cautioned",
    "depend",
    "depends",
}
CERTAINTY = {
    "will",
    "confirmed",
    "definitely",
    "certainly",
    "proved",
    "proven",
    "clearly",
    "always",
    "consistently",
    "undoubtedly",
    "guaranteed",
}
SCOPE = {
    "all",
    "every",
    "each",
    "entire",
    "whole",
    "some",
    "most",
    "many",
    "several",
    "few",
    "only",
    "any",
    "both",
    "majority",
    "minority",
    "unanimously",
    "unanimous",
}
CAUSES = (
    "because",
    "due to",
    "as a result",
    "caused",
    "causing",
    "led to",
    "leading to",
    "thanks to",
    "owing to",
    "resulted in",
    "result of",
    "blamed",
    "attributed to",
)
SPEECH = {
    "said",
    "says",
    "told",
    "stated",
    "added",
    "announced",
    "confirmed",
    "claimed",
    "argued",
    "insisted",
    "warned",
    "admitted",
    "noted",
    "stressed",
    "assured",
    "emphasized",
    "emphasised",
    "highlighted",
    "disclosed",
    "revealed",
    "replied",
    "accused",
    "criticized",
    "criticised",
    "according",
}
_QUOTE = re.compile(r"[\u201c\"]([^\u201c\u201d\"]{3,}?)[\u201d\"]")


def words(text: str) -> list[str]:
    return [w.lower().strip(".,") for w in re.findall(r"[\w'\u2019%$.-]+", text) if w.strip(".,-")]


def numbers(text: str) -> set[str]:
    out = {m.group(0).lstrip("$\u00a3\u20ac").replace(",", "").rstrip(".") for m in _NUMBER.finditer(text)}
    for w in words(text):
        if w in NUMBER_WORDS:
            out.add(NUMBER_WORDS[w])
    return out


def _has_phrase(text: str, phrases: Sequence[str]) -> list[str]:
    low = " " + re.sub(r"\s+", " ", text.lower()) + " "
    return [p for p in phrases if re.search(rf"(?<![\w]){re.escape(p)}(?![\w])", low)]


def _markers(text: str, vocab: set[str]) -> set[str]:
    ws = set(words(text))
    found = {w for w in ws if w in vocab}
    found.update(p for p in vocab if " " in p and p in text.lower())
    if "n't" in vocab and re.search(r"n['\u2019]t\b", text.lower()):
        found.add("n't")
    return found


def names(text: str) -> set[str]:
    """Capitalised words that are not the first word of a sentence or clause."""
    out = set()
    for m in re.finditer(
        r"(?<![.!?]\s)(?<!^)(?<![\u201c\"]\s)(?<![\u201c\"])\b([A-Z][a-z\u00e0-\u00ff'\u2019-]+)", text.strip()
    ):
        w = m.group(1).lower().rstrip("'\u2019s")
        if w not in MONTHS and w not in WEEKDAYS:
            out.add(w)
    return out


def _norm(text: str) -> str:
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip().lower()


def quotations(text: str) -> list[str]:
    """Quoted passages: curly quotes paired open-close, straight quotes only when balanced."""
    found = [m.group(1) for m in re.finditer(r"\u201c([^\u201c\u201d]{3,400}?)\u201d", text)]
    parts = text.split('"')
    if len(parts) % 2 == 1:  # an even number of straight quotes
        found += [p for p in parts[1::2] if 3 <= len(p) <= 400]
    return [q.strip(" ,.;:") for q in found]


def check_quotes(claim: str, sources: Sequence[str]) -> list[Change]:
    """Quoted words in the claim that no source says verbatim (or that are stitched together)."""
    pool = [_norm(s) for s in sources]
    changes = []
    for q in quotations(claim):
        nq = _norm(q).strip(" ,.;:")
        if len(nq.split()) < 2 or any(nq in p for p in pool):
            continue
        closest = closest_wording(q, sources)
        changes.append(
            Change(
                "quotation",
                q,
                closest,
                f"the quote \u201c{q}\u201d is not verbatim in the source"
                + (f"; the source says \u201c{closest}\u201d" if closest else ""),
            )
        )
    return changes


def closest_wording(quote: str, sources: Sequence[str], shortlist: int = 8) -> str:
    """The source passage (same length in words, give or take two) most like the quote.

    Windows are shortlisted by a word-level comparison (cheap), then the shortlist is
    ranked character by character, which also credits inflected and misspelt words."""
    n = len(quote.split())
    quote_words = _norm(quote).split()
    by_words = difflib.SequenceMatcher(None, autojunk=False)
    by_words.set_seq2(quote_words)  # the fixed side: SequenceMatcher indexes seq2 once
    windows: list[tuple[float, int, str]] = []
    for s in sources:
        sw = s.split()
        for k in range(0, max(1, len(sw) - n + 1)):
            window = " ".join(sw[k : k + n + 2])
            by_words.set_seq1(_norm(window).split())
            windows.append((by_words.ratio(), -len(windows), window))
    best, best_ratio = "", 0.0
    for _, _, window in sorted(windows, reverse=True)[:shortlist]:
        r = difflib.SequenceMatcher(None, _norm(quote), _norm(window)).ratio()
        if r > best_ratio:
            best, best_ratio = window, r
    return best.strip(" ,;:") if best_ratio >= 0.5 else ""


_SPEAKER = re.compile(
    r"(?:according to|said|says|told|stated|announced|claimed|argued|insisted|warned|admitted|noted|stressed)"
    r"\s+((?:[A-Z][\w'\u2019-]+\s?){1,3})|((?:[A-Z][\w'\u2019-]+\s?){1,3})\s+"
    r"(?:said|says|told|stated|announced|claimed|argued|insisted|warned|admitted|noted|stressed)\b"
)


def speakers(text: str) -> set[str]:
    """Names next to a speech verb: who is said to have said it."""
    found = set()
    for m in _SPEAKER.finditer(text):
        name = (m.group(1) or m.group(2) or "").strip()
        for w in name.split():
            w = w.lower().rstrip("'\u2019s")
            if w not in {"the", "a", "an", "he", "she", "they", "it", "we", "i", "on", "in", "but", "and"}:
                found.add(w)
    return found


def _unit(number: str) -> str:
    return "%" if number.endswith("%") else "x" if number.startswith("x") else "/" if "/" in number else "n"


def _on_kept_content(source: str, claim: str, vocab: set[str]) -> set[str]:
    """Markers (hedges, negations) of the source that govern words the claim kept, not a
    part of the sentence the claim left out."""
    kept = set(terms(claim))
    ws = source.split()
    low = [w.lower().strip(".,;:\"'\u201c\u201d") for w in ws]
    found = set()
    for k, w in enumerate(low):
        phrase = " ".join(low[k : k + 2])
        marker = phrase if phrase in vocab else w if w in vocab else None
        if marker is None and "n't" in vocab and re.search(r"n['\u2019]t$", w):
            marker = "n't"
        window = re.split(r"[,;.!?]", " ".join(ws[k + 1 : k + 8]))[0]
        if marker and set(terms(window)) & kept:
            found.add(marker)
    return found


def detect(claim: str, source: str, all_sources: str, context: str | None = None) -> list[Change]:
    """Meaning changes between a claim and the source sentence it corresponds to.

    ``context`` (the source sentence and its best neighbour) is used for figures, which a
    story may merge from two sentences; everything else is compared with ``source`` alone.
    """
    changes: list[Change] = []
    cn, sn, an = numbers(claim), numbers(context or source), numbers(all_sources)
    new_numbers = sorted(n for n in cn if n not in an and n not in sn)  # a figure no source gives
    if new_numbers:
        unit = {_unit(n) for n in new_numbers}
        was = sorted(n for n in sn - cn if _unit(n) in unit) or sorted(sn - cn)
        changes.append(Change("number", ", ".join(new_numbers), ", ".join(was)))
    calendar = set(MONTHS) | set(WEEKDAYS)
    all_words = set(words(all_sources)) | set(words(source))
    cd = {w for w in words(claim) if w in calendar and w not in all_words}
    sd = {w for w in words(context or source) if w in calendar} - set(words(claim))
    if cd:
        changes.append(Change("date", ", ".join(sorted(cd)), ", ".join(sorted(sd))))
    lower_all = all_sources.lower()
    new_names = sorted(n for n in names(claim) if n not in lower_all)
    if new_names:
        changes.append(Change("name", ", ".join(new_names), "", f"{', '.join(new_names)} not in the source"))
    cs_, ss_ = speakers(claim), speakers(source)
    if cs_ and ss_ and not cs_ & ss_ and not cs_ & set(words(source)):
        changes.append(
            Change(
                "attribution",
                ", ".join(sorted(cs_)),
                ", ".join(sorted(ss_)),
                f"the source attributes this to {', '.join(sorted(ss_))}, not {', '.join(sorted(cs_))}",
            )
        )
    cneg, sneg = _markers(claim, NEGATIONS), _on_kept_content(source, claim, NEGATIONS)
    if bool(cneg) != bool(sneg):
        changes.append(
            Change(
                "negation",
                ", ".join(sorted(cneg)),
                ", ".join(sorted(sneg)),
                "a negation was added" if cneg else "a negation was dropped",
            )
        )
    if not any(c.type == "negation" for c in changes):
        flipped = opposites(claim, source)
        if flipped:
            story_word, source_word = flipped[0]
            changes.append(
                Change("negation", story_word, source_word, f"'{source_word}' became '{story_word}', its opposite")
            )
    ch, sh = _markers(claim, HEDGES), _on_kept_content(source, claim, HEDGES)
    cc, sc = _markers(claim, CERTAINTY), _markers(source, CERTAINTY)
    if sh - ch and (not ch or cc - sc):
        changes.append(
            Change(
                "hedge",
                ", ".join(sorted(cc - sc)),
                ", ".join(sorted(sh - ch)),
                f"the hedge '{', '.join(sorted(sh - ch))}' was dropped"
                + (f" and '{', '.join(sorted(cc - sc))}' added" if cc - sc else ""),
            )
        )
    elif (cc - sc) - {"will"}:
        added = ", ".join(sorted((cc - sc) - {"will"}))
        changes.append(Change("hedge", added, "", f"'{added}' adds certainty the source does not have"))
    cs, ss = _markers(claim, SCOPE), _markers(source, SCOPE)
    if cs - ss:
        changes.append(Change("scope", ", ".join(sorted(cs - ss)), ", ".join(sorted(ss - cs))))
    new_causes = [c for c in _has_phrase(claim, CAUSES) if c not in _has_phrase(source, CAUSES)]
    if new_causes:
        changes.append(
            Change("cause", ", ".join(new_causes), "", f"'{new_causes[0]}' adds a cause the source does not give")
        )
    changes.extend(check_quotes(claim, [source, all_sources]))
    return changes


def trimmed_quotes(claim: str, sources: Sequence[str]) -> list[Change]:
    """Verbatim quotes that stop short of the source's quote where it goes on with content."""
    out = []
    for q in quotations(claim):
        nq = _norm(q).strip(" ,.;:")
        if len(nq.split()) < 2:
            continue
        for s in sources:
            for sq in quotations(s):
                nsq = _norm(sq)
                k = nsq.find(nq)
                if k < 0:
                    continue
                rest_after, rest_before = nsq[k + len(nq) :], nsq[:k]
                lost = [t for t in (rest_before + " " + rest_after).split() if terms(t)]
                if len(lost) >= 2:
                    out.append(
                        Change("quotation", q, sq, f"the quote was trimmed: the source says \u201c{sq.strip()}\u201d")
                    )
                break
    return out


def dropped_denials(claim: str, sentences: Sequence[str], candidates: Sequence[int]) -> list[tuple[int, Change]]:
    """Source sentences that deny or negate what the claim asserts (the claim has no negation).

    Only the claim's best-aligned sentences (``candidates``) are considered. One qualifies when
    the clause after its negation ("denies reports that it had asked for the rise to be
    postponed") has at least three content terms and shares at least 60% of them with the claim.
    """
    if _markers(claim, NEGATIONS):
        return []
    claim_terms = set(terms(claim))
    out = []
    for j in candidates:
        s = sentences[j]
        low = s.lower().split()
        for k, w in enumerate(low):
            word = w.strip(".,;:\"'\u201c\u201d")
            if word in NEGATIONS or re.search(r"n['\u2019]t$", word):
                clause = re.split(r"[,;.]", " ".join(s.split()[k + 1 : k + 14]))[0]
                negated = set(terms(clause))
                shared = negated & claim_terms
                if len(negated) >= 3 and len(shared) >= 0.6 * len(negated):
                    out.append(
                        (
                            j,
                            Change(
                                "negation",
                                ", ".join(sorted(shared)),
                                s,
                                f"the source says the opposite: \u201c{s.strip()}\u201d",
                            ),
                        )
                    )
                    break
    return out


def word_diff(source: str, story: str) -> tuple[DiffOp, ...]:
    """Word-level difference from the source sentence to the story text."""
    a, b = source.split(), story.split()
    ops: list[DiffOp] = []
    matcher = difflib.SequenceMatcher(None, [_norm(w) for w in a], [_norm(w) for w in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(DiffOp("equal", " ".join(b[j1:j2])))
            continue
        if i2 > i1:
            ops.append(DiffOp("delete", " ".join(a[i1:i2])))
        if j2 > j1:
            ops.append(DiffOp("insert", " ".join(b[j1:j2])))
    return tuple(ops)
