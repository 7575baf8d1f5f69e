"""Fetching a provider's game feed over HTTP: bounded retries, a size cap, clear failures.

A catalogue sync is scheduled, not on a player's path, so it can afford to retry what
may pass (connection errors, timeouts, 5xx, 429) with exponential backoff, and must not
retry what will not (other 4xx: a bad key or URL stays bad; an oversize body stays
oversize). Hub88 allows one game-list request a minute and answers 429 beyond it; its
`Retry-After` is honoured up to `RETRY_AFTER_MAX_S`. The body is streamed and the read
stops at `feed_bytes_max`, so a runaway feed cannot exhaust memory. Every failure is
`FeedUnavailable` naming the status or error and the attempts made; URLs in messages
lose their query and credentials, which may carry keys.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

import httpx

from core.errors import FeedUnavailable

__all__ = [
    "BACKOFF_FIRST_S",
    "BACKOFF_MAX_S",
    "RETRY_AFTER_MAX_S",
    "fetch_feed",
    "shown_url",
]

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
RETRY_AFTER_MAX_S = 120.0
"""Hub88's game list allows one request a minute; a longer wait is better as a later sync."""
_TOO_MANY_REQUESTS = 429
_SERVER_ERROR_MIN = 500

Sleep = Callable[[float], Awaitable[None]]


class _Retry(Exception):
    """This attempt failed in a way another attempt may not."""

    def __init__(self, problem: str, delay_s: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.delay_s = delay_s


def shown_url(url: str) -> str:
    """`url` without credentials, query or fragment: safe for logs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _backoff_s(attempt: int) -> float:
    return float(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1)))


def _retry_after_s(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or an HTTP date), capped."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), RETRY_AFTER_MAX_S)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, when.timestamp() - time.time()), RETRY_AFTER_MAX_S)


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    method: str,
    timeout_s: float,
    retries_max: int,
    feed_bytes_max: int,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    sleep: Sleep = asyncio.sleep,
) -> bytes:
    """The feed's body. `timeout_s` bounds each attempt as a whole (connect, every read
    and the transfer); `retries_max` further attempts follow a retryable failure."""
    assert retries_max >= 0, retries_max
    assert feed_bytes_max > 0, feed_bytes_max
    assert timeout_s > 0, timeout_s
    attempts_max = 1 + retries_max
    for attempt in range(1, attempts_max + 1):
        try:
            async with asyncio.timeout(timeout_s):
                return await _attempt(
                    client, url, method, timeout_s, feed_bytes_max, headers, body, attempt
                )
        except (TimeoutError, httpx.TimeoutException):
            retry = _Retry(f"no complete answer within {timeout_s:g} s")
        except httpx.TransportError as error:
            retry = _Retry(f"{type(error).__name__}: {error}")
        except _Retry as error:
            retry = error
        if attempt == attempts_max:
            raise FeedUnavailable(
                f"feed {shown_url(url)} unavailable after {attempt} attempts: {retry.problem}"
            )
        await sleep(_backoff_s(attempt) if retry.delay_s is None else retry.delay_s)
    raise AssertionError("unreachable")


async def _attempt(
    client: httpx.AsyncClient,
    url: str,
    method: str,
    timeout_s: float,
    feed_bytes_max: int,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    attempt: int,
) -> bytes:
    request = client.stream(
        method, url, headers=headers, content=body, timeout=httpx.Timeout(timeout_s)
    )
    async with request as response:
        status = response.status_code
        if status == _TOO_MANY_REQUESTS or status >= _SERVER_ERROR_MIN:
            # Retry-After comes with 429 and sometimes 503; either way it is the server's word
            raise _Retry(f"HTTP {status}", _retry_after_s(response.headers.get("Retry-After")))
        if not response.is_success:
            raise FeedUnavailable(
                f"feed {shown_url(url)} answered HTTP {status} (attempt {attempt}; not retried)"
            )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > feed_bytes_max:
            raise _too_big(url, feed_bytes_max)
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > feed_bytes_max:
                raise _too_big(url, feed_bytes_max)
            chunks.append(chunk)
        return b"".join(chunks)


def _too_big(url: str, feed_bytes_max: int) -> FeedUnavailable:
    return FeedUnavailable(
        f"feed {shown_url(url)} is larger than {feed_bytes_max} bytes (not retried)"
    )
