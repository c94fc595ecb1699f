"""An OpenAI-compatible HTTP server on 127.0.0.1 for tests, driven through the real client.

Serves ``POST /v1/embeddings`` with deterministic vectors (a hashed bag of words, so texts
that share words are close) and ``POST /v1/chat/completions`` with scripted answers, and
records every request. Scripted failures: put an HTTP status in ``fail_next`` to answer the
next requests with it; put :class:`Reply` objects (or functions of the request body that
return one) in ``script`` for the next chat answers; ``responder`` answers the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.servers.loopback import LoopbackHTTPServer, LoopbackServer

DIMENSION = 64


def bag_of_words_vector(text: str) -> list[float]:
    vec = [0.0] * DIMENSION
    for word in re.findall(r"\w+", text.lower()):
        vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMENSION] += 1.0
    norm = sum(x * x for x in vec) ** 0.5 or 1.0
    return [x / norm for x in vec]


@dataclass
class Reply:
    """One scripted chat answer: JSON content (a dict is serialised), or an HTTP error."""

    content: str | dict[str, Any] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts, concurrency)
    finish_reason: str = "stop"
    refusal: str | None = None
    usage: bool = True  # report token usage, as OpenAI does
    tokens: tuple[int, int] | None = None  # (prompt, completion) to report; None: words counted


Responder = Callable[[dict[str, Any]], Reply]


def tagged_lines(body: dict[str, Any], tag: str) -> list[list[str]]:
    """The lines a chat request carries between <tag> and </tag> in its user message, each cut
    at " | " into its fields (the judge's format: "ID | field | ... | text")."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    m = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", user, re.DOTALL)
    if not m or m.group(1).strip() == "-":
        return []
    return [line.split(" | ", 3) for line in m.group(1).splitlines()]


def claim_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims to judge: id, candidate source sentence ids, text."""
    rows = []
    for fields in tagged_lines(body, "claims"):
        ids = fields[1].removeprefix("candidates").split()
        rows.append({"id": fields[0], "candidates": [i for i in ids if i != "-"], "text": " | ".join(fields[2:])})
    return rows


def source_rows(body: dict[str, Any]) -> dict[str, str]:
    """Source sentence id -> text (article lines left out)."""
    return {f[0]: f[1] for f in tagged_lines(body, "sources") if len(f) == 2}


def omission_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The omission candidates: id, text (from the sources block), closest claim ids."""
    sources = source_rows(body)
    rows = []
    for fields in tagged_lines(body, "omissions"):
        near = [i for i in fields[1].removeprefix("closest claims").split() if i != "-"]
        rows.append({"id": fields[0], "text": sources.get(fields[0], ""), "closest": near})
    return rows


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        api = self.server.owner
        api.record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if api.fail_next:
            status = api.fail_next.pop(0)
            self._send(status, {"error": {"message": f"scripted failure {status}", "type": "server_error"}})
            return
        if self.path.rstrip("/") == "/v1/chat/completions":
            self._chat(api, body)
            return
        if self.path.rstrip("/") != "/v1/embeddings":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        data = [{"object": "embedding", "index": i, "embedding": bag_of_words_vector(t)} for i, t in enumerate(texts)]
        tokens = sum(len(t.split()) for t in texts)
        self._send(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _chat(self, api: FakeOpenAI, body: dict[str, Any]) -> None:
        step = api.next_step()
        reply = step(body) if callable(step) else step
        with api.lock:
            api.in_flight += 1
            api.max_in_flight = max(api.max_in_flight, api.in_flight)
        try:
            if reply.delay:
                time.sleep(reply.delay)
        finally:
            with api.lock:
                api.in_flight -= 1
        if reply.status != 200:
            message = reply.content if isinstance(reply.content, str) else f"scripted error {reply.status}"
            self._send(reply.status, {"error": {"message": message}}, reply.headers)
            return
        content = json.dumps(reply.content) if isinstance(reply.content, dict) else reply.content
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        answer = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": reply.finish_reason,
                    "message": {"role": "assistant", "content": content, "refusal": reply.refusal},
                }
            ],
        }
        if reply.usage:
            completion = len((content or "").split())
            if reply.tokens is not None:
                prompt, completion = reply.tokens
            answer["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        self._send(200, answer, reply.headers)

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)


class FakeOpenAI(LoopbackServer):
    """Context manager: ``with FakeOpenAI() as api: OpenAI(base_url=api.base_url, api_key="x")``."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.times: list[float] = []  # when each request arrived (time.monotonic)
        self.fail_next: list[int] = []
        self.script: list[Reply | Responder] = []
        self.responder = responder
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self._listen(_Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append((path, headers, body))
            self.times.append(time.monotonic())

    def next_step(self) -> Reply | Responder:
        with self.lock:
            if self.script:
                return self.script.pop(0)
        if self.responder is None:
            return Reply(status=500)
        return self.responder

    def chats(self) -> list[dict[str, Any]]:
        """The bodies of the chat requests received, in order."""
        with self.lock:
            return [b for p, _, b in self.requests if p.rstrip("/") == "/v1/chat/completions"]
