"""Build the real clients from settings: the only place that knows about both."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import tiktoken
from filelock import FileLock

from bot.settings import Settings
from retrieval.embeddings import Embedder, MiniLMEmbedder, WordLlamaEmbedder, make_embedder
from retrieval.errors import StoreError
from retrieval.fetch import FetchPolicy
from retrieval.ingest import FeedLimits
from retrieval.lexindex import PersistentLexicalIndex
from retrieval.locking import ChecksInProgress, WriteLock
from retrieval.search import OriginalFinder
from retrieval.store import SourceStore, StoreConfig
from retrieval.tokens import encoding_name_for_model, get_encoding

log = logging.getLogger(__name__)


def chroma_client(settings: Settings, lock: WriteLock | None = None) -> Any:
    """An HttpClient when CHROMA_HOST is set, else an embedded PersistentClient (opened under
    the data directory's write lock, when given: opening may write to the store's files)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        where = f"{settings.chroma_host}:{settings.chroma_port}"
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl, settings=chroma_settings
            )
        except Exception as exc:  # connection refused, TLS errors, version mismatch
            raise StoreError(f"cannot reach the Chroma server at {where}: {exc}") from exc
    path = local_store_path(settings)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with lock.hold() if lock is not None else nullcontext():
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"cannot open the local store at {path}: {exc}") from exc


def local_store_path(settings: Settings) -> Path:
    return settings.data_dir / "chroma"


def lexical_index_path(settings: Settings, emb: Embedder, store_id: str = "") -> Path:
    """Where this machine keeps the lexical index: inside an embedded store's folder (it lives
    and goes with the store), or under the data directory per store of a Chroma server, named by
    the store's identity (``store_id``: its articles collection's id), not by the address it is
    reached at: the same server by another name or port keeps its index, and a store made anew
    at the same address gets a new one."""
    name = _index_name(settings, emb)
    if settings.chroma_host:
        return settings.data_dir / "lexical" / f"{name}-{_file_part(store_id)}.sqlite"
    return local_store_path(settings) / f"lexical-{name}.sqlite"


def _index_name(settings: Settings, emb: Embedder) -> str:
    return _file_part(f"{settings.collection_prefix}-{emb.name}")


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")


def server_lexical_index(settings: Settings, emb: Embedder) -> Callable[[str], PersistentLexicalIndex]:
    """Opens this machine's lexical index for a Chroma server's store, given the store's identity.

    A machine that kept its index under the server's address (an older factdiff) has it
    copied to the new name once (SQLite's backup: a consistent copy while processes of the
    older version still use the old file), instead of building one from the store: at 100,000
    articles that build pulled every text from the server, 249 s. The old file is left for the
    operator to delete (logged)."""

    def open_for(store_id: str) -> PersistentLexicalIndex:
        path = lexical_index_path(settings, emb, store_id)
        server = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{settings.chroma_host}-{settings.chroma_port}")
        before = path.parent / f"{server}-{_index_name(settings, emb)}.sqlite"  # as an older factdiff named it
        if not path.exists() and before.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(path.parent / ".adopt.lock")):  # one process of the machine copies
                if not path.exists():
                    _copy_index(before, path)
                    log.warning(
                        "the lexical index for this store is now %s (copied from %s, named by the "
                        "server's address; delete that one once no older factdiff uses it)",
                        path,
                        before,
                    )
        return PersistentLexicalIndex(path)

    return open_for


def _copy_index(source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(source, timeout=60)) as src, closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)
    os.replace(partial, target)


def store_disk_bytes(settings: Settings) -> int | None:
    """Bytes on disk of the embedded store with its lexical index (None with a Chroma server,
    whose disk is the server's)."""
    if settings.chroma_host:
        return None
    path = local_store_path(settings)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def write_lock(settings: Settings, on_wait: Callable[[str], None] | None = None) -> WriteLock | None:
    """The embedded store's write lock (None with a Chroma server, which locks by itself)."""
    if settings.chroma_host:
        return None
    return WriteLock(local_store_path(settings), settings.lock_timeout, on_wait)


def openai_client(settings: Settings) -> Any:
    if not settings.openai_configured:
        return None
    from openai import OpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return OpenAI(api_key=key, base_url=settings.openai_base_url or None, max_retries=2, timeout=60)


def encoding(settings: Settings) -> tiktoken.Encoding:
    """The tiktoken encoding for chunk sizes and LLM prompts: FACTDIFF_TOKENIZER, else the LLM model's."""
    return get_encoding(settings.tokenizer or encoding_name_for_model(settings.llm_model))


class LazyEmbedder:
    """An embedder that loads its model on first use: listing, showing or removing stored
    articles reads metadata only, and should not wait for a model."""

    def __init__(self, name: str, load: Callable[[], Embedder]) -> None:
        self.name = name
        self._load = load
        self._model: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Embedder:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def __getattr__(self, name: str) -> Any:  # dimension and anything else: the model's own
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.model, name)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.embed(texts)


def embedder(settings: Settings, *, lazy: bool = False) -> Embedder:
    """The store's embedding model; ``lazy``: loaded only when something is embedded."""
    names = {"wordllama": WordLlamaEmbedder.name, "minilm": MiniLMEmbedder.name}
    if lazy and settings.embeddings in names:
        return LazyEmbedder(names[settings.embeddings], lambda: embedder(settings))  # type: ignore[return-value]
    client = openai_client(settings) if settings.embeddings == "openai" else None
    return make_embedder(settings.embeddings, openai_client=client, openai_model=settings.openai_embedding_model)


def source_store(
    settings: Settings,
    client: Any = None,
    emb: Embedder | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> SourceStore:
    """The store; an embedded one holds the data directory's write lock for its writes and
    reopens itself when another process changed it (``on_wait`` hears when it must wait)."""
    lock = write_lock(settings, on_wait) if client is None else None
    emb = emb or embedder(settings)
    chroma = client if client is not None else chroma_client(settings, lock)
    return SourceStore(
        chroma,
        emb,
        encoding(settings),
        StoreConfig(prefix=settings.collection_prefix, chunk_tokens=settings.chunk_tokens),
        lock=lock,
        reopen=(lambda: chroma_client(settings)) if lock is not None else None,
        lexical=None if client is not None else _local_lexical_index(settings, emb),
        checks=ChecksInProgress(settings.data_dir, settings.give_way) if client is None else None,
    )


def _local_lexical_index(
    settings: Settings, emb: Embedder
) -> PersistentLexicalIndex | Callable[[str], PersistentLexicalIndex]:
    if settings.chroma_host:
        return server_lexical_index(settings, emb)
    return PersistentLexicalIndex(lexical_index_path(settings, emb))


def finder(store: SourceStore) -> OriginalFinder:
    return OriginalFinder(store)


def llm_judge(settings: Settings) -> Any:
    """The LLM judge when an API key or an OpenAI-compatible endpoint is configured, else None.
    Its prompt files are loaded and validated here, at start-up."""
    if not settings.openai_configured:
        return None
    from checker.judge import LLMJudge
    from checker.llm import LLMConfig

    config = LLMConfig(
        model=settings.llm_model,
        timeout=settings.llm_timeout,
        max_attempts=settings.llm_max_attempts,
        concurrency=settings.llm_concurrency,
        max_prompt_tokens=settings.llm_max_prompt_tokens,
        max_completion_tokens=settings.llm_max_completion_tokens,
        omission_pool=settings.llm_omissions,
        price_input=settings.llm_price_input,
        price_output=settings.llm_price_output,
        context_window=settings.llm_context_window,
        reasoning=settings.llm_reasoning,
    )
    return LLMJudge(openai_client(settings), config, prompts_dir=settings.prompts_dir, encoding=encoding(settings))


def diff_engine(store: SourceStore, judge: Any = None) -> Any:
    """The diff engine: claims aligned with MiniLM (the best judge of sentence meaning here),
    verdicts from the offline engine, refined by the LLM judge when one is given."""
    from checker.engine import DiffEngine, default_aligner

    return DiffEngine(finder(store), align_embedder=default_aligner(), judge=judge)


def feed_limits(settings: Settings) -> FeedLimits:
    return FeedLimits(max_entries=settings.feed_max_entries, deadline=settings.feed_deadline)


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        timeout=settings.fetch_timeout, max_bytes=settings.max_download_bytes, allow_private=settings.allow_private_urls
    )


def history(settings: Settings) -> Any:
    """The check history (SQLite), with old checks purged by the retention setting; None when off."""
    from bot.history import History

    if settings.history_days == 0:
        return None
    kept = History(settings.history_file)
    kept.keep_days(settings.history_days)
    return kept


def report_pages(settings: Settings) -> Any:
    """Where the bot keeps the report pages it serves: HTTP mode with FACTDIFF_PUBLIC_URL only, else None
    (in Socket Mode nothing can reach the bot, so pages are attached to the reply instead)."""
    if settings.slack_app_token is not None or not settings.public_url:
        return None
    from bot.slack.pages import ReportPages

    return ReportPages(settings.data_dir / "reports", settings.report_days)


def slack_config(settings: Settings) -> Any:
    """The Slack settings, checked before anything is loaded: a missing token is reported at once."""
    from bot.slack.app import SlackConfig
    from retrieval.errors import ConfigError

    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)")
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set: create the Slack app from manifest.yml and copy its bot token")
    return SlackConfig(
        bot_token=settings.slack_bot_token.get_secret_value(),
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
        api_url=settings.slack_api_url,
        auto_channels=settings.id_list(settings.auto_channels),
        source_admins=settings.id_list(settings.source_admins),
        recheck_seconds=settings.auto_recheck_hours * 3600,
        clean_reply_channels=settings.id_list(settings.auto_clean_reply_channels),
        workers=settings.slack_workers,
        progress_seconds=settings.slack_progress_seconds,
        max_retries=settings.slack_max_retries,
        public_url=settings.public_url,
    )


def slack_bot(
    settings: Settings, config: Any, store: SourceStore, judge: Any = None, history: Any = None, pages: Any = None
) -> Any:
    """The Slack app and its bot over the store, the diff engine (with the LLM judge when given),
    URL fetching and the history; replies link to report pages kept in ``pages`` (see
    :func:`report_pages`); its check workers start when the service has warmed up."""
    from bot.slack.app import Checker, build_bot
    from bot.slack.work import WorkPool

    checker = Checker(store, diff_engine(store, judge), fetch_policy(settings))
    return build_bot(config, checker, history=history, pool=WorkPool(config.workers, start=False), pages=pages)
