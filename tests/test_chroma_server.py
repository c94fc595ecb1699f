"""A newsroom scales past one machine with a Chroma server: everything a check needs lives there."""

from __future__ import annotations

import json
from pathlib import Path

from tests.articles import NORRLAND_Q2, NORRLAND_Q3, NORRLAND_Q3_STORY
from tests.conftest import run_cli
from tests.test_cli import source_file


def test_ingest_in_one_process_and_search_in_another(
    tmp_path: Path, cli_env: dict[str, str], chroma_server: tuple[str, int]
) -> None:
    host, port = chroma_server
    server_env = {**cli_env, "CHROMA_HOST": host, "CHROMA_PORT": str(port), "FACTDIFF_COLLECTION_PREFIX": "xproc"}
    writer = {**server_env, "FACTDIFF_DATA_DIR": str(tmp_path / "writer-data")}
    reader = {**server_env, "FACTDIFF_DATA_DIR": str(tmp_path / "reader-data")}
    files = [source_file(tmp_path, "q3.txt", NORRLAND_Q3), source_file(tmp_path, "q2.txt", NORRLAND_Q2)]
    done = run_cli(["ingest", *map(str, files)], writer, cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    found = run_cli(["search", "--format", "json", "-"], reader, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["sources"][0]["title"] == NORRLAND_Q3.title
    shown = run_cli(["sources", "list", "--format", "json"], reader, cwd=tmp_path)
    article = next(x for x in json.loads(shown.stdout) if x["title"] == NORRLAND_Q3.title)
    text = run_cli(["sources", "show", "--format", "json", article["id"]], reader, cwd=tmp_path)
    assert json.loads(text.stdout)["text"] == NORRLAND_Q3.text
    # neither process left a local store behind: the server holds everything
    assert not (tmp_path / "reader-data" / "chroma").exists()
    assert not (tmp_path / "writer-data" / "chroma").exists()
