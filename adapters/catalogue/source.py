"""Where an instance's feed bytes come from: an http(s) URL or a file in the data directory.

A file feed (a CSV an operator exported, the demo catalogue) is read with the same size
cap as a fetched one and fails the same way (`FeedUnavailable`), so a sync does not care
which it was. The settings object is anything with the feed's fields
(`gateway.settings.CatalogueFeedSettings` fits), so adapters never import the gateway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import httpx

from adapters.catalogue.http_feed import fetch_feed, shown_url
from core.errors import FeedUnavailable

__all__ = ["FeedSource", "is_http_url", "read_feed", "source_label"]

_HTTP_SCHEMES = ("http://", "https://")


class FeedSource(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def retries_max(self) -> int: ...
    @property
    def feed_bytes_max(self) -> int: ...


def is_http_url(url: str) -> bool:
    return url.lower().startswith(_HTTP_SCHEMES)


def source_label(url: str) -> str:
    """How a sync names its source in reports and history: no query, no credentials."""
    return shown_url(url) if is_http_url(url) else url


async def read_feed(
    source: FeedSource,
    *,
    data_dir: Path,
    client: httpx.AsyncClient | None,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> bytes:
    """The feed's bytes; `client` is needed only for an http(s) URL."""
    if is_http_url(source.url):
        assert client is not None, "an http(s) feed needs a client"
        return await fetch_feed(
            client,
            source.url,
            method=source.method,
            timeout_s=source.timeout_s,
            retries_max=source.retries_max,
            feed_bytes_max=source.feed_bytes_max,
            headers=headers,
            body=body,
        )
    path = Path(source.url)
    return await asyncio.to_thread(
        _read_file, path if path.is_absolute() else data_dir / path, source.feed_bytes_max
    )


def _read_file(path: Path, feed_bytes_max: int) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(feed_bytes_max + 1)
    except OSError as error:
        raise FeedUnavailable(f"cannot read the feed file {path}: {error.strerror}") from error
    if len(data) > feed_bytes_max:
        raise FeedUnavailable(f"the feed file {path} is larger than {feed_bytes_max} bytes")
    return data
