"""The offline diff engine: story -> originals -> aligned claims -> verdicts -> report.

Verdicts per claim (a sentence, or a clause tacked onto one):

* supported: a close source sentence covers the claim's content and nothing meaningful changed;
* reworded: it corresponds to a source sentence but a number, date, name, attribution,
  quotation, hedge, negation, scope or cause changed (or its wording departs substantially);
* added: no source sentence corresponds to it.

Clauses of one sentence are merged back when they get the same verdict, and a reworded
sentence keeps its unsupported tail inside the one reworded finding. Omissions are the
newsworthy source sentences that no claim covers. Every quote comes from the stored text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from checker.align import Alignment, SentenceVectors, align, source_sentences, weighted_share
from checker.analysis import Analysis, Judge, Verdict
from checker.changes import detect, dropped_denials, trimmed_quotes, word_diff
from checker.claims import story_claims
from checker.models import Analyzer, Change, Finding, Report, StorySpan
from checker.omissions import omission_candidates, omission_finding
from retrieval.embeddings import Embedder
from retrieval.errors import InputError
from retrieval.lexical import terms
from retrieval.search import OriginalFinder
from retrieval.sentences import split_sentences

log = logging.getLogger(__name__)

MAX_STORY_CHARS = 40_000  # about 6,500 words; longer pastes are cut, with a notice in the report


ALIGN_MAX_TOKENS = 128  # claims and sentences are short; a longer one is cut for alignment only


def default_aligner() -> Embedder:
    """MiniLM, the better judge of single-sentence paraphrase, sized for sentences."""
    from retrieval.embeddings import MiniLMEmbedder

    return MiniLMEmbedder(max_length=ALIGN_MAX_TOKENS)


@dataclass(frozen=True)
class CheckConfig:
    align_min: float = 0.42  # below: no source sentence corresponds to the claim
    support_cover: float = 0.75  # claim terms covered by its source sentence(s) for "supported"
    synthesis_cover: float = 0.75  # an unaligned claim whose terms the sources hold this fully is a synthesis
    wording_cover: float = 0.35  # aligned, no named change, covered less than this: reworded (wording)
    support_sim: float = 0.55  # ... unless this close in meaning: a faithful paraphrase
    max_story_chars: int = MAX_STORY_CHARS
    max_omissions: int = 8  # the most newsworthy omissions reported


def _normal(text: str) -> str:
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip(" .,;:\"'").lower()


def _verbatim_source(i: int, al: Alignment, articles: dict[str, str]) -> int | None:
    """The source sentence of claim i when an original contains the claim word for word
    (quotes and spacing aside), even if the original's sentences are cut differently. A claim
    that quotation marks held together is also verbatim when each of its sentences is."""
    text = al.claims[i].text
    pieces = [_normal(text)] + [_normal(seg.text) for seg in split_sentences(text, keep_quotes=False)]
    for article_id, article in articles.items():
        whole = pieces[0] in article
        parts = [p for p in pieces[1:] if len(p.split()) >= 3]
        if (whole and len(pieces[0].split()) >= 3) or (len(pieces) > 2 and parts and all(p in article for p in parts)):
            same = [j for j, s in enumerate(al.sources) if s.article.id == article_id]
            return max(same, key=lambda j: float(al.claim_cover[i, j]), default=None)
    return None


def _groups(parts: list[Verdict]) -> list[list[Verdict]]:
    """Clauses of one sentence that make one finding.

    Same verdicts merge. A participial tail ("..., framing such efforts as provocative")
    belongs to a reworded head; a finite clause ("..., even as Russia intensifies ...") or a
    tail bolted onto a supported head stays a claim of its own.
    """
    groups: list[list[Verdict]] = [[parts[0]]]
    for v in parts[1:]:
        head = groups[-1]
        same = v.kind == head[-1].kind
        participle = v.claim.text.split()[0].lower().endswith("ing") and any(h.kind == "reworded" for h in head)
        if same or participle:
            head.append(v)
        else:
            groups.append([v])
    return groups


class DiffEngine:
    """Check a story against the store's originals, offline."""

    def __init__(
        self,
        finder: OriginalFinder,
        config: CheckConfig | None = None,
        *,
        align_embedder: Embedder | None = None,
        judge: Judge | None = None,
    ) -> None:
        self.finder = finder
        self.config = config or CheckConfig()
        self.align_embedder = align_embedder or finder.store.embedder
        self.sentence_vectors = SentenceVectors(self.align_embedder)
        self.judge = judge  # refines the offline verdicts (the LLM judge), when configured

    def check(self, story: str, *, url: str | None = None) -> Report:
        if not story.strip():
            raise InputError("the story is empty")
        notes: list[str] = []
        text = story
        if len(text) > self.config.max_story_chars:
            cut = text.rfind("\n", 0, self.config.max_story_chars)
            text = text[: cut if cut > self.config.max_story_chars // 2 else self.config.max_story_chars]
            notes.append(f"the story was truncated to its first {len(text):,} of {len(story):,} characters")
        result = self.finder.find(text)
        if not result.matches:
            return Report(text, url, [], [], Analyzer(notes=notes), result.message)
        stored = self.finder.store.get_many([c.info.id for c in result.matches])
        articles = [stored[c.info.id] for c in result.matches if c.info.id in stored]
        claims = [c for c in story_claims(text) if len(c.text.split()) >= 3 or c.segment_kind == "sentence"]
        sources = source_sentences(articles)
        index = self.finder.lexical_index()
        cap = index.median_idf

        def weight(term: str) -> float:  # smoothed: in a small store every word still counts
            return 1.0 + min(index.idf(term), cap) if index.known(term) else 1.0 + cap

        alignment = align(claims, sources, self.align_embedder, weight, self.sentence_vectors)
        all_text = "\n".join(a.text for a in articles)
        normal_articles = {a.id: _normal(a.text) for a in articles}
        all_terms = set(terms(all_text))
        verdicts = [self._judge(i, alignment, all_text, all_terms, normal_articles) for i in range(len(claims))]
        findings = self._merge(verdicts, text)
        pool = omission_candidates(alignment, findings, keep_cited=self.judge is not None)
        analyzer = Analyzer(notes=notes)
        omitted = [c.index for c in pool if c.offline][: self.config.max_omissions]
        if self.judge is not None:
            judgement = self.judge.judge(Analysis(text, alignment, verdicts, pool, all_text))
            if judgement.verdicts:
                for i, v in judgement.verdicts.items():
                    verdicts[i] = v
                findings = self._merge(verdicts, text)
            if judgement.omitted is not None:
                omitted = judgement.omitted[: self.config.max_omissions]
            analyzer = judgement.analyzer
            analyzer.notes[:0] = notes
        cited = {f.source.id for f in findings if f.source is not None}
        ranks = {c.index: c.rank for c in pool}
        findings.extend(
            omission_finding(alignment.sources[j], ranks.get(j, 1.0))
            for j in omitted
            if alignment.sources[j].id not in cited
        )
        return Report(text, url, result.matches, findings, analyzer, result.message)

    def _judge(
        self, i: int, al: Alignment, all_text: str, all_terms: set[str], normal_articles: dict[str, str]
    ) -> Verdict:
        cfg = self.config
        claim = al.claims[i]
        if not al.sources:
            return Verdict(claim, "added", None, [], 0.5, 0.0)
        best = al.best_sources(i, 3)
        j0 = best[0]
        sim = float(al.similarity[i, j0])
        same_article = [j for j in best[:2] if al.sources[j].article.id == al.sources[j0].article.id]
        cover = max(al.cover_by(i, [j0]), al.cover_by(i, same_article))
        cover_any = weighted_share(al.claim_terms[i], all_terms, al.idf)
        source = al.sources[j0]
        source_text = " ".join(al.sources[j].text for j in same_article)
        if sim < cfg.align_min and cover_any < cfg.synthesis_cover:
            return Verdict(claim, "added", None, [], min(0.95, 0.6 + (cfg.align_min - sim)), cover)
        verbatim = _verbatim_source(i, al, normal_articles)
        if verbatim is not None:
            return Verdict(claim, "supported", al.sources[verbatim], [], 0.99, 1.0, verbatim=True)
        changes = detect(claim.text, source.text, all_text, context=source_text)
        changes += trimmed_quotes(claim.text, [al.sources[j].text for j in best])
        denials = dropped_denials(claim.text, [x.text for x in al.sources], al.best_sources(i, 5))
        if denials:
            j_denial, change = denials[0]
            source = al.sources[j_denial]
            changes = [c for c in changes if c.type != "negation"] + [change]
        meaning = [c for c in changes if c.type != "wording"]
        if meaning:
            return Verdict(claim, "reworded", source, meaning, min(0.9, 0.5 + 0.1 * len(meaning) + sim / 4), cover)
        if cover >= cfg.wording_cover or sim >= cfg.support_sim:
            return Verdict(claim, "supported", source, [], min(0.95, 0.5 + cover / 2), cover)
        missing = sorted(al.claim_terms[i] - set().union(*(al.source_terms[j] for j in same_article)))
        wording = Change("wording", ", ".join(missing[:6]), "", "the wording departs from the source")
        return Verdict(claim, "reworded", source, [wording], 0.45, cover)

    def _merge(self, verdicts: list[Verdict], text: str) -> list[Finding]:
        """One finding per sentence, except a supported sentence with an added clause."""
        findings: list[Finding] = []
        by_sentence: dict[int, list[Verdict]] = {}
        for v in verdicts:
            by_sentence.setdefault(v.claim.sentence, []).append(v)
        for parts in by_sentence.values():
            for group in _groups(parts):
                kinds = {v.kind for v in group}
                lead = next((v for v in group if v.kind == "reworded"), group[0])
                kind = "reworded" if "reworded" in kinds else lead.kind
                changes = [c for v in group for c in v.changes]
                for v in group:
                    if v.kind == "added" and kind == "reworded":
                        changes.append(Change("wording", v.claim.text, "", f"'{v.claim.text}' is not in the source"))
                start, end = group[0].claim.start, group[-1].claim.end
                findings.append(self._finding(kind, start, end, text, lead, changes))
        return findings

    @staticmethod
    def _finding(kind: str, start: int, end: int, text: str, v: Verdict, changes: list[Change]) -> Finding:
        span = StorySpan(start, end, text[start:end])
        source = v.source if kind != "added" else None
        if kind == "added":
            explanation = "no source supports this" + (f": {v.reason}" if v.reason else "")
        elif kind == "supported":
            explanation = "says what the source says"
        else:
            described = "; ".join(c.describe() for c in changes[:3])
            explanation = "; ".join(x for x in (described, v.reason) if x) or "the meaning departs from the source"
        diff = word_diff(source.text, span.text) if source is not None and kind == "reworded" else ()
        return Finding(kind, span, source, explanation, round(v.confidence, 3), tuple(changes), diff)
