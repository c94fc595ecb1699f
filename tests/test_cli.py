"""The ``factdiff`` command, run as a user runs it: a real subprocess with a real local store."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tests.articles import HARWICH_NOTICE, HARWICK_STORY, NORRLAND_Q3, NORRLAND_Q3_STORY, UNRELATED_STORY
from tests.conftest import run_cli


def source_file(folder: Path, name: str, draft: object) -> Path:
    d = draft  # an ArticleDraft
    path = folder / name
    path.write_text(
        f"Title: {d.title}\nPublished: {d.published}\nURL: {d.url}\nSource: {d.source}\n\n{d.text}\n",  # type: ignore[attr-defined]
        encoding="utf-8",
    )
    return path


def test_ingest_search_list_show_remove(tmp_path: Path, cli_env: dict[str, str]) -> None:
    a = source_file(tmp_path, "norrland.txt", NORRLAND_Q3)
    b = source_file(tmp_path, "harwick.txt", HARWICH_NOTICE)
    done = run_cli(["ingest", str(a), str(b)], cli_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 added" in done.stdout

    again = run_cli(["ingest", str(a)], cli_env, cwd=tmp_path)
    assert again.returncode == 0 and "1 unchanged" in again.stdout

    listed = json.loads(run_cli(["sources", "list", "--format", "json"], cli_env, cwd=tmp_path).stdout)
    assert {x["title"] for x in listed} == {NORRLAND_Q3.title, HARWICH_NOTICE.title}
    norrland_id = next(x["id"] for x in listed if x["title"] == NORRLAND_Q3.title)

    shown = run_cli(["sources", "show", norrland_id], cli_env, cwd=tmp_path)
    assert shown.returncode == 0
    assert NORRLAND_Q3.text in shown.stdout and f"URL: {NORRLAND_Q3.url}" in shown.stdout

    found = run_cli(["search", "--format", "json", "-"], cli_env, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["sources"][0]["title"] == NORRLAND_Q3.title
    assert result["sources"][0]["published"] == "2026-10-22"

    removed = run_cli(["sources", "remove", norrland_id], cli_env, cwd=tmp_path)
    assert removed.returncode == 0 and NORRLAND_Q3.title in removed.stdout
    gone = run_cli(["sources", "show", norrland_id], cli_env, cwd=tmp_path)
    assert gone.returncode == 1 and "no stored article" in gone.stderr


def test_search_text_output_names_the_original(tmp_path: Path, cli_env: dict[str, str]) -> None:
    run_cli(["ingest", str(source_file(tmp_path, "h.txt", HARWICH_NOTICE))], cli_env, cwd=tmp_path)
    story = tmp_path / "story.txt"
    story.write_text(HARWICK_STORY, encoding="utf-8")
    found = run_cli(["search", str(story)], cli_env, cwd=tmp_path)
    assert found.returncode == 0
    assert found.stdout.startswith(f"1. {HARWICH_NOTICE.title}")
    assert HARWICH_NOTICE.url and HARWICH_NOTICE.url in found.stdout


def test_search_without_an_original_says_so_and_exits_1(tmp_path: Path, cli_env: dict[str, str]) -> None:
    run_cli(["ingest", str(source_file(tmp_path, "h.txt", HARWICH_NOTICE))], cli_env, cwd=tmp_path)
    found = run_cli(["search", "-"], cli_env, stdin=UNRELATED_STORY, cwd=tmp_path)
    assert found.returncode == 1
    assert "no original found" in found.stdout or "shares nothing" in found.stdout


def test_search_in_an_empty_store_explains_what_to_do(tmp_path: Path, cli_env: dict[str, str]) -> None:
    found = run_cli(["search", "-"], cli_env, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert found.returncode == 1
    assert "empty" in found.stdout and "factdiff ingest" in found.stdout


def test_failed_items_exit_1_with_one_line_each(tmp_path: Path, cli_env: dict[str, str]) -> None:
    good = source_file(tmp_path, "good.txt", NORRLAND_Q3)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    done = run_cli(["ingest", str(good), str(empty), str(tmp_path / "missing.txt")], cli_env, cwd=tmp_path)
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == 2
    assert "1 added" in done.stdout and "2 failed" in done.stdout


def test_empty_story_is_a_usage_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    found = run_cli(["search", "-"], cli_env, stdin="   \n", cwd=tmp_path)
    assert found.returncode == 2
    assert "empty" in found.stderr and "Traceback" not in found.stderr


def test_ingest_without_arguments_is_a_usage_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    done = run_cli(["ingest"], cli_env, cwd=tmp_path)
    assert done.returncode == 2 and "at least one" in done.stderr


def test_invalid_setting_is_named(tmp_path: Path, cli_env: dict[str, str]) -> None:
    done = run_cli(["sources", "list"], {**cli_env, "FACTDIFF_EMBEDDINGS": "bert"}, cwd=tmp_path)
    assert done.returncode == 2
    assert "FACTDIFF_EMBEDDINGS" in done.stderr and "Traceback" not in done.stderr


def test_unreachable_chroma_server_is_a_clear_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": "9"}  # nothing listens on the discard port
    done = run_cli(["sources", "list"], env, cwd=tmp_path)
    assert done.returncode == 3
    assert "127.0.0.1:9" in done.stderr and "Traceback" not in done.stderr


def test_dotenv_file_is_read_but_real_environment_wins(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / ".env").write_text("FACTDIFF_EMBEDDINGS=bert\n", encoding="utf-8")
    bad = run_cli(["sources", "list"], cli_env, cwd=tmp_path)
    assert bad.returncode == 2 and "FACTDIFF_EMBEDDINGS" in bad.stderr
    good = run_cli(["sources", "list"], {**cli_env, "FACTDIFF_EMBEDDINGS": "wordllama"}, cwd=tmp_path)
    assert good.returncode == 0, good.stderr


def test_demo_finds_the_original_and_the_second_source(tmp_path: Path, cli_env: dict[str, str]) -> None:
    done = run_cli(["demo"], cli_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    originals = done.stdout.split("Originals, best first")[1].split("Reworded")[0]
    assert "Larkfield council approves 4.5% water rate rise for 2027" in originals
    assert "Eastgate Residents' Association" in originals
    assert "3.2% water rate rise for 2026" not in originals


def ingest_demo_sources(tmp_path: Path, cli_env: dict[str, str]) -> Path:
    from bot.demo import demo_files

    sources, story = demo_files()
    done = run_cli(["ingest", *map(str, sources)], cli_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return story


def test_check_prints_a_json_report_with_verbatim_citations(tmp_path: Path, cli_env: dict[str, str]) -> None:
    story = ingest_demo_sources(tmp_path, cli_env)
    done = run_cli(["check", "--format", "json", "-"], cli_env, stdin=story.read_text(encoding="utf-8"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    kinds = {f["kind"] for f in report["findings"]}
    assert kinds == {"reworded", "added", "omitted"}
    for f in report["findings"]:
        if f["story"]:
            assert report["story"]["text"][f["story"]["start"] : f["story"]["end"]] == f["story"]["text"]


def test_check_text_and_markdown_formats(tmp_path: Path, cli_env: dict[str, str]) -> None:
    story = ingest_demo_sources(tmp_path, cli_env)
    text = run_cli(["check", "--no-color", str(story)], cli_env, cwd=tmp_path)
    assert (
        text.returncode == 0
        and "Reworded (" in text.stdout
        and "[-" in text.stdout
        and "{+Larkfield residents will pay 5.4%" in text.stdout
    )
    md = run_cli(["check", "--format", "markdown", str(story)], cli_env, cwd=tmp_path)
    assert md.returncode == 0 and "~~" in md.stdout and "> " in md.stdout


def test_check_of_a_shared_link_fetches_the_article(tmp_path: Path, cli_env: dict[str, str]) -> None:
    from tests.servers.web import WebServer, page

    story = ingest_demo_sources(tmp_path, cli_env)
    paragraphs = "".join(f"<p>{line}</p>" for line in story.read_text(encoding="utf-8").splitlines() if line)
    html = f"<html><head><title>Water bills up</title></head><body><article>{paragraphs}</article></body></html>"
    with WebServer({"/story": page(html)}) as web:
        env = {**cli_env, "FACTDIFF_ALLOW_PRIVATE_URLS": "1"}
        done = run_cli(["check", "--format", "json", web.url("/story")], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["story"]["url"] == web.url("/story")
    assert any(f["kind"] == "reworded" for f in report["findings"])


def test_check_without_originals_exits_1_and_says_why(tmp_path: Path, cli_env: dict[str, str]) -> None:
    ingest_demo_sources(tmp_path, cli_env)
    done = run_cli(["check", "-"], cli_env, stdin=UNRELATED_STORY, cwd=tmp_path)
    assert done.returncode == 1 and "no original" in done.stdout.lower()


def test_a_story_link_that_cannot_be_fetched_exits_4_not_1(tmp_path: Path, cli_env: dict[str, str]) -> None:
    from tests.servers.web import WebServer, redirect

    with WebServer({"/to-mailto": redirect("mailto:desk@example.org")}) as web:
        env = {**cli_env, "FACTDIFF_ALLOW_PRIVATE_URLS": "1"}
        missing = run_cli(["check", web.url("/missing")], env, cwd=tmp_path)
        odd = run_cli(["check", web.url("/to-mailto")], env, cwd=tmp_path)
    assert missing.returncode == 4 and "404" in missing.stderr
    assert odd.returncode == 4 and "not an http(s) URL" in odd.stderr
    assert "Traceback" not in odd.stderr and len(odd.stderr.strip().splitlines()) == 1


def test_a_copy_from_another_place_is_shown_as_a_further_location(tmp_path: Path, cli_env: dict[str, str]) -> None:
    original = source_file(tmp_path, "norrland.txt", NORRLAND_Q3)
    copy_draft = replace(NORRLAND_Q3, url="https://aggregator.example/norrland", title="Copied", source="Aggregator")
    copy = source_file(tmp_path, "copy.txt", copy_draft)
    records = tmp_path / "wire.jsonl"
    records.write_text(json.dumps({"id": "wire-77", "title": "Wire copy", "text": NORRLAND_Q3.text}) + "\n")
    assert run_cli(["ingest", str(original)], cli_env, cwd=tmp_path).returncode == 0
    done = run_cli(["ingest", str(copy), "--jsonl", str(records)], cli_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0 added" in done.stdout and "2 duplicate" in done.stdout
    assert done.stdout.count("recorded as a further location") == 2
    [listed] = json.loads(run_cli(["sources", "list", "--format", "json"], cli_env, cwd=tmp_path).stdout)
    shown = run_cli(["sources", "show", listed["id"]], cli_env, cwd=tmp_path).stdout
    assert f"Title: {NORRLAND_Q3.title}" in shown and f"URL: {NORRLAND_Q3.url}" in shown
    assert "Also at: https://aggregator.example/norrland  (Copied, Aggregator, 2026-10-22)" in shown
    assert f"Also at: {records}  (Wire copy)" in shown


def test_feed_limits_come_from_the_settings_with_a_summary_line(tmp_path: Path, cli_env: dict[str, str]) -> None:
    from tests.servers.web import WebServer, page

    items = "".join(f"<item><title>E{n}</title><link>/missing?n={n}</link></item>" for n in range(6))
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{items}</channel></rss>'
    with WebServer({"/feed.rss": page(feed, content_type="application/rss+xml")}) as web:
        env = {**cli_env, "FACTDIFF_ALLOW_PRIVATE_URLS": "1", "FACTDIFF_FEED_MAX_ENTRIES": "2"}
        done = run_cli(["ingest", "-q", "--feed", web.url("/feed.rss")], env, cwd=tmp_path)
    assert done.returncode == 1  # the two entries tried are dead links
    assert done.stderr.count("failed: ") == 2
    assert "skipped: " in done.stderr and "4 of 6 entries skipped: 4 over the limit of 2 entries" in done.stderr
    assert "2 failed" in done.stderr and "4 skipped" in done.stderr


# ---- rough edges (issue 14) -----------------------------------------------------------------


def test_demo_keeps_its_colour_when_piped_with_color(tmp_path: Path, cli_env: dict[str, str]) -> None:
    done = run_cli(["demo", "--color"], cli_env, cwd=tmp_path)  # stdout is a pipe, as in `factdiff demo --color | cat`
    assert done.returncode == 0, done.stderr
    assert "\x1b[" in done.stdout  # the colours that tell source words from story words


def test_no_color_and_force_color_are_honoured(tmp_path: Path, cli_env: dict[str, str]) -> None:
    story = ingest_demo_sources(tmp_path, cli_env)
    forced = run_cli(["check", str(story)], {**cli_env, "FORCE_COLOR": "1"}, cwd=tmp_path)
    assert "\x1b[" in forced.stdout
    plain = run_cli(["check", str(story)], {**cli_env, "NO_COLOR": "1", "FORCE_COLOR": "1"}, cwd=tmp_path)
    assert "\x1b[" not in plain.stdout and "[-" in plain.stdout and "{+" in plain.stdout  # markers instead


def test_a_bad_log_level_is_one_clear_line_and_exit_2(tmp_path: Path, cli_env: dict[str, str]) -> None:
    done = run_cli(["sources", "list"], {**cli_env, "FACTDIFF_LOG_LEVEL": "verbose"}, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "FACTDIFF_LOG_LEVEL" in done.stderr and "DEBUG" in done.stderr


def imports_of(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run the command with ``-X importtime``: its stderr lists every module it imported."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot.cli", *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    return done.returncode, done.stderr


def test_reading_the_store_loads_no_embedding_model(tmp_path: Path, cli_env: dict[str, str]) -> None:
    run_cli(["ingest", str(source_file(tmp_path, "n.txt", NORRLAND_Q3))], cli_env, cwd=tmp_path)
    article_id = json.loads(run_cli(["sources", "list", "--format", "json"], cli_env, cwd=tmp_path).stdout)[0]["id"]
    for args in (["sources", "list"], ["sources", "show", article_id], ["sources", "remove", article_id]):
        code, imported = imports_of(args, cli_env, tmp_path)
        assert code == 0, imported[-2000:]
        assert "wordllama" not in imported and "onnxruntime" not in imported, args


def test_slack_says_a_token_is_missing_before_loading_anything(tmp_path: Path, cli_env: dict[str, str]) -> None:
    code, imported = imports_of(["slack"], {**cli_env, "SLACK_SIGNING_SECRET": "s"}, tmp_path)
    assert code == 2 and "SLACK_BOT_TOKEN is not set" in imported
    assert "wordllama" not in imported and "onnxruntime" not in imported and not (tmp_path / "data").exists()


def test_help_names_check_and_says_every_summary_and_option_in_full(tmp_path: Path, cli_env: dict[str, str]) -> None:
    top = run_cli(["--help"], cli_env, cwd=tmp_path).stdout
    assert "'check'" in top.split("Options:")[0]
    summaries = top.split("Commands:")[1].strip().splitlines()
    commands = {"check", "demo", "history", "ingest", "search", "slack", "sources"}
    assert {line.split()[0] for line in summaries} >= commands
    assert not [line for line in summaries if line.rstrip().endswith("...")]
    for command in (["check"], ["search"], ["sources", "list"], ["sources", "show"], ["history"], ["history", "show"]):
        shown = run_cli([*command, "--help"], cli_env, cwd=tmp_path).stdout
        format_help = shown.split("--format")[1].split("\n  -")[0]
        assert "Output:" in format_help, command


def test_checks_from_the_command_line_are_kept_in_the_history(tmp_path: Path, cli_env: dict[str, str]) -> None:
    story = ingest_demo_sources(tmp_path, cli_env)
    assert run_cli(["check", "--format", "json", str(story)], cli_env, cwd=tmp_path).returncode == 0
    listed = run_cli(["history", "--since", "1d"], cli_env, cwd=tmp_path)
    assert listed.returncode == 0 and " cli " in listed.stdout and "4 reworded, 1 added" in listed.stdout
    check_id = listed.stdout.split()[0]
    shown = run_cli(["history", "show", check_id], cli_env, cwd=tmp_path)
    assert shown.returncode == 0 and "asked by the command line" in shown.stdout and "Reworded (" in shown.stdout
    later = run_cli(["history", "--since", "2999-01-01", "--format", "json"], cli_env, cwd=tmp_path)
    assert json.loads(later.stdout) == []
    bad = run_cli(["history", "--since", "last week"], cli_env, cwd=tmp_path)
    assert bad.returncode == 2 and "7d" in bad.stderr
    missing = run_cli(["history", "show", "nosuchcheck"], cli_env, cwd=tmp_path)
    assert missing.returncode == 2 and "not in the history" in missing.stderr


# ---- the side-by-side page (issue 15) -------------------------------------------------------


def test_check_html_format_prints_one_self_contained_page(tmp_path: Path, cli_env: dict[str, str]) -> None:
    story = ingest_demo_sources(tmp_path, cli_env)
    done = run_cli(["check", "--format", "html", str(story)], cli_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = done.stdout
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "Larkfield council approves 4.5% water rate rise for 2027" in page
    # the originals are shown in full, not only the cited sentences
    assert "Only the sentences the findings cite are shown" not in page
    assert "<script src" not in page and "<link" not in page


def test_demo_open_writes_the_page_and_hands_it_to_the_browser(tmp_path: Path, cli_env: dict[str, str]) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"  # $BROWSER, as webbrowser reads it: records what it was asked to open
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{opened}"\n', encoding="utf-8")
    browser.chmod(0o755)
    page = tmp_path / "out" / "demo.html"
    page.parent.mkdir()
    done = run_cli(["demo", "--open", "--html", str(page)], {**cli_env, "BROWSER": f"{browser} %s"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"The page: {page}" in done.stdout
    assert page.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert opened.read_text(encoding="utf-8") == page.as_uri()


def test_demo_open_without_a_browser_says_where_the_page_is(tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "BROWSER": str(tmp_path / "no-such-browser"), "TMPDIR": str(tmp_path), "PATH": "/nonexistent"}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    done = run_cli(["demo", "--open"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "factdiff-demo.html").exists()
    assert "no browser found" in done.stderr
