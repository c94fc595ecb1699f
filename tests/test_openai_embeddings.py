"""OpenAI embeddings (FACTDIFF_EMBEDDINGS=openai) against a real local OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from openai import OpenAI

from retrieval.embeddings import OpenAIEmbedder
from retrieval.errors import FactDiffError
from tests.articles import NORRLAND_Q3, NORRLAND_Q3_STORY
from tests.conftest import run_cli
from tests.servers.openai_api import DIMENSION, FakeOpenAI
from tests.test_cli import source_file


@pytest.fixture
def api() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def client(api: FakeOpenAI) -> OpenAI:
    return OpenAI(base_url=api.base_url, api_key="sk-test", max_retries=0, timeout=5)


def test_texts_are_sent_in_batches_and_vectors_come_back_in_order(api: FakeOpenAI) -> None:
    emb = OpenAIEmbedder(client(api), "text-embedding-3-small", batch_size=2)
    texts = ["water rates rise", "harbour cargo", "water rates rise again"]
    v = emb.embed(texts)
    assert v.shape == (3, DIMENSION) and emb.dimension == DIMENSION
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[2] > v[0] @ v[1]
    assert [len(body["input"]) for _, _, body in api.requests] == [2, 1]
    assert all(body["model"] == "text-embedding-3-small" for _, _, body in api.requests)
    assert api.requests[0][1].get("authorization") == "Bearer sk-test"
    assert emb.name == "openai-text-embedding-3-small"


def test_server_error_is_one_clear_error(api: FakeOpenAI) -> None:
    api.fail_next = [500]
    with pytest.raises(FactDiffError, match="OpenAI embeddings request failed"):
        OpenAIEmbedder(client(api)).embed(["anything"])


def test_cli_ingests_and_searches_with_openai_embeddings(
    api: FakeOpenAI, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "FACTDIFF_EMBEDDINGS": "openai", "OPENAI_BASE_URL": api.base_url, "OPENAI_API_KEY": "sk-x"}
    done = run_cli(["ingest", str(source_file(tmp_path, "q3.txt", NORRLAND_Q3))], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = run_cli(["search", "--format", "json", "-"], env, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert json.loads(found.stdout)["considered"][0]["title"] == NORRLAND_Q3.title
    assert api.requests and all(path == "/v1/embeddings" for path, _, _ in api.requests)


def test_openai_embeddings_without_a_key_or_endpoint_is_a_config_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    done = run_cli(["sources", "list"], {**cli_env, "FACTDIFF_EMBEDDINGS": "openai"}, cwd=tmp_path)
    assert done.returncode == 2 and "OPENAI_API_KEY" in done.stderr
