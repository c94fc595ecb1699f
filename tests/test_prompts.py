"""Prompt files: versioned, named variables, validated when loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.judge import PROMPT, VARIABLES
from prompts import PromptError, load_prompt, parse_prompt

GOOD = """
version = "3"
variables = ["story", "sources"]
system = "You check stories. It costs $$0."
user = "<story>$story</story> <sources>${sources}</sources>"
"""


def test_bundled_prompt_loads_with_the_variables_the_judge_fills_in() -> None:
    prompt = load_prompt(PROMPT, expect=VARIABLES)
    assert prompt.version and prompt.variables == VARIABLES
    system, user = prompt.render(**{v: f"<{v}-data>" for v in VARIABLES})
    assert all(f"<{v}-data>" in user for v in VARIABLES)
    assert "$" not in system  # nothing left unfilled


def test_a_prompt_renders_every_variable_and_keeps_escaped_dollars() -> None:
    prompt = parse_prompt("check", GOOD)
    system, user = prompt.render(story="S", sources="A")
    assert prompt.label == "check@3"
    assert system == "You check stories. It costs $0."
    assert user == "<story>S</story> <sources>A</sources>"


def test_rendering_without_a_variable_is_an_error() -> None:
    with pytest.raises(PromptError, match="missing variables \\['sources'\\]"):
        parse_prompt("check", GOOD).render(story="S")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace('variables = ["story", "sources"]', 'variables = ["story"]'), "undeclared variables"),
        (GOOD.replace('["story", "sources"]', '["story", "sources", "date"]'), "never uses"),
        (GOOD.replace('version = "3"', ""), "'version' must be"),
        (GOOD.replace("$$0", "$0"), "malformed placeholder"),
        (GOOD.replace('system = "', 'system = """'), "not valid TOML"),
        (GOOD.replace('["story", "sources"]', '"story"'), "'variables' must be a list"),
    ],
)
def test_broken_prompt_files_are_refused_at_load(text: str, message: str) -> None:
    with pytest.raises(PromptError, match=message):
        parse_prompt("check", text)


def test_prompt_whose_variables_differ_from_the_code_is_refused(tmp_path: Path) -> None:
    (tmp_path / "judge.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(PromptError, match="missing \\['claims', 'omissions'\\], unexpected \\['story'\\]"):
        load_prompt("judge", expect=VARIABLES, directory=tmp_path)


def test_a_missing_prompt_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="cannot read the prompt judge.toml"):
        load_prompt("judge", directory=tmp_path)
