"""The wallet's hot path to a Redis Cluster: each command to the master of its key's slot.

The slot map comes from `CLUSTER SLOTS` and is read again when a node answers `MOVED`
(the slot moved for good). `ASK` (a slot being migrated) sends the command once to the
named node after `ASKING`; `TRYAGAIN` and `CLUSTERDOWN` (a migration or failover under
way) wait briefly and retry, a bounded number of times. Every command the wallet sends
names one key, or several with one hash tag, so each goes to exactly one node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from adapters.stores.redis_link import (
    Endpoint,
    LinkError,
    NodeLink,
    RaisingCalls,
    ReplyError,
)

__all__ = ["ClusterLink"]

_REDIRECTS = ("MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN")

REDIRECTS_MAX = 5
RETRY_DELAY_S = 0.05


class ClusterLink(RaisingCalls):
    """Commands routed by slot, one pipelined connection per master."""

    def __init__(self, seeds: Sequence[Endpoint]) -> None:
        assert seeds, "a cluster needs at least one node to start from"
        self._seeds = list(seeds)
        self._template = seeds[0]
        self._nodes: dict[str, NodeLink] = {}
        self._slots: list[str] = []
        self._refreshing: asyncio.Future[None] | None = None

    @property
    def masters(self) -> list[Endpoint]:
        """The masters serving slots, as of the last slot map."""
        return [self._node(address).endpoint for address in sorted(set(self._slots))]

    async def start(self) -> None:
        await self.refresh()

    def send(self, key: str | bytes, *args: Any) -> Awaitable[Any]:
        """Queue `args` on the connection of `key`'s master now; a redirect found in the
        reply is followed (`call_raw`) before the returned future resolves."""
        if not self._slots:
            return asyncio.ensure_future(self.call_raw(key, *args))
        slot = key_slot(key.encode() if isinstance(key, str) else key)
        sent = self._node(self._slots[slot]).send(key, *args)
        outer = asyncio.get_running_loop().create_future()

        def settle(done: asyncio.Future[Any]) -> None:
            if outer.done():
                return
            if done.cancelled():
                outer.cancel()
            elif (error := done.exception()) is not None:
                outer.set_exception(error)
            elif _redirected(reply := done.result()):
                retry = asyncio.ensure_future(self.call_raw(key, *args))
                retry.add_done_callback(lambda r: _chain(r, outer))
            else:
                outer.set_result(reply)

        asyncio.ensure_future(sent).add_done_callback(settle)
        return outer

    async def call_raw(self, key: str | bytes, *args: Any) -> Any:
        """The reply to `args`, sent to the master of `key`'s slot (error replies returned)."""
        if not self._slots:
            await self.refresh()
        slot = key_slot(key.encode() if isinstance(key, str) else key)
        reply: Any = None
        for _ in range(REDIRECTS_MAX):
            node = self._node(self._slots[slot])
            reply = await node.call_raw(key, *args)
            if not _redirected(reply):
                return reply
            kind, _, rest = str(reply).partition(" ")
            if kind == "MOVED":
                await self.refresh()
            elif kind == "ASK":
                reply = await self._asking(rest.split()[1], args)
                if not _redirected(reply):
                    return reply
            else:
                await asyncio.sleep(RETRY_DELAY_S)
        return reply

    async def ping(self) -> None:
        if not self._slots:
            await self.refresh()
        for address in sorted(set(self._slots)):
            await self._node(address).call(b"", "PING")

    async def _asking(self, address: str, args: tuple[Any, ...]) -> Any:
        """`ASKING` and the command back to back on the target node's connection."""
        return await self._node(address).send_together(("ASKING",), args)

    def _node(self, address: str) -> NodeLink:
        node = self._nodes.get(address)
        if node is None:
            host, _, port = address.rpartition(":")
            template = self._template
            endpoint = Endpoint(host, int(port), 0, template.username, template.password)
            node = self._nodes[address] = NodeLink(endpoint)
        return node

    async def refresh(self) -> None:
        """Read the slot map again (once, however many callers ask at the same time)."""
        if self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self._read_slots())
            self._refreshing.add_done_callback(self._refreshed)
        await asyncio.shield(self._refreshing)

    def _refreshed(self, _: asyncio.Future[None]) -> None:
        self._refreshing = None

    async def _read_slots(self) -> None:
        known = [self._node(address).endpoint for address in sorted(set(self._slots))]
        problems: list[str] = []
        for endpoint in [*known, *self._seeds]:
            try:
                ranges = await self._node(endpoint.address).call(b"", "CLUSTER", "SLOTS")
            except (LinkError, ReplyError) as exc:
                problems.append(f"{endpoint.address}: {exc}")
                continue
            slots = [""] * REDIS_CLUSTER_HASH_SLOTS
            for first, last, master, *_replicas in ranges:
                host = master[0].decode() or endpoint.host
                address = f"{host}:{master[1]}"
                slots[first : last + 1] = [address] * (last - first + 1)
            if "" in slots:
                problems.append(f"{endpoint.address}: not every slot is served")
                continue
            self._slots = slots
            return
        raise LinkError("no cluster node gave a full slot map: " + "; ".join(problems))

    async def close(self) -> None:
        for node in self._nodes.values():
            await node.close()


def _redirected(reply: Any) -> bool:
    """A reply that names another node, or asks to wait: the command was not run."""
    return isinstance(reply, ReplyError) and str(reply).startswith(_REDIRECTS)


def _chain(source: asyncio.Future[Any], target: asyncio.Future[Any]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())
