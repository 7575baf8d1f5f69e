"""redis-py clients for everything off the wallet's hot path (start-up checks, loading
functions, `verify`), built in one place.

They are typed `Any`: redis-py's own annotations change across the releases this
project supports (from 5.0.1, where `NoBackoff` is unannotated and `RedisCluster` counts
as abstract, to 8.x with overloads), and the code here uses only calls every one of
them has. Start-up clients do not retry: a server that does not answer stops start-up
at once, and whoever started the gateway retries it.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.stores.redis_link import Endpoint
from adapters.stores.redis_url import RedisTarget

__all__ = ["one_shot_client", "sync_client"]

_NO_BACKOFF: Any = NoBackoff
_CLUSTER: Any = redis.RedisCluster


def one_shot_client(endpoint: Endpoint, timeout_s: float) -> Any:
    """An asyncio client of one node that gives up on the first failure."""
    return aioredis.Redis(
        host=endpoint.host,
        port=endpoint.port,
        username=endpoint.username,
        password=endpoint.password,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(_NO_BACKOFF(), 0),
    )


def sync_client(target: RedisTarget, timeout_s: float) -> Any:
    """A blocking client of the server or cluster `target` names (any node gives the
    cluster's slot map)."""
    first = target.endpoints[0]
    options: dict[str, Any] = {
        "username": first.username,
        "password": first.password,
        "socket_timeout": timeout_s,
    }
    if target.cluster:
        return _CLUSTER(host=first.host, port=first.port, **options)
    return redis.Redis(host=first.host, port=first.port, db=first.db, **options)
