"""Slack's message formatting, decoded into the text a reader sees, before it is checked.

Slack escapes ``&``, ``<`` and ``>``, wraps links as ``<https://…|label>``, mentions as
``<@U123>`` / ``<#C123|desk>`` / ``<!here>``, and quotes lines with ``>``. A story pasted in
Slack must be checked as the journalist wrote it, so offsets and quotes match the original.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_TOKEN = re.compile(r"<([^<>]+)>")
_URL = re.compile(r"^(https?://[^|\s]+)(?:\|(.*))?$", re.DOTALL)
LINK_ONLY_WORDS = 25  # a message with a link and fewer other words than this asks about the link


@dataclass(frozen=True)
class Decoded:
    text: str  # what the reader sees: links as their labels (or addresses), names for mentions
    links: list[str]  # every http(s) link, in order, without duplicates

    @property
    def words_besides_links(self) -> int:
        rest = self.text
        for url in self.links:
            rest = rest.replace(url, " ")
        return len(rest.split())

    @property
    def is_link_request(self) -> bool:
        """A shared link (perhaps with a few words), not a pasted story."""
        return bool(self.links) and self.words_besides_links < LINK_ONLY_WORDS


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def decode(text: str, user_name: Callable[[str], str | None] | None = None, *, drop_user: str | None = None) -> Decoded:
    """Decode one message. ``user_name`` turns a user ID into a display name (users.info);
    ``drop_user`` is removed entirely (the bot's own @mention)."""
    links: list[str] = []

    def token(m: re.Match[str]) -> str:
        inner = m.group(1)
        url = _URL.match(inner)
        if url:
            address = _unescape(url.group(1))
            if address not in links:
                links.append(address)
            return _unescape(url.group(2)) if url.group(2) else address
        if inner.startswith("mailto:"):
            return _unescape(inner.split("|", 1)[-1].removeprefix("mailto:"))
        if inner.startswith("@"):
            uid, _, label = inner[1:].partition("|")
            if uid == drop_user:
                return ""
            name = label or (user_name(uid) if user_name else None)
            return f"@{name or uid}"
        if inner.startswith("#"):
            cid, _, label = inner[1:].partition("|")
            return f"#{label or cid}"
        if inner.startswith("!"):
            command, _, label = inner[1:].partition("|")
            return label or f"@{command.split('^')[0]}"
        return m.group(0)

    decoded = _TOKEN.sub(token, text)
    lines = [re.sub(r"^&gt;\s?", "", line) for line in decoded.split("\n")]  # block quotes
    out = _unescape("\n".join(lines))
    out = re.sub(r"[ \t]+\n", "\n", out).strip()
    return Decoded(re.sub(r"^[ \t]+", "", out), links)
