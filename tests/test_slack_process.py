"""``factdiff slack`` as a newsroom runs it: the real process in HTTP mode, signed requests, a
local Slack Web API, health endpoints, a burst of mentions, SIGTERM while checks run, JSON logs,
and feedback that ends in the history, its export and ``score.py``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.demo import demo_files
from tests.conftest import SHARED, free_port, run_cli
from tests.servers.slack_api import TOKEN, FakeSlack
from tests.slack_fixtures import SECRET, Bot, Running, block_text, buttons, most_at_once, slack_escaped, start_slack

STORY_FRAGMENTS = ("Larkfield residents will pay", "mains have burst four times", "unanimously approved")


@contextmanager
def factdiff_slack(
    tmp_path: Path, cli_env: dict[str, str], slack: FakeSlack, port: int | None = None, **env: str
) -> Iterator[Running]:
    sources, _ = demo_files()
    assert run_cli(["ingest", *map(str, sources)], cli_env, cwd=tmp_path).returncode == 0
    running = start_slack(cli_env | {"FACTDIFF_LOG_FORMAT": "json", **env}, slack, tmp_path, port)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(10)


def log_lines(running: Running) -> list[dict[str, Any]]:
    return [json.loads(line) for line in running.stdout if line.strip()]  # every line must parse


@pytest.mark.slow
def test_the_service_is_healthy_answers_a_burst_once_and_stops_without_losing_answers(
    tmp_path: Path, cli_env: dict[str, str], story: str
) -> None:
    with FakeSlack() as slack, factdiff_slack(tmp_path, cli_env, slack, FACTDIFF_SLACK_WORKERS="2") as running:
        running.wait_status("/healthz", 200)
        running.wait_status("/readyz", 200)
        bot = Bot(running.base + "/slack/events", slack, None)  # type: ignore[arg-type]

        burst = [f"2000.{n:06d}" for n in range(20)]
        bot.mentions_at_once([slack_escaped(story)] * len(burst), burst)
        slack.wait_for(lambda s: all(bot.answers(t) for t in burst), timeout=600)
        assert [len(bot.answers(t)) for t in burst] == [1] * 20  # each answered exactly once
        assert all("'4.5%' became '5.4%'" in block_text(bot.answers(t)[0]) for t in burst)
        assert 1 <= most_at_once(slack, burst) <= 2  # FACTDIFF_SLACK_WORKERS in flight at most

        late = [f"2100.{n:06d}" for n in range(4)]
        bot.mentions_at_once([slack_escaped(story)] * len(late), late)
        slack.wait_for(lambda s: any("comparing" in a["text"] for a in s.of("chat.postMessage")[20:]))
        assert running.stop() == 0  # SIGTERM while checks run
        for t in late:  # ... and every one of them was answered with its report first
            (answer,) = bot.answers(t)
            assert "'4.5%' became '5.4%'" in block_text(answer)

    lines = log_lines(running)
    raw = "".join(running.stdout)
    assert not [f for f in STORY_FRAGMENTS if f in raw] and TOKEN not in raw and SECRET not in raw
    finished = [x for x in lines if x["event"] == "check finished"]
    assert len(finished) == 24 and {x["check_id"] for x in finished} and all("duration_s" in x for x in finished)
    assert all(x["team"] == "T1" and x["channel"] == "CNEWS" and x["user"] == "U1" for x in finished)
    assert all({"time", "level", "event"} <= x.keys() for x in lines)
    events = [x["event"] for x in lines]
    assert "ready" in events and events[-1] == "stopped"


@pytest.mark.slow
def test_feedback_from_slack_reaches_the_history_and_an_export_that_score_reads(
    tmp_path: Path, cli_env: dict[str, str], story: str
) -> None:
    with FakeSlack() as slack, factdiff_slack(tmp_path, cli_env, slack) as running:
        running.wait_status("/readyz", 200)
        bot = Bot(running.base + "/slack/events", slack, None)  # type: ignore[arg-type]
        bot.mention(slack_escaped(story), ts="2200.000001")
        answer = bot.wait_answer("2200.000001")[0]
        right, wrong = buttons(answer)[0], buttons(answer)[3]
        bot.click(right, user="U1")
        bot.click(wrong, user="U2")
        slack.wait_for(lambda s: len(s.of("response_url")) == 2)
        assert running.stop() == 0

    listed = run_cli(["history", "--format", "json"], cli_env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (check,) = json.loads(listed.stdout)
    assert (check["origin"], check["user"], check["right"], check["wrong"]) == ("slack", "U1", 1, 1)
    assert check["first_line"].startswith("Larkfield residents will pay 5.4% more")
    shown = run_cli(["history", "show", check["id"][:6]], cli_env, cwd=tmp_path)
    assert shown.returncode == 0 and "5.4%" in shown.stdout and "asked by U1 in CNEWS" in shown.stdout

    out = tmp_path / "cases"
    exported = run_cli(["history", "export", "--feedback", str(out)], cli_env, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    gold = json.loads((out / "gold.json").read_text(encoding="utf-8"))
    (case,) = gold["cases"]
    assert sorted(label["label"] for label in case["labels"]) == ["reworded", "supported"]
    assert len(case["sources"]) == 2 and all((out / s).is_file() for s in case["sources"])

    score_py = SHARED / "eval" / "score.py"
    if not score_py.is_file():
        pytest.skip(f"{score_py} is not beside the repository")
    score_args = [str(out / "gold.json"), str(out / "reports"), "--json", str(tmp_path / "s.json")]
    scored = subprocess.run(
        [sys.executable, str(score_py), *score_args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert scored.returncode == 0, scored.stderr
    result = json.loads((tmp_path / "s.json").read_text())
    assert result["retrieval"] == "1/1" and result["citations"]["not_verbatim_in_any_source"] == 0
    assert result["problems"]["recall"] == 1.0  # the finding called right is the bot's own finding

    purged = run_cli(["history", "purge", "--before", "2999-01-01"], cli_env, cwd=tmp_path)
    assert purged.returncode == 0 and "purged: 1 check(s)" in purged.stdout
    assert json.loads(run_cli(["history", "--format", "json"], cli_env, cwd=tmp_path).stdout) == []


@pytest.mark.slow
def test_the_service_serves_the_report_page_it_links_at_its_public_url(
    tmp_path: Path, cli_env: dict[str, str], story: str
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    with FakeSlack() as slack, factdiff_slack(tmp_path, cli_env, slack, port, FACTDIFF_PUBLIC_URL=public) as running:
        running.wait_status("/readyz", 200)
        bot = Bot(running.base + "/slack/events", slack, None)  # type: ignore[arg-type]
        bot.mention(slack_escaped(story), ts="2300.000001")
        answer = bot.wait_answer("2300.000001")[0]
        (link,) = re.findall(rf"<({re.escape(public)}/reports/[A-Za-z0-9_-]{{32}})\|", block_text(answer))
        page = httpx.get(link, timeout=10)  # no signature: a browser's plain GET
        assert page.status_code == 200 and page.text.startswith("<!doctype html>")
        assert "Larkfield council approves 4.5% water rate rise for 2027" in page.text
        assert page.headers["cache-control"] == "private, no-store"
        assert httpx.post(link, content=b"{}", timeout=10).status_code == 405
        assert httpx.post(running.base + "/slack/events", content=b"{}", timeout=10).status_code == 401
        assert running.stop() == 0
    kept = list((Path(cli_env["FACTDIFF_DATA_DIR"]) / "reports").glob("*.html"))
    assert [p.stem for p in kept] == [link.rsplit("/", 1)[1]]
    assert link.rsplit("/", 1)[1] not in "".join(running.stdout + running.stderr)  # the id is never logged
