"""Bounded in-memory nonce memory for replay protection of signed requests."""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["MemoryNonceCache"]


class MemoryNonceCache:
    """Remembers nonces for `window_s` seconds, at most `entries_max` of them.

    A nonce older than the window is refused by the timestamp check before it gets
    here, so forgetting it afterwards is safe. When full, the oldest is forgotten
    first; size `entries_max` above the expected request rate times the window.
    """

    def __init__(self, *, window_s: float, entries_max: int) -> None:
        assert window_s > 0
        assert entries_max > 0
        self._window_s = window_s
        self._entries_max = entries_max
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen(self, key: str, now_s: float) -> bool:
        self._expire(now_s)
        if key in self._seen:
            return True
        self._seen[key] = now_s
        if len(self._seen) > self._entries_max:
            self._seen.popitem(last=False)
        return False

    def _expire(self, now_s: float) -> None:
        horizon = now_s - self._window_s
        while self._seen:
            oldest_key, oldest_s = next(iter(self._seen.items()))
            if oldest_s >= horizon:
                return
            del self._seen[oldest_key]
