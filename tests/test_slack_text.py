"""Slack's message formatting decoded; reports as Block Kit within Slack's limits."""

from __future__ import annotations

from bot.slack.app import apology
from bot.slack.blocks import MAX_BLOCKS, escape, report_blocks
from bot.slack.text import decode
from checker.models import Analyzer, Finding, Report, SourceSentence, StorySpan
from retrieval.errors import FetchError
from retrieval.models import ArticleInfo, Candidate


def names(uid: str) -> str | None:
    return {"U1": "Ana Reporter"}.get(uid)


def test_escapes_links_mentions_and_quotes_are_decoded() -> None:
    d = decode(
        "<@UBOT> Smith &amp; Co said &lt;no&gt; to <https://example.org/a?x=1&amp;y=2|the plan>, "
        "<@U1> in <#C9|desk> <!here>\n&gt; a quoted line\n&gt;another",
        names,
        drop_user="UBOT",
    )
    assert d.text == "Smith & Co said <no> to the plan, @Ana Reporter in #desk @here\na quoted line\nanother"
    assert d.links == ["https://example.org/a?x=1&y=2"]


def test_a_link_with_a_few_words_is_a_link_request_and_a_pasted_story_is_not() -> None:
    assert decode("check this <https://example.org/story>").is_link_request
    story = "The council approved the plan on Tuesday after a long debate. " * 5
    assert not decode(story + "<https://example.org/source>").is_link_request
    assert not decode("no link here").is_link_request


def test_unknown_user_keeps_its_id_and_mailto_shows_the_address() -> None:
    assert decode("<@U404> wrote to <mailto:desk@example.org|desk@example.org>", names).text == (
        "@U404 wrote to desk@example.org"
    )


def info(n: int) -> ArticleInfo:
    return ArticleInfo(
        id=f"a{n}",
        title=f"Release <{n}> & more",
        url=f"https://example.org/{n}",
        published="2026-10-14",
        source="Press",
    )


def report_with(findings: int) -> Report:
    src = info(1)
    out = []
    story = ""
    for n in range(findings):
        start = len(story)
        story += f"Claim {n} says 5.{n}% more. "
        sentence = SourceSentence(f"A1.{n}", src, 0, 10, f"Source {n} says 4.{n}% more.")
        span = StorySpan(start, len(story) - 1, story[start : len(story) - 1])
        out.append(Finding("reworded", span, sentence, f"'4.{n}%' became '5.{n}%'", 0.8))
    candidate = Candidate(info=src, score=0.9, dense=0.9, lexical=0.9, coverage=0.9)
    return Report(story, None, [candidate], out, Analyzer(notes=["a note"]))


def test_report_blocks_have_counts_citations_and_escaped_text() -> None:
    shown = report_blocks(report_with(2))
    text = "\n".join(b["text"]["text"] for b in shown.blocks if "text" in b)
    assert shown.blocks[0]["type"] == "header" and "2 reworded" in shown.blocks[0]["text"]["text"]
    assert "<https://example.org/1|Release &lt;1&gt; &amp; more>" in text
    assert "&gt; Source 0 says 4.0% more." in text and shown.hidden == 0
    assert "a note" in shown.blocks[-1]["elements"][0]["text"]


def test_long_reports_are_cut_with_n_more() -> None:
    shown = report_blocks(report_with(60))
    assert len(shown.blocks) <= MAX_BLOCKS and shown.hidden == 55
    assert any("55 more reworded" in e["text"] for b in shown.blocks for e in b.get("elements", []))


def test_no_original_is_said_plainly() -> None:
    shown = report_blocks(Report("A story.", None, [], [], Analyzer(), "no original found: nothing similar"))
    assert "Not checked" in shown.blocks[0]["text"]["text"] and shown.hidden == 0


def test_apologies_explain_our_errors_and_hide_internal_ones() -> None:
    assert (
        apology(FetchError("the page answered 404")) == ":warning: Sorry, I couldn't check this: the page answered 404"
    )
    assert "logged" in apology(RuntimeError("stack details"))
    assert escape("<&>") == "&lt;&amp;&gt;"


def test_the_manifest_declares_what_the_app_handles() -> None:
    from pathlib import Path

    import yaml

    from bot.slack.app import COMMAND, SHORTCUT

    manifest = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert [s["callback_id"] for s in features["shortcuts"]] == [SHORTCUT]
    assert {"app_mention", "message.im", "message.channels"} <= set(settings["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "commands", "im:history", "files:read", "files:write"} <= scopes
    urls = [features["slash_commands"][0]["url"], settings["event_subscriptions"]["request_url"]]
    urls.append(settings["interactivity"]["request_url"])
    assert all(u.endswith("/slack/events") for u in urls)
