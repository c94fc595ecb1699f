"""One structured request to an OpenAI-compatible chat endpoint, with bounded retries.

The answer is parsed against a pydantic model (JSON schema sent as ``response_format``), not
scraped. The transport is the openai client's own: it retries timeouts, connection errors, 408,
409, 429 and 5xx (``max_attempts - 1`` times) with jittered exponential backoff, honouring
``retry-after-ms`` and ``retry-after`` (seconds or an HTTP date) and giving up at once when the
server asks for a longer wait than it allows. Our own loop retries only bad answers: truncated
or malformed JSON, refusals, empty answers, and answers a caller's check rejects (IDs that do
not exist). Then :class:`LLMFailure` says what went wrong, in words fit for a report note. A
4xx other than 408, 409 and 429 is not retried: the request itself is wrong (bad key, unknown
model).

Servers that do not support JSON schemas (some local ones) are asked once more with
``{"type": "json_object"}`` and the schema in the prompt; the answer is validated the same way.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
import tiktoken
from pydantic import BaseModel, ValidationError

from checker.model_facts import ModelFacts, model_facts
from retrieval.tokens import count_tokens

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
SDK_MAX_RETRY_AFTER = 120.0  # seconds: the openai client gives up at once when asked to wait longer


@dataclass(frozen=True)
class LLMConfig:
    model: str = "gpt-4.1-mini"
    timeout: float = 60.0  # seconds per request
    max_attempts: int = 3  # per request, the first included (the client's retries, then ours for bad answers)
    backoff: float = 1.0  # seconds before asking again after a bad answer; doubles each time
    max_prompt_tokens: int = 8_000  # per request: the model's context we allow ourselves
    max_completion_tokens: int = 4_096  # per request, the most an answer may take
    concurrency: int = 4  # requests in flight at once
    omission_pool: int = 12  # possible omissions the model is asked about, most newsworthy first
    price_input: float | None = None  # USD per million prompt tokens; None: from the model table
    price_output: float | None = None
    context_window: int | None = None  # None: from the model table
    reasoning: bool | None = None  # None: from the model table

    def facts(self) -> tuple[ModelFacts, list[str]]:
        """The model's facts (settings over the table), and what was assumed about it."""
        return model_facts(
            self.model,
            context_window=self.context_window,
            price_input=self.price_input,
            price_output=self.price_output,
            reasoning=self.reasoning,
        )

    def prices(self) -> tuple[float, float] | None:
        facts = self.facts()[0]
        if facts.price_input is None or facts.price_output is None:
            return None
        return facts.price_input, facts.price_output

    @property
    def prompt_budget(self) -> int:
        """Prompt tokens per request: the setting, within what the model's context leaves."""
        return min(self.max_prompt_tokens, self.facts()[0].context_window - self.max_completion_tokens)


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

    def sent(self, attempts: int = 1) -> None:
        """Requests that reached the server for one ask: the first and any retries."""
        with self._lock:
            self.requests += attempts
            self.retries += attempts - 1

    def add(self, prompt: int, completion: int) -> None:
        with self._lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion


class _Retry(Exception):
    """A bad answer: ask again."""

    def __init__(self, reason: str, attempts: int = 1, *, wait: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts  # requests it took (the client may have retried before answering)
        self.wait = wait


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """The wait the server asked for, in seconds (either header form), when it is a number."""
    headers = exc.response.headers if exc.response is not None else {}
    for name, scale in (("retry-after-ms", 1000), ("retry-after", 1)):
        try:
            if name in headers:
                return float(headers[name]) / scale
        except ValueError:
            continue
    return None


def _client_attempts(exc: openai.APIError, retries: int) -> int:
    """How many requests the client made before raising ``exc`` (it keeps no count on errors):
    every retryable failure was retried ``retries`` times unless the server said not to."""
    if isinstance(exc, openai.APIConnectionError):  # timeouts included
        return retries + 1
    if not isinstance(exc, openai.APIStatusError):
        return 1
    wait = _retry_after(exc)
    if (wait is not None and wait > SDK_MAX_RETRY_AFTER) or exc.response.headers.get("x-should-retry") == "false":
        return 1
    return retries + 1 if exc.status_code in (408, 409, 429) or exc.status_code >= 500 else 1


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


Check = Callable[[T], str | None]  # a reason to ask again, or None when the answer will do


class StructuredLLM:
    """Ask for an answer of a given pydantic type; count every token, retry within bounds."""

    def __init__(
        self, client: Any, config: LLMConfig, usage: Usage | None = None, *, encoding: tiktoken.Encoding | None = None
    ) -> None:
        self.retries = max(0, config.max_attempts - 1)
        # the client retries the transport itself; our loop only asks again after a bad answer
        self.client = client.with_options(max_retries=self.retries, timeout=config.timeout)
        self.config = config
        self.reasoning = config.facts()[0].reasoning
        self.usage = usage or Usage()
        self.encoding = encoding  # counts what a server that reports no usage was sent and sent back
        self._json_schema = True  # until a server says it cannot do JSON schemas

    def ask(self, system: str, user: str, answer: type[T], max_tokens: int, check: Check[T] | None = None) -> T:
        """The answer, parsed; ``check`` may reject a well-formed one (asked again while attempts last)."""
        cfg = self.config
        reason = "no attempt made"
        attempts = 0
        last: T | None = None
        while attempts < cfg.max_attempts:
            try:
                last, sent = self._once(system, user, answer, max_tokens)
                attempts += sent
                problem = check(last) if check else None
                if problem is None:
                    return last
                reason = problem
            except _Retry as exc:
                attempts += exc.attempts
                reason = exc.reason
                if reason.startswith("truncated"):
                    max_tokens = min(cfg.max_completion_tokens, max_tokens * 2)
                if not exc.wait:
                    continue
            except LLMFailure as exc:
                exc.attempts += attempts
                raise
            if attempts >= cfg.max_attempts:
                break
            wait = cfg.backoff * 2 ** (attempts - 1) * (1 - 0.25 * random.random())
            log.info("LLM answer %d was unusable (%s); asking again in %.2f s", attempts, reason, wait)
            time.sleep(wait)
        if last is not None:
            return last  # well-formed but imperfect: the caller drops what it cannot use, and counts it
        raise LLMFailure(reason, attempts)

    def request_body(self, system: str, user: str, answer: type[BaseModel], max_tokens: int) -> dict[str, Any]:
        """The chat completion request exactly as it is sent (``factdiff check --show-prompt``)."""
        cfg = self.config
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        if not self._json_schema:
            schema = json.dumps(compact_schema(answer), separators=(",", ":"))
            messages[0]["content"] = system + "\nAnswer with one JSON object that follows this JSON schema:\n" + schema
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "response_format": schema_format(answer) if self._json_schema else {"type": "json_object"},
        }
        if self.reasoning:
            body["max_completion_tokens"] = max_tokens
        else:
            body["max_tokens"] = max_tokens
            body["temperature"] = 0
        return body

    def _send(self, body: dict[str, Any]) -> tuple[Any, int]:
        """The parsed response, and how many requests the client made for it."""
        try:
            raw = self.client.chat.completions.with_raw_response.create(**body)
        except openai.APIError as exc:
            attempts = _client_attempts(exc, self.retries)
            self.usage.sent(attempts)
            raise self._failure(exc, attempts) from exc
        attempts = 1 + int(getattr(raw, "retries_taken", 0) or 0)
        self.usage.sent(attempts)
        return raw.parse(), attempts

    def _failure(self, exc: openai.APIError, attempts: int) -> Exception:
        """What a transport error means for the caller: a JSON-schema refusal asks again plainly;
        anything else is a failure, in words."""
        if isinstance(exc, openai.APITimeoutError):
            return LLMFailure(f"timed out after {self.config.timeout:.0f} s", attempts)
        if isinstance(exc, openai.APIConnectionError):
            return LLMFailure(f"cannot connect: {exc}", attempts)
        if isinstance(exc, openai.RateLimitError):
            wait = _retry_after(exc)
            asked = f"; the server asked to wait {wait:.0f} s" if wait and wait > SDK_MAX_RETRY_AFTER else ""
            return LLMFailure(f"rate limited (429){asked}", attempts)
        if isinstance(exc, openai.BadRequestError):
            text = str(exc).lower()
            if self._json_schema and ("response_format" in text or "json_schema" in text):
                self._json_schema = False  # ask again, once, the plainer way
                log.warning("the LLM server refused a JSON schema; asking for a JSON object instead")
                return _Retry("the server does not support JSON schemas", attempts, wait=False)
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code >= 500:
                return LLMFailure(f"server error {exc.status_code}", attempts)
            return LLMFailure(f"the LLM server refused the request ({exc.status_code}: {_message(exc)})", attempts)
        return LLMFailure(f"the LLM request failed: {exc}", attempts)

    def _once(self, system: str, user: str, answer: type[T], max_tokens: int) -> tuple[T, int]:
        response, attempts = self._send(self.request_body(system, user, answer, max_tokens))
        try:
            return self._parse(response, system, user, answer), attempts
        except _Retry as exc:
            exc.attempts = attempts
            raise

    def _parse(self, response: Any, system: str, user: str, answer: type[T]) -> T:
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
