"""Nonces in Redis: a replay is caught by any process, a nonce ages out, none slips through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.providers.redis_nonces import RedisNonceCache
from adapters.stores.redis_cluster_link import ClusterLink
from adapters.stores.redis_link import Endpoint, Link, NodeLink
from core.errors import StorageUnavailable
from tests.redis_servers import shared_cluster, shared_server, start_server

pytestmark = pytest.mark.redis


@pytest.fixture(params=["server", "cluster"])
async def links(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Link, Link]]:
    """Two links, as two gateway processes would each hold one."""
    opened: list[Link] = []
    for _ in range(2):
        if request.param == "server":
            opened.append(NodeLink(Endpoint("127.0.0.1", shared_server().port)))
        else:
            ports = [node.port for node in shared_cluster().nodes]
            cluster = ClusterLink([Endpoint("127.0.0.1", port) for port in ports])
            await cluster.start()
            opened.append(cluster)
    try:
        yield opened[0], opened[1]
    finally:
        for link in opened:
            await link.close()


async def test_a_nonce_seen_by_one_process_is_a_replay_for_another(
    links: tuple[Link, Link],
) -> None:
    first = RedisNonceCache(links[0], window_s=60)
    second = RedisNonceCache(links[1], window_s=60)
    key = f"gg:{id(first)}:n1"
    assert await first.seen(key, 1_000.0) is False
    assert await second.seen(key, 1_000.0) is True
    assert await first.seen(key, 1_001.0) is True
    assert (first.entries, second.entries) == (1, 0)


async def test_a_nonce_is_forgotten_once_its_window_has_passed(
    links: tuple[Link, Link],
) -> None:
    cache = RedisNonceCache(links[0], window_s=0.2)
    key = f"gg:{id(cache)}:n2"
    assert await cache.seen(key, 1_000.0) is False
    assert await cache.seen(key, 1_000.1) is True
    await asyncio.sleep(0.3)  # Redis counts the expiry on its own clock
    assert await cache.seen(key, 1_000.3) is False


async def test_a_nonce_redis_cannot_record_is_refused_as_retryable_not_let_through(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path)
    link = NodeLink(Endpoint("127.0.0.1", server.port))
    cache = RedisNonceCache(link, window_s=60)
    try:
        assert await cache.seen("gg:n3", 1_000.0) is False
        server.stop()
        with pytest.raises(StorageUnavailable):
            await cache.seen("gg:n3", 1_000.0)
        with pytest.raises(StorageUnavailable):
            await cache.seen("gg:n4", 1_000.0)
        assert cache.full_refusals_total == 2
    finally:
        await link.close()
        server.stop()
