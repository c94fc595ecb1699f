"""The HTML report page: render time and size for an ~800-word story with two originals.

Targets: under 100 ms to render, under 200 kB. The baselines, measured on the same reports in
the same run, are the Markdown and plain-text renderers. The stories are those of the token
benchmark (benchmarks/tokens.py): two BBC articles of one category (550-1,400 words each),
the first ~400 words of each, "light" (every fifth sentence reworded) or "full" (every
sentence reworded, so nearly every claim is a finding). Only the stories' own articles are
stored (the store's size does not change what is rendered). Each report is rendered
``--repeat`` times per renderer; the first HTML render of the run (template compiled) is
reported apart as "cold".

    python -m benchmarks.page               # 8 stories of each kind
    python -m benchmarks.page --stories 4 --repeat 10
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks.accuracy import Kit
from benchmarks.common import bbc_drafts, percentile, read_jsonl, shared_path, table
from benchmarks.tokens import pairs, story_from
from checker.html import original_texts, render_html
from checker.render import render_markdown, render_text

TARGET_MS = 100.0
TARGET_KB = 200.0


def timed(render: Callable[[], str], repeat: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        out = render()
        times.append((time.perf_counter() - t) * 1000)
        size = len(out.encode("utf-8"))
    return times, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=8, help="stories of each kind (default 8)")
    ap.add_argument("--repeat", type=int, default=20, help="renders per report and renderer (default 20)")
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    records = list(read_jsonl(shared_path("data", "bbc_news.jsonl")))
    chosen = pairs(records, a.stories)
    kit = Kit()
    store = kit.store(bbc_drafts([r for pair in chosen for r in pair]))
    engine = kit.engine(store)
    cold: float | None = None
    rows: dict[str, list[dict[str, Any]]] = {}
    for kind, every in (("light", 5), ("full", 1)):
        rows[kind] = []
        for pair in chosen:
            story = story_from(pair, every)
            report = engine.check(story)
            texts = original_texts(store, report)
            if cold is None:
                t = time.perf_counter()
                render_html(report, texts)
                cold = (time.perf_counter() - t) * 1000
            html, html_kb = timed(partial(render_html, report, texts), a.repeat)
            md, md_kb = timed(partial(render_markdown, report), a.repeat)
            text, _ = timed(partial(render_text, report), a.repeat)
            shown = sum(len(report.of_kind(k)) for k in ("reworded", "added", "omitted"))
            rows[kind].append(
                {
                    "words": len(story.split()),
                    "source_words": sum(len(t.split()) for t in texts.values()),
                    "originals": len(report.sources),
                    "findings": shown,
                    "html": html,
                    "html_kb": html_kb / 1000,
                    "md": md,
                    "md_kb": md_kb / 1000,
                    "text": text,
                }
            )
        print(f"  {kind}: {len(rows[kind])} stories", file=sys.stderr)
    print(f"`python -m benchmarks.page --stories {a.stories} --repeat {a.repeat}`\n")
    print(summary(rows))
    print(f"\nFirst HTML render of the run (template compiled): {cold:.1f} ms.")


def summary(rows: dict[str, list[dict[str, Any]]]) -> str:
    def times(key: str, kind: str) -> list[float]:
        return [t for r in rows[kind] for t in r[key]]

    def ms(key: str, kind: str, digits: int) -> list[object]:
        ts = times(key, kind)
        return [f"{statistics.median(ts):.{digits}f}", f"{percentile(ts, 95):.{digits}f}", f"{max(ts):.{digits}f}"]

    table_rows: list[list[object]] = []
    for kind, rs in rows.items():
        words = statistics.median(r["words"] for r in rs)
        originals = statistics.median(r["originals"] for r in rs)
        findings = statistics.median(r["findings"] for r in rs)
        about = f"{kind} rewrite, {words:.0f} words, {originals:.0f} originals, {findings:.0f} findings (p50)"
        table_rows += [
            [about, "HTML page", *ms("html", kind, 1), f"{max(r['html_kb'] for r in rs):.1f}"],
            ["", "Markdown (baseline)", *ms("md", kind, 2), f"{max(r['md_kb'] for r in rs):.1f}"],
            ["", "text (baseline)", *ms("text", kind, 2), ""],
        ]
    fast = all(percentile(times("html", kind), 95) < TARGET_MS for kind in rows)
    small = all(r["html_kb"] < TARGET_KB for rs in rows.values() for r in rs)
    head = ["stories", "renderer", "ms p50", "ms p95", "ms max", "kB max"]
    met = "met" if fast and small else "NOT met"
    return table(head, table_rows) + f"\n\nTargets ({TARGET_MS:.0f} ms at p95, {TARGET_KB:.0f} kB every page): {met}."


if __name__ == "__main__":
    main()
