"""Logging for the entry points: plain text on stderr, or one JSON object per line on stdout.

Library code only gets a logger; the CLI calls :func:`configure` once. A JSON line holds the
time, the level, the logger, the event (the message) and the fields in :data:`FIELDS` given
with ``extra={...}``: Slack team/channel/user ids, the check id, duration, counts, tokens and
cost. Nothing else is copied from a record, so a story's text or a token can reach the log only
if a message itself contains it — and factdiff's messages never do.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

FIELDS = (
    "team",
    "channel",
    "user",
    "check_id",
    "source",  # slack, cli
    "kind",  # mention, message, command, shortcut, auto, feedback
    "duration_s",
    "queued_s",
    "counts",
    "sources",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "analyzer",
    "status",
    "ahead",
    "workers",
    "in_flight",
    "port",
    "method",
    "retry_after",
    "error",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = record.exc_info[0].__name__
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str, fmt: str = "text") -> None:
    """Configure the root logger once (text: stderr with timestamps; json: stdout)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if fmt == "json":
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
