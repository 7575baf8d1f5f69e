"""Calling the wallet's Redis functions, and loading them where they are missing.

Functions, unlike `EVAL`'s script cache, are kept in the AOF and survive a restart;
they are still missing on a server whose functions were flushed or on a master newly
added to a cluster. So the store loads the library on every master at start-up
(`FUNCTION LOAD REPLACE`: the same text, so it is idempotent) and again whenever a
call answers that the function is not there, then repeats that call once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from adapters.stores.redis_clients import one_shot_client
from adapters.stores.redis_link import Endpoint, Link, ReplyError
from adapters.stores.redis_lua import LIBRARY_SOURCE

__all__ = ["Functions", "load_library"]

LOAD_TIMEOUT_S = 10.0


async def load_library(masters: Sequence[Endpoint]) -> None:
    """`FUNCTION LOAD REPLACE` the wallet library on each master."""
    for endpoint in masters:
        client = one_shot_client(endpoint, LOAD_TIMEOUT_S)
        try:
            await client.function_load(LIBRARY_SOURCE, replace=True)
        finally:
            await client.aclose()


def _missing(reply: Any) -> bool:
    return isinstance(reply, ReplyError) and "Function not found" in str(reply)


class Functions:
    """FCALL / FCALL_RO through a `Link`, routed by the first key."""

    def __init__(self, link: Link, masters: Callable[[], Sequence[Endpoint]]) -> None:
        self._link = link
        self._masters = masters
        self._loading: asyncio.Future[None] | None = None
        self.reloads_total = 0
        """Times the library was found missing and loaded again."""

    async def load(self) -> None:
        """Load the library on every master (once, however many callers ask meanwhile)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(load_library(self._masters()))
            self._loading.add_done_callback(self._loaded)
        await asyncio.shield(self._loading)

    def _loaded(self, _: asyncio.Future[None]) -> None:
        self._loading = None

    def send(
        self, name: str, keys: Sequence[str], args: Sequence[Any], *, read_only: bool = False
    ) -> Awaitable[Any]:
        """Queue the call now (it shares the loop turn's write); `settle` its reply."""
        command = "FCALL_RO" if read_only else "FCALL"
        return self._link.send(keys[0], command, name, len(keys), *keys, *args)

    async def settle(
        self,
        sent: Awaitable[Any],
        name: str,
        keys: Sequence[str],
        args: Sequence[Any],
        *,
        read_only: bool = False,
    ) -> Any:
        """The reply to a `send` (an error reply as a `ReplyError` value); if the function
        was missing, the library is loaded and the call made again."""
        reply = await sent
        if _missing(reply):
            self.reloads_total += 1
            await self.load()
            reply = await self.send(name, keys, args, read_only=read_only)
        return reply

    async def call_raw(
        self, name: str, keys: Sequence[str], args: Sequence[Any], *, read_only: bool = False
    ) -> Any:
        """The function's reply (an error reply as a `ReplyError` value)."""
        sent = self.send(name, keys, args, read_only=read_only)
        return await self.settle(sent, name, keys, args, read_only=read_only)

    async def call(
        self, name: str, keys: Sequence[str], args: Sequence[Any], *, read_only: bool = False
    ) -> Any:
        reply = await self.call_raw(name, keys, args, read_only=read_only)
        if isinstance(reply, ReplyError):
            raise reply
        return reply
