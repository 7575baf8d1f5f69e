"""The Redis wallet refuses to start on a server that would lose acknowledged writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.stores.redis_durability import (
    EVERYSEC_LOSS,
    DurabilityRefused,
    ServerDurability,
    check_durability,
)
from adapters.stores.redis_url import parse_redis_url
from tests.redis_servers import RedisServer, start_server

pytestmark = pytest.mark.redis


async def _check(url: str) -> list[ServerDurability]:
    """What the store does first when it opens `url`."""
    target = parse_redis_url(url)
    return await check_durability(target.endpoints, target.appendfsync)


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server with the options the test is parametrized with."""
    started = start_server(tmp_path, *request.param)
    try:
        yield started
    finally:
        started.stop()


@pytest.mark.parametrize(
    ("server", "named"),
    [
        (("--appendonly", "no"), "appendonly no; set `appendonly yes`"),
        (("--appendfsync", "everysec"), "appendfsync everysec; set `appendfsync always`"),
        (("--appendfsync", "no"), "appendfsync no; set `appendfsync always`"),
        (("--maxmemory-policy", "allkeys-lru"), "set `maxmemory-policy noeviction`"),
    ],
    ids=["no-aof", "everysec", "fsync-no", "eviction"],
    indirect=["server"],
)
async def test_a_server_that_could_lose_acknowledged_writes_is_refused_by_name(
    server: RedisServer, named: str
) -> None:
    with pytest.raises(DurabilityRefused, match=named.replace("`", ".")):
        await _check(server.url)


@pytest.mark.parametrize("server", [("--appendfsync", "everysec")], indirect=True)
async def test_everysec_is_accepted_only_when_the_url_says_so_and_its_loss_is_stated(
    server: RedisServer,
) -> None:
    with pytest.raises(DurabilityRefused, match=r"\?appendfsync=everysec"):
        await _check(server.url)
    [found] = await _check(f"{server.url}?appendfsync=everysec")
    assert found.appendfsync == "everysec"
    assert "loses up to ~2 s of acknowledged wallet writes" in EVERYSEC_LOSS


@pytest.mark.parametrize("server", [("--appendonly", "no")], indirect=True)
async def test_everysec_acceptance_does_not_excuse_a_server_without_an_append_only_file(
    server: RedisServer,
) -> None:
    with pytest.raises(DurabilityRefused, match="appendonly no"):
        await _check(f"{server.url}?appendfsync=everysec")
