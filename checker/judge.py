"""The LLM judge: the model judges the offline engine's aligned candidates, by our IDs only.

Two stages, each with its prompt file in ``prompts/``:

* ``claims``: every claim that is not word for word in an original, with the source sentences
  it aligns with ("candidates"): supported, reworded (and what changed) or added;
* ``omissions``: the source sentences the story may leave out, each with the claims closest to
  it: covered, omitted or minor.

The model sees claims as ``S3``/``S3.2`` and source sentences as ``A1.7``, and answers in a JSON
schema with those IDs. Every quote and offset in the report is built from the stored text: an
ID the request did not contain is dropped and counted, a supported or reworded verdict with no
source it can cite is dropped and counted (the offline verdict stands), and the words a change
names are shown only where they are found verbatim in the claim or the source sentence.

Requests are planned with tiktoken: only the aligned candidate sentences are sent, long stories
are split into batches that fit ``max_prompt_tokens``, and batches run concurrently. A batch
that fails after its retries keeps the offline verdicts, with a note in the report.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tiktoken
from pydantic import BaseModel, ConfigDict

from checker.analysis import Analysis, Judgement, OmissionCandidate, Verdict
from checker.llm import LLMConfig, LLMFailure, StructuredLLM, Usage
from checker.models import CHANGE_TYPES, Analyzer, Change, SourceSentence
from prompts import Prompt, load_prompt
from retrieval.tokens import count_tokens, encoding_name_for_model, get_encoding

log = logging.getLogger(__name__)

ChangeType = Literal[
    "number", "date", "name", "attribution", "quotation", "hedge", "negation", "scope", "cause", "wording"
]
assert set(ChangeType.__args__) == set(CHANGE_TYPES)  # type: ignore[attr-defined]

#: Changes the code itself has verified; a model's "supported" does not overrule them.
VERIFIED_TYPES = ("number", "date", "quotation")
LABELS = {
    "number": "a figure",
    "date": "a date",
    "name": "a name",
    "attribution": "who said it",
    "quotation": "a quotation",
    "hedge": "the hedging",
    "negation": "a negation",
    "scope": "the scope",
    "cause": "a cause",
    "wording": "the wording",
}
CANDIDATES = 3  # source sentences sent with each claim, at most
PLAUSIBLE = 0.3  # a cited sentence this similar to the claim (or covering this share of its terms)
CLOSEST_CLAIMS = 3  # claims sent with each omission candidate
MESSAGE_OVERHEAD = 12  # tokens the chat format adds around two messages

#: One line of a request: (item index, its JSON row, source sentence indices, claim indices it brings).
Row = tuple[int, dict[str, Any], list[int], list[int]]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeAnswer(_Answer):
    type: ChangeType
    story_words: str
    source_words: str


class ClaimJudgment(_Answer):
    claim: str
    verdict: Literal["supported", "reworded", "added"]
    sources: list[str]
    changes: list[ChangeAnswer]
    reason: str


class ClaimAnswers(_Answer):
    judgments: list[ClaimJudgment]


class OmissionJudgment(_Answer):
    source: str
    verdict: Literal["covered", "omitted", "minor"]
    claims: list[str]


class OmissionAnswers(_Answer):
    judgments: list[OmissionJudgment]


STAGES: dict[str, tuple[set[str], type[_Answer]]] = {
    "claims": ({"articles", "sources", "claims"}, ClaimAnswers),
    "omissions": ({"articles", "candidates", "claims"}, OmissionAnswers),
}


@dataclass
class Batch:
    """One request: which claims (or omission candidates) it asks about, and what it shows."""

    stage: str
    items: list[int]  # claim indices (claims stage) or candidate indices (omissions stage)
    claim_ids: set[str]
    source_ids: set[str]
    system: str = ""
    user: str = ""
    prompt_tokens: int = 0
    max_tokens: int = 0


@dataclass
class _Tally:
    unknown_ids: int = 0
    unresolvable: int = 0
    implausible: int = 0
    duplicates: int = 0
    unverified_words: int = 0
    kept: int = 0
    failures: list[tuple[str, int, LLMFailure]] = field(default_factory=list)  # stage, items, failure


def _data(rows: list[dict[str, Any]]) -> str:
    """Untrusted text as JSON, one row a line; '<' and '>' escaped so no text can close a tag."""
    lines = [json.dumps(r, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e") for r in rows]
    return "[\n" + ",\n".join(lines) + "\n]"


def _article_id(sentence_id: str) -> str:
    return sentence_id.split(".", 1)[0]


def _order(sentence_id: str) -> tuple[int, int]:
    a, n = sentence_id[1:].split(".", 1)
    return int(a), int(n)


def locate(words: str, text: str) -> str | None:
    """``words`` as they appear in ``text`` (case, spacing and quote style aside), taken from ``text``."""
    tokens = re.findall(r"\w+|[^\w\s]", words)
    if not tokens:
        return None
    quotes = "\"'\u201c\u201d\u2018\u2019"
    parts = [f"[{re.escape(quotes)}]" if t in quotes else re.escape(t) for t in tokens]
    m = re.search(r"\s*".join(parts), text, re.IGNORECASE)
    return m.group(0) if m else None


def sanitize_reason(reason: str, limit: int = 240) -> str:
    """A model's explanation, shown as plain words: never with quotation marks (no quote can be
    mistaken for one from the source), on one line, and short."""
    text = re.sub(r"[\"\u201c\u201d\u00ab\u00bb]|(?<!\w)['\u2018\u2019]|['\u2018\u2019](?!\w)", "", reason)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"


class LLMJudge:
    """Judge a story's claims and omissions with an OpenAI-compatible chat model."""

    def __init__(
        self,
        client: Any,
        config: LLMConfig | None = None,
        *,
        prompts_dir: Path | None = None,
        encoding: tiktoken.Encoding | None = None,
    ) -> None:
        self.config = config or LLMConfig()
        self.client = client
        # validated now: a broken prompt file is a start-up error, not a broken request
        self.prompts: dict[str, Prompt] = {
            stage: load_prompt(stage, expect=variables, directory=prompts_dir)
            for stage, (variables, _) in STAGES.items()
        }
        self.encoding = encoding or get_encoding(encoding_name_for_model(self.config.model))
        self._schema_tokens = {
            stage: count_tokens(json.dumps(answer.model_json_schema()), self.encoding)
            for stage, (_, answer) in STAGES.items()
        }

    @property
    def prompt_version(self) -> str:
        return "+".join(p.label for p in self.prompts.values())

    # ---- planning -----------------------------------------------------------------------

    def candidates(self, analysis: Analysis, i: int) -> list[int]:
        """The source sentences worth showing with claim i: the closest, and any nearly as close."""
        al = analysis.alignment
        best = al.best_sources(i, CANDIDATES)
        if not best:
            return []
        top = float(al.similarity[i, best[0]])
        return [j for k, j in enumerate(best) if k == 0 or float(al.similarity[i, j]) >= max(0.3, top - 0.15)]

    def closest_claims(self, analysis: Analysis, j: int) -> list[int]:
        al = analysis.alignment
        if not al.claims:
            return []
        closeness = 0.5 * al.dense[:, j] + 0.5 * al.source_cover[:, j]
        order = sorted(range(len(al.claims)), key=lambda i: -float(closeness[i]))
        return order[:CLOSEST_CLAIMS]

    def plan(self, analysis: Analysis) -> tuple[list[Batch], list[str]]:
        """The requests for one story, each within the prompt budget; and notes on what was left out."""
        notes: list[str] = []
        al = analysis.alignment
        claims = [i for i, v in enumerate(analysis.verdicts) if not v.verbatim]
        claim_rows: list[Row] = []
        for i in claims:
            cands = self.candidates(analysis, i)
            row = {"id": al.claims[i].id, "text": al.claims[i].text, "candidates": [al.sources[j].id for j in cands]}
            claim_rows.append((i, row, cands, []))
        batches = self._pack("claims", analysis, claim_rows, notes)
        pool = analysis.omission_candidates
        omission_rows: list[Row] = []
        for k, cand in enumerate(pool):
            near = self.closest_claims(analysis, cand.index)
            row = {"id": al.sources[cand.index].id, "text": al.sources[cand.index].text}
            row["closest_claims"] = [al.claims[i].id for i in near]  # type: ignore[assignment]
            omission_rows.append((k, row, [cand.index], near))
        batches += self._pack("omissions", analysis, omission_rows, notes)
        return batches, notes

    def _pack(
        self,
        stage: str,
        analysis: Analysis,
        rows: list[Row],
        notes: list[str],
    ) -> list[Batch]:
        """Greedy packing: add rows while the rendered prompt stays within the budget."""
        budget = self.config.max_prompt_tokens
        batches: list[Batch] = []
        current: list[Row] = []
        skipped = 0
        for row in rows:
            trial = self._render(stage, analysis, current + [row])
            if trial.prompt_tokens <= budget:
                current.append(row)
                continue
            if current:
                batches.append(self._render(stage, analysis, current))
            current = [row]
            if self._render(stage, analysis, current).prompt_tokens > budget:
                skipped += 1
                current = []
        if current:
            batches.append(self._render(stage, analysis, current))
        if skipped:
            what = "claims" if stage == "claims" else "possible omissions"
            notes.append(
                f"{skipped} {what} too long for one request of {budget:,} tokens were left to the offline engine"
            )
        return batches

    def _render(self, stage: str, analysis: Analysis, rows: list[Row]) -> Batch:
        al = analysis.alignment
        items = [r[0] for r in rows]
        source_idx = sorted({j for r in rows for j in r[2]}, key=lambda j: _order(al.sources[j].id))
        articles: dict[str, Any] = {}
        for j in source_idx:
            info = al.sources[j].article
            articles.setdefault(_article_id(al.sources[j].id), info)
        article_rows = [
            {"id": a, "title": info.title, "published": info.published, "url": info.url} for a, info in articles.items()
        ]
        if stage == "claims":
            claim_ids = {r[1]["id"] for r in rows}
            values = {
                "articles": _data(article_rows),
                "sources": _data([{"id": al.sources[j].id, "text": al.sources[j].text} for j in source_idx]),
                "claims": _data([r[1] for r in rows]),
            }
        else:
            near = sorted({i for r in rows for i in r[3]})
            claim_ids = {al.claims[i].id for i in near}
            values = {
                "articles": _data(article_rows),
                "candidates": _data([r[1] for r in rows]),
                "claims": _data([{"id": al.claims[i].id, "text": al.claims[i].text} for i in near]),
            }
        system, user = self.prompts[stage].render(**values)
        tokens = (
            count_tokens(system, self.encoding)
            + count_tokens(user, self.encoding)
            + self._schema_tokens[stage]
            + MESSAGE_OVERHEAD
        )
        per_item = 140 if stage == "claims" else 45
        max_tokens = min(self.config.max_completion_tokens, 200 + per_item * len(rows))
        return Batch(stage, items, claim_ids, {al.sources[j].id for j in source_idx}, system, user, tokens, max_tokens)

    # ---- judging ------------------------------------------------------------------------

    def judge(self, analysis: Analysis) -> Judgement:
        batches, notes = self.plan(analysis)
        usage = Usage()
        llm = StructuredLLM(self.client, self.config, usage, encoding=self.encoding)
        tally = _Tally()
        answers: list[tuple[Batch, Any]] = []

        def run(batch: Batch) -> tuple[Batch, Any]:
            _, answer_type = STAGES[batch.stage]
            try:
                return batch, llm.ask(batch.system, batch.user, answer_type, batch.max_tokens)
            except LLMFailure as exc:
                return batch, exc

        if batches:
            with ThreadPoolExecutor(max_workers=max(1, min(self.config.concurrency, len(batches)))) as pool:
                answers = list(pool.map(run, batches))
        verdicts: dict[int, Verdict] = {}
        omitted: list[int] | None = []
        omission_failed = False
        for batch, answer in answers:
            if isinstance(answer, LLMFailure):
                tally.failures.append((batch.stage, len(batch.items), answer))
                omission_failed |= batch.stage == "omissions"
            elif batch.stage == "claims":
                verdicts.update(self._claim_verdicts(analysis, batch, answer, tally))
            else:
                omitted += self._omitted(analysis, batch, answer, tally)  # type: ignore[operator]
        if omission_failed or not any(b.stage == "omissions" for b in batches):
            omitted = None if omission_failed else []
        if omitted:
            rank = {c.index: c.rank for c in analysis.omission_candidates}
            omitted.sort(key=lambda j: -rank.get(j, 0.0))
        judged = sum(len(b.items) for b, a in answers if b.stage == "claims" and not isinstance(a, LLMFailure))
        analyzer = self._analyzer(analysis, batches, answers, usage, tally, notes, judged)
        return Judgement(verdicts, omitted, analyzer)

    def _claim_verdicts(
        self, analysis: Analysis, batch: Batch, answer: ClaimAnswers, tally: _Tally
    ) -> dict[int, Verdict]:
        al = analysis.alignment
        by_id = {al.claims[i].id: i for i in batch.items}
        sentences = {s.id: (j, s) for j, s in enumerate(al.sources) if s.id in batch.source_ids}
        out: dict[int, Verdict] = {}
        for j in answer.judgments:
            i = by_id.get(j.claim.strip())
            if i is None:
                tally.unknown_ids += 1
                continue
            if i in out:
                tally.duplicates += 1
                continue
            cited = []
            for sid in j.sources:
                if sid.strip() in sentences:
                    cited.append(sentences[sid.strip()][1])
                else:
                    tally.unknown_ids += 1
            offline = analysis.verdicts[i]
            if j.verdict != "added" and not cited:
                tally.unresolvable += 1  # nothing to quote: the offline verdict stands
                continue
            if j.verdict != "added" and not self._plausible(analysis, i, [sentences[c.id][0] for c in cited]):
                tally.implausible += 1  # the cited sentences share too little with the claim
                continue
            reason = sanitize_reason(j.reason)
            if j.verdict == "supported":
                if offline.kind == "reworded" and any(c.type in VERIFIED_TYPES for c in offline.changes):
                    tally.kept += 1
                    continue
                out[i] = Verdict(offline.claim, "supported", cited[0], [], 0.85, offline.cover)
            elif j.verdict == "added":
                out[i] = Verdict(
                    offline.claim,
                    "added",
                    None,
                    [],
                    0.85 if offline.kind == "added" else 0.75,
                    offline.cover,
                    reason=reason,
                )
            else:
                changes = [self._change(c, offline.claim.text, cited, tally) for c in j.changes]
                if not changes:
                    changes = [Change("wording", "", "", "the meaning changed")]
                confidence = 0.85 if offline.kind == "reworded" else 0.75
                out[i] = Verdict(offline.claim, "reworded", cited[0], changes, confidence, offline.cover, reason=reason)
        return out

    @staticmethod
    def _plausible(analysis: Analysis, i: int, js: list[int]) -> bool:
        """Could the cited sentences be what the claim corresponds to? A check in code, so that a
        model (or a story that talks a model into it) cannot pin a claim on an unrelated sentence."""
        al = analysis.alignment
        closest = max(float(al.similarity[i, j]) for j in js)
        return closest >= PLAUSIBLE or al.cover_by(i, js) >= PLAUSIBLE

    @staticmethod
    def _change(c: ChangeAnswer, claim: str, cited: list[SourceSentence], tally: _Tally) -> Change:
        story = locate(c.story_words, claim) if c.story_words.strip() else None
        source = None
        if c.source_words.strip():
            source = next((w for w in (locate(c.source_words, s.text) for s in cited) if w), None)
        tally.unverified_words += int(bool(c.story_words.strip()) and story is None)
        tally.unverified_words += int(bool(c.source_words.strip()) and source is None)
        label = LABELS[c.type]
        if story and source:
            note = f"{label}: '{source}' became '{story}'"
        elif source:
            note = f"{label}: '{source}' was dropped"
        elif story:
            note = f"{label}: '{story}' is not what the source says"
        else:
            note = f"{label} changed"
        return Change(c.type, story or "", source or "", note)

    @staticmethod
    def _omitted(analysis: Analysis, batch: Batch, answer: OmissionAnswers, tally: _Tally) -> list[int]:
        pool: list[OmissionCandidate] = analysis.omission_candidates
        by_id = {analysis.alignment.sources[pool[k].index].id: pool[k].index for k in batch.items}
        seen: set[int] = set()
        out = []
        for j in answer.judgments:
            index = by_id.get(j.source.strip())
            if index is None:
                tally.unknown_ids += 1
                continue
            if index in seen:
                tally.duplicates += 1
                continue
            seen.add(index)
            tally.unknown_ids += sum(c.strip() not in batch.claim_ids for c in j.claims)
            if j.verdict == "omitted":
                out.append(index)
        return out

    def _analyzer(
        self,
        analysis: Analysis,
        batches: list[Batch],
        answers: list[tuple[Batch, Any]],
        usage: Usage,
        tally: _Tally,
        notes: list[str],
        judged: int,
    ) -> Analyzer:
        cfg = self.config
        sent = sum(len(b.items) for b in batches if b.stage == "claims")
        verbatim = sum(v.verbatim for v in analysis.verdicts)
        ok = [a for _, a in answers if not isinstance(a, LLMFailure)]
        if tally.failures:
            by_stage: Counter[str] = Counter()
            for stage, n, _ in tally.failures:
                by_stage[stage] += n
            first = tally.failures[0][2]
            why = f"{first.reason} after {first.attempts} attempt{'s' if first.attempts != 1 else ''}"
            if by_stage["claims"]:
                notes.append(
                    f"the LLM judge failed for {by_stage['claims']} of {sent} claims ({why}); "
                    "the offline engine's verdicts are shown for them"
                )
            if by_stage["omissions"]:
                notes.append(f"the LLM judge failed on omissions ({why}); the offline engine's omissions are shown")
        dropped = []
        if tally.unknown_ids:
            dropped.append(f"{tally.unknown_ids} unknown ID{'s' if tally.unknown_ids != 1 else ''}")
        if tally.unresolvable:
            n = tally.unresolvable
            dropped.append(f"{n} finding{'s' if n != 1 else ''} with no source to cite")
        if tally.implausible:
            n = tally.implausible
            dropped.append(f"{n} verdict{'s' if n != 1 else ''} citing sentences unrelated to the claim")
        if tally.duplicates:
            dropped.append(f"{tally.duplicates} duplicate answer{'s' if tally.duplicates != 1 else ''}")
        if tally.unverified_words:
            dropped.append(
                f"{tally.unverified_words} quoted word group{'s' if tally.unverified_words != 1 else ''} "
                "not found verbatim"
            )
        if dropped:
            notes.append("dropped from the model's answer: " + ", ".join(dropped))
        if tally.kept:
            notes.append(
                f"{tally.kept} reworded finding{'s' if tally.kept != 1 else ''} kept although the model called "
                "the claim supported: the code found a changed figure, date or quotation"
            )
        if judged and sent - judged == 0 and verbatim:
            notes.append(f"{verbatim} claims are word for word in an original and were not sent to the model")
        prices = cfg.prices()
        cost = None
        if prices is not None:
            cost = (usage.prompt_tokens * prices[0] + usage.completion_tokens * prices[1]) / 1_000_000
        elif usage.requests:
            notes.append(f"no price known for {cfg.model}: set FACTDIFF_LLM_PRICE_INPUT and FACTDIFF_LLM_PRICE_OUTPUT")
        return Analyzer(
            name="factdiff-llm" if ok or not batches else "factdiff-offline",
            model=cfg.model,
            prompt_version=self.prompt_version,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            notes=notes,
            cost_usd=None if cost is None else round(cost, 6),
            requests=usage.requests,
        )
