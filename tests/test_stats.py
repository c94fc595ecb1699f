"""'factdiff sources stats': what the store holds, by source, from a real local store."""

from __future__ import annotations

import json
from pathlib import Path

from tests.articles import HARWICH_NOTICE, NORRLAND_Q2, NORRLAND_Q3
from tests.conftest import run_cli
from tests.test_cli import source_file


def test_stats_count_articles_chunks_and_dates_by_source(tmp_path: Path, cli_env: dict[str, str]) -> None:
    files = [
        source_file(tmp_path, "q3.txt", NORRLAND_Q3),
        source_file(tmp_path, "q2.txt", NORRLAND_Q2),
        source_file(tmp_path, "notice.txt", HARWICH_NOTICE),
    ]
    assert run_cli(["ingest", *map(str, files)], cli_env).returncode == 0

    done = run_cli(["sources", "stats", "--format", "json"], cli_env)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["articles"] == 3
    assert stats["indexed"] == 3
    assert stats["chunks"] >= 3
    assert stats["oldest"] == "2026-07-21"
    assert stats["newest"] == "2026-10-22"
    assert stats["disk_bytes"] > stats["index_bytes"] > 0
    norrland = stats["by_source"]["Norrland Mobile investor relations"]
    assert (norrland["articles"], norrland["oldest"], norrland["newest"]) == (2, "2026-07-21", "2026-10-22")
    assert stats["by_source"]["Harwick Borough Council"]["articles"] == 1

    text = run_cli(["sources", "stats"], cli_env)
    assert "articles: 3" in text.stdout
    assert "Harwick Borough Council" in text.stdout


def test_stats_of_an_empty_store(tmp_path: Path, cli_env: dict[str, str]) -> None:
    done = run_cli(["sources", "stats", "--format", "json"], cli_env)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert (stats["articles"], stats["chunks"], stats["oldest"], stats["by_source"]) == (0, 0, None, {})
