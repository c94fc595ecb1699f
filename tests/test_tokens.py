"""retrieval.tokens: tiktoken encodings from bundled data, never from the network."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import tiktoken.registry

import retrieval.tokens
from retrieval.errors import ConfigError, FactDiffError, ModelFileError
from retrieval.tokens import (
    DEFAULT_ENCODING,
    ENCODINGS,
    count_tokens,
    encoding_name_for_model,
    get_encoding,
)


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty private cache folder, and no encoding cached in this process."""
    monkeypatch.setattr(retrieval.tokens, "_cache_dir", lambda: tmp_path)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    get_encoding.cache_clear()
    yield tmp_path
    get_encoding.cache_clear()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(tiktoken.load, "read_file", refuse)


def cached_file(folder: Path, name: str) -> Path:
    url, _sha = ENCODINGS[name]
    return folder / hashlib.sha1(url.encode()).hexdigest()


# --- loading offline -----------------------------------------------------------------------


@pytest.mark.usefixtures("no_network")
def test_o200k_base_loads_from_bundled_data_without_network(fresh_cache: Path) -> None:
    encoding = get_encoding("o200k_base")

    assert encoding.name == "o200k_base"
    assert encoding.decode(encoding.encode("Ferry fares rise 12%")) == "Ferry fares rise 12%"


@pytest.mark.usefixtures("no_network")
def test_cl100k_base_loads_from_bundled_data_without_network(fresh_cache: Path) -> None:
    encoding = get_encoding("cl100k_base")

    assert encoding.name == "cl100k_base"
    assert encoding.encode("hello world") == [15339, 1917]


def test_default_encoding_is_o200k_base() -> None:
    assert DEFAULT_ENCODING == "o200k_base"
    assert get_encoding().name == "o200k_base"


def test_loading_writes_the_verified_file_into_the_private_cache(fresh_cache: Path) -> None:
    get_encoding("cl100k_base")

    target = cached_file(fresh_cache, "cl100k_base")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == ENCODINGS["cl100k_base"][1]
    assert not list(fresh_cache.glob("*.tmp"))


def test_altered_cached_file_is_replaced_with_the_bundled_one(fresh_cache: Path) -> None:
    target = cached_file(fresh_cache, "cl100k_base")
    target.write_bytes(b"not a tokenizer file\n")

    encoding = get_encoding("cl100k_base")

    assert encoding.encode("hello world") == [15339, 1917]
    assert hashlib.sha256(target.read_bytes()).hexdigest() == ENCODINGS["cl100k_base"][1]


def test_encoding_is_loaded_once_and_reused() -> None:
    assert get_encoding("cl100k_base") is get_encoding("cl100k_base")


# --- errors --------------------------------------------------------------------------------


def test_unknown_encoding_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown tokenizer encoding 'p50k_base'") as info:
        get_encoding("p50k_base")

    assert "cl100k_base" in str(info.value)
    assert "o200k_base" in str(info.value)


def test_bundled_file_that_does_not_match_its_pinned_hash_is_a_model_file_error(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _sha = ENCODINGS["o200k_base"]
    monkeypatch.setitem(retrieval.tokens.ENCODINGS, "o200k_base", (url, "0" * 64))

    with pytest.raises(ModelFileError, match="o200k_base does not match its pinned sha256"):
        get_encoding("o200k_base")


def test_file_with_a_wrong_hash_is_not_written_to_the_cache(fresh_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, _sha = ENCODINGS["cl100k_base"]
    monkeypatch.setitem(retrieval.tokens.ENCODINGS, "cl100k_base", (url, "f" * 64))

    with pytest.raises(ModelFileError):
        get_encoding("cl100k_base")

    assert list(fresh_cache.iterdir()) == []


def test_tokenizer_errors_belong_to_the_factdiff_family() -> None:
    assert issubclass(ModelFileError, FactDiffError)
    assert issubclass(ConfigError, FactDiffError)


# --- the environment is left as found ------------------------------------------------------


def test_tiktoken_cache_dir_setting_is_restored_after_loading(
    fresh_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mine = str(tmp_path / "someone-elses-cache")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", mine)

    get_encoding("cl100k_base")

    assert os.environ["TIKTOKEN_CACHE_DIR"] == mine


def test_tiktoken_cache_dir_stays_unset_after_loading(fresh_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)

    get_encoding("o200k_base")

    assert "TIKTOKEN_CACHE_DIR" not in os.environ


def test_tiktoken_cache_dir_is_restored_after_a_failed_load(fresh_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/elsewhere")

    def broken(name: str) -> tiktoken.Encoding:
        raise ValueError("corrupt cache")

    monkeypatch.setattr(tiktoken, "get_encoding", broken)

    with pytest.raises(ModelFileError, match="could not load tokenizer cl100k_base: corrupt cache"):
        get_encoding("cl100k_base")

    assert os.environ["TIKTOKEN_CACHE_DIR"] == "/elsewhere"


# --- model names -------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-mini", "gpt-4.1-mini"])
def test_current_openai_models_use_o200k_base(model: str) -> None:
    assert encoding_name_for_model(model) == "o200k_base"


@pytest.mark.parametrize("model", ["gpt-4", "gpt-3.5-turbo"])
def test_older_openai_models_use_cl100k_base(model: str) -> None:
    assert encoding_name_for_model(model) == "cl100k_base"


@pytest.mark.parametrize("model", ["newsroom-llm-7b", "", None])
def test_unknown_or_missing_model_falls_back_to_o200k_base(model: str | None) -> None:
    assert encoding_name_for_model(model) == "o200k_base"


def test_model_whose_encoding_is_not_bundled_falls_back_to_o200k_base() -> None:
    assert tiktoken.encoding_name_for_model("text-davinci-003") not in ENCODINGS
    assert encoding_name_for_model("text-davinci-003") == "o200k_base"


# --- counting ------------------------------------------------------------------------------


def test_count_tokens_counts_the_encoded_tokens() -> None:
    encoding = get_encoding("cl100k_base")

    assert count_tokens("hello world", encoding) == 2
    assert count_tokens("", encoding) == 0


def test_special_token_text_counts_as_ordinary_text() -> None:
    encoding = get_encoding()

    assert count_tokens("<|endoftext|>", encoding) > 1
