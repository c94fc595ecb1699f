"""The ``factdiff`` command line.

Settings are read here, once; errors from inside become one line on stderr and an exit code:
0 success, 1 some items failed (ingest) or nothing found, 2 bad usage or configuration,
3 the store could not be reached (or another process kept it busy for too long),
4 the story's URL could not be fetched or read (check, search).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

import click

from bot import logs, wiring
from bot.priority import limit_blas_threads, yield_cpu
from bot.settings import Settings, load_settings
from retrieval.errors import (
    ConfigError,
    ExtractionError,
    FactDiffError,
    FetchError,
    InputError,
    ModelFileError,
    NotFoundError,
    StoreError,
)
from retrieval.ingest import (
    INGEST_BATCH,
    INGEST_BATCH_CHARS,
    IngestRequest,
    estimate_total,
    fetch_article,
    ingest,
    is_url,
    iter_items,
)
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


FORMAT_HELP = "Output: text for people, json for programs."
format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help=FORMAT_HELP
)


color_option = click.option(
    "--color/--no-color",
    default=None,
    help="Highlight changed words in colour (default: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it).",
)


def use_color(flag: bool | None) -> bool:
    """--color/--no-color, else NO_COLOR (no-color.org) or FORCE_COLOR, else whether stdout is a terminal."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=1))


class Context:
    """Settings and lazily built clients for one command."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._store: Any = None
        self.default_log_level = "WARNING"

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings()
            except FactDiffError as exc:
                fail(exc)
            s = self._settings
            logs.configure(s.log_level or self.default_log_level, s.log_format)
        return self._settings

    @property
    def store(self) -> Any:
        if self._store is None:
            self._store = wiring.source_store(self.settings, on_wait=lambda m: click.echo(f"factdiff: {m}", err=True))
        return self._store

    @property
    def metadata_store(self) -> Any:
        """The store for reading and removing articles: its embedding model loads only if used."""
        if self._store is None:
            self._store = wiring.source_store(self.settings, emb=wiring.embedder(self.settings, lazy=True))
        return self._store


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="factdiff")
def main() -> None:
    """factdiff: find how a news story drifts from its primary sources.

    Store primary sources with 'ingest', then 'check' a story against them: reworded, added
    and omitted claims, with verbatim citations ('search' only finds the originals). 'slack'
    runs the Slack bot; 'history' lists what was checked. Settings come from environment
    variables or a .env file (see .env.example).
    """
    limit_blas_threads()


@main.command("ingest", short_help="Store primary sources: files, folders, URLs, feeds.")
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
    default=INGEST_BATCH,
    show_default=True,
    type=click.IntRange(1, 1024),
    help=f"Articles embedded and written together (fewer once their texts reach {INGEST_BATCH_CHARS:,} characters).",
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
    yield_cpu(ctx.settings.ingest_nice)  # a bulk ingest gives way to the bot's checks
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


@main.group("sources", short_help="List, show and remove stored primary sources.")
def sources() -> None:
    """List, show, count and remove stored primary sources."""


def _info_dict(info: ArticleInfo) -> dict[str, Any]:
    d = asdict(info)
    d.pop("version", None)
    return d


@sources.command("list")
@format_option
@click.option("--limit", type=click.IntRange(1), default=None, help="Show at most this many (newest first).")
@pass_ctx
def sources_list(ctx: Context, fmt: str, limit: int | None) -> None:
    """Stored articles, newest ingested first."""
    try:
        infos = ctx.metadata_store.list_articles()
    except FactDiffError as exc:
        fail(exc)
    shown = infos[:limit] if limit else infos
    if fmt == "json":
        echo_json([_info_dict(i) for i in shown])
        return
    for i in shown:
        click.echo(f"{i.id}  {i.published or '----------':<10}  {(i.source or '-')[:16]:<16}  {i.title[:80]}")
    click.echo(f"{len(infos)} article(s)" + (f", {len(shown)} shown" if len(shown) < len(infos) else ""), err=True)


@sources.command("show")
@click.argument("article_id")
@format_option
@pass_ctx
def sources_show(ctx: Context, article_id: str, fmt: str) -> None:
    """One stored article: metadata and its full stored text."""
    try:
        art = ctx.metadata_store.get(article_id)
    except FactDiffError as exc:
        fail(exc)
    if fmt == "json":
        echo_json({**_info_dict(art.info), "text": art.text})
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
            info = ctx.metadata_store.remove(aid)
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
        stats = store_stats(ctx.metadata_store)
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


@main.command("search", short_help="Find the stored originals of a story.")
@click.argument("story", required=False)
@format_option
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
        echo_json(search_json(result))
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


@main.command("check", short_help="Check a story against its stored originals.")
@click.argument("story", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "html"]),
    default="text",
    show_default=True,
    help="Output: text for a terminal, markdown for a document, json for programs (the report format), "
    "html for one self-contained page, the story beside its originals (redirect it to a file).",
)
@color_option
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
    from checker.html import original_texts, render_html
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
        started = time.monotonic()
        report = wiring.diff_engine(ctx.store, preview or judge).check(text, url=url)
        if preview is None:  # a preview sends nothing and checks nothing worth keeping
            record_check(ctx, report, time.monotonic() - started)
        texts = original_texts(ctx.store, report) if fmt == "html" and preview is None else {}
    except FactDiffError as exc:
        fail(exc)
    if preview is not None:
        sent = {"endpoint": preview.endpoint, "requests": preview.requests}
        click.echo(json.dumps(sent, ensure_ascii=False, indent=1))
        sys.exit(0 if report.sources else 1)
    if fmt == "json":
        echo_json(report_to_json(report))
    elif fmt == "markdown":
        click.echo(render_markdown(report))
    elif fmt == "html":
        click.echo(render_html(report, texts), nl=False)
    else:
        shown = use_color(color)
        click.echo(render_text(report, color=shown), color=shown)
    if not report.sources:
        sys.exit(EXIT_FAILED)


def record_check(ctx: Context, report: Any, duration: float) -> None:
    """Keep the check in the history (unless FACTDIFF_HISTORY_DAYS=0 turned it off)."""
    from bot.history import Asker, CheckRecord, new_check_id
    from checker.models import report_to_json
    from checker.render import render_text

    kept = wiring.history(ctx.settings)
    if kept is not None:
        record = CheckRecord(
            new_check_id(),
            time.time(),
            Asker("cli"),
            report.story_text,
            report.story_url,
            report_to_json(report),
            render_text(report),
            duration,
        )
        kept.record(record)


@main.command("demo", short_help="Check an invented story in a temporary store.")
@color_option
@click.option("--no-llm", is_flag=True, help="Use the offline engine only, even when an LLM is configured.")
@click.option("--open", "open_page", is_flag=True, help="Write the report's HTML page and open it in the browser.")
@click.option(
    "--html",
    "page",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the report's HTML page to this file (with --open: factdiff-demo.html in the temp folder).",
)
@pass_ctx
def demo_cmd(ctx: Context, color: bool | None, no_llm: bool, open_page: bool, page: Path | None) -> None:
    """Check an invented rewrite against its invented sources, in a temporary store."""
    from bot.demo import run_demo

    shown = use_color(color)
    if open_page and page is None:
        page = Path(tempfile.gettempdir()) / "factdiff-demo.html"
    try:
        judge = None if no_llm else wiring.llm_judge(ctx.settings)
        run_demo(ctx.settings, lambda line: click.echo(line, color=shown), color=shown, judge=judge, page=page)
    except FactDiffError as exc:
        fail(exc)
    except OSError as exc:
        fail(InputError(f"cannot write the page to {page}: {exc.strerror or exc}"))
    if page is not None:
        click.echo(f"\nThe page: {page.resolve()}")
    if open_page and page is not None and not open_in_browser(page):
        click.echo("factdiff: no browser found; open the page above in one", err=True)


def open_in_browser(page: Path) -> bool:
    """Open a local page with the user's browser (``webbrowser``, which honours $BROWSER); False when none."""
    import webbrowser

    try:
        return webbrowser.open(page.resolve().as_uri())
    except webbrowser.Error:
        return False


@main.command("slack", short_help="Run the Slack bot (Socket Mode or HTTP).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=3000,
    show_default=True,
    help="HTTP mode: the port for /slack/events, /healthz and /readyz.",
)
@click.option("--host", default="0.0.0.0", show_default=True, help="The address to listen on.")
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=3000,
    show_default=True,
    help="Socket Mode: the port for /healthz and /readyz.",
)
@click.option("--no-llm", is_flag=True, help="Use the offline engine only, even when an LLM is configured.")
@pass_ctx
def slack_cmd(ctx: Context, port: int, host: str, health_port: int, no_llm: bool) -> None:
    """Run the Slack bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode on --port.

    HTTP mode serves Events API, slash command and interactivity requests at /slack/events and
    verifies each with SLACK_SIGNING_SECRET. Both modes answer GET /healthz (up) and GET /readyz
    (models loaded, index built, store reachable). With FACTDIFF_PUBLIC_URL set, HTTP mode also
    serves each report's side-by-side page at GET /reports/<random id> (kept FACTDIFF_REPORT_DAYS
    days) and links it in the reply; otherwise the page is attached. FACTDIFF_SLACK_WORKERS checks
    run at a time; on SIGTERM the bot stops taking requests, finishes its checks and posts their answers.
    """
    from bot.slack.server import EVENTS_PATH, Readiness, SlackASGI, bind, socket_mode
    from bot.slack.service import Service

    ctx.default_log_level = "INFO"
    settings = ctx.settings
    socket_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    try:
        config = wiring.slack_config(settings)  # a missing token is reported before anything loads
        listen = health_port if socket_token else port
        try:
            sock = bind(host, listen)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{listen}: {exc.strerror or exc}") from exc
        judge = None if no_llm else wiring.llm_judge(settings)
        pages = wiring.report_pages(settings)  # HTTP mode with FACTDIFF_PUBLIC_URL only
        app, bot = wiring.slack_bot(settings, config, ctx.store, judge, wiring.history(settings), pages)
    except FactDiffError as exc:
        fail(exc)
    asgi = SlackASGI(
        None if socket_token else app,
        Readiness(ctx.store.count),
        signing_secret=config.signing_secret,
        read_timeout=settings.slack_read_timeout,
        pages=pages,
    )
    service = Service(asgi, bot.pool, bot.checker.warm, settings.slack_shutdown_timeout, settings.slack_read_timeout)
    where = f"http://{host}:{sock.getsockname()[1]}"
    if socket_token:
        handler = socket_mode(app, socket_token)
        click.echo(f"factdiff: connecting to Slack in Socket Mode; health on {where}/healthz", err=True)
        sys.exit(service.serve(sock, before_serving=handler.connect, stop_intake=handler.close))
    click.echo(f"factdiff: listening on {where}{EVENTS_PATH}", err=True)
    sys.exit(service.serve(sock))


# ---- history --------------------------------------------------------------------------------


def parse_since(value: str) -> float:
    """'7d', '12h', '30m' ago, or a date (YYYY-MM-DD) -> unix time."""
    import datetime as dt

    units = {"d": 86400, "h": 3600, "m": 60}
    v = value.strip().lower()
    if v[:-1].isdigit() and v[-1:] in units:
        return time.time() - int(v[:-1]) * units[v[-1]]
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a duration like 7d, 12h, 30m or a date like 2026-11-01") from None


def open_history(ctx: Context) -> Any:
    from bot.history import History

    return History(ctx.settings.history_file)


def when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(at))


@main.group("history", invoke_without_command=True, short_help="List past checks; show, purge or export them.")
@click.option("--since", default=None, metavar="AGE|DATE", help="Only checks since then: 7d, 12h, 30m or 2026-11-01.")
@format_option
@click.pass_context
def history_cmd(click_ctx: click.Context, since: str | None, fmt: str) -> None:
    """The checks made from Slack and the command line, newest first: when, who asked and where,
    the story's first line, what was found, and the feedback each got. Kept in history.db in the
    data directory (FACTDIFF_HISTORY_PATH) for FACTDIFF_HISTORY_DAYS days."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.ensure_object(Context)
    try:
        rows = open_history(ctx).checks(parse_since(since) if since else None)
    except FactDiffError as exc:
        fail(exc)
    if fmt == "json":
        echo_json(rows)
        return
    for r in rows:
        who = "cli" if r["origin"] == "cli" else f"{r['user'] or '?'} in {r['channel'] or '?'}"
        c = r["counts"]
        found = (
            f"{c['reworded']} reworded, {c['added']} added, {c['omitted']} omitted" if r["sources"] else "no original"
        )
        votes = f"  feedback +{r['right']}/-{r['wrong']}" if r["right"] or r["wrong"] else ""
        click.echo(f"{r['id']}  {when(r['at'])}  {who:<20}  {found}{votes}")
        click.echo(f"    {r['first_line'][:100]}")
    click.echo(f"{len(rows)} check(s)", err=True)


@history_cmd.command("show")
@click.argument("check_id")
@format_option
@pass_ctx
def history_show(ctx: Context, check_id: str, fmt: str) -> None:
    """Print a past check's report again (CHECK_ID, or an unambiguous start of it)."""
    try:
        check = open_history(ctx).get(check_id)
    except FactDiffError as exc:
        fail(exc)
    if fmt == "json":
        echo_json(check["report"])
        return
    who = "the command line" if check["origin"] == "cli" else f"{check['user']} in {check['channel']}"
    click.echo(f"Check {check['id']}, {when(check['at'])} UTC, asked by {who} ({check['duration']:.1f} s)")
    click.echo("")
    click.echo(check["report_text"])


@history_cmd.command("purge")
@click.option("--before", required=True, metavar="DATE|AGE", help="Delete checks older than this: 2026-01-01, or 90d.")
@pass_ctx
def history_purge(ctx: Context, before: str) -> None:
    """Delete past checks (and their feedback)."""
    try:
        n = open_history(ctx).purge(parse_since(before))
    except FactDiffError as exc:
        fail(exc)
    click.echo(f"purged: {n} check(s)")


@history_cmd.command("export")
@click.option(
    "--feedback", "out", required=True, type=click.Path(path_type=Path), metavar="DIR", help="Where to write the cases."
)
@pass_ctx
def history_export(ctx: Context, out: Path) -> None:
    """Write the checks that got feedback as labelled cases (gold.json, cases/, sources/, reports/),
    the format of the evaluation sets: score the bot with score.py DIR/gold.json DIR/reports."""
    from bot.history import export_cases

    def source(article_id: str) -> dict[str, Any] | None:
        try:
            art = ctx.metadata_store.get(article_id)
        except NotFoundError:  # removed since the check: the case is left out
            return None
        return {**_info_dict(art.info), "text": art.text}

    try:
        cases, labels = export_cases(open_history(ctx), out, source)
    except FactDiffError as exc:
        fail(exc)
    except OSError as exc:
        fail(InputError(f"cannot write {out}: {exc.strerror or exc}"))
    click.echo(f"exported: {cases} case(s), {labels} label(s) to {out}")


if __name__ == "__main__":
    main()
