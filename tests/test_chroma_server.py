"""A newsroom scales past one machine with a Chroma server: everything a check needs lives there."""

from __future__ import annotations

import json
import re
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


def test_a_new_process_reads_only_what_changed_since_its_machine_last_looked(
    tmp_path: Path, cli_env: dict[str, str], chroma_server: tuple[str, int]
) -> None:
    host, port = chroma_server
    server_env = {**cli_env, "CHROMA_HOST": host, "CHROMA_PORT": str(port), "FACTDIFF_COLLECTION_PREFIX": "catchup"}
    writer = {**server_env, "FACTDIFF_DATA_DIR": str(tmp_path / "writer-data")}
    reader = {**server_env, "FACTDIFF_DATA_DIR": str(tmp_path / "reader-data"), "FACTDIFF_LOG_LEVEL": "INFO"}
    q2 = source_file(tmp_path, "q2.txt", NORRLAND_Q2)
    assert run_cli(["ingest", str(q2)], writer, cwd=tmp_path).returncode == 0
    first = run_cli(["search", "--format", "json", "-"], reader, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert first.returncode == 1, first.stderr  # no original stored yet
    assert "lexical index built from the store: taking in 1 article(s)" in first.stderr  # once per machine
    assert list((tmp_path / "reader-data" / "lexical").glob("*.sqlite"))

    q3 = source_file(tmp_path, "q3.txt", NORRLAND_Q3)
    assert run_cli(["ingest", str(q3)], writer, cwd=tmp_path).returncode == 0
    second = run_cli(["search", "--format", "json", "-"], reader, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "built from the store" not in second.stderr
    assert "1 article(s) read" in second.stderr
    found = json.loads(second.stdout)["sources"]
    assert found[0]["title"] == NORRLAND_Q3.title

    removed = run_cli(["sources", "remove", found[0]["id"]], writer, cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    third = run_cli(["search", "--format", "json", "-"], reader, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert third.returncode == 1, third.stderr
    assert "built from the store" not in third.stderr
    assert NORRLAND_Q3.title not in [c["title"] for c in json.loads(third.stdout)["considered"]]


def test_a_machine_keeps_its_index_of_a_store_whatever_address_reaches_the_server(
    tmp_path: Path, cli_env: dict[str, str], chroma_server: tuple[str, int]
) -> None:
    host, port = chroma_server
    server_env = {**cli_env, "CHROMA_PORT": str(port), "FACTDIFF_COLLECTION_PREFIX": "alias"}
    writer = {**server_env, "CHROMA_HOST": host, "FACTDIFF_DATA_DIR": str(tmp_path / "writer-data")}
    assert run_cli(["ingest", str(source_file(tmp_path, "q3.txt", NORRLAND_Q3))], writer, cwd=tmp_path).returncode == 0
    machine = tmp_path / "reader-data"
    by_number = {**server_env, "CHROMA_HOST": "127.0.0.1", "FACTDIFF_DATA_DIR": str(machine)}
    by_number["FACTDIFF_LOG_LEVEL"] = "INFO"
    by_name = {**by_number, "CHROMA_HOST": "localhost"}  # the same server, reached by another name
    first = run_cli(["search", "--format", "json", "-"], by_number, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "lexical index built from the store" in first.stderr
    second = run_cli(["search", "--format", "json", "-"], by_name, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "built from the store" not in second.stderr
    assert json.loads(second.stdout)["sources"][0]["title"] == NORRLAND_Q3.title
    assert len(list((machine / "lexical").glob("*.sqlite"))) == 1


def test_an_index_an_older_factdiff_named_by_the_servers_address_is_copied_not_rebuilt(
    tmp_path: Path, cli_env: dict[str, str], chroma_server: tuple[str, int]
) -> None:
    host, port = chroma_server
    machine = tmp_path / "data"
    env = {
        **cli_env,
        "CHROMA_HOST": host,
        "CHROMA_PORT": str(port),
        "FACTDIFF_COLLECTION_PREFIX": "older",
        "FACTDIFF_DATA_DIR": str(machine),
        "FACTDIFF_LOG_LEVEL": "INFO",
    }
    assert run_cli(["ingest", str(source_file(tmp_path, "q3.txt", NORRLAND_Q3))], env, cwd=tmp_path).returncode == 0
    assert run_cli(["search", "-"], env, stdin=NORRLAND_Q3_STORY, cwd=tmp_path).returncode == 0  # up to date
    [index] = list((machine / "lexical").glob("*.sqlite"))
    older = index.with_name(f"{host}-{port}-" + re.sub(r"-[0-9a-f-]{36}\.sqlite$", ".sqlite", index.name))
    index.rename(older)  # as an older factdiff named it: by the server's address
    found = run_cli(["search", "--format", "json", "-"], env, stdin=NORRLAND_Q3_STORY, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert "built from the store" not in found.stderr
    assert f"copied from {older}" in found.stderr
    assert index.exists() and older.exists()  # the old one is left for the operator
    assert json.loads(found.stdout)["sources"][0]["title"] == NORRLAND_Q3.title
