"""Settings: one typed class, documented in .env.example, environment beats .env."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, load_settings
from retrieval.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def example_lines() -> list[str]:
    return (REPO / ".env.example").read_text(encoding="utf-8").splitlines()


def test_every_setting_is_in_env_example_with_a_comment() -> None:
    lines = example_lines()
    names = {field.alias for field in Settings.model_fields.values()}
    for name in names:
        matches = [i for i, line in enumerate(lines) if line.startswith(f"{name}=")]
        assert matches, f"{name} is missing from .env.example"
        assert lines[matches[0] - 1].startswith("# "), f"{name} has no comment line"


def test_env_example_names_only_real_settings() -> None:
    names = {field.alias for field in Settings.model_fields.values()}
    listed = {line.split("=", 1)[0] for line in example_lines() if line and not line.startswith("#")}
    assert listed <= names


def test_a_copied_env_example_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for field in Settings.model_fields.values():
        monkeypatch.delenv(field.alias or "", raising=False)
    (tmp_path / ".env").write_text((REPO / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.chroma_host is None and s.embeddings == "wordllama" and not s.openai_configured
    assert s.data_dir != Path("")  # an empty value means the default, not the current folder


def test_environment_beats_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("FACTDIFF_CHUNK_TOKENS=64\nCHROMA_PORT=9000\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTDIFF_CHUNK_TOKENS", "200")
    monkeypatch.delenv("CHROMA_PORT", raising=False)
    s = load_settings()
    assert s.chunk_tokens == 200 and s.chroma_port == 9000


def test_api_key_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    s = load_settings()
    assert "sk-test-123" not in repr(s)
    assert s.openai_configured


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTDIFF_CHUNK_TOKENS", "5")
    with pytest.raises(ConfigError, match="FACTDIFF_CHUNK_TOKENS"):
        load_settings()
