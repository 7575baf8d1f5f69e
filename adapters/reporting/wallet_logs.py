"""The relay's wallet reader, chosen by the wallet URL's scheme, as the wallet itself is.

SQLite for now; a Redis reader (the outbox streams, one per hash-slot group, read with
a stream cursor per group) is one more `WalletLog` and one more line here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from adapters.reporting.wallet_sqlite_reader import SqliteWalletLog
from adapters.stores.open import DEFAULT_WALLET_URL
from adapters.stores.sqlite_backend import sqlite_path
from core.reporting.wallet_log import WalletLog

__all__ = ["WalletLogUnsupported", "open_wallet_log", "unsupported_reason", "wallet_file"]

_READABLE_SCHEMES = frozenset({"sqlite"})


class WalletLogUnsupported(Exception):
    """The relay has no reader for this wallet backend yet."""


def unsupported_reason(url: str) -> str | None:
    """Why the relay cannot read the wallet `url` names (empty: the default), or None
    if it can. Nothing is opened."""
    scheme = urlsplit(url or DEFAULT_WALLET_URL).scheme
    if scheme in _READABLE_SCHEMES:
        return None
    return f"the relay cannot read a {scheme} wallet yet (only sqlite)"


async def open_wallet_log(url: str, *, data_dir: Path) -> WalletLog:
    """The committed log of the wallet `url` names (empty: the default), read-only.

    `WalletLogUnsupported` for a backend without a reader; `sqlite3.Error` or
    `RuntimeError` when the wallet cannot be read (no file yet, another schema)."""
    reason = unsupported_reason(url)
    if reason is not None:
        raise WalletLogUnsupported(reason)
    return await SqliteWalletLog.open(wallet_file(url, data_dir=data_dir))


def wallet_file(url: str, *, data_dir: Path) -> Path:
    """The wallet file the readers open read-only (`unsupported_reason` None first), so
    the gateway never names a wallet backend itself."""
    return sqlite_path(url or DEFAULT_WALLET_URL, data_dir)
