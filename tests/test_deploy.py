"""The container files, read as the tools would (images cannot be built or pulled here): the
compose file parses, wires the bot to a Chroma server on a named volume, and the Dockerfile
installs as the README does, runs as a non-root user and checks /healthz."""

from __future__ import annotations

import shlex

import yaml

from tests.conftest import REPO


def dockerfile() -> dict[str, list[str]]:
    """Instructions (continuation lines joined), by name."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out.setdefault(word.upper(), []).append(rest.strip())
    return out


def test_the_image_is_slim_installs_like_the_readme_and_runs_the_bot_as_a_user() -> None:
    d = dockerfile()
    assert d["FROM"][0].startswith("python:3.11-slim")
    assert any("pip install . " in r + " " for r in d["RUN"])
    user = d["USER"][-1]
    assert user not in ("root", "0")
    assert "useradd" in " ".join(d["RUN"]) and user in " ".join(d["RUN"])
    assert shlex.split(d["CMD"][-1].replace('"', "").strip("[]").replace(",", " "))[:2] == ["factdiff", "slack"]
    assert "/healthz" in d["HEALTHCHECK"][0]


def test_compose_runs_the_bot_against_a_chroma_server_on_a_named_volume() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    chroma, bot = compose["services"]["chroma"], compose["services"]["bot"]
    assert chroma["command"][:2] == ["chroma", "run"]
    volume = chroma["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]  # named, so the store outlives the container
    assert bot["environment"]["CHROMA_HOST"] == "chroma"
    assert bot["environment"]["CHROMA_PORT"] == chroma["command"][chroma["command"].index("--port") + 1]
    assert bot["depends_on"]["chroma"]["condition"] == "service_healthy"
