"""What reconciliation reads from a wallet: its ledger's day sums and a provider's
transactions, read-only, whatever the backend (SQLite file, Redis server or cluster).

One port so `gamegate report reconcile` names no backend; the comparisons themselves are
`core.reporting.reconcile`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from core.model import TxKind, TxStatus
from core.reporting.reconcile import LedgerTx
from core.reporting.store import DaySum

__all__ = ["DAY_US", "WalletLedger", "day_window_us", "ledger_tx"]

DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPES = {TxKind.DEBIT: "bet", TxKind.CREDIT: "win", TxKind.ROLLBACK: "rollback"}
_BOOKED = frozenset({TxStatus.APPLIED, TxStatus.SETTLED})


def day_window_us(first_day: date, last_day: date) -> tuple[int, int]:
    """[start, end) in UTC microseconds of the days `first_day` to `last_day` inclusive."""
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    start_us = (start - _EPOCH) // timedelta(microseconds=1)
    return start_us, start_us + ((last_day - first_day).days + 1) * DAY_US


def ledger_tx(
    tx_id: str,
    kind: TxKind,
    status: TxStatus,
    amount_minor: int,
    real_delta_minor: int,
    bonus_delta_minor: int,
    currency: str,
    at_us: int,
) -> LedgerTx | None:
    """A wallet record in a statement's terms; None for what a statement never lists
    (deposits, withdrawals, bonus grants). A rollback record's amount is 0: its amount
    here is what it moved."""
    type_ = _TYPES.get(kind)
    if type_ is None:
        return None
    if kind is TxKind.ROLLBACK:
        amount_minor = abs(real_delta_minor + bonus_delta_minor)
    shown = "ok" if status in _BOOKED else status.value
    return LedgerTx(tx_id, type_, shown, amount_minor, currency, at_us)


class WalletLedger(Protocol):
    """A wallet's ledger, read-only: never writes, never blocks the wallet."""

    async def day_sums(
        self, first_day: date, last_day: date, through_seq: int, positions: Mapping[str, str]
    ) -> list[DaySum]:
        """The players' entries per UTC day and currency (days inclusive), of the records
        the reporting store holds: up to its cursor `through_seq`, or, for a log read by
        sources (Redis), up to each source's position in `positions` (absent: none)."""
        ...

    async def provider_txs(
        self, provider: str, window_us: tuple[int, int], tx_ids: Sequence[str]
    ) -> list[LedgerTx]:
        """The provider instance's bets, wins and rollbacks written in `window_us`
        ([start, end) UTC us), and those of `tx_ids` outside it."""
        ...

    def describe(self) -> str: ...

    async def close(self) -> None: ...
