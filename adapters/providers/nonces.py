"""Bounded in-memory nonce memory for replay protection of signed requests."""

from __future__ import annotations

from collections import OrderedDict

from core.errors import StorageUnavailable

__all__ = ["MemoryNonceCache"]


class MemoryNonceCache:
    """Remembers each nonce for `window_s` seconds, at most `entries_max` at a time.

    The adapter sizes `window_s` to cover the span over which one request's timestamp
    passes its checks, so a nonce is never forgotten while a replay of it could still
    be accepted. Memory is bounded by `entries_max` live entries: expired ones are
    dropped first, and when the live ones fill it a new nonce is refused
    (`StorageUnavailable`, the protocol's retryable answer: the provider retries once
    older nonces expire) and counted, never let through by forgetting an unexpired one.
    Size `entries_max` above the request rate times the window.
    """

    def __init__(self, *, window_s: float, entries_max: int) -> None:
        assert window_s > 0
        assert entries_max > 0
        self.window_s = window_s
        self.entries_max = entries_max
        self.full_refusals_total = 0
        """Nonces refused because `entries_max` live ones were held (a metrics counter)."""
        self._seen: OrderedDict[str, float] = OrderedDict()
        """Nonce -> when it was first seen, oldest first."""

    @property
    def entries(self) -> int:
        """Nonces held right now (those expired since the last `seen` included)."""
        return len(self._seen)

    async def seen(self, key: str, now_s: float) -> bool:
        """Answered at once (async only because the port is: see `NonceCache`)."""
        self._expire(now_s)
        if key in self._seen:
            return True
        if len(self._seen) >= self.entries_max:
            self.full_refusals_total += 1
            raise StorageUnavailable(
                f"nonce memory is full ({self.entries_max} live nonces); retry later"
            )
        self._seen[key] = now_s
        return False

    def _expire(self, now_s: float) -> None:
        """Drop nonces first seen more than `window_s` ago (a wall clock that stepped back
        only keeps entries longer)."""
        horizon = now_s - self.window_s
        while self._seen:
            oldest_key, oldest_s = next(iter(self._seen.items()))
            if oldest_s >= horizon:
                return
            del self._seen[oldest_key]
