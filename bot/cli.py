"""The ``factdiff`` command line.

Settings are read here, once; errors from inside become one line on stderr and an exit code:
0 success, 1 some items failed (ingest) or nothing found, 2 bad usage or configuration,
3 the store could not be reached (or another process kept it busy for too long),
4 the story's URL could not be fetched or read (check, search).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

import click

from bot import wiring
from bot.settings import Settings, load_settings
from retrieval.errors import (
    ConfigError,
    ExtractionError,
    FactDiffError,
    FetchError,
    InputError,
    ModelFileError,
    StoreError,
)
from retrieval.ingest import IngestRequest, estimate_total, fetch_article, ingest, is_url, iter_items
from retrieval.models import ArticleInfo, IngestOutcome, SearchResult

MAX_STORY_CHARS = 1_500_000


#: Exit codes, as the README documents them.
EXIT_FAILED = 1  # some items failed to ingest, or no original was found
EXIT_USAGE = 2  # bad usage, input or setting
EXIT_STORE = 3  # the store could not be reached, or stayed busy with another writer
EXIT_FETCH = 4  # the story's URL could not be fetched or holds no article


def exit_code(exc: FactDiffError) -> int:
    if isinstance(exc, StoreError):
        return EXIT_STORE
    if isinstance(exc, (ConfigError, InputError, ModelFileError)):
        return EXIT_USAGE
    if isinstance(exc, (FetchError, ExtractionError)):
        return EXIT_FETCH
    return EXIT_FAILED


def fail(exc: FactDiffError) -> NoReturn:
    click.echo(f"factdiff: error: {exc}", err=True)
    sys.exit(exit_code(exc))


class Context:
    """Settings and lazily built clients for one command."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._store: Any = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
            logging.basicConfig(level=self._settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
        return self._settings

    @property
    def store(self) -> Any:
        if self._store is None:
            self._store = wiring.source_store(self.settings, on_wait=lambda m: click.echo(f"factdiff: {m}", err=True))
        return self._store


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="factdiff")
def main() -> None:
    """factdiff: find how a news story drifts from its primary sources.

    Store primary sources with 'ingest', then find the originals of a story with 'search'.
    Settings come from environment variables or a .env file (see .env.example).
    """


@main.command("ingest")
@click.argument("targets", nargs=-1)
@click.option(
    "--jsonl",
    "jsonl",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A JSONL file: one {title, text, id?, url?, published?, source?} object per line.",
)
@click.option("--feed", "feeds", multiple=True, metavar="URL", help="An RSS/Atom feed: every entry's link is fetched.")
@click.option(
    "--batch-size",
    default=32,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Articles embedded and written together.",
)
@click.option("--quiet", "-q", is_flag=True, help="Only print failures and the summary.")
@pass_ctx
def ingest_cmd(
    ctx: Context,
    targets: tuple[str, ...],
    jsonl: tuple[Path, ...],
    feeds: tuple[str, ...],
    batch_size: int,
    quiet: bool,
) -> None:
    """Store primary sources: .txt/.md/.html files, folders of them, or http(s) URLs.

    The same article (same URL, or same text) is updated, never duplicated. Each failed item
    gets one line on stderr; the others carry on. Exit code 1 when any item failed.
    """
    if not (targets or jsonl or feeds):
        raise click.UsageError("give at least one file, folder, URL, --jsonl FILE or --feed URL")
    from tqdm import tqdm

    request = IngestRequest(tuple(targets), tuple(jsonl), tuple(feeds))
    try:
        store = ctx.store
        policy = wiring.fetch_policy(ctx.settings)
        counts = {"added": 0, "updated": 0, "unchanged": 0, "duplicate": 0, "skipped": 0, "failed": 0}
        with tqdm(total=estimate_total(request), unit="article", file=sys.stderr, disable=None, leave=False) as bar:

            def report(o: IngestOutcome) -> None:
                counts[o.status] += o.items
                bar.update(o.items)
                if o.status == "failed":
                    bar.write(f"failed: {o.error}", file=sys.stderr)
                elif o.status == "skipped":
                    bar.write(f"skipped: {o.error}", file=sys.stderr)
                elif o.status == "duplicate":
                    bar.write(
                        f"duplicate: {o.origin} has the same text as stored article {o.article_id}; "
                        "recorded as a further location of it"
                    )
                elif not quiet:
                    bar.write(f"{o.status}: {o.article_id}  {o.title}  ({o.chunks} chunks)")

            limits = wiring.feed_limits(ctx.settings)
            ingest(store, iter_items(request, policy, feed_limits=limits), batch_size=batch_size, on_outcome=report)
    except FactDiffError as exc:
        fail(exc)
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    click.echo(f"ingested: {summary}; {store.count()} articles in the store", err=quiet)
    if counts["failed"]:
        sys.exit(EXIT_FAILED)


@main.group("sources")
def sources() -> None:
    """List, show, count and remove stored primary sources."""


def _info_dict(info: ArticleInfo) -> dict[str, Any]:
    d = asdict(info)
    d.pop("version", None)
    return d


@sources.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", type=click.IntRange(1), default=None, help="Show at most this many (newest first).")
@pass_ctx
def sources_list(ctx: Context, fmt: str, limit: int | None) -> None:
    """Stored articles, newest ingested first."""
    try:
        infos = ctx.store.list_articles()
    except FactDiffError as exc:
        fail(exc)
    shown = infos[:limit] if limit else infos
    if fmt == "json":
        click.echo(json.dumps([_info_dict(i) for i in shown], ensure_ascii=False, indent=1))
        return
    for i in shown:
        click.echo(f"{i.id}  {i.published or '----------':<10}  {(i.source or '-')[:16]:<16}  {i.title[:80]}")
    click.echo(f"{len(infos)} article(s)" + (f", {len(shown)} shown" if len(shown) < len(infos) else ""), err=True)


@sources.command("show")
@click.argument("article_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_ctx
def sources_show(ctx: Context, article_id: str, fmt: str) -> None:
    """One stored article: metadata and its full stored text."""
    try:
        art = ctx.store.get(article_id)
    except FactDiffError as exc:
        fail(exc)
    if fmt == "json":
        click.echo(json.dumps({**_info_dict(art.info), "text": art.text}, ensure_ascii=False, indent=1))
        return
    i = art.info
    for key, value in (
        ("Title", i.title),
        ("Published", i.published),
        ("URL", i.url),
        ("Source", i.source),
        ("Author", i.author),
        ("ID", i.id),
        ("Ingested", i.ingested_at),
    ):
        if value:
            click.echo(f"{key}: {value}")
    for loc in i.locations:
        about = ", ".join(v for v in (loc.get("title"), loc.get("source"), loc.get("published")) if v)
        click.echo(f"Also at: {loc.get('place') or loc.get('id') or '-'}" + (f"  ({about})" if about else ""))
    click.echo("")
    click.echo(art.text)


@sources.command("remove")
@click.argument("article_ids", nargs=-1, required=True)
@pass_ctx
def sources_remove(ctx: Context, article_ids: tuple[str, ...]) -> None:
    """Remove stored articles (and all their chunks)."""
    failed = False
    for aid in article_ids:
        try:
            info = ctx.store.remove(aid)
            click.echo(f"removed: {aid}  {info.title}")
        except FactDiffError as exc:
            if isinstance(exc, StoreError):
                fail(exc)
            click.echo(f"factdiff: error: {exc}", err=True)
            failed = True
    if failed:
        sys.exit(EXIT_FAILED)


def _size(n: int | None) -> str:
    if n is None:
        return "n/a"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


@sources.command("stats")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_ctx
def sources_stats(ctx: Context, fmt: str) -> None:
    """Articles, chunks, disk and index size, oldest and newest article, by source."""
    from retrieval.stats import store_stats

    try:
        stats = store_stats(ctx.store)
    except FactDiffError as exc:
        fail(exc)
    disk = wiring.store_disk_bytes(ctx.settings)
    if fmt == "json":
        body = {
            **asdict(stats.total),
            "disk_bytes": disk,
            "index_bytes": stats.index_bytes,
            "indexed": stats.indexed,
            "by_source": {k: asdict(v) for k, v in stats.by_source.items()},
        }
        click.echo(json.dumps(body, ensure_ascii=False, indent=1))
        return
    t = stats.total
    click.echo(f"articles: {t.articles}  chunks: {t.chunks}  text: {t.chars:,} characters")
    click.echo(f"disk: {_size(disk)}" + ("" if disk is not None else " (the Chroma server keeps the store)"))
    click.echo(f"lexical index: {_size(stats.index_bytes)}, {stats.indexed} article(s)")
    click.echo(f"oldest: {t.oldest or '-'}  newest: {t.newest or '-'}")
    for name, s in stats.by_source.items():
        click.echo(
            f"  {name[:30]:<30} {s.articles:>8} articles {s.chunks:>9} chunks  {s.oldest or '-'} .. {s.newest or '-'}"
        )


def read_story(source: str | None) -> str:
    """A story from a file, or stdin for '-' / no argument."""
    if source in (None, "-"):
        if sys.stdin.isatty():
            raise InputError("paste a story on standard input, or give a file")
        text = sys.stdin.read(MAX_STORY_CHARS + 1)
        origin = "standard input"
    else:
        from retrieval.readers import decode_text, read_bytes

        path = Path(source)
        text = decode_text(read_bytes(path, MAX_STORY_CHARS * 4), str(path))
        origin = str(path)
    if not text.strip():
        raise InputError(f"{origin}: the story is empty")
    if len(text) > MAX_STORY_CHARS:
        raise InputError(f"{origin}: the story is over {MAX_STORY_CHARS:,} characters")
    return text


def search_json(result: SearchResult) -> dict[str, Any]:
    def cand(c: Any) -> dict[str, Any]:
        i = c.info
        return {
            "id": i.id,
            "title": i.title,
            "url": i.url,
            "published": i.published,
            "source": i.source,
            "score": c.score,
            "dense": c.dense,
            "lexical": c.lexical,
            "coverage": c.coverage,
            "sentences_explained": c.sentences,
        }

    return {
        "sources": [cand(c) for c in result.matches],
        "considered": [cand(c) for c in result.considered[:10]],
        "message": result.message,
    }


def print_search(result: SearchResult, top: int) -> None:
    if not result.matches:
        click.echo(result.message)
    for rank, c in enumerate(result.matches, start=1):
        i = c.info
        click.echo(f"{rank}. {i.title}  [{c.score:.2f}]")
        click.echo(f"   {i.source or '-'} · {i.published or 'undated'} · {i.url or 'no link'} · id {i.id}")
    others = [c for c in result.considered if c not in result.matches][: max(0, top - len(result.matches))]
    if others:
        click.echo("also considered:")
        for c in others:
            click.echo(f"   {c.info.title}  [{c.score:.2f}]  id {c.info.id}")


@main.command("search")
@click.argument("story", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 50), help="Candidates to show.")
@pass_ctx
def search_cmd(ctx: Context, story: str | None, fmt: str, top: int) -> None:
    """Find the stored originals of a story (FILE, or '-'/nothing for stdin)."""
    try:
        text = read_story(story)
        result = wiring.finder(ctx.store).find(text)
    except FactDiffError as exc:
        fail(exc)
    if fmt == "json":
        click.echo(json.dumps(search_json(result), ensure_ascii=False, indent=1))
    else:
        print_search(result, top)
    if not result.matches:
        sys.exit(EXIT_FAILED)


def read_story_or_url(source: str | None, ctx: Context) -> tuple[str, str | None]:
    """The story text (and its URL when the argument is a link to an article)."""
    if source and is_url(source):
        article, final_url = fetch_article(source, wiring.fetch_policy(ctx.settings))
        return article.text, final_url
    return read_story(source), None


@main.command("check")
@click.argument("story", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--color/--no-color", default=None, help="Highlight changed words (default: when on a terminal).")
@click.option("--no-llm", is_flag=True, help="Use the offline engine only, even when an LLM is configured.")
@click.option(
    "--show-prompt",
    is_flag=True,
    help="Print the exact requests the LLM judge would send for this story (JSON), and send nothing.",
)
@pass_ctx
def check_cmd(ctx: Context, story: str | None, fmt: str, color: bool | None, no_llm: bool, show_prompt: bool) -> None:
    """Check a story (FILE, URL, or '-'/nothing for stdin) against its stored originals.

    Lists reworded claims (with what changed), added claims and omitted source facts, each
    with the verbatim source sentence, title, date and link. With OPENAI_API_KEY (or
    OPENAI_BASE_URL) set, an LLM judges the offline engine's candidates; --no-llm skips it;
    --show-prompt prints what would leave the building instead. Exit code 1 when no original is
    found, 4 when the story's URL cannot be fetched.
    """
    from checker.judge import PromptPreview
    from checker.models import report_to_json
    from checker.render import render_markdown, render_text

    try:
        judge = None if no_llm else wiring.llm_judge(ctx.settings)
        preview = None
        if show_prompt:
            if judge is None:
                raise ConfigError("--show-prompt shows the LLM judge's requests: set OPENAI_API_KEY or OPENAI_BASE_URL")
            preview = PromptPreview(judge)
        text, url = read_story_or_url(story, ctx)
        report = wiring.diff_engine(ctx.store, preview or judge).check(text, url=url)
    except FactDiffError as exc:
        fail(exc)
    if preview is not None:
        shown = {"endpoint": preview.endpoint, "requests": preview.requests}
        click.echo(json.dumps(shown, ensure_ascii=False, indent=1))
        sys.exit(0 if report.sources else 1)
    if fmt == "json":
        click.echo(json.dumps(report_to_json(report), ensure_ascii=False, indent=1))
    elif fmt == "markdown":
        click.echo(render_markdown(report))
    else:
        click.echo(render_text(report, color=sys.stdout.isatty() if color is None else color))
    if not report.sources:
        sys.exit(EXIT_FAILED)


@main.command("demo")
@click.option("--color/--no-color", default=None, help="Highlight changed words (default: when on a terminal).")
@click.option("--no-llm", is_flag=True, help="Use the offline engine only, even when an LLM is configured.")
@pass_ctx
def demo_cmd(ctx: Context, color: bool | None, no_llm: bool) -> None:
    """Check an invented rewrite against its invented sources, in a temporary store."""
    from bot.demo import run_demo

    try:
        judge = None if no_llm else wiring.llm_judge(ctx.settings)
        run_demo(ctx.settings, click.echo, color=sys.stdout.isatty() if color is None else color, judge=judge)
    except FactDiffError as exc:
        fail(exc)


@main.command("slack")
@click.option("--port", type=int, default=3000, show_default=True, help="HTTP mode: the port for /slack/events.")
@click.option("--host", default="0.0.0.0", show_default=True, help="HTTP mode: the address to listen on.")
@click.option("--no-llm", is_flag=True, help="Use the offline engine only, even when an LLM is configured.")
@pass_ctx
def slack_cmd(ctx: Context, port: int, host: str, no_llm: bool) -> None:
    """Run the Slack bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode on --port.

    HTTP mode serves Events API, slash command and interactivity requests at /slack/events and
    verifies each with SLACK_SIGNING_SECRET.
    """
    from bot.slack.server import EVENTS_PATH, http_server, socket_mode

    settings = ctx.settings
    try:
        if settings.slack_app_token is None and settings.slack_signing_secret is None:
            raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)")
        judge = None if no_llm else wiring.llm_judge(settings)
        app = wiring.slack_app(settings, ctx.store, judge)
    except FactDiffError as exc:
        fail(exc)
    if settings.slack_app_token is not None:
        click.echo("factdiff: connecting to Slack in Socket Mode", err=True)
        socket_mode(app, settings.slack_app_token.get_secret_value()).start()
        return
    server = http_server(app, host, port)
    click.echo(f"factdiff: listening on http://{host}:{server.server_port}{EVENTS_PATH}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
