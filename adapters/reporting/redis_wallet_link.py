"""A link to a Redis wallet (one server or a cluster) for the readers that never write
to it: the relay's outbox reader and reconciliation's ledger reader."""

from __future__ import annotations

from adapters.stores.redis_cluster_link import ClusterLink
from adapters.stores.redis_link import Link, NodeLink
from adapters.stores.redis_url import parse_redis_url

__all__ = ["open_wallet_link"]

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
