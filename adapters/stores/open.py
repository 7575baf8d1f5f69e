"""The wallet backend by URL scheme: `open_wallet_store(url)`, `verify_wallet_store(url)`.

Nothing outside `adapters.stores` names a backend: the gateway hands over `wallet.url`
and the data directory, and the scheme picks the backend from `BACKENDS`. A new backend
is one module that defines a `Backend` (`adapters.stores.backend`) and one line per
scheme in `BACKENDS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.stores.backend import Backend, WalletAccessError, WalletReport
from adapters.stores.redis_backend import REDIS
from adapters.stores.sqlite_backend import SQLITE
from core.wallet.store import WalletStore

__all__ = [
    "BACKENDS",
    "DEFAULT_WALLET_URL",
    "WalletAccessError",
    "WalletReport",
    "check_wallet_url",
    "open_wallet_store",
    "verify_wallet_store",
    "wall_clock_us",
]

BACKENDS: dict[str, Backend] = {
    "sqlite": SQLITE,
    "redis": REDIS,
    "redis+cluster": REDIS,
}
"""URL scheme -> backend."""

DEFAULT_WALLET_URL = "sqlite:wallet.db"
"""The wallet an empty URL means: the embedded one, `wallet.db` in the data directory."""


def wall_clock_us() -> int:
    """Microseconds since the epoch: the time a store stamps its records with."""
    return time.time_ns() // 1_000


def check_wallet_url(url: str) -> None:
    """Raise `ValueError`, for a person, unless `url` (empty: the default) can name a
    wallet of a known backend. Nothing is opened."""
    backend, url = _backend(url)
    backend.check_url(url)


async def open_wallet_store(
    url: str, *, data_dir: Path, clock_us: Callable[[], int] = wall_clock_us, **options: Any
) -> WalletStore:
    """Open the wallet `url` names (empty: the default) with its backend's `open`.

    `options` go to the backend, which takes those it knows (`adapters.stores.backend`).
    Raises `ValueError` for a URL no backend takes, `WalletAccessError` when the wallet
    cannot be opened."""
    backend, url = _backend(url)
    backend.check_url(url)
    return await backend.open(url, data_dir=data_dir, clock_us=clock_us, **options)


def verify_wallet_store(
    url: str, *, data_dir: Path, currencies_extra: Mapping[str, int] | None = None
) -> WalletReport:
    """Reconcile the wallet `url` names (empty: the default), without writing to it.

    Raises `ValueError` for a URL no backend takes, `WalletAccessError` when there is no
    wallet there or it cannot be read."""
    backend, url = _backend(url)
    backend.check_url(url)
    return backend.verify(url, data_dir=data_dir, currencies_extra=currencies_extra or {})


def _backend(url: str) -> tuple[Backend, str]:
    url = url or DEFAULT_WALLET_URL
    scheme = urlsplit(url).scheme
    backend = BACKENDS.get(scheme)
    if backend is None:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unsupported wallet URL scheme {scheme!r} (supported: {known})")
    return backend, url
