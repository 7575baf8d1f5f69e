"""Which player owns a provider's transaction id or round id: claims, across all slots.

SQLite's rule holds for Redis too: `(provider, tx_id)` names one transaction in the
whole wallet, and `(provider, round_id)` one round. A player's records live in their
own slot, so that rule needs a global index: a claim key per id (`redis_keys`), holding
the owner's player id, never expiring. Before a step, each command claims its own ids
with `SET NX GET` (in the same round trip as the snapshot read), so it learns in one
go whether the id is new, already its player's, or someone else's. Ids the step only
refers to (a rollback's target) are read with GET; an id the step decides to write
but could not claim in advance (a tombstone under a rollback's target) is claimed
after the decision, and the step decided again if another player holds it.

A claim made by a call whose step did not use it (a refused bet opened no round) is
released with `gg_release_v2` (deleted only if it still names the same player), so
that another player may use the id as SQLite would let them. Known limit: two
concurrent calls of one player sharing a new id, one refused and one applied, can
race so that the refused one releases the claim after the applied one wrote under it;
that id is then unclaimed though used (only another player reusing the same provider
id could notice, and `verify` reports it).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from adapters.stores.redis_functions import Functions
from adapters.stores.redis_keys import claim_round_key, claim_tx_key, key_field
from adapters.stores.redis_link import Link
from adapters.stores.redis_lua import RELEASE

__all__ = ["ROUND", "TX", "ClaimKey", "Claims", "claim_key"]

TX = "tx"
ROUND = "round"
ClaimKey = tuple[str, str, str]
"""(TX or ROUND, provider, id)."""


def claim_key(key: ClaimKey) -> str:
    kind, provider, ident = key
    field = key_field(provider, ident)
    return claim_tx_key(field) if kind == TX else claim_round_key(field)


class Claims:
    """The claims one wallet call knows of and made."""

    __slots__ = ("_functions", "_link", "made", "owners")

    def __init__(self, link: Link, functions: Functions) -> None:
        self._link = link
        self._functions = functions
        self.owners: dict[ClaimKey, str | None] = {}
        """Owner of each id as last read (None: nobody's)."""
        self.made: dict[ClaimKey, str] = {}
        """Ids this call claimed, and for which player."""

    def send_claim(self, key: ClaimKey, player_id: str) -> Awaitable[Any]:
        """Claim `key` for `player_id` unless someone holds it (reply: the holder, or None)."""
        name = claim_key(key)
        return self._link.send(name, "SET", name, player_id, "NX", "GET")

    def send_read(self, key: ClaimKey) -> Awaitable[Any]:
        name = claim_key(key)
        return self._link.send(name, "GET", name)

    def claimed(self, key: ClaimKey, player_id: str, reply: bytes | None) -> str:
        """Record the answer to `send_claim`; the owner now."""
        if reply is None:
            self.made[key] = player_id
            self.owners[key] = player_id
            return player_id
        owner = reply.decode()
        self.owners[key] = owner
        return owner

    def read(self, key: ClaimKey, reply: bytes | None) -> str | None:
        """Record the answer to `send_read`; the owner now."""
        owner = None if reply is None else reply.decode()
        self.owners[key] = owner
        return owner

    async def release_unused(self, used: set[ClaimKey]) -> None:
        """Free the claims this call made and its step did not use."""
        for key, owner in list(self.made.items()):
            if key not in used:
                await self._functions.call(RELEASE, [claim_key(key)], [owner])
        self.made.clear()
