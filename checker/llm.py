"""One structured request to an OpenAI-compatible chat endpoint, with bounded retries.

The answer is parsed against a pydantic model (JSON schema sent as ``response_format``), not
scraped. Timeouts, connection errors, 429 (honouring ``retry-after``), 5xx, truncated or
malformed JSON and refusals are retried with exponential backoff up to ``max_attempts``;
then :class:`LLMFailure` says what went wrong, in words fit for a report note. A 4xx other
than 429 is not retried: the request itself is wrong (bad key, unknown model).

Servers that do not support JSON schemas (some local ones) are asked once more with
``{"type": "json_object"}`` and the schema in the prompt; the answer is validated the same way.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
import tiktoken
from pydantic import BaseModel, ValidationError

from retrieval.tokens import count_tokens

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

#: US dollars per million tokens (input, output), for the cost estimate in the report.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}
_REASONING = re.compile(r"^(o\d|gpt-5)")  # models that take no temperature and count reasoning tokens


@dataclass(frozen=True)
class LLMConfig:
    model: str = "gpt-4.1-mini"
    timeout: float = 60.0  # seconds per request
    max_attempts: int = 3  # per request, the first included
    backoff: float = 1.0  # seconds before the second attempt; doubles each time
    max_wait: float = 30.0  # the longest we wait between attempts (retry-after included)
    max_prompt_tokens: int = 8_000  # per request: the model's context we allow ourselves
    max_completion_tokens: int = 4_096  # per request, the most an answer may take
    concurrency: int = 4  # requests in flight at once
    omission_pool: int = 12  # possible omissions the model is asked about, most newsworthy first
    price_input: float | None = None  # USD per million prompt tokens; None: from PRICES
    price_output: float | None = None

    def prices(self) -> tuple[float, float] | None:
        if self.price_input is not None and self.price_output is not None:
            return self.price_input, self.price_output
        return PRICES.get(self.model)


class LLMFailure(Exception):
    """A request that did not produce a usable answer after every allowed attempt."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def sent(self, *, retry: bool) -> None:
        with self._lock:
            self.requests += 1
            self.retries += int(retry)

    def add(self, prompt: int, completion: int) -> None:
        with self._lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion


class _Retry(Exception):
    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers if exc.response is not None else {}
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None


def compact_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema without titles and with its definitions written in place: the same
    constraints in fewer prompt tokens. A recursive definition stays a reference."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    recursive: set[str] = set()

    def strip(node: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
                name = ref.removeprefix("#/$defs/")
                if name in seen:  # recursion: keep the reference and its definition
                    recursive.add(name)
                    return node
                return strip(defs[name], seen + (name,))
            return {k: strip(v, seen) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
        if isinstance(node, list):
            return [strip(v, seen) for v in node]
        return node

    out: dict[str, Any] = strip(schema)
    kept: dict[str, Any] = {}
    while pending := recursive - kept.keys():
        kept.update({name: strip(defs[name], (name,)) for name in pending})
    if kept:
        out["$defs"] = kept
    return out


def schema_format(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": compact_schema(model), "strict": True},
    }


class StructuredLLM:
    """Ask for an answer of a given pydantic type; count every token, retry within bounds."""

    def __init__(
        self, client: Any, config: LLMConfig, usage: Usage | None = None, *, encoding: tiktoken.Encoding | None = None
    ) -> None:
        # our own retries (they also cover malformed answers); the client's are switched off
        self.client = client.with_options(max_retries=0, timeout=config.timeout)
        self.config = config
        self.usage = usage or Usage()
        self.encoding = encoding  # counts what a server that reports no usage was sent and sent back
        self._json_schema = True  # until a server says it cannot do JSON schemas

    def ask(self, system: str, user: str, answer: type[T], max_tokens: int) -> T:
        cfg = self.config
        reason = "no attempt made"
        attempt = 0
        while attempt < cfg.max_attempts:
            attempt += 1
            try:
                return self._once(system, user, answer, max_tokens, retry=attempt > 1)
            except _Retry as exc:
                reason = exc.reason
                wait = exc.wait if exc.wait is not None else cfg.backoff * 2 ** (attempt - 1)
                if attempt == cfg.max_attempts:
                    break
                if wait > cfg.max_wait:
                    reason += f"; the server asked to wait {wait:.0f} s, longer than the {cfg.max_wait:.0f} s allowed"
                    break
                log.info("LLM attempt %d failed (%s); retrying in %.2f s", attempt, reason, wait)
                time.sleep(wait)
                if reason.startswith("truncated"):
                    max_tokens = min(cfg.max_completion_tokens, max_tokens * 2)
            except LLMFailure as exc:
                exc.attempts = attempt
                raise
        raise LLMFailure(reason, attempt)

    def _request(self, system: str, user: str, answer: type[BaseModel], max_tokens: int) -> Any:
        cfg = self.config
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        if not self._json_schema:
            schema = json.dumps(compact_schema(answer), separators=(",", ":"))
            messages[0]["content"] = system + "\nAnswer with one JSON object that follows this JSON schema:\n" + schema
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "response_format": schema_format(answer) if self._json_schema else {"type": "json_object"},
        }
        if _REASONING.match(cfg.model):
            kwargs["max_completion_tokens"] = max_tokens
        else:
            kwargs["max_tokens"] = max_tokens
            kwargs["temperature"] = 0
        return self.client.chat.completions.create(**kwargs)

    def _once(self, system: str, user: str, answer: type[T], max_tokens: int, *, retry: bool) -> T:
        self.usage.sent(retry=retry)
        try:
            response = self._request(system, user, answer, max_tokens)
        except openai.APITimeoutError as exc:
            raise _Retry(f"timed out after {self.config.timeout:.0f} s") from exc
        except openai.APIConnectionError as exc:
            raise _Retry(f"cannot connect: {exc}") from exc
        except openai.RateLimitError as exc:
            raise _Retry("rate limited (429)", _retry_after(exc)) from exc
        except openai.BadRequestError as exc:
            text = str(exc).lower()
            if self._json_schema and ("response_format" in text or "json_schema" in text):
                self._json_schema = False  # ask again, once, the plainer way
                log.warning("the LLM server refused a JSON schema; asking for a JSON object instead")
                raise _Retry("the server does not support JSON schemas", 0.0) from exc
            raise LLMFailure(f"the LLM server refused the request ({exc.status_code}: {_message(exc)})", 1) from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise _Retry(f"server error {exc.status_code}", _retry_after(exc)) from exc
            raise LLMFailure(f"the LLM server refused the request ({exc.status_code}: {_message(exc)})", 1) from exc
        usage = getattr(response, "usage", None)
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        if prompt is None and self.encoding is not None:
            prompt = count_tokens(system, self.encoding) + count_tokens(user, self.encoding)
        if completion is None and self.encoding is not None and getattr(response, "choices", None):
            completion = count_tokens(response.choices[0].message.content or "", self.encoding)
        self.usage.add(prompt or 0, completion or 0)
        if not getattr(response, "choices", None):
            raise _Retry("an answer with no choices")
        choice = response.choices[0]
        message = choice.message
        if getattr(message, "refusal", None) or choice.finish_reason == "content_filter":
            raise _Retry("the model refused to answer")
        if choice.finish_reason == "length":
            raise _Retry("truncated answer (the completion token limit was reached)")
        content = message.content or ""
        if not content.strip():
            raise _Retry("an empty answer")
        try:
            return answer.model_validate_json(_strip_fences(content))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise _Retry(f"malformed answer ({first['type']} at {'.'.join(map(str, first['loc'])) or 'top'})") from exc


def _strip_fences(content: str) -> str:
    """Some local servers wrap JSON in Markdown fences even in JSON mode."""
    m = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", content, re.DOTALL)
    return m.group(1) if m else content


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or (body.get("error") or {}).get("message") if body else None
    return str(message or exc.message)[:200]
