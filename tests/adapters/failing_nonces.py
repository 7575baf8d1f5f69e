"""Nonce stores that fail, for the adapters' tests of what a failure is answered with."""

from __future__ import annotations

from core.errors import StorageUnavailable

__all__ = ["BuggyNonceCache", "UnavailableNonceCache"]


class UnavailableNonceCache:
    """A nonce store that cannot answer, as the port says it must then fail."""

    async def seen(self, key: str, now_s: float) -> bool:
        raise StorageUnavailable("nonce store is gone")


class BuggyNonceCache:
    """A nonce store with a bug: an exception no port promises."""

    async def seen(self, key: str, now_s: float) -> bool:
        raise RuntimeError("a bug")
