"""The LLM's instructions, as versioned text files shipped as package data.

One file per stage (``claims.toml``, ``omissions.toml``), each with a ``version``, the
``variables`` it takes and a ``system`` and a ``user`` template written with
:class:`string.Template` placeholders (``$claims``; ``$$`` for a dollar sign). A file is
validated when it is loaded, so a broken prompt is an error at start-up, not a broken request:

* the fields are all there and are strings (``variables`` a list of names);
* every placeholder is well-formed and declared, and every declared variable is used;
* the variables are exactly the ones the calling code will fill in (``expect``).
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from retrieval.errors import ConfigError


class PromptError(ConfigError):
    """A prompt file is missing, unreadable or inconsistent with the code that fills it in."""


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    variables: frozenset[str]
    system: string.Template
    user: string.Template

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, **values: str) -> tuple[str, str]:
        """(system, user) with every variable filled in; a missing or unknown one is an error."""
        given = set(values)
        if given != self.variables:
            missing, extra = sorted(self.variables - given), sorted(given - self.variables)
            raise PromptError(f"prompt {self.label}: missing variables {missing}, unknown variables {extra}")
        return self.system.substitute(values), self.user.substitute(values)


def _placeholders(template: string.Template, where: str) -> set[str]:
    if not template.is_valid():
        raise PromptError(f"{where}: a malformed placeholder (write $$ for a dollar sign)")
    return set(template.get_identifiers())


def parse_prompt(name: str, text: str, *, expect: set[str] | None = None, origin: str = "") -> Prompt:
    where = origin or f"prompt {name!r}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"{where}: not valid TOML: {exc}") from exc
    for key in ("version", "system", "user"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise PromptError(f"{where}: '{key}' must be a non-empty string")
    declared = data.get("variables")
    if not isinstance(declared, list) or not all(isinstance(v, str) and v.isidentifier() for v in declared):
        raise PromptError(f"{where}: 'variables' must be a list of names")
    system, user = string.Template(data["system"]), string.Template(data["user"])
    used = _placeholders(system, f"{where}, system") | _placeholders(user, f"{where}, user")
    if undeclared := used - set(declared):
        raise PromptError(f"{where}: uses undeclared variables {sorted(undeclared)}")
    if unused := set(declared) - used:
        raise PromptError(f"{where}: declares variables it never uses {sorted(unused)}")
    if expect is not None and set(declared) != expect:
        missing, extra = sorted(expect - set(declared)), sorted(set(declared) - expect)
        raise PromptError(f"{where}: the code fills in {sorted(expect)}; missing {missing}, unexpected {extra}")
    return Prompt(name, data["version"].strip(), frozenset(declared), system, user)


def load_prompt(name: str, *, expect: set[str] | None = None, directory: Path | None = None) -> Prompt:
    """The prompt of one stage, from ``directory`` (a newsroom's own prompts) or the bundled ones."""
    filename = f"{name}.toml"
    try:
        if directory is not None:
            path = directory / filename
            text = path.read_text(encoding="utf-8")
            origin = str(path)
        else:
            text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
            origin = f"bundled prompt {filename}"
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"cannot read the prompt {filename}: {exc}") from exc
    return parse_prompt(name, text, expect=expect, origin=origin)
