"""The benchmark's perfect model (tests/servers/oracle.py): answers from gold labels, by text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai import OpenAI

from retrieval.tokens import get_encoding
from tests.servers.openai_api import FakeOpenAI
from tests.servers.oracle import GoldOracle

SOURCE = (
    "Title: Ferry timetable update\nPublished: 2026-03-02\n\n"
    "The harbour ferry will run every 20 minutes from 1 April. "
    "Fares stay at 3 crowns for adults. "
    "The operator warned that the night service remains suspended."
)
STORY = "The harbour ferry will run every 15 minutes from April. Fares stay at 3 crowns, to the delight of commuters."
LABELS = [
    ("The harbour ferry will run every 15 minutes from April.", "reworded", "The harbour ferry will run every 20"),
    ("Fares stay at 3 crowns,", "supported", "Fares stay at 3 crowns for adults."),
    ("to the delight of commuters.", "added", ""),
]


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    (tmp_path / "sources").mkdir()
    (tmp_path / "cases").mkdir()
    (tmp_path / "sources" / "src-ferry.txt").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "cases" / "case-01.txt").write_text(STORY, encoding="utf-8")
    labels = [
        {"story_text": t, "label": k, "source_file": "sources/src-ferry.txt", "source_text": s, "note": ""}
        for t, k, s in LABELS
    ]
    omitted = [{"source_text": "The operator warned that the night service remains suspended.", "note": ""}]
    case = {"story": "cases/case-01.txt", "sources": ["sources/src-ferry.txt"], "labels": labels, "omitted": omitted}
    (tmp_path / "gold.json").write_text(json.dumps({"cases": [case]}), encoding="utf-8")
    return tmp_path / "gold.json"


def ask(api: FakeOpenAI, claims: list[str], omissions: list[str]) -> dict:
    sources = "\n".join(
        [
            "A1 | article | Ferry timetable update | 2026-03-02",
            "A1.1 | The harbour ferry will run every 20 minutes from 1 April.",
            "A1.2 | Fares stay at 3 crowns for adults.",
            "A1.3 | The operator warned that the night service remains suspended.",
        ]
    )
    user = f"<sources>\n{sources}\n</sources>\n\n<claims>\n" + "\n".join(claims) + "\n</claims>\n\n<omissions>\n"
    user += ("\n".join(omissions) or "-") + "\n</omissions>"
    client = OpenAI(base_url=api.base_url, api_key="x", max_retries=0)
    messages = [{"role": "system", "content": "judge"}, {"role": "user", "content": user}]
    answer = client.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
    return dict(json.loads(answer.choices[0].message.content or "{}"))


def test_the_oracle_answers_each_claim_with_its_gold_label_and_cites_the_gold_sentence(gold: Path) -> None:
    oracle = GoldOracle.load(gold, get_encoding("o200k_base"))
    with FakeOpenAI(oracle) as api:
        answer = ask(
            api,
            [
                "S1 | candidates A1.1 | The harbour ferry will run every 15 minutes from April.",
                "S2 | candidates A1.1 | Fares stay at 3 crowns,",
                "S2.2 | candidates A1.2 | to the delight of commuters.",
            ],
            ["A1.3 | closest claims -"],
        )

    verdicts = {c["claim"]: (c["verdict"], c["sources"]) for c in answer["claims"]}
    assert verdicts == {"S1": ("reworded", ["A1.1"]), "S2": ("supported", ["A1.2"]), "S2.2": ("added", [])}
    assert answer["omissions"] == [{"source": "A1.3", "verdict": "omitted"}]
    assert [c.source_offered for c in oracle.claims] == [True, True, None]


def test_a_claim_straddling_labels_gets_the_label_covering_most_of_it(gold: Path) -> None:
    oracle = GoldOracle.load(gold, get_encoding("o200k_base"))
    with FakeOpenAI(oracle) as api:
        answer = ask(api, ["S2 | candidates A1.2 | Fares stay at 3 crowns, to the delight of commuters."], [])

    assert answer["claims"][0]["verdict"] == "added"  # the added tail is the longer part
    assert oracle.claims[0].label == 2
