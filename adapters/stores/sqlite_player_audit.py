"""Changes to a player's account and their audit trail (`player_audit`), in SQL.

A change runs in the writer thread like a money job: inside the batch's transaction
(or the job's savepoint when the writer isolates), so the new player row and its audit
entry commit together, durably, before the caller is answered. The trail is
append-only: nothing here updates or deletes an entry, and the table's triggers refuse
anyone who tries. Rare writes, so plain statements and no staging.
"""

from __future__ import annotations

import sqlite3

from adapters.stores.sqlite_schema import PLAYER_REPLACE, player_to_row
from core.errors import PlayerNotFound
from core.wallet.records import PlayerRecord
from core.wallet.store import PlayerAuditEntry, PlayerChange

__all__ = ["apply_player_change", "read_player_audit"]

_COLUMNS = "seq, player_id, at_us, actor, action, why, before, after"
_INSERT = (
    "INSERT INTO player_audit (player_id, at_us, actor, action, why, before, after) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_NEWEST = (
    f"SELECT {_COLUMNS} FROM player_audit WHERE player_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
)
_NO_CURSOR = 2**63 - 1
"""`before_seq` when none is given: above every seq SQLite hands out."""


def apply_player_change(
    conn: sqlite3.Connection,
    stored: PlayerRecord | None,
    player_id: str,
    change: PlayerChange,
    now_us: int,
    actor: str,
    why: str,
) -> PlayerRecord:
    """Run `change` on the stored player; write the result and its audit entry unless
    it is unchanged. A refusal (`GatewayError`) propagates before anything is written."""
    if stored is None:
        raise PlayerNotFound(f"unknown player {player_id!r}")
    changed, action, before, after = change(stored, now_us)
    if changed == stored:
        return stored
    assert (changed.player_id, changed.currency) == (player_id, stored.currency), (
        "a change keeps the player's id and wallet currency (the balance caches' keys)"
    )
    conn.execute(PLAYER_REPLACE, player_to_row(changed))
    conn.execute(_INSERT, (player_id, now_us, actor, action, why, before, after))
    return changed


def read_player_audit(
    conn: sqlite3.Connection, player_id: str, limit: int, before_seq: int | None
) -> list[PlayerAuditEntry]:
    """Newest first; `before_seq`: only entries older than it (the page cursor)."""
    cursor = _NO_CURSOR if before_seq is None else before_seq
    rows = conn.execute(_SELECT_NEWEST, (player_id, cursor, limit)).fetchall()
    return [PlayerAuditEntry._make(row) for row in rows]
