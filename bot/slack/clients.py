"""The Slack clients the bot uses, each with the SDK's own retry handlers.

Slack rate-limits its Web API per method and workspace: a busy workspace answers
``chat.postMessage`` or ``chat.update`` with HTTP 429 and ``Retry-After``. Every client here
retries a dropped connection, and all but the progress client wait out ``Retry-After`` and try
again, a bounded number of times. Progress updates are best effort: their client does not
wait, so a rate-limited "comparing…" is skipped rather than holding up the report behind it.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

CONNECTION_RETRIES = 2
TIMEOUT = 30  # seconds for one Web API request


def retry_handlers(max_retries: int, *, rate_limits: bool = True) -> list[RetryHandler]:
    handlers: list[RetryHandler] = [ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES)]
    if rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=max_retries))
    return handlers


def web_client(token: str, base_url: str | None, max_retries: int, *, rate_limits: bool = True) -> WebClient:
    return WebClient(
        token=token,
        base_url=base_url or WebClient.BASE_URL,
        timeout=TIMEOUT,
        retry_handlers=retry_handlers(max_retries, rate_limits=rate_limits),
    )


def webhook(url: str, max_retries: int) -> WebhookClient:
    """A client for a ``response_url`` (slash commands, button clicks)."""
    return WebhookClient(url=url, timeout=TIMEOUT, retry_handlers=retry_handlers(max_retries))
