"""Reconciliation, pure: two views of the same money, and every place they differ.

Two checks:

- `compare_day_sums`: the reporting store's events against the wallet's ledger entries,
  per UTC day and currency, real and bonus money apart. Both sides are sums of the
  players' deltas over the same seqs (the ledger's up to the store's cursor), so they
  must be equal to the minor unit; any other answer is a difference.
- `compare_statement`: a provider's statement (`core.reporting.statement`) against the
  wallet's transactions of that provider instance, by transaction id (the wallet's
  `UNIQUE (provider, tx_id)` makes this a join). One `Difference` per disagreement, with
  its `DifferenceKind`; a transaction that differs in two ways gives two rows. Zero
  tolerance: amounts are compared in minor units of the transaction's currency.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from core.money import CurrencyTable, format_minor
from core.reporting.statement import StatementRow
from core.reporting.store import DaySum

__all__ = [
    "BOOKED_STATUSES",
    "Difference",
    "DifferenceKind",
    "LedgerTx",
    "SumDifference",
    "compare_day_sums",
    "compare_statement",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SumDifference(NamedTuple):
    day: date
    currency: str
    store_real_minor: int
    ledger_real_minor: int
    store_bonus_minor: int
    ledger_bonus_minor: int


def compare_day_sums(store: Iterable[DaySum], ledger: Iterable[DaySum]) -> list[SumDifference]:
    """The (day, currency) pairs whose sums differ (a side without the pair: 0), in order."""
    ours = {(s.day, s.currency): (s.real_minor, s.bonus_minor) for s in store}
    theirs = {(s.day, s.currency): (s.real_minor, s.bonus_minor) for s in ledger}
    differences = []
    for key in sorted(ours.keys() | theirs.keys()):
        mine, other = ours.get(key, (0, 0)), theirs.get(key, (0, 0))
        if mine != other:
            differences.append(SumDifference(*key, mine[0], other[0], mine[1], other[1]))
    return differences


class DifferenceKind(enum.StrEnum):
    MISSING_IN_LEDGER = "missing_in_ledger"
    """The statement has the id; the wallet never saw it."""
    MISSING_IN_STATEMENT = "missing_in_statement"
    """The wallet booked it in the statement's days; the statement does not list it."""
    DUPLICATE_IN_STATEMENT = "duplicate_in_statement"
    TYPE_MISMATCH = "type_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    STATUS_MISMATCH = "status_mismatch"
    """Rolled back on one side only, or booked by one side and refused by the wallet."""
    DAY_MISMATCH = "day_mismatch"
    """Same transaction, another UTC day: a provider cutting days in its own time zone."""


class LedgerTx(NamedTuple):
    """A wallet transaction in the statement's terms."""

    tx_id: str
    type: str
    """`bet`, `win` or `rollback`."""
    status: str
    """`ok` (applied or settled), `rolled_back`, `refused` or `tombstone`."""
    amount_minor: int
    """A rollback's: what it gave back (the size of its deltas)."""
    currency: str
    at_us: int


BOOKED_STATUSES = frozenset({"ok", "rolled_back"})
"""Ledger transactions a statement must list; refused ones and tombstones moved nothing."""


class Difference(NamedTuple):
    kind: DifferenceKind
    tx_id: str
    statement: str
    """The statement's value ('' where it has none); the line is in `line`."""
    ledger: str
    line: int
    """The statement line (0: the statement has no row for it)."""


def compare_statement(
    statement: Sequence[StatementRow],
    ledger: Iterable[LedgerTx],
    window_us: tuple[int, int],
    currencies: CurrencyTable,
) -> list[Difference]:
    """Every difference between `statement` and the provider's `ledger` transactions,
    ordered by kind of check as found: statement rows in file order, then the ledger's
    missing ones by time and id. `ledger` holds the transactions in `window_us` (start
    inclusive, end exclusive) and any other the statement names; only those in the
    window can be missing from the statement."""
    by_id = {tx.tx_id: tx for tx in ledger}
    differences: list[Difference] = []
    seen: set[str] = set()
    for row in statement:
        if row.tx_id in seen:
            differences.append(_diff(DifferenceKind.DUPLICATE_IN_STATEMENT, row, "", ""))
            continue
        seen.add(row.tx_id)
        tx = by_id.get(row.tx_id)
        if tx is None:
            differences.append(_diff(DifferenceKind.MISSING_IN_LEDGER, row, row.type, ""))
            continue
        differences.extend(_compare(row, tx, currencies))
    start_us, end_us = window_us
    missing = sorted(
        (tx for tx in by_id.values()
         if tx.tx_id not in seen and tx.status in BOOKED_STATUSES
         and start_us <= tx.at_us < end_us),
        key=lambda tx: (tx.at_us, tx.tx_id),
    )  # fmt: skip
    differences.extend(
        Difference(DifferenceKind.MISSING_IN_STATEMENT, tx.tx_id, "",
                   f"{tx.type} {_amount(tx.amount_minor, tx.currency, currencies)}", 0)
        for tx in missing
    )  # fmt: skip
    return differences


def _compare(row: StatementRow, tx: LedgerTx, currencies: CurrencyTable) -> list[Difference]:
    found = []
    if row.type != tx.type:
        found.append(_diff(DifferenceKind.TYPE_MISMATCH, row, row.type, tx.type))
    if row.currency != tx.currency:
        found.append(_diff(DifferenceKind.CURRENCY_MISMATCH, row, row.currency, tx.currency))
    if row.amount_minor != tx.amount_minor:
        found.append(_diff(
            DifferenceKind.AMOUNT_MISMATCH, row,
            _amount(row.amount_minor, row.currency, currencies),
            _amount(tx.amount_minor, tx.currency, currencies),
        ))  # fmt: skip
    if row.status != tx.status:
        found.append(_diff(DifferenceKind.STATUS_MISMATCH, row, row.status, tx.status))
    if _day(row.at_us) != _day(tx.at_us):
        found.append(_diff(DifferenceKind.DAY_MISMATCH, row, str(_day(row.at_us)),
                           str(_day(tx.at_us))))  # fmt: skip
    return found


def _diff(kind: DifferenceKind, row: StatementRow, statement: str, ledger: str) -> Difference:
    return Difference(kind, row.tx_id, statement, ledger, row.line)


def _amount(amount_minor: int, currency: str, currencies: CurrencyTable) -> str:
    if currency not in currencies:
        return f"{amount_minor} minor {currency}".rstrip()
    return f"{format_minor(amount_minor, currencies.get(currency))} {currency}"


def _day(at_us: int) -> date:
    return (_EPOCH + timedelta(microseconds=at_us)).date()
