"""The LLM judge: the model judges the offline engine's aligned candidates, by our IDs only.

One request per batch (prompt file ``prompts/judge.toml``) asks two things at once:

* every claim that is not word for word in an original, with the source sentences it aligns
  with ("candidates"): supported, reworded (and what changed) or added;
* the source sentences the story may leave out ("omission candidates"), each with the claims
  closest to it: covered, omitted or minor.

The model sees claims as ``S3``/``S3.2`` and source sentences as ``A1.7``, and answers in a JSON
schema with those IDs. Every quote and offset in the report is built from the stored text: an
ID the request did not contain is dropped and counted; a supported or reworded verdict with no
source it can cite is dropped and counted (the offline verdict stands), and so is a "supported"
citing sentences too unlike the claim to clear it, or a "reworded" citing one that shares nothing
with it; the words a change names are shown only where they are found verbatim in the claim or
the source sentence; the model's reason is shown without quotation marks. The model decides
wherever the code is not certain: its "supported" is overruled only by a change the code can
prove (:mod:`checker.provable`: a figure no original gives or leads to, quoted words no original
says, a quote given to another speaker).

Every claim that is not word for word in an original is sent; the possible omissions are
offered up to ``LLMConfig.omission_pool``, most likely first. An omission is reported only when
the model judged it (or its request failed, with a note saying the offline verdicts stand).

Requests are planned with tiktoken: only the aligned candidate sentences are sent, one line
each, long stories are split into batches that fit ``LLMConfig.prompt_budget`` (the setting,
within the model's context window), and batches run concurrently. A batch that fails after its
retries keeps the offline verdicts, with a note.
"""

from __future__ import annotations

import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tiktoken
from pydantic import BaseModel, ConfigDict

from checker.analysis import Analysis, Judgement, Verdict
from checker.llm import LLMConfig, LLMFailure, StructuredLLM, Usage, compact_schema
from checker.models import CHANGE_TYPES, Analyzer, Change, SourceSentence
from checker.provable import provable_changes
from prompts import Prompt, load_prompt
from retrieval.tokens import count_tokens, encoding_name_for_model, get_encoding

log = logging.getLogger(__name__)

ChangeType = Literal[
    "number", "date", "name", "attribution", "quotation", "hedge", "negation", "scope", "cause", "wording"
]
assert set(ChangeType.__args__) == set(CHANGE_TYPES)  # type: ignore[attr-defined]

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
PROMPT = "judge"
VARIABLES = {"sources", "claims", "omissions"}
CANDIDATES = 3  # source sentences sent with each claim, at most
NEARLY = 0.05  # ... a second or third only when this close to the best
PLAUSIBLE = 0.3  # "supported" needs a cited sentence this similar to the claim (or covering this share of its terms)
RELATED_DENSE = 0.2  # "reworded" needs a cited sentence sharing a term with the claim, or this close in meaning
CLOSEST_CLAIMS = 2  # claims shown with each, when related at all
RELATED = 0.3
MESSAGE_OVERHEAD = 12  # tokens the chat format adds around two messages


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeAnswer(_Answer):
    type: ChangeType
    story: str  # a few words copied from the claim
    source: str  # ... and from the cited source sentence


class ClaimJudgment(_Answer):
    claim: str
    verdict: Literal["supported", "reworded", "added"]
    sources: list[str]
    changes: list[ChangeAnswer]
    reason: str


class OmissionJudgment(_Answer):
    source: str
    verdict: Literal["covered", "omitted", "minor"]


class JudgeAnswer(_Answer):
    claims: list[ClaimJudgment]
    omissions: list[OmissionJudgment]


@dataclass
class Batch:
    """One request: the claims and omission candidates it asks about, and what it shows."""

    claims: list[int]  # claim indices
    omissions: list[int]  # indices into Analysis.omission_candidates
    claim_ids: set[str]
    source_ids: set[str]
    system: str
    user: str
    prompt_tokens: int
    max_tokens: int


@dataclass
class _Tally:
    unknown_ids: int = 0
    unresolvable: int = 0
    implausible: int = 0
    duplicates: int = 0
    unanswered: int = 0
    unverified_words: int = 0
    kept: int = 0
    failures: list[tuple[Batch, LLMFailure]] = field(default_factory=list)


def _line(text: str) -> str:
    """Untrusted text on one line, with no angle brackets: it cannot close a tag or add a line."""
    return re.sub(r"\s+", " ", text).replace("<", "\u2039").replace(">", "\u203a").strip()


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


def unknown_ids(batch: Batch, answer: JudgeAnswer) -> str | None:
    """Why an answer is worth asking again for: it names claims or sentences the request did
    not hold (the last answer is used anyway, without them)."""
    claims = [j.claim.strip() for j in answer.claims]
    sources = [s.strip() for j in answer.claims for s in j.sources] + [o.source.strip() for o in answer.omissions]
    wrong = [c for c in claims if c not in batch.claim_ids] + [s for s in sources if s not in batch.source_ids]
    return f"an answer with IDs the request did not hold ({', '.join(sorted(set(wrong))[:3])})" if wrong else None


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
        self.prompt: Prompt = load_prompt(PROMPT, expect=VARIABLES, directory=prompts_dir)
        self.encoding = encoding or get_encoding(encoding_name_for_model(self.config.model))
        schema = json.dumps(compact_schema(JudgeAnswer), separators=(",", ":"))
        self.schema_tokens = count_tokens(schema, self.encoding)

    @property
    def prompt_version(self) -> str:
        return self.prompt.label

    # ---- planning -----------------------------------------------------------------------

    def candidates(self, analysis: Analysis, i: int) -> list[int]:
        """The source sentences worth showing with claim i: the closest, and any nearly as close."""
        al = analysis.alignment
        best = al.best_sources(i, CANDIDATES)
        if not best:
            return []
        top = float(al.similarity[i, best[0]])
        return [j for k, j in enumerate(best) if k == 0 or float(al.similarity[i, j]) >= max(0.3, top - NEARLY)]

    def closest_claims(self, analysis: Analysis, j: int, judged: list[int]) -> list[int]:
        """The judged claims most related to source sentence j (none when nothing is related)."""
        al = analysis.alignment
        closeness = {i: float(0.5 * al.dense[i, j] + 0.5 * al.source_cover[i, j]) for i in judged}
        near = sorted((i for i in judged if closeness[i] >= RELATED), key=lambda i: -closeness[i])
        return near[:CLOSEST_CLAIMS]

    def offered(self, analysis: Analysis) -> list[int]:
        """The possible omissions the model is asked about (indices into the candidates), the most
        likely first: the offline engine's own omissions, then the more newsworthy and the less
        covered by the story, up to ``omission_pool``."""
        pool = analysis.omission_candidates
        order = sorted(
            range(len(pool)), key=lambda k: (not pool[k].offline, -(1.0 - pool[k].covered) * (0.5 + pool[k].rank), k)
        )
        return order[: self.config.omission_pool]

    def plan(self, analysis: Analysis) -> tuple[list[Batch], list[str]]:
        """The requests for one story, each within the prompt budget; and notes on what was left out.

        Claims are packed in story order; each omission candidate joins the batch holding the
        claim closest to it, so the model sees what the story says about it."""
        budget = self.config.prompt_budget
        cands = {i: self.candidates(analysis, i) for i, v in enumerate(analysis.verdicts) if not v.verbatim}
        judged = list(cands)  # every claim that is not word for word in an original

        def fit(claims: list[int], omissions: list[int]) -> Batch | None:
            batch = self._render(analysis, claims, omissions, cands)
            return batch if batch.prompt_tokens <= budget else None

        batches: list[Batch] = []
        skipped = 0
        for i in judged:
            grown = fit(batches[-1].claims + [i], []) if batches else None
            if grown is not None:
                batches[-1] = grown
            elif (alone := fit([i], [])) is not None:
                batches.append(alone)
            else:
                skipped += 1
        for k in self.offered(analysis):
            near = self.closest_claims(analysis, analysis.omission_candidates[k].index, judged)
            home = next((n for n, b in enumerate(batches) if near and near[0] in b.claims), 0 if batches else None)
            if home is not None and (grown := fit(batches[home].claims, batches[home].omissions + [k])):
                batches[home] = grown
            elif batches and not batches[-1].claims and (grown := fit([], batches[-1].omissions + [k])):
                batches[-1] = grown
            else:
                batches.append(self._render(analysis, [], [k], cands))
        notes = []
        if skipped:
            notes.append(
                f"{skipped} claims too long for one request of {budget:,} tokens were left to the offline engine"
            )
        return batches, notes

    def _render(
        self, analysis: Analysis, claims: list[int], omissions: list[int], cands: dict[int, list[int]]
    ) -> Batch:
        """The request for these claims and omission candidates (``cands``: each claim's sentences)."""
        al = analysis.alignment
        pool = analysis.omission_candidates
        near = {k: self.closest_claims(analysis, pool[k].index, claims) for k in omissions}
        shown = {j for i in claims for j in cands[i]} | {pool[k].index for k in omissions}
        ordered = sorted(shown, key=lambda j: _order(al.sources[j].id))
        lines, articles = [], set()
        for j in ordered:
            s = al.sources[j]
            article = s.id.split(".", 1)[0]
            if article not in articles:
                articles.add(article)
                info = s.article
                lines.append(f"{article} | article | {_line(info.title)} | {info.published or 'undated'}")
            lines.append(f"{s.id} | {_line(s.text)}")
        claim_lines = [
            f"{al.claims[i].id} | candidates {' '.join(al.sources[j].id for j in cands[i]) or '-'} | "
            f"{_line(al.claims[i].text)}"
            for i in claims
        ]
        omission_lines = [
            f"{al.sources[pool[k].index].id} | closest claims {' '.join(al.claims[i].id for i in near[k]) or '-'}"
            for k in omissions
        ]
        system, user = self.prompt.render(
            sources="\n".join(lines), claims="\n".join(claim_lines) or "-", omissions="\n".join(omission_lines) or "-"
        )
        tokens = count_tokens(system, self.encoding) + count_tokens(user, self.encoding)
        tokens += self.schema_tokens + MESSAGE_OVERHEAD
        max_tokens = min(self.config.max_completion_tokens, 200 + 140 * len(claims) + 25 * len(omissions))
        return Batch(
            claims,
            omissions,
            {al.claims[i].id for i in claims},
            {al.sources[j].id for j in shown},
            system,
            user,
            tokens,
            max_tokens,
        )

    def requests(self, analysis: Analysis) -> list[dict[str, Any]]:
        """The chat completion requests this story would send, exactly as sent (nothing is sent)."""
        llm = StructuredLLM(self.client, self.config, encoding=self.encoding)
        return [llm.request_body(b.system, b.user, JudgeAnswer, b.max_tokens) for b in self.plan(analysis)[0]]

    # ---- judging ------------------------------------------------------------------------

    def judge(self, analysis: Analysis) -> Judgement:
        batches, notes = self.plan(analysis)
        usage = Usage()
        llm = StructuredLLM(self.client, self.config, usage, encoding=self.encoding)
        tally = _Tally()

        def run(batch: Batch) -> tuple[Batch, JudgeAnswer | LLMFailure]:
            try:
                return batch, llm.ask(
                    batch.system, batch.user, JudgeAnswer, batch.max_tokens, check=lambda a: unknown_ids(batch, a)
                )
            except LLMFailure as exc:
                return batch, exc

        answers: list[tuple[Batch, JudgeAnswer | LLMFailure]] = []
        if batches:
            with ThreadPoolExecutor(max_workers=max(1, min(self.config.concurrency, len(batches)))) as pool:
                answers = list(pool.map(run, batches))
        verdicts: dict[int, Verdict] = {}
        outcomes = {i: "verbatim" if v.verbatim else "not sent" for i, v in enumerate(analysis.verdicts)}
        omitted: list[int] = []
        offered = {analysis.omission_candidates[k].index for k in self.offered(analysis)}
        for batch, answer in answers:
            if isinstance(answer, LLMFailure):
                tally.failures.append((batch, answer))
                outcomes.update(dict.fromkeys(batch.claims, "failed"))
                offline = [analysis.omission_candidates[k] for k in batch.omissions]
                omitted += [c.index for c in offline if c.offline]
                continue
            verdicts.update(self._claim_verdicts(analysis, batch, answer, tally, outcomes))
            omitted += self._omitted(analysis, batch, answer, tally)
        # every omission reported went through the model (or through a failed request, with a note)
        unjudged = sum(c.offline and c.index not in offered for c in analysis.omission_candidates)
        if unjudged:
            notes.append(
                f"{unjudged} more possible omission{'s' * (unjudged != 1)} found by the offline engine "
                f"{'were' if unjudged != 1 else 'was'} not judged by the model (only the {len(offered)} most "
                "newsworthy are asked about) and not reported"
            )
        rank = {c.index: c.rank for c in analysis.omission_candidates}
        omitted = sorted(dict.fromkeys(omitted), key=lambda j: -rank.get(j, 0.0))
        analyzer = self._analyzer(analysis, batches, answers, usage, tally, notes)
        return Judgement(verdicts, omitted, analyzer, outcomes)

    def _claim_verdicts(
        self, analysis: Analysis, batch: Batch, answer: JudgeAnswer, tally: _Tally, outcomes: dict[int, str]
    ) -> dict[int, Verdict]:
        al = analysis.alignment
        by_id = {al.claims[i].id: i for i in batch.claims}
        sentences = {s.id: (j, s) for j, s in enumerate(al.sources) if s.id in batch.source_ids}
        out: dict[int, Verdict] = {}
        outcomes.update(dict.fromkeys(batch.claims, "unanswered"))
        for j in answer.claims:
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
                outcomes[i] = "unresolvable"
                out[i] = offline
                continue
            js = [sentences[c.id][0] for c in cited]
            if (j.verdict == "supported" and not self._plausible(analysis, i, js)) or (
                j.verdict == "reworded" and not self._related(analysis, i, js)
            ):
                tally.implausible += 1  # the cited sentences share too little with the claim
                outcomes[i] = "implausible"
                out[i] = offline
                continue
            reason = sanitize_reason(j.reason)
            outcomes[i] = "judged"
            if j.verdict == "supported":
                found = provable_changes(
                    offline.claim.text, " ".join(c.text for c in cited), analysis.facts or analysis.sources_text
                )
                if found:  # a change the code can prove: a figure, quote or speaker no original gives
                    tally.kept += 1
                    outcomes[i] = "kept"
                    out[i] = Verdict(offline.claim, "reworded", cited[0], found, 0.8, offline.cover)
                    continue
                out[i] = Verdict(offline.claim, "supported", cited[0], [], 0.85, offline.cover)
            elif j.verdict == "added":
                confidence = 0.85 if offline.kind == "added" else 0.75
                out[i] = Verdict(offline.claim, "added", None, [], confidence, offline.cover, reason=reason)
            else:
                changes = [self._change(c, offline.claim.text, cited, tally) for c in j.changes]
                if not changes:
                    changes = [Change("wording", "", "", "the meaning changed")]
                confidence = 0.85 if offline.kind == "reworded" else 0.75
                out[i] = Verdict(offline.claim, "reworded", cited[0], changes, confidence, offline.cover, reason=reason)
        tally.unanswered += sum(i not in out for i in batch.claims)
        return {i: v for i, v in out.items() if v is not analysis.verdicts[i]}

    @staticmethod
    def _related(analysis: Analysis, i: int, js: list[int]) -> bool:
        """Does a cited sentence relate to the claim at all (a shared term, or close in meaning)?
        Enough for a "reworded" verdict, which flags the claim rather than clearing it."""
        al = analysis.alignment
        return any(al.claim_terms[i] & al.source_terms[j] or float(al.dense[i, j]) >= RELATED_DENSE for j in js)

    @staticmethod
    def _plausible(analysis: Analysis, i: int, js: list[int]) -> bool:
        """Could the cited sentences be what the claim corresponds to? A check in code, so that a
        model (or a story that talks a model into it) cannot pin a claim on an unrelated sentence."""
        al = analysis.alignment
        if not js:
            return False
        closest = max(float(al.similarity[i, j]) for j in js)
        return closest >= PLAUSIBLE or al.cover_by(i, js) >= PLAUSIBLE

    @staticmethod
    def _change(c: ChangeAnswer, claim: str, cited: list[SourceSentence], tally: _Tally) -> Change:
        story = locate(c.story, claim) if c.story.strip() else None
        source = None
        if c.source.strip():
            source = next((w for w in (locate(c.source, s.text) for s in cited) if w), None)
        tally.unverified_words += int(bool(c.story.strip()) and story is None)
        tally.unverified_words += int(bool(c.source.strip()) and source is None)
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
    def _omitted(analysis: Analysis, batch: Batch, answer: JudgeAnswer, tally: _Tally) -> list[int]:
        """The omission candidates the model calls omitted; offline verdicts for any it skipped."""
        pool = analysis.omission_candidates
        by_id = {analysis.alignment.sources[pool[k].index].id: k for k in batch.omissions}
        answered: dict[int, str] = {}
        for j in answer.omissions:
            k = by_id.get(j.source.strip())
            if k is None:
                tally.unknown_ids += 1
            elif k in answered:
                tally.duplicates += 1
            else:
                answered[k] = j.verdict
        tally.unanswered += sum(k not in answered for k in batch.omissions)
        return [
            pool[k].index
            for k in batch.omissions
            if answered.get(k) == "omitted" or (k not in answered and pool[k].offline)
        ]

    def _analyzer(
        self,
        analysis: Analysis,
        batches: list[Batch],
        answers: list[tuple[Batch, Any]],
        usage: Usage,
        tally: _Tally,
        notes: list[str],
    ) -> Analyzer:
        cfg = self.config
        sent = sum(len(b.claims) for b in batches)
        verbatim = sum(v.verbatim for v in analysis.verdicts)
        ok = [a for _, a in answers if not isinstance(a, LLMFailure)]
        if tally.failures:
            claims = sum(len(b.claims) for b, _ in tally.failures)
            omissions = sum(len(b.omissions) for b, _ in tally.failures)
            first = tally.failures[0][1]
            why = f"{first.reason} after {first.attempts} attempt{'s' if first.attempts != 1 else ''}"
            parts = []
            if claims:
                parts.append(f"{claims} of {sent} claims")
            if omissions:
                parts.append(f"{omissions} possible omissions")
            notes.append(
                f"the LLM judge failed for {' and '.join(parts)} ({why}); the offline engine's verdicts are shown "
                "for them"
            )
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
                f"{tally.kept} claim{'s' if tally.kept != 1 else ''} reported as reworded although the model called "
                f"{'them' if tally.kept != 1 else 'it'} supported: the code found a changed figure, date or quotation"
            )
        if tally.unanswered:
            n = tally.unanswered
            notes.append(f"the model left {n} item{'s' * (n != 1)} unanswered; the offline verdicts are shown for them")
        if ok and verbatim:
            are = "claim is" if verbatim == 1 else "claims are"
            notes.append(f"{verbatim} {are} word for word in an original: settled by the code, not sent")
        if usage.requests:
            notes.extend(cfg.facts()[1])  # what was assumed about a model the table does not know
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


class PromptPreview:
    """A judge that sends nothing: it keeps the exact requests the LLM judge would send for a
    story (``factdiff check --show-prompt``), and leaves the offline verdicts in place."""

    def __init__(self, judge: LLMJudge) -> None:
        self.inner = judge
        self.requests: list[dict[str, Any]] = []

    @property
    def endpoint(self) -> str:
        return str(self.inner.client.base_url).rstrip("/") + "/chat/completions"

    def judge(self, analysis: Analysis) -> Judgement:
        self.requests = self.inner.requests(analysis)
        return Judgement({}, None, Analyzer(notes=["nothing was sent: the requests were only shown"]))
