"""Fetching feeds: retries on what may pass, none on what will not, a capped body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from adapters.catalogue.http_feed import RETRY_AFTER_MAX_S, fetch_feed, shown_url
from adapters.catalogue.source import read_feed, source_label
from core.errors import FeedUnavailable
from gateway.settings import CatalogueFeedSettings

URL = "https://games.example/list?key=secret"
BODY = b'{"games": []}'


class Sleeps:
    """Records the backoff instead of waiting it."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay_s: float) -> None:
        self.delays.append(delay_s)


async def _fetch(sleeps: Sleeps, *, retries_max: int = 3, timeout_s: float = 5.0) -> bytes:
    async with httpx.AsyncClient() as client:
        return await fetch_feed(
            client,
            URL,
            method="POST",
            timeout_s=timeout_s,
            retries_max=retries_max,
            feed_bytes_max=1_024,
            headers={"X-Test": "1"},
            body=b'{"operator_id": 1}',
            sleep=sleeps,
        )


async def _slow_body() -> AsyncIterator[bytes]:
    yield b"["
    await asyncio.sleep(1)
    yield b"]"


async def _endless_body() -> AsyncIterator[bytes]:
    for _ in range(100):
        yield b"x" * 100


@respx.mock
async def test_success_sends_method_headers_and_body() -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(200, content=BODY))
    sleeps = Sleeps()
    assert await _fetch(sleeps) == BODY
    request = route.calls.last.request
    assert (request.headers["X-Test"], request.content) == ("1", b'{"operator_id": 1}')
    assert sleeps.delays == []


@respx.mock
async def test_503_then_success_backs_off() -> None:
    route = respx.post(URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, content=BODY)]
    )
    sleeps = Sleeps()
    assert await _fetch(sleeps) == BODY
    assert route.call_count == 3
    assert sleeps.delays == [0.5, 1.0]


@respx.mock
async def test_429_honours_retry_after_up_to_the_cap() -> None:
    respx.post(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(429, headers={"Retry-After": "3600"}),
            httpx.Response(200, content=BODY),
        ]
    )
    sleeps = Sleeps()
    assert await _fetch(sleeps) == BODY
    assert sleeps.delays == [7.0, RETRY_AFTER_MAX_S]


@respx.mock
async def test_timeouts_exhaust_the_retries() -> None:
    route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    sleeps = Sleeps()
    with pytest.raises(FeedUnavailable) as caught:
        await _fetch(sleeps, retries_max=2)
    assert route.call_count == 3
    assert "after 3 attempts" in caught.value.message
    assert "secret" not in caught.value.message
    assert caught.value.retryable


@respx.mock
async def test_a_slow_transfer_times_out_as_a_whole() -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, content=_slow_body()))
    with pytest.raises(FeedUnavailable, match=r"no complete answer within 0.05 s"):
        await _fetch(Sleeps(), retries_max=0, timeout_s=0.05)


@respx.mock
async def test_connection_errors_are_retried() -> None:
    respx.post(URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, content=BODY)]
    )
    assert await _fetch(Sleeps()) == BODY


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
@respx.mock
async def test_oversize_body_is_refused_once(declared: bool) -> None:
    """With a Content-Length it is refused before reading; without, while reading."""
    content = b"x" * 2_000 if declared else _endless_body()
    route = respx.post(URL).mock(return_value=httpx.Response(200, content=content))
    with pytest.raises(FeedUnavailable, match="larger than 1024 bytes"):
        await _fetch(Sleeps())
    assert route.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
@respx.mock
async def test_client_errors_are_not_retried(status: int) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(status))
    sleeps = Sleeps()
    with pytest.raises(FeedUnavailable, match=f"HTTP {status}"):
        await _fetch(sleeps)
    assert (route.call_count, sleeps.delays) == (1, [])


def test_shown_url_hides_credentials_and_query() -> None:
    assert shown_url("https://user:pw@h.example:8443/a/b?key=s#f") == "https://h.example:8443/a/b"
    assert source_label("feeds/demo.json") == "feeds/demo.json"


async def test_read_feed_from_a_data_dir_file(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "demo.json").write_bytes(BODY)
    settings = CatalogueFeedSettings(url="feeds/demo.json", feed_bytes_max=1_024)
    assert await read_feed(settings, data_dir=tmp_path, client=None) == BODY


@pytest.mark.parametrize(
    ("size", "message"), [(None, "cannot read"), (1_025, "larger than 1024 bytes")]
)
async def test_read_feed_file_failures(tmp_path: Path, size: int | None, message: str) -> None:
    if size is not None:
        (tmp_path / "feed.json").write_bytes(b"x" * size)
    settings = CatalogueFeedSettings(url="feed.json", feed_bytes_max=1_024)
    with pytest.raises(FeedUnavailable, match=message):
        await read_feed(settings, data_dir=tmp_path, client=None)


@respx.mock
async def test_read_feed_over_http(tmp_path: Path) -> None:
    respx.get("https://games.example/feed").mock(return_value=httpx.Response(200, content=BODY))
    settings = CatalogueFeedSettings(url="https://games.example/feed", retries_max=0)
    async with httpx.AsyncClient() as client:
        assert await read_feed(settings, data_dir=tmp_path, client=client) == BODY
