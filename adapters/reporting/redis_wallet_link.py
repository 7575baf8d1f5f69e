"""A link to a Redis wallet (one server or a cluster) for the readers that never write
to it: the relay's outbox reader and reconciliation's ledger reader."""

from __future__ import annotations

from typing import ClassVar, Self

from adapters.stores.redis_cluster_link import ClusterLink
from adapters.stores.redis_keys import GROUPS
from adapters.stores.redis_link import Link, NodeLink
from adapters.stores.redis_url import parse_redis_url

__all__ = ["RedisWalletReader", "open_wallet_link"]

_NODE_CONNECTIONS = 2
"""A reader's connections to one server: it pipelines, it needs few."""


async def open_wallet_link(url: str) -> tuple[Link, str]:
    """The link to the wallet `url` names (`redis://` or `redis+cluster://`) and how to
    name it (`scheme://nodes`); `ValueError` for a malformed URL, `LinkError` when a
    cluster cannot be reached."""
    target = parse_redis_url(url)
    link: NodeLink | ClusterLink
    if target.cluster:
        link = ClusterLink(target.endpoints)
        try:
            await link.start()
        except BaseException:
            await link.close()
            raise
    else:
        link = NodeLink(target.endpoints[0], connections=_NODE_CONNECTIONS)
    nodes = ",".join(endpoint.address for endpoint in target.endpoints)
    scheme = "redis+cluster" if target.cluster else "redis"
    return link, f"{scheme}://{nodes}"


class RedisWalletReader:
    """What the readers share: a link of their own, the wallet's name, its groups. Use
    `await Reader.open(url)`; `groups` is for tests only (the wallet's is `GROUPS`)."""

    READS: ClassVar[str] = "keys"
    """What the reader reads, for `describe`."""

    def __init__(self, description: str, link: Link, groups: int = GROUPS) -> None:
        self._description = description
        self._link = link
        self._groups = groups

    @classmethod
    async def open(cls, url: str) -> Self:
        """Connect to the wallet `url` names (`redis://` or `redis+cluster://`);
        `ValueError` for a malformed URL, `LinkError` when it cannot be reached."""
        link, name = await open_wallet_link(url)
        return cls(f"{name} {cls.READS} (read-only)", link)

    def describe(self) -> str:
        return self._description

    async def close(self) -> None:
        await self._link.close()
