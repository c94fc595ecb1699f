"""The Slack bot, driven the way Slack drives it: signed requests to its HTTP endpoint, and a
local server playing the Slack Web API that records every call the bot makes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.demo import demo_files
from bot.slack.app import HELP, REFUSED
from bot.slack.blocks import MAX_BLOCKS
from tests.conftest import free_port, run_cli
from tests.servers.slack_api import APP_TOKEN, BOT_USER, TOKEN, FakeSlack
from tests.servers.socket_mode import FakeSocketMode
from tests.servers.web import WebServer, page, slow
from tests.slack_fixtures import DESK, LOUD, SECRET, Bot, block_text, is_final, slack_escaped

# ---- journalists ----------------------------------------------------------------------------


def test_mention_with_a_pasted_story_is_answered_in_the_thread(bot: Bot, story: str) -> None:
    t = time.monotonic()
    response = bot.mention(slack_escaped(story), ts="100.000001")
    assert response.status_code == 200 and time.monotonic() - t < 3  # acknowledged at once

    answer = bot.wait_answer("100.000001")[0]
    first = bot.slack.of("chat.postMessage")[0]
    assert first["thread_ts"] == "100.000001" and "comparing" in first["text"]  # says what it is doing
    text = block_text(answer)
    assert answer["blocks"][0]["type"] == "header" and "reworded" in answer["blocks"][0]["text"]["text"]
    assert "Larkfield council approves 4.5% water rate rise for 2027" in text  # the original, linked
    assert "<https://example.org/larkfield/press/2026-10-14-water-rates-2027|" in text
    assert "'4.5%' became '5.4%'" in text
    assert len(answer["blocks"]) <= MAX_BLOCKS
    assert bot.slack.of("chat.update") == [answer]  # replaced by the report, with no needless update before


def test_direct_message_is_answered_in_the_thread(bot: Bot, story: str) -> None:
    bot.message(slack_escaped(story), "DANA", "200.000001", channel_type="im")
    answer = bot.wait_answer("200.000001")[0]
    assert "'4.5%' became '5.4%'" in block_text(answer)


def test_empty_mention_gets_a_friendly_explanation(bot: Bot) -> None:
    bot.mention("   ", ts="300.000001")
    bot.slack.wait_for(lambda s: any(a.get("thread_ts") == "300.000001" for a in s.of("chat.postMessage")))
    reply = next(a for a in bot.slack.of("chat.postMessage") if a.get("thread_ts") == "300.000001")
    assert "Paste the story" in reply["text"]


def test_slash_command_help_is_answered_at_once(bot: Bot) -> None:
    for text in ("help", ""):
        response = bot.command(text)
        assert response.status_code == 200
        assert response.json()["text"] == HELP and response.json()["response_type"] == "ephemeral"


def test_slash_command_checks_the_pasted_story_in_the_channel(bot: Bot, story: str) -> None:
    bot.command(story)
    bot.slack.wait_for(lambda s: any(is_final(u) for u in s.of("chat.update")))
    post = bot.slack.of("chat.postMessage")[0]
    assert post["channel"] == "CNEWS" and post.get("thread_ts") is None
    assert "'4.5%' became '5.4%'" in block_text(next(u for u in bot.slack.of("chat.update") if is_final(u)))


def test_message_shortcut_checks_that_message_in_its_thread(bot: Bot, story: str) -> None:
    bot.shortcut({"type": "message", "user": "U1", "ts": "400.000001", "text": slack_escaped(story)})
    answer = bot.wait_answer("400.000001")[0]
    assert "reworded" in answer["blocks"][0]["text"]["text"]


def test_shared_link_is_fetched_and_checked(bot: Bot, story: str) -> None:
    html = f"<html><head><title>Water bills</title></head><body><article><h1>Water bills</h1>{''.join(f'<p>{p}</p>' for p in story.split(chr(10) * 2))}</article></body></html>"  # noqa: E501
    with WebServer({"/news/water": page(html)}) as web:
        bot.mention(f"<{web.url('/news/water')}>", ts="500.000001")
        answer = bot.wait_answer("500.000001")[0]
    assert "'4.5%' became '5.4%'" in block_text(answer)
    assert "Fetching" in bot.slack.of("chat.postMessage")[0]["text"]


def test_link_that_fails_to_fetch_ends_in_a_friendly_message(bot: Bot) -> None:
    with WebServer() as web:
        bot.mention(f"please check <{web.url('/gone')}|this story>", ts="600.000001")
        answer = bot.wait_answer("600.000001")[0]
    assert answer["text"].startswith(":warning: Sorry, I couldn't check this:") and "404" in answer["text"]


def test_a_40000_character_paste_is_cut_to_slack_limits_with_the_full_report_attached(bot: Bot, story: str) -> None:
    paragraphs = [p.replace("5.4%", f"{5 + n % 90 / 10:.1f}%") for n, p in enumerate((story + "\n\n") * 80)]
    paste = "".join(paragraphs)[:40_000]
    bot.mention(slack_escaped(paste), ts="700.000001")
    answer = bot.wait_answer("700.000001")[0]
    bot.slack.wait_for(lambda s: bool(s.of("files.completeUploadExternal")))

    assert len(answer["blocks"]) <= MAX_BLOCKS
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in answer["blocks"])
    assert "more reworded in the full report" in block_text(answer)
    upload = bot.slack.of("upload")[0]["bytes"].decode()
    assert upload.startswith("**") and "### Reworded" in upload
    assert bot.slack.of("upload")[1]["bytes"].decode().startswith("<!doctype html>")  # the page beside it
    assert bot.slack.of("files.completeUploadExternal")[0]["thread_ts"] == "700.000001"


def test_checks_run_side_by_side(bot: Bot, story: str) -> None:
    html = f"<html><body><article><h1>Water</h1><p>{story}</p></article></body></html>"
    with WebServer({"/slow": slow(4.0, page(html))}) as web:
        bot.mention(f"<{web.url('/slow')}>", ts="800.000001")
        bot.slack.wait_for(lambda s: any("Fetching" in u["text"] for u in s.of("chat.postMessage")))
        bot.mention(slack_escaped(story), ts="800.000002")
        bot.wait_answer("800.000002")
        assert not bot.answers("800.000001")  # the slow one is still fetching: it did not hold up the second
        bot.wait_answer("800.000001")


# ---- Slack's side of things -------------------------------------------------------------------


def test_retried_event_is_answered_once(bot: Bot, story: str) -> None:
    first = bot.mention(slack_escaped(story), ts="900.000001", event_id="EvSAME")
    again = bot.mention(slack_escaped(story), ts="900.000001", event_id="EvSAME", **{"X-Slack-Retry-Num": "1"})
    assert first.status_code == again.status_code == 200
    bot.wait_answer("900.000001")
    bot.mention("", ts="900.000009")  # a later event: once it is answered, the retry would have been too
    bot.slack.wait_for(lambda s: any(a.get("thread_ts") == "900.000009" for a in s.of("chat.postMessage")))
    checking = [a for a in bot.slack.of("chat.postMessage") if a.get("thread_ts") == "900.000001"]
    assert len(checking) == 1


@pytest.mark.parametrize(("secret", "age"), [("forged-secret", 0.0), (SECRET, 600.0)])
def test_forged_or_stale_signatures_are_refused(bot: Bot, story: str, secret: str, age: float) -> None:
    event = {"type": "app_mention", "user": "U1", "channel": "CNEWS", "ts": "1.1", "text": f"<@{BOT_USER}> hi"}
    body = json.dumps({"type": "event_callback", "event_id": "EvX", "team_id": "T1", "event": event})
    response = bot.post(body, "application/json", secret=secret, age=age)
    assert response.status_code == 401
    time.sleep(0.5)
    assert not bot.slack.of("chat.postMessage")


# ---- editors' channels ----------------------------------------------------------------------


def _article(text: str) -> str:
    return f"<html><body><article>{''.join(f'<p>{p}</p>' for p in text.split(chr(10) * 2))}</article></body></html>"


def thread_posts(slack: FakeSlack, thread: str) -> list[dict[str, Any]]:
    return [a for a in slack.of("chat.postMessage") if a.get("thread_ts") == thread]


def reactions(slack: FakeSlack, ts: str) -> list[str]:
    return [a["name"] for a in slack.of("reactions.add") if a.get("timestamp") == ts]


def test_links_in_a_watched_channel_are_checked_automatically_once(bot: Bot, story: str) -> None:
    with WebServer({"/water": page(_article(story))}) as web:
        link = web.url("/water")
        bot.message(f"Our water story: <{link}>", DESK, "1000.000001")
        bot.slack.wait_for(lambda s: bool(thread_posts(s, "1000.000001")))
        report = thread_posts(bot.slack, "1000.000001")
        assert len(report) == 1 and "reworded" in report[0]["blocks"][0]["text"]["text"]  # one reply: the report
        bot.message(f"Again: <{link}?utm_source=newsletter&utm_medium=email|the water story>", DESK, "1000.000002")
        bot.message(f"Not watched: <{link}>", "COTHER", "1000.000003")
        bot.message(slack_escaped(story), "DANA", "1000.000004", channel_type="im")  # a marker
        bot.wait_answer("1000.000004")
    assert not [a for a in bot.slack.of("chat.postMessage") if a.get("thread_ts") in ("1000.000002", "1000.000003")]
    assert web.paths().count("/water") == 1  # the same link with tracking parameters is the same link
    assert not [u for u in bot.slack.of("chat.update") if u["channel"] == DESK]  # no "checking…" to update


def test_clean_story_in_a_watched_channel_gets_a_reaction_and_a_line_only_where_asked(bot: Bot) -> None:
    statement = Path(demo_files()[0][2]).read_text(encoding="utf-8").split("\n\n", 1)[1]
    with WebServer({"/statement": page(_article(statement)), "/statement-copy": page(_article(statement))}) as web:
        bot.message(f"<{web.url('/statement')}>", DESK, "1100.000001")
        bot.message(f"<{web.url('/statement-copy')}>", LOUD, "1100.000002")
        bot.slack.wait_for(lambda s: bool(reactions(s, "1100.000001")) and bool(thread_posts(s, "1100.000002")))
    assert reactions(bot.slack, "1100.000001") == ["white_check_mark"]
    assert not thread_posts(bot.slack, "1100.000001")  # the quiet channel gets no reply
    assert reactions(bot.slack, "1100.000002") == ["white_check_mark"]
    assert [p["text"] for p in thread_posts(bot.slack, "1100.000002")] == [
        ":white_check_mark: No problems found against 1 source."
    ]


def test_link_with_no_stored_original_gets_a_reaction_not_a_reply(bot: Bot) -> None:
    unrelated = (
        "The Orvel Valley rowing club held its spring regatta on the reservoir on Saturday, the first since "
        "the boathouse was rebuilt after last winter's flood.\n\n"
        "Forty crews from six clubs raced over a 1,000-metre course in light winds, and the junior eights "
        "final was decided by less than a second after a photo finish.\n\n"
        "Club captain Idris Fane said membership had grown by a third in two years, helped by free taster "
        "sessions for schools, and that the club hoped to host a regional championship next summer.\n\n"
        "Volunteers served more than 600 cups of tea from the new kitchen, which was paid for by a "
        "community fund and opened by the oldest member, who first rowed on the reservoir in 1961."
    )
    with WebServer({"/regatta": page(_article(unrelated))}) as web:
        bot.message(f"<{web.url('/regatta')}>", DESK, "1150.000001")
        bot.slack.wait_for(lambda s: bool(reactions(s, "1150.000001")))
    assert reactions(bot.slack, "1150.000001") == ["grey_question"]
    assert not thread_posts(bot.slack, "1150.000001")


# ---- sources from Slack ---------------------------------------------------------------------

NEW_SOURCE = """Title: Larkfield library extends weekend hours
Published: 2026-11-02
URL: https://example.org/larkfield/press/library-hours

The Larkfield Central Library will open on Sundays from 10 a.m. to 4 p.m. starting December 6, the
city's library board said on Monday. The board approved $84,000 for additional staff.
Board chair Lena Marsh said weekend visits had doubled since the reading room reopened in May.
"""


def test_admin_adds_a_source_by_link(bot: Bot) -> None:
    html = (
        "<html><body><article><h1>Library hours</h1><p>"
        + NEW_SOURCE.split("\n\n", 1)[1]
        + "</p></article></body></html>"
    )
    before = len(bot.store.list_articles())
    with WebServer({"/library": page(html)}) as web:
        ack = bot.command(f"add <{web.url('/library')}>", user="UADMIN")
        assert "Adding the source" in ack.json()["text"]
        bot.slack.wait_for(lambda s: bool(s.of("response_url")))
    assert bot.slack.of("response_url")[0]["text"].startswith(":white_check_mark: Added")
    assert len(bot.store.list_articles()) == before + 1


def test_non_admin_cannot_add_a_source(bot: Bot) -> None:
    before = len(bot.store.list_articles())
    with WebServer({"/library": page("<html><body><p>Anything</p></body></html>")}) as web:
        ack = bot.command(f"add <{web.url('/library')}>", user="U1")
        time.sleep(0.5)
        assert web.paths() == []  # nothing was even fetched
    assert ack.json()["text"] == REFUSED
    assert len(bot.store.list_articles()) == before


def test_admin_adds_files_in_a_direct_message_and_others_are_refused(bot: Bot) -> None:
    bot.slack.files["/files/library.txt"] = NEW_SOURCE.encode()
    before = len(bot.store.list_articles())
    shared = [
        {
            "id": "F1",
            "name": "library.txt",
            "size": len(NEW_SOURCE),
            "url_private_download": f"{bot.slack.base}/files/library.txt",
        },
        {"id": "F2", "name": "photo.png", "size": 10, "url_private_download": f"{bot.slack.base}/files/photo.png"},
    ]
    bot.event(
        {
            "type": "message",
            "subtype": "file_share",
            "channel_type": "im",
            "user": "U1",
            "channel": "DANA",
            "ts": "1200.000001",
            "text": "",
            "files": shared,
        }
    )
    bot.event(
        {
            "type": "message",
            "subtype": "file_share",
            "channel_type": "im",
            "user": "UADMIN",
            "channel": "DSAM",
            "ts": "1200.000002",
            "text": "",
            "files": shared,
        }
    )
    bot.slack.wait_for(
        lambda s: len([a for a in s.of("chat.postMessage") if a.get("thread_ts", "").startswith("1200")]) >= 2
    )
    replies = {a["thread_ts"]: a["text"] for a in bot.slack.of("chat.postMessage")}
    assert replies["1200.000001"] == REFUSED
    assert "Added *Larkfield library extends weekend hours*" in replies["1200.000002"]
    assert "photo.png: send .txt, .md, .html or .jsonl files" in replies["1200.000002"]
    assert len(bot.store.list_articles()) == before + 1


# ---- the command ----------------------------------------------------------------------------


def test_slack_command_needs_its_tokens(tmp_path: Path, cli_env: dict[str, str]) -> None:
    done = run_cli(["slack"], cli_env, cwd=tmp_path)
    assert done.returncode == 2 and "SLACK_SIGNING_SECRET" in done.stderr
    done = run_cli(["slack"], cli_env | {"SLACK_SIGNING_SECRET": SECRET}, cwd=tmp_path)
    assert done.returncode == 2 and "SLACK_BOT_TOKEN is not set" in done.stderr


@contextmanager
def factdiff_slack_http(cli_env: dict[str, str], cwd: Path, slack: FakeSlack) -> Iterator[Bot]:
    """The real ``factdiff slack`` command in HTTP mode on a free port, talking to ``slack``."""
    port = free_port()
    env = cli_env | {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "slack", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline()]
        while lines[-1] and "listening" not in lines[-1]:
            lines.append(proc.stderr.readline())
        assert f"listening on http://127.0.0.1:{port}/slack/events" in lines[-1], lines
        yield Bot(f"http://127.0.0.1:{port}/slack/events", slack, None)  # type: ignore[arg-type]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_factdiff_slack_serves_signed_events_over_http(tmp_path: Path, cli_env: dict[str, str], story: str) -> None:
    sources, _ = demo_files()
    assert run_cli(["ingest", *map(str, sources)], cli_env, cwd=tmp_path).returncode == 0
    with FakeSlack() as slack, factdiff_slack_http(cli_env, tmp_path, slack) as bot:
        assert bot.mention(slack_escaped(story), ts="1300.000001").status_code == 200
        answer = bot.wait_answer("1300.000001")[0]
        assert "'4.5%' became '5.4%'" in block_text(answer)


def test_the_running_bot_answers_from_sources_another_process_ingested_or_removed(
    tmp_path: Path, cli_env: dict[str, str], story: str
) -> None:
    sources, _ = demo_files()
    originals = [p for p in sources if "water-rates" in p.name]
    others = [p for p in sources if p not in originals]
    assert run_cli(["ingest", *map(str, others)], cli_env, cwd=tmp_path).returncode == 0
    with FakeSlack() as slack, factdiff_slack_http(cli_env, tmp_path, slack) as bot:
        bot.mention(slack_escaped(story), ts="1600.000001")
        assert "'4.5%' became '5.4%'" not in block_text(bot.wait_answer("1600.000001")[0])

        added = run_cli(["ingest", *map(str, originals)], cli_env, cwd=tmp_path)  # while the bot runs
        assert added.returncode == 0, added.stderr
        bot.mention(slack_escaped(story), ts="1600.000002")
        answer = bot.wait_answer("1600.000002")[0]
        assert "'4.5%' became '5.4%'" in block_text(answer), answer

        listed = json.loads(run_cli(["sources", "list", "--format", "json"], cli_env, cwd=tmp_path).stdout)
        ids = [x["id"] for x in listed if x["title"].startswith("Larkfield council approves")]
        assert len(ids) == 2 and run_cli(["sources", "remove", *ids], cli_env, cwd=tmp_path).returncode == 0
        bot.mention(slack_escaped(story), ts="1600.000003")
        answer = bot.wait_answer("1600.000003")[0]
        assert answer.get("blocks") and "'4.5%' became '5.4%'" not in block_text(answer)
        assert not any(a.get("text", "").startswith(":warning:") for a in slack.of("chat.update"))


def test_factdiff_slack_in_socket_mode_answers_events_over_the_websocket(
    tmp_path: Path, cli_env: dict[str, str], story: str
) -> None:
    sources, _ = demo_files()
    assert run_cli(["ingest", *map(str, sources)], cli_env, cwd=tmp_path).returncode == 0
    with FakeSlack() as slack, FakeSocketMode() as socket_mode:
        slack.socket_url = socket_mode.url
        env = cli_env | {"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": slack.api_url}
        health = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "slack", "--health-port", str(health)],
            env=env,
            cwd=tmp_path,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert socket_mode.connected.wait(60), "the app never connected"
            event = {"type": "app_mention", "user": "U1", "channel": "CNEWS", "ts": "1400.000001"}
            event["text"] = f"<@{BOT_USER}> {slack_escaped(story)}"
            socket_mode.send_event(
                "env-1", {"type": "event_callback", "event_id": "EvS1", "team_id": "T1", "event": event}
            )
            socket_mode.wait_ack("env-1")
            bot = Bot("unused", slack, None)  # type: ignore[arg-type]
            answer = bot.wait_answer("1400.000001")[0]
            assert "'4.5%' became '5.4%'" in block_text(answer)
            assert slack.of("apps.connections.open")  # asked with the app token, as Slack wants
            assert httpx.get(f"http://127.0.0.1:{health}/healthz", timeout=5).status_code == 200
            assert httpx.get(f"http://127.0.0.1:{health}/readyz", timeout=5).json()["status"] == "ready"
            assert httpx.post(f"http://127.0.0.1:{health}/slack/events", timeout=5).status_code == 404  # no HTTP mode
            proc.terminate()
            assert proc.wait(timeout=60) == 0  # SIGTERM: a clean stop
        finally:
            if proc.poll() is None:
                proc.kill()


def test_the_bots_own_messages_and_edits_are_never_checked(bot: Bot, story: str) -> None:
    with WebServer({"/water": page(f"<html><body><article><p>{story}</p></article></body></html>")}) as web:
        link = web.url("/water")
        bot.message(f"<{link}>", DESK, "1500.000001", bot_id="BBOT")  # our own reply, citing a link
        bot.message(f"<{link}>", DESK, "1500.000002", subtype="message_changed")
        bot.message(slack_escaped(story), "DANA", "1500.000003", channel_type="im")  # a marker
        bot.wait_answer("1500.000003")
        assert web.paths() == []
    assert not [
        a
        for a in bot.slack.of("chat.postMessage")
        if a.get("thread_ts", "").startswith("1500.00000") and a["thread_ts"] != "1500.000003"
    ]
