"""Token budget of the LLM judge: what a check of an ~800-word story with two sources sends.

No model is called: the judge plans its requests (prompt files rendered, batches packed) and
every prompt is counted with tiktoken (o200k_base, the encoding of the default model),
system prompt, JSON schema and message overhead included. The baseline, counted the same way
in the same run, is the naive prompt: the story plus the full text of every retrieved original,
with no instructions at all.

Stories: two BBC articles of one category, stored among all 2,225: "typical" sources of
550-1,400 words each, and "long" ones of 1,200 words or more (the few the data set has, so the
naive prompt is long, as with transcripts and reports). The story takes the first ~400 words
of each, in the articles' own sentences, with
  * "light" rewrites: every fifth sentence reworded (synonyms, per cent...), the rest verbatim;
  * "full" rewrites: every sentence reworded, so (nearly) no claim can be settled as verbatim.

    python -m benchmarks.tokens                 # 24 stories of each kind
    python -m benchmarks.tokens --stories 8
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
from typing import Any

from benchmarks.accuracy import Kit
from benchmarks.common import bbc_drafts, median, read_jsonl, shared_path, table
from benchmarks.reword import reword
from checker.analysis import Analysis, Judgement
from checker.judge import MESSAGE_OVERHEAD, LLMJudge
from checker.llm import LLMConfig
from retrieval.sentences import split_sentences
from retrieval.tokens import count_tokens, get_encoding

TARGET_TOKENS = 3_000
TARGET_SHARE = 0.40


def pairs(records: list[dict], n: int, lo: int = 550, hi: int = 1_400) -> list[tuple[dict, dict]]:
    """``n`` evenly spaced pairs of consecutive long articles of one category."""
    long = [r for r in records if lo <= len(r["text"].split()) <= hi]
    found = [(a, b) for a, b in zip(long, long[1:], strict=False) if a["category"] == b["category"]]
    found = found[::2]  # no article in two pairs
    return [found[k * len(found) // n] for k in range(n)] if len(found) > n else found


def story_from(pair: tuple[dict, dict], every: int) -> str:
    paragraphs = []
    for r in pair:
        sentences, words = [], 0
        for k, seg in enumerate(split_sentences(r["text"])):
            if words >= 400:
                break
            text = seg.text
            if seg.kind == "sentence" and k % every == every - 1:
                text = reword(text, f"{r['id']}:{k}")
            sentences.append(text)
            words += len(text.split())
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def lower_bound(analysis: Analysis, sent: list[int], encoding: Any) -> int:
    """The least any request judging these claims must carry: the text of each claim and of the
    source sentence closest to it (each once), with no IDs, no instructions and no schema."""
    al = analysis.alignment
    closest = {best[0] for i in sent if (best := al.best_sources(i, 1))}
    return sum(count_tokens(al.claims[i].text, encoding) for i in sent) + sum(
        count_tokens(al.sources[j].text, encoding) for j in closest
    )


class Planner:
    """A judge that only plans: it records the requests the LLM judge would send."""

    def __init__(self, judge: LLMJudge) -> None:
        self.judge_ = judge
        self.batches: list[Any] = []

    def judge(self, analysis: Analysis) -> Judgement:
        self.batches, _ = self.judge_.plan(analysis)
        self.analysis = analysis
        return Judgement({}, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=24, help="stories of each kind (default 24)")
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    records = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))
    kit = Kit()
    store = kit.store(bbc_drafts(records))
    engine = kit.engine(store)
    encoding = get_encoding("o200k_base")
    planner = Planner(LLMJudge(None, LLMConfig(), encoding=encoding))
    engine.judge = planner
    results: dict[str, list[dict[str, Any]]] = {}
    regimes = (("typical", 550, 1_400), ("long", 1_200, 10_000))
    for (regime, lo, hi), (kind, every) in itertools.product(regimes, (("light", 5), ("full", 1))):
        rows = []
        for pair in pairs(records, a.stories, lo, hi):
            story = story_from(pair, every)
            report = engine.check(story)
            originals = [store.get(c.info.id).text for c in report.sources]
            ours = sum(b.prompt_tokens for b in planner.batches)
            naive = count_tokens(story, encoding) + sum(count_tokens(t, encoding) for t in originals)
            # the naive prompt as a request: the same instructions and schema around the story and
            # the full articles, instead of the aligned claims and sentences
            system, user = planner.judge_.prompt.render(sources="\n\n".join(originals), claims=story, omissions="-")
            naive_prompt = count_tokens(system, encoding) + count_tokens(user, encoding)
            naive_prompt += planner.judge_.schema_tokens + MESSAGE_OVERHEAD
            verdicts = planner.analysis.verdicts
            floor = lower_bound(planner.analysis, [i for b in planner.batches for i in b.claims], encoding)
            rows.append(
                {
                    "words": len(story.split()),
                    "source_words": sum(len(p["text"].split()) for p in pair),
                    "originals": len(report.sources),
                    "own_found": sum(c.info.id in {p["id"] for p in pair} for c in report.sources),
                    "ours": ours,
                    "sent_claims": sum(len(b.claims) for b in planner.batches),
                    "naive": naive,
                    "naive_prompt": naive_prompt,
                    "share": ours / naive_prompt,
                    "share_bare": ours / naive if naive else float("nan"),
                    "floor": floor,
                    "floor_share": floor / naive_prompt,
                    "batches": len(planner.batches),
                    "claims": len(verdicts),
                    "verbatim": sum(v.verbatim for v in verdicts),
                }
            )
            print(f"  {regime} sources, {kind} rewrite: {len(rows)} stories", file=sys.stderr)
        results[f"{regime} sources, {kind} rewrite"] = rows
    print(f"`python -m benchmarks.tokens --stories {a.stories}`\n")
    print(report_table(results))
    print()
    print(explain(results, store.count(), time.perf_counter() - t0))


def report_table(results: dict[str, list[dict[str, Any]]]) -> str:
    out: list[list[object]] = []
    for kind, rows in results.items():
        ours = [r["ours"] for r in rows]
        share = [r["share"] for r in rows]
        out.append(
            [
                kind,
                len(rows),
                round(median([r["words"] for r in rows])),
                round(median([r["source_words"] for r in rows])),
                f"{sum(r['own_found'] == 2 for r in rows)}/{len(rows)}",
                round(median([r["verbatim"] / r["claims"] for r in rows]), 2),
                round(median(ours)),
                max(ours),
                f"<= {TARGET_TOKENS:,}",
                round(median([r["naive_prompt"] for r in rows])),
                round(median([r["naive"] for r in rows])),
                f"{median(share):.0%}",
                f"{max(share):.0%}",
                f"{median([r['share_bare'] for r in rows]):.0%}",
                f"<= {TARGET_SHARE:.0%}",
                sum(r["ours"] <= TARGET_TOKENS and r["share"] <= TARGET_SHARE for r in rows),
                round(median([r["floor"] for r in rows])),
                f"{median([r['floor_share'] for r in rows]):.0%}",
                sum(r["floor_share"] > TARGET_SHARE for r in rows),
            ]
        )
    head = ["stories", "n", "words p50", "sources' words p50", "both sources found", "verbatim claims p50"]
    head += ["ours p50", "ours max", "target", "naive prompt p50 (baseline)", "story + articles alone p50"]
    head += ["ours/naive p50", "ours/naive max", "ours/(story + articles) p50", "target", "stories within both"]
    head += ["lower bound p50", "lower bound/naive p50", "stories whose lower bound alone is over the share target"]
    return table(head, out)


def explain(results: dict[str, list[dict[str, Any]]], stored: int, seconds: float) -> str:
    batches = [r["batches"] for rows in results.values() for r in rows]
    return (
        f"How it was measured: {stored:,} BBC articles stored (WordLlama); each story checked by the offline "
        "engine, then the LLM judge planned its requests (no model called): prompt tokens are the rendered "
        "system and user messages of every request plus the JSON schema and the chat overhead, counted with "
        "tiktoken o200k_base. The naive prompt is the same request with the story and the full text of every "
        "retrieved original in place of the aligned claims and sentences (same instructions and schema); "
        "'story + articles alone' counts just those texts, with no instructions, and is shown beside it. "
        "'verbatim claims' are settled by the code and not sent. 'lower bound' is the least any request "
        "judging the claims we send must carry: each claim's text and its closest source sentence's, with no "
        "IDs, instructions or schema. "
        f"Requests per story: {min(batches)}-{max(batches)} ({LLMConfig().max_prompt_tokens:,}-token budget per "
        f"request). Wall time {seconds:.0f} s."
    )


if __name__ == "__main__":
    main()
