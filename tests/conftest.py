"""Shared fixtures: real components only (chromadb clients, the bundled models, local servers)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.embeddings import Embedder, MiniLMEmbedder, WordLlamaEmbedder
from retrieval.store import SourceStore, StoreConfig
from retrieval.tokens import get_encoding

pytest_plugins = ["tests.slack_fixtures"]

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def wordllama() -> Embedder:
    return WordLlamaEmbedder()


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def chroma_memory() -> object:
    import chromadb
    from chromadb.config import Settings

    return chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))


@pytest.fixture
def store(chroma_memory: object, wordllama: Embedder) -> SourceStore:
    """An empty store in the in-memory Chroma (a fresh collection prefix per test)."""
    prefix = "t" + uuid.uuid4().hex[:10]
    return SourceStore(chroma_memory, wordllama, get_encoding(), StoreConfig(prefix=prefix))


@pytest.fixture
def demo_store(store: SourceStore) -> SourceStore:
    """The store holding the demo's four invented primary sources."""
    from bot.demo import demo_files
    from retrieval.readers import read_file

    sources, _ = demo_files()
    for path in sources:
        assert store.add(read_file(path)).status == "added"
    return store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chroma_binary() -> str:
    local = Path(sys.executable).parent / "chroma"
    found = str(local) if local.exists() else shutil.which("chroma")
    if not found:
        pytest.fail("the 'chroma' command from the chromadb package is not installed")
    return found


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real Chroma server: ``chroma run`` on 127.0.0.1 and a free port."""
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = (path / "server.log").open("wb")
    proc = subprocess.Popen(
        [chroma_binary(), "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    deadline = time.monotonic() + 60
    import httpx

    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"chroma server did not start: {(path / 'server.log').read_text()[-2000:]}")
        time.sleep(0.2)
    yield "127.0.0.1", port
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the real ``factdiff`` command in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTDIFF_", "CHROMA_", "OPENAI_"))}
    env.update({"FACTDIFF_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO)})
    return env


def run_cli(
    args: list[str], env: dict[str, str], stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd or REPO,
    )
