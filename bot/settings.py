"""Every setting factdiff reads, in one typed class. Read once, at the door.

Real environment variables beat a ``.env`` file in the working directory; every setting is
listed, with one comment each, in ``.env.example``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from retrieval.errors import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("factdiff", appauthor=False))


def default_workers() -> int:
    """Checks in flight by default: one per CPU this process may use, plus one. A check takes
    ~0.5 s of CPU and waits on Slack and the store besides; on the 2-core development machine
    3 workers gave more checks a minute than 2 and about as many as 4 or 5, and each further
    check in flight adds ~20 MB to the bot's ~480 MB at rest (docs/benchmarks.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores) + 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(default_factory=default_data_dir, alias="FACTDIFF_DATA_DIR")
    chroma_host: str | None = Field(None, alias="CHROMA_HOST")
    chroma_port: int = Field(8000, alias="CHROMA_PORT", ge=1, le=65535)
    chroma_ssl: bool = Field(False, alias="CHROMA_SSL")
    collection_prefix: str = Field(
        "factdiff", alias="FACTDIFF_COLLECTION_PREFIX", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,40}$"
    )
    embeddings: Literal["wordllama", "minilm", "openai"] = Field("wordllama", alias="FACTDIFF_EMBEDDINGS")
    openai_embedding_model: str = Field("text-embedding-3-small", alias="FACTDIFF_OPENAI_EMBEDDING_MODEL")
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    llm_model: str = Field("gpt-4.1-mini", alias="FACTDIFF_LLM_MODEL")
    llm_timeout: float = Field(60.0, alias="FACTDIFF_LLM_TIMEOUT", gt=0, le=600)
    llm_max_attempts: int = Field(3, alias="FACTDIFF_LLM_MAX_ATTEMPTS", ge=1, le=10)
    llm_concurrency: int = Field(4, alias="FACTDIFF_LLM_CONCURRENCY", ge=1, le=32)
    llm_max_prompt_tokens: int = Field(8_000, alias="FACTDIFF_LLM_MAX_PROMPT_TOKENS", ge=1_000, le=1_000_000)
    llm_max_completion_tokens: int = Field(4_096, alias="FACTDIFF_LLM_MAX_COMPLETION_TOKENS", ge=256, le=100_000)
    llm_omissions: int = Field(12, alias="FACTDIFF_LLM_OMISSIONS", ge=0, le=100)
    llm_context_window: int | None = Field(None, alias="FACTDIFF_LLM_CONTEXT_WINDOW", ge=2_000, le=10_000_000)
    llm_reasoning: bool | None = Field(None, alias="FACTDIFF_LLM_REASONING")
    llm_price_input: float | None = Field(None, alias="FACTDIFF_LLM_PRICE_INPUT", ge=0)
    llm_price_output: float | None = Field(None, alias="FACTDIFF_LLM_PRICE_OUTPUT", ge=0)
    prompts_dir: Path | None = Field(None, alias="FACTDIFF_PROMPTS_DIR")
    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_api_url: str | None = Field(None, alias="SLACK_API_URL")
    auto_channels: str = Field("", alias="FACTDIFF_AUTO_CHANNELS")
    source_admins: str = Field("", alias="FACTDIFF_SOURCE_ADMINS")
    auto_recheck_hours: float = Field(24.0, alias="FACTDIFF_AUTO_RECHECK_HOURS", ge=0)
    public_url: str | None = Field(None, alias="FACTDIFF_PUBLIC_URL", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    report_days: float = Field(30.0, alias="FACTDIFF_REPORT_DAYS", gt=0, le=3650)
    tokenizer: str | None = Field(None, alias="FACTDIFF_TOKENIZER")
    chunk_tokens: int = Field(120, alias="FACTDIFF_CHUNK_TOKENS", ge=32, le=512)
    allow_private_urls: bool = Field(False, alias="FACTDIFF_ALLOW_PRIVATE_URLS")
    fetch_timeout: float = Field(15.0, alias="FACTDIFF_FETCH_TIMEOUT", gt=0, le=120)
    max_download_bytes: int = Field(5_000_000, alias="FACTDIFF_MAX_DOWNLOAD_BYTES", ge=10_000)
    log_level: str | None = Field(None, alias="FACTDIFF_LOG_LEVEL")  # None: WARNING, INFO for `slack`
    lock_timeout: float = Field(300.0, alias="FACTDIFF_LOCK_TIMEOUT", ge=0, le=86_400)
    # CPU priority of `factdiff ingest` (Unix niceness added to its own): a bulk ingest gives way
    # to the bot's checks on the same machine; 0 keeps it level with them
    ingest_nice: int = Field(10, alias="FACTDIFF_INGEST_NICE", ge=0, le=19)
    # seconds each write to the store (a few articles' records, a search-index update) waits at
    # most for the checks running on this machine to finish; 0 writes at once
    give_way: float = Field(1.0, alias="FACTDIFF_GIVE_WAY", ge=0, le=60)
    feed_max_entries: int = Field(200, alias="FACTDIFF_FEED_MAX_ENTRIES", ge=1, le=100_000)
    feed_deadline: float = Field(600.0, alias="FACTDIFF_FEED_DEADLINE", gt=0, le=86_400)
    log_format: Literal["text", "json"] = Field("text", alias="FACTDIFF_LOG_FORMAT")
    slack_workers: int = Field(default_factory=default_workers, alias="FACTDIFF_SLACK_WORKERS", ge=1, le=64)
    slack_shutdown_timeout: float = Field(120.0, alias="FACTDIFF_SLACK_SHUTDOWN_TIMEOUT", ge=0, le=3600)
    slack_read_timeout: float = Field(10.0, alias="FACTDIFF_SLACK_READ_TIMEOUT", gt=0, le=300)
    slack_progress_seconds: float = Field(3.0, alias="FACTDIFF_SLACK_PROGRESS_SECONDS", ge=0, le=600)
    slack_max_retries: int = Field(5, alias="FACTDIFF_SLACK_MAX_RETRIES", ge=0, le=100)
    auto_clean_reply_channels: str = Field("", alias="FACTDIFF_AUTO_CLEAN_REPLY_CHANNELS")
    history_path: Path | None = Field(None, alias="FACTDIFF_HISTORY_PATH")
    history_days: int = Field(365, alias="FACTDIFF_HISTORY_DAYS", ge=0)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @staticmethod
    def id_list(value: str) -> frozenset[str]:
        """Comma- or space-separated Slack IDs."""
        return frozenset(v for v in value.replace(",", " ").split() if v)

    @property
    def history_file(self) -> Path:
        return self.history_path or self.data_dir / "history.db"

    @property
    def openai_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)


def load_settings() -> Settings:
    """The settings, or a :class:`ConfigError` that names the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid setting: {problems}") from exc
