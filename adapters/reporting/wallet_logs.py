"""The relay's wallet reader, chosen by the wallet URL's scheme, as the wallet itself is.

SQLite (the file, read-only) and Redis, one server or a cluster (the outbox streams, one
per hash-slot group, read with a stream position per group:
`adapters.reporting.wallet_redis_reader`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from adapters.reporting.wallet_redis_reader import RedisWalletLog
from adapters.reporting.wallet_sqlite_reader import SqliteWalletLog
from adapters.stores.open import DEFAULT_WALLET_URL
from adapters.stores.redis_url import CLUSTER_SCHEME, SCHEME
from adapters.stores.sqlite_backend import sqlite_path
from core.reporting.wallet_log import WalletLog

__all__ = [
    "WalletLogUnsupported",
    "open_wallet_log",
    "unsupported_reason",
    "wallet_file",
]

_REDIS_SCHEMES = frozenset({SCHEME, CLUSTER_SCHEME})
_READABLE_SCHEMES = frozenset({"sqlite", *_REDIS_SCHEMES})


class WalletLogUnsupported(Exception):
    """The relay (and reconciliation) has no reader for this wallet backend yet."""


def unsupported_reason(url: str) -> str | None:
    """Why the relay cannot read the wallet `url` names (empty: the default), or None
    if it can. Nothing is opened."""
    scheme = urlsplit(url or DEFAULT_WALLET_URL).scheme
    if scheme in _READABLE_SCHEMES:
        return None
    return f"the relay cannot read a {scheme} wallet (only sqlite, redis and redis+cluster)"


async def open_wallet_log(url: str, *, data_dir: Path) -> WalletLog:
    """The committed log of the wallet `url` names (empty: the default), read-only.

    `WalletLogUnsupported` for a backend without a reader; `sqlite3.Error` or
    `RuntimeError` when the wallet cannot be read (no file yet, another schema);
    `ConnectionError` when a Redis wallet cannot be reached."""
    reason = unsupported_reason(url)
    if reason is not None:
        raise WalletLogUnsupported(reason)
    if urlsplit(url).scheme in _REDIS_SCHEMES:
        return await RedisWalletLog.open(url)
    return await SqliteWalletLog.open(wallet_file(url, data_dir=data_dir))


def wallet_file(url: str, *, data_dir: Path) -> Path:
    """The wallet file the SQLite readers open read-only (for a `sqlite` URL), so the
    gateway never names a wallet backend itself."""
    return sqlite_path(url or DEFAULT_WALLET_URL, data_dir)
