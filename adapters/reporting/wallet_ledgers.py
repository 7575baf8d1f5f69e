"""Reconciliation's wallet ledger reader, chosen by the wallet URL's scheme as the wallet
itself is: SQLite (the file, read-only) or Redis, one server or a cluster (the records'
hashes, walked with read-only commands)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from adapters.reporting.wallet_ledger_reader import SqliteWalletLedger
from adapters.reporting.wallet_logs import WalletLogUnsupported, unsupported_reason, wallet_file
from adapters.reporting.wallet_redis_ledger import RedisWalletLedger
from adapters.stores.redis_url import CLUSTER_SCHEME, SCHEME
from core.reporting.wallet_ledger import WalletLedger

__all__ = ["open_wallet_ledger"]


async def open_wallet_ledger(url: str, *, data_dir: Path) -> WalletLedger:
    """The ledger of the wallet `url` names (empty: the default), read-only.

    `WalletLogUnsupported` for a backend without a reader (`unsupported_reason` says
    which); `ValueError` for a malformed Redis URL, `ConnectionError` when a cluster
    cannot be reached. A missing wallet file shows on the first read."""
    reason = unsupported_reason(url)
    if reason is not None:
        raise WalletLogUnsupported(reason)
    if urlsplit(url).scheme in (SCHEME, CLUSTER_SCHEME):
        return await RedisWalletLedger.open(url)
    return SqliteWalletLedger(wallet_file(url, data_dir=data_dir))
