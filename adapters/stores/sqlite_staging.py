"""What a group commit will write: rows staged per table, written in bulk by `flush`.

Only decided jobs stage rows (`core.wallet.step` decides a job whole before the ledger
stages its writes), so nothing staged is ever taken back short of a rollback of the
transaction, after which the ledger reloads. Rounds and play figures are keyed (one row
per round or player, its last state). Balances are not staged: they reach `accounts`
with the next snapshot (`sqlite_snapshot`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from adapters.stores.sqlite_figures import write_figures
from adapters.stores.sqlite_schema import TX_INSERT, round_to_row
from core.wallet.figures import PlayFigures
from core.wallet.records import RoundRecord

__all__ = ["StagedWrites"]

_UPDATE_STATUS = "UPDATE txs SET status = ? WHERE seq = ?"  # by rowid: no index search
_INSERT_ENTRY = "INSERT INTO entries (seq, account, currency, amount_minor) VALUES (?, ?, ?, ?)"
_UPSERT_ROUND = "INSERT OR REPLACE INTO rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_OUTBOX = "INSERT INTO outbox (first_seq, last_seq) VALUES (?, ?)"


class StagedWrites:
    """Rows waiting for the next flush. Writer thread only."""

    __slots__ = ("entry_rows", "figures", "round_rows", "status_rows", "tx_rows")

    def __init__(self) -> None:
        self.tx_rows: list[tuple[Any, ...]] = []
        self.status_rows: list[tuple[str, int]] = []
        self.entry_rows: list[tuple[int, str, str, int]] = []
        self.round_rows: dict[tuple[str, str], RoundRecord] = {}
        """Last state of each round written in this batch (one upsert per round)."""
        self.figures: dict[str, PlayFigures] = {}
        """Last figures of each player moved in this batch (one upsert per player)."""

    def flush(self, conn: sqlite3.Connection) -> None:
        """Write everything, one `executemany` per table, inside the open transaction.

        Cleared only once every statement succeeded; if one fails the caller rolls the
        transaction (or the job's savepoint) back and the ledger reloads.
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
        if self.figures:
            write_figures(conn, self.figures)
        self.clear()

    def clear(self) -> None:
        self.tx_rows.clear()
        self.status_rows.clear()
        self.entry_rows.clear()
        self.round_rows.clear()
        self.figures.clear()
