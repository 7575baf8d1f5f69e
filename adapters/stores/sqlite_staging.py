"""What a group commit will write: rows staged per table, written in bulk by `flush`.

Lists are append-only, so undoing a job of several commands that was refused is
truncating them back to the marks taken when it began. Rounds are keyed (one row per
round), set by the ledger through its undo log. Balances are not staged: they reach
`accounts` with the next snapshot (`sqlite_snapshot`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from adapters.stores.sqlite_schema import TX_INSERT, round_to_row
from core.wallet.records import RoundRecord

__all__ = ["StagedWrites"]

_UPDATE_STATUS = "UPDATE txs SET status = ? WHERE seq = ?"  # by rowid: no index search
_INSERT_ENTRY = "INSERT INTO entries (seq, account, currency, amount_minor) VALUES (?, ?, ?, ?)"
_UPSERT_ROUND = "INSERT OR REPLACE INTO rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_OUTBOX = "INSERT INTO outbox (first_seq, last_seq) VALUES (?, ?)"


class StagedWrites:
    """Rows waiting for the next flush. Writer thread only."""

    __slots__ = (
        "_marks",
        "entry_rows",
        "round_rows",
        "status_rows",
        "tx_rows",
    )

    def __init__(self) -> None:
        self.tx_rows: list[tuple[Any, ...]] = []
        self.status_rows: list[tuple[str, int]] = []
        self.entry_rows: list[tuple[int, str, str, int]] = []
        self.round_rows: dict[tuple[str, str], RoundRecord] = {}
        """Last state of each round written in this batch (one upsert per round)."""
        self._marks = (0, 0, 0)

    def mark(self) -> None:
        """Remember where the current command's rows start."""
        self._marks = (len(self.tx_rows), len(self.status_rows), len(self.entry_rows))

    def truncate_to_mark(self) -> None:
        """Drop the rows the current command appended (its keyed entries are undone apart)."""
        tx_mark, status_mark, entry_mark = self._marks
        del self.tx_rows[tx_mark:]
        del self.status_rows[status_mark:]
        del self.entry_rows[entry_mark:]

    def flush(self, conn: sqlite3.Connection) -> None:
        """Write everything, one `executemany` per table, inside the open transaction.

        Cleared only once every statement succeeded; if one fails the caller rolls the
        transaction (or the command's savepoint) back and undoes the command.
        """
        if self.tx_rows:
            conn.executemany(TX_INSERT, self.tx_rows)
            conn.execute(_INSERT_OUTBOX, (self.tx_rows[0][0], self.tx_rows[-1][0]))
        if self.status_rows:
            conn.executemany(_UPDATE_STATUS, self.status_rows)
        if self.entry_rows:
            conn.executemany(_INSERT_ENTRY, self.entry_rows)
        if self.round_rows:
            conn.executemany(_UPSERT_ROUND, map(round_to_row, self.round_rows.values()))
        self.clear()

    def clear(self) -> None:
        self.tx_rows.clear()
        self.status_rows.clear()
        self.entry_rows.clear()
        self.round_rows.clear()
        self._marks = (0, 0, 0)
