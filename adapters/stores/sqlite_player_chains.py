"""Each player's transactions as a chain: the newest seq (the head) and a pointer back.

Why not an index on `txs (player_id, seq)`: players are spread over its whole key
space, so nearly every transaction inserted into a different leaf page, and each of
those pages was one more WAL frame in its commit (10-19 % of the wallet's throughput
on `bench_wallet`). A chain pointer is a column of the row being written anyway.

The heads live in memory (writer thread only) and reach `player_heads` with each
snapshot (`sqlite_snapshot`); the txs after the snapshot are read back by `load_tail`.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from typing import Any

from adapters.stores.sqlite_prefetch import select_in

__all__ = ["NO_TX", "PlayerChains"]

NO_TX = 0
"""The head of a player with no transaction (seqs start at 1)."""

_SELECT_TAIL = "SELECT seq, player_id FROM txs WHERE seq > ? ORDER BY seq"
_SELECT_HEADS = "SELECT player_id, last_seq FROM player_heads WHERE player_id IN ({marks})"
_UPSERT_HEAD = (
    "INSERT INTO player_heads (player_id, last_seq) VALUES (?, ?) "
    "ON CONFLICT (player_id) DO UPDATE SET last_seq = excluded.last_seq"
)


class PlayerChains:
    """The head of every player's chain this process has seen. Writer thread only."""

    __slots__ = ("_conn", "heads", "moved")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.heads: OrderedDict[str, int] = OrderedDict()
        """Player id -> newest seq (`NO_TX`: none), moved by the ledger as it stages records."""
        self.moved: set[str] = set()
        """Players whose head moved since the snapshot (the ledger adds to it)."""

    def load_tail(self, snapshot_seq: int) -> None:
        """Forget every head and read the transactions after the snapshot."""
        self.heads.clear()
        self.moved.clear()
        heads, moved = self.heads, self.moved
        for seq, player_id in self._conn.execute(_SELECT_TAIL, (snapshot_seq,)):
            heads[player_id] = seq
            moved.add(player_id)

    def head(self, player_id: str) -> int:
        """The player's newest seq, or `NO_TX`."""
        head = self.heads.get(player_id)
        if head is None:
            row = self._conn.execute(
                "SELECT last_seq FROM player_heads WHERE player_id = ?", (player_id,)
            ).fetchone()
            head = self.heads[player_id] = NO_TX if row is None else row[0]
        return head

    def prefetch(self, player_ids: set[str]) -> None:
        """Load the heads of a batch's players with one query per chunk."""
        heads = self.heads
        wanted = [player_id for player_id in player_ids if player_id not in heads]
        for player_id in wanted:
            heads[player_id] = NO_TX
        for player_id, last_seq in select_in(self._conn, _SELECT_HEADS, wanted):
            heads[player_id] = last_seq

    def trim(self, entries_max: int) -> None:
        """Forget the oldest heads beyond `entries_max`, except those only in memory
        (moved since the snapshot): the others are read again from `player_heads`."""
        heads, moved = self.heads, self.moved
        for _ in range(len(heads) - entries_max):
            player_id, head = heads.popitem(last=False)
            if player_id in moved:
                heads[player_id] = head  # back at the end: kept

    def write(self) -> None:
        """Write the heads that moved (part of a snapshot, inside its transaction)."""
        heads = self.heads
        rows: list[tuple[Any, ...]] = sorted(  # in key order: each page is visited once
            (player_id, heads[player_id])
            for player_id in self.moved
            if heads.get(player_id, NO_TX) != NO_TX
        )
        self._conn.executemany(_UPSERT_HEAD, rows)
        self.moved.clear()
