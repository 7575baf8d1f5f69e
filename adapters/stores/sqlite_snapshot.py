"""What the ledger derives from its log, written to the database in bulk now and then.

Account balances (`accounts`) and the heads of the players' chains (`player_heads`)
are sums and pointers over the append-only log (`entries`, `txs`), which every commit
writes durably. Written with every commit, they cost one random page each per
transaction: the balances of the players of a group commit are spread over the whole
`accounts` table, so nearly every one of its pages went into every commit's WAL.
Instead the writer keeps them in memory, exact, and writes a snapshot once
`SNAPSHOT_TXS_MIN` transactions have been logged since the last one (or sooner, once
`SNAPSHOT_ROWS_MAX` rows wait), in the same transaction as the log rows. meta's
`snapshot_through_seq` says which transactions the tables cover; at start-up and after
a failed batch `load` reads the rest back (at most about that many transactions:
~0.1 s). An active account costs one row write per snapshot instead of one per
transaction.
"""

from __future__ import annotations

import sqlite3

from adapters.stores.sqlite_player_chains import PlayerChains
from adapters.stores.sqlite_schema import SNAPSHOT_SEQ_KEY, meta_int

__all__ = ["SNAPSHOT_ROWS_MAX", "SNAPSHOT_TXS_MIN", "Snapshot"]

SNAPSHOT_TXS_MIN = 65_536
"""Transactions between two snapshots: also the most read back at start-up."""
SNAPSHOT_ROWS_MAX = 32_768
"""A snapshot is written sooner once this many balances and heads wait: it bounds the
commit a snapshot holds up (~1.3 µs a row, ~40 ms) and the state held in memory, however
many players are active."""

_ADD_TO_ACCOUNT = (
    "INSERT INTO accounts (account, currency, balance_minor) VALUES (?, ?, ?) "
    "ON CONFLICT (account, currency) DO UPDATE "
    "SET balance_minor = balance_minor + excluded.balance_minor"
)
_SELECT_ENTRIES_TAIL = (
    "SELECT account, currency, SUM(amount_minor) FROM entries WHERE rowid >= ? "
    "GROUP BY account, currency"
)
_FIRST_SEQ_FROM = "SELECT seq FROM entries WHERE rowid >= ? ORDER BY rowid LIMIT 1"
_SET_META = "UPDATE meta SET value = ? WHERE key = ?"


class Snapshot:
    """The log's derived state since the last snapshot, and when to write the next."""

    __slots__ = ("_conn", "_rows_max", "_txs_min", "account_deltas", "chains", "seq")

    def __init__(
        self,
        conn: sqlite3.Connection,
        chains: PlayerChains,
        txs_min: int = SNAPSHOT_TXS_MIN,
        rows_max: int = SNAPSHOT_ROWS_MAX,
    ) -> None:
        assert txs_min >= 1
        assert rows_max >= 1
        self._conn = conn
        self._txs_min = txs_min
        self._rows_max = rows_max
        self.chains = chains
        self.account_deltas: dict[tuple[str, str], int] = {}
        """Balance change per (account, currency) since the snapshot: what `accounts`
        lacks. The ledger adds to it as it stages entries."""
        self.seq = 0
        """The last seq the snapshot covers."""

    def load(self) -> None:
        """Forget the in-memory state and rebuild it from the log after the snapshot."""
        seq = meta_int(self._conn, SNAPSHOT_SEQ_KEY)
        assert seq is not None, "every schema 3 file has its snapshot's seq"
        self.seq = seq
        self.chains.load_tail(self.seq)
        deltas = self.account_deltas
        deltas.clear()
        first = _first_entry_after(self._conn, self.seq)
        for account, currency, total in self._conn.execute(_SELECT_ENTRIES_TAIL, (first,)):
            deltas[(account, currency)] = total

    def write_if_due(self, last_seq: int) -> None:
        """Write the snapshot once enough transactions passed or rows wait; inside the
        open transaction and after the batch's log rows (whose entries it then covers)."""
        waiting_rows = len(self.account_deltas) + len(self.chains.moved)
        if last_seq - self.seq < self._txs_min and waiting_rows < self._rows_max:
            return
        conn = self._conn
        conn.executemany(
            _ADD_TO_ACCOUNT, [(a, c, d) for (a, c), d in sorted(self.account_deltas.items()) if d]
        )
        self.chains.write()
        conn.execute(_SET_META, (str(last_seq), SNAPSHOT_SEQ_KEY))
        self.account_deltas.clear()
        self.seq = last_seq


def _first_entry_after(conn: sqlite3.Connection, seq: int) -> int:
    """The rowid of the first entry of a transaction after `seq` (past the last entry if
    none), by binary search: entries are appended in seq order, and even a VACUUM, which
    renumbers a table without an INTEGER PRIMARY KEY, keeps their order. (There is no
    index on `entries.seq`: it would cost every entry an insert.)"""
    (last,) = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM entries").fetchone()
    low, high = 1, last + 1
    while low < high:
        middle = (low + high) // 2
        (found,) = conn.execute(_FIRST_SEQ_FROM, (middle,)).fetchone()
        if found > seq:
            high = middle
        else:
            low = middle + 1
    return low
