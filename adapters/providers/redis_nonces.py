"""Nonce memory in Redis, shared by every gateway process that shares the wallet.

A signed request may reach any process, so a replay must be caught whichever process
saw the original: each nonce is one key, `SET gg:nonce:<key> 1 NX PX <window>`,
recorded and checked in one atomic command. The expiry is relative (Redis's own
clock counts it down), so the clocks of gateway and Redis need not agree; the window
is the adapter's (at least twice its clock-skew or token-age window), rounded up to a
millisecond.

It never lets a request through unchecked: when Redis does not answer (or refuses the
write, e.g. out of memory under `noeviction`) the nonce is refused with
`StorageUnavailable`, the protocol's retryable answer, and counted.
"""

from __future__ import annotations

import math
from collections import deque

from adapters.stores.redis_keys import nonce_key
from adapters.stores.redis_link import Link, LinkError, ReplyError
from core.errors import StorageUnavailable

__all__ = ["RedisNonceCache"]


class RedisNonceCache:
    """Remembers each nonce for at least `window_s` seconds in Redis (async `seen`)."""

    def __init__(self, link: Link, *, window_s: float) -> None:
        assert window_s > 0
        self.window_s = window_s
        self._window_ms = math.ceil(window_s * 1_000)
        self._link = link
        self.full_refusals_total = 0
        """Nonces refused because Redis could not record them (a metrics counter)."""
        self._recorded: deque[float] = deque()
        """When this process recorded each nonce still in its window, oldest first."""

    @property
    def entries(self) -> int:
        """Nonces this process recorded within the window (the rest of the processes'
        are theirs to count), as of the last `seen`."""
        return len(self._recorded)

    async def seen(self, key: str, now_s: float) -> bool:
        """Record `key`; True if any process recorded it within the window."""
        name = nonce_key(key)
        try:
            reply = await self._link.send(name, "SET", name, 1, "NX", "PX", self._window_ms)
        except LinkError as exc:
            self.full_refusals_total += 1
            raise StorageUnavailable("nonce memory (Redis) did not answer; retry") from exc
        if isinstance(reply, ReplyError):
            self.full_refusals_total += 1
            raise StorageUnavailable(f"nonce memory (Redis) refused the nonce: {reply}")
        self._forget_before(now_s - self.window_s)
        if reply is None:
            return True
        self._recorded.append(now_s)
        return False

    def _forget_before(self, horizon_s: float) -> None:
        recorded = self._recorded
        while recorded and recorded[0] < horizon_s:
            recorded.popleft()
