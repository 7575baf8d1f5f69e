"""What reconciliation reads from the SQLite wallet: entries per day and a provider's
transactions, through a read-only connection (`mode=ro`: the single-writer rule stands).

Each read is one short read transaction on a worker thread. Offline queries: they scan
(`txs` has no index on time), as the wallet's own `verify` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

from adapters.stores.sqlite_prefetch import select_in
from core.model import TxKind, TxStatus
from core.reporting.reconcile import LedgerTx
from core.reporting.store import DaySum
from core.reporting.wallet_ledger import day_window_us, ledger_tx

__all__ = ["SqliteWalletLedger", "ledger_day_sums", "provider_txs"]

_DAY_SUMS = """
SELECT t.created_at_us / 86400000000 AS day_number, e.currency,
       sum(CASE WHEN e.account LIKE 'player:%:real' THEN e.amount_minor ELSE 0 END),
       sum(CASE WHEN e.account LIKE 'player:%:bonus' THEN e.amount_minor ELSE 0 END)
FROM entries AS e JOIN txs AS t ON t.seq = e.seq
WHERE e.account LIKE 'player:%' AND t.seq <= ? AND t.created_at_us >= ? AND t.created_at_us < ?
GROUP BY day_number, e.currency
"""
_TX_COLUMNS = "tx_id, kind, status, amount_minor, real_delta_minor, bonus_delta_minor, currency, "
_TX_COLUMNS += "created_at_us"
_IN_WINDOW = (
    f"SELECT {_TX_COLUMNS} FROM txs "
    "WHERE provider = ? AND created_at_us >= ? AND created_at_us < ? ORDER BY seq"
)
_BY_ID = f"SELECT {_TX_COLUMNS} FROM txs WHERE provider = ? AND tx_id IN ({{marks}})"


class SqliteWalletLedger:
    """`WalletLedger` on a wallet file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"sqlite {self.path} (read-only)"

    async def day_sums(
        self, first_day: date, last_day: date, through_seq: int, positions: Mapping[str, str]
    ) -> list[DaySum]:
        """`positions` is not used: one sequence, the cursor says what was relayed."""
        return await asyncio.to_thread(ledger_day_sums, self.path, first_day, last_day, through_seq)

    async def provider_txs(
        self, provider: str, window_us: tuple[int, int], tx_ids: Sequence[str]
    ) -> list[LedgerTx]:
        return await asyncio.to_thread(provider_txs, self.path, provider, window_us, tx_ids)

    async def close(self) -> None:
        """Nothing held between reads."""


def ledger_day_sums(
    wallet: Path, first_day: date, last_day: date, through_seq: int
) -> list[DaySum]:
    """The players' entries per UTC day and currency, of the txs up to `through_seq`."""
    with _reading(wallet) as conn:
        rows = conn.execute(_DAY_SUMS, (through_seq, *day_window_us(first_day, last_day)))
        return sorted(
            DaySum(date(1970, 1, 1) + timedelta(days=day_number), currency, int(real), int(bonus))
            for day_number, currency, real, bonus in rows
        )


def provider_txs(
    wallet: Path, provider: str, window_us: tuple[int, int], tx_ids: Sequence[str]
) -> list[LedgerTx]:
    """The provider instance's txs in `window_us` and those of `tx_ids` outside it."""
    with _reading(wallet) as conn:
        found = {row[0]: row for row in conn.execute(_IN_WINDOW, (provider, *window_us))}
        wanted = sorted(set(tx_ids) - found.keys())
        for row in select_in(conn, _BY_ID, wanted, (provider,)):
            found[row[0]] = row
    txs = (_ledger_tx(row) for row in found.values())
    return [tx for tx in txs if tx is not None]


def _ledger_tx(row: tuple[str, str, str, int, int, int, str, int]) -> LedgerTx | None:
    tx_id, kind, status, amount, real, bonus, currency, at_us = row
    return ledger_tx(tx_id, TxKind(kind), TxStatus(status), amount, real, bonus, currency, at_us)


@contextlib.contextmanager
def _reading(wallet: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection holding one read transaction, closed on exit."""
    if not wallet.exists():
        raise FileNotFoundError(f"no wallet file at {wallet}")
    uri = f"file:{urllib.parse.quote(str(wallet))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        conn.execute("BEGIN")
        yield conn
        conn.execute("COMMIT")
    finally:
        conn.close()
