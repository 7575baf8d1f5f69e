"""Store factories for the Redis wallet: the session's redis-server and cluster, emptied.

Both servers outlive a test (starting a cluster costs two seconds), so each factory
empties every master (`FLUSHALL`, which keeps the loaded functions) before it opens the
store through `open_wallet_store`, as the gateway does: each test starts from an empty
wallet, as with a fresh SQLite file.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from adapters.stores.open import open_wallet_store
from core.wallet.store import WalletStore
from tests.redis_servers import RedisCluster, RedisServer, shared_cluster, shared_server

__all__ = ["redis_cluster_store", "redis_server_store"]

StoreFactory = Callable[
    [Path, Callable[[], int]], contextlib.AbstractAsyncContextManager[WalletStore]
]


def _emptied(servers: Callable[[], RedisServer | RedisCluster]) -> StoreFactory:
    @contextlib.asynccontextmanager
    async def factory(directory: Path, clock_us: Callable[[], int]) -> AsyncIterator[WalletStore]:
        started = servers()
        started.flush()
        store = await open_wallet_store(started.url, data_dir=directory, clock_us=clock_us)
        try:
            yield store
        finally:
            await store.close()

    return factory


redis_server_store = _emptied(shared_server)
"""One redis-server, `appendonly yes`, `appendfsync always`."""

redis_cluster_store = _emptied(shared_cluster)
"""A three-master Redis Cluster, each master `appendfsync always`."""
