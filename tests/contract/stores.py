"""The wallet stores the contract suite runs against: adding a backend is one line here.

Each factory opens a fresh, empty store under `directory` whose clock is `clock_us`
and closes it on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.stores.sqlite_store import SqliteWalletStore
from core.wallet.store import WalletStore

__all__ = ["CONCURRENCY_STORES", "STORES", "StoreFactory"]

StoreFactory = Callable[
    [Path, Callable[[], int]], contextlib.AbstractAsyncContextManager[WalletStore]
]


def _sqlite(**options: Any) -> StoreFactory:
    @contextlib.asynccontextmanager
    async def factory(directory: Path, clock_us: Callable[[], int]) -> AsyncIterator[WalletStore]:
        store = await SqliteWalletStore.open(directory / "wallet.db", clock_us=clock_us, **options)
        try:
            yield store
        finally:
            await store.close()

    return factory


STORES = [
    pytest.param(_sqlite(), id="sqlite"),
]
"""Every store backend, in its default configuration."""

CONCURRENCY_STORES = [
    *STORES,
    pytest.param(_sqlite(batch_ops_max=1), id="sqlite-commit-per-op"),
]
"""Backends plus variants whose concurrency control differs (no group commit)."""
