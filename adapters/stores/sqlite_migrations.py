"""Conversions of wallet files written by older builds, run by the store when it opens one.

Each step is one transaction: a crash during it leaves the file at the version before,
and the next start converts it again. Each step creates its tables with its own DDL,
not the current schema's, so that a later version's changes cannot alter an old step.
"""

from __future__ import annotations

import sqlite3

import structlog

from adapters.stores.sqlite_schema import (
    SNAPSHOT_SEQ_KEY,
    TX_COLUMNS,
    schema_version,
    token_digest,
    tx_from_row,
)
from core.wallet.chain import GENESIS_HASH, link_hash

__all__ = ["migrate", "migrate_2_to_3", "migrate_3_to_4", "migrate_4_to_5", "migrate_5_to_6"]

_log = structlog.get_logger("gamegate.sqlite")

RELINK_CHUNK_ROWS = 2_000
"""Transactions read and relinked at a time, so a long log is converted in flat memory."""
_DIGEST_FUNCTION = "gamegate_token_digest"


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a file of an older version up to the current one, step by step. A new file
    (no version) and a current one are left alone: `create_schema` creates or checks."""
    version = schema_version(conn)
    if version == 2:
        migrate_2_to_3(conn)
        version = 3
    if version == 3:
        migrate_3_to_4(conn)
        version = 4
    if version == 4:
        migrate_4_to_5(conn)
        version = 5
    if version == 5:
        migrate_5_to_6(conn)


def migrate_2_to_3(conn: sqlite3.Connection) -> None:
    """Link each player's transactions into a chain, drop the per-player index, and
    mark `accounts` and the new `player_heads` as a snapshot of the whole log.

    One transaction: a crash leaves the file at version 2, and the next start migrates
    again. The hash chain does not cover the new column, so no link changes.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ALTER TABLE txs ADD COLUMN prev_player_seq INTEGER")
        conn.execute(
            "UPDATE txs SET prev_player_seq = chained.prev FROM ("
            " SELECT seq, LAG(seq) OVER (PARTITION BY player_id ORDER BY seq) AS prev FROM txs"
            ") AS chained WHERE txs.seq = chained.seq"
        )
        conn.execute(
            "CREATE TABLE player_heads (player_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL)"
            " WITHOUT ROWID"
        )
        conn.execute(
            "INSERT INTO player_heads SELECT player_id, MAX(seq) FROM txs GROUP BY player_id"
        )
        conn.execute(  # version 2 kept accounts current: they cover the whole log
            "INSERT INTO meta (key, value) SELECT ?, COALESCE(MAX(seq), 0) FROM txs",
            (SNAPSHOT_SEQ_KEY,),
        )
        conn.execute("DROP INDEX txs_by_player")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def migrate_3_to_4(conn: sqlite3.Connection) -> None:
    """Key sessions by their token's digest, and give every transaction a currency.

    Version 3 kept session tokens in clear, and stored refused and tombstone rollbacks
    (and their tombstones) with currency '', which the history could not render. With
    `secure_delete` on, the pages that held clear tokens are zeroed as they are freed;
    the TRUNCATE checkpoint afterwards leaves no copy of them in the WAL either.
    """
    secure_delete = int(conn.execute("PRAGMA secure_delete").fetchone()[0])
    conn.execute("PRAGMA secure_delete = ON")
    conn.create_function(_DIGEST_FUNCTION, 1, token_digest, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        _key_sessions_by_digest(conn)
        repaired = _fill_in_currencies(conn)
        _relink(conn, repaired)
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.create_function(_DIGEST_FUNCTION, 1, None)
        conn.execute(f"PRAGMA secure_delete = {secure_delete}")
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:  # a reader (gamegate verify) held old frames; the next checkpoint copies them
        _log.warning("wallet_migration_checkpoint_busy")


def migrate_4_to_5(conn: sqlite3.Connection) -> None:
    """Record on each session the device its game was launched on. Sessions opened
    before are of an unknown device: ''. One transaction, and no row is rewritten:
    SQLite reads the default for rows stored before the column was added."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ALTER TABLE sessions ADD COLUMN device TEXT NOT NULL DEFAULT ''")
        conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


_PLAYERS_V6 = """
CREATE TABLE players_v6 (
    player_id TEXT PRIMARY KEY, brand TEXT NOT NULL, jurisdiction TEXT NOT NULL,
    currency TEXT NOT NULL, date_of_birth TEXT NOT NULL, status TEXT NOT NULL,
    funding_order TEXT NOT NULL, kyc TEXT NOT NULL, kyc_changed_at_us INTEGER,
    status_until_us INTEGER, limits TEXT NOT NULL, identity TEXT NOT NULL
) WITHOUT ROWID
"""
_TABLES_V6 = (
    "CREATE TABLE player_figures (player_id TEXT PRIMARY KEY,"
    " day_start_day INTEGER NOT NULL, day_deposited_minor INTEGER NOT NULL,"
    " day_wagered_minor INTEGER NOT NULL, day_lost_minor INTEGER NOT NULL,"
    " day_played_us INTEGER NOT NULL, week_start_day INTEGER NOT NULL,"
    " week_deposited_minor INTEGER NOT NULL, week_wagered_minor INTEGER NOT NULL,"
    " week_lost_minor INTEGER NOT NULL, week_played_us INTEGER NOT NULL,"
    " month_start_day INTEGER NOT NULL, month_deposited_minor INTEGER NOT NULL,"
    " month_wagered_minor INTEGER NOT NULL, month_lost_minor INTEGER NOT NULL,"
    " month_played_us INTEGER NOT NULL,"
    " last_bet_us INTEGER, cycle_starts TEXT NOT NULL, deposited_total_minor INTEGER NOT NULL"
    ") WITHOUT ROWID",
    "CREATE TABLE player_audit (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " player_id TEXT NOT NULL, at_us INTEGER NOT NULL, actor TEXT NOT NULL,"
    " action TEXT NOT NULL, why TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL)",
    "CREATE INDEX player_audit_by_player ON player_audit (player_id, seq)",
    "CREATE TRIGGER player_audit_no_update BEFORE UPDATE ON player_audit"
    " BEGIN SELECT RAISE(ABORT, 'player_audit is append-only'); END",
    "CREATE TRIGGER player_audit_no_delete BEFORE DELETE ON player_audit"
    " BEGIN SELECT RAISE(ABORT, 'player_audit is append-only'); END",
)


def migrate_5_to_6(conn: sqlite3.Connection) -> None:
    """Give players a KYC state, a status end, limits and identity; sessions a vertical and
    a reality-check interval (0: none); add the play figures and the player audit trail.

    `kyc_verified` 1 is `verified` (when is unknown: NULL), 0 is `none`; status
    `blocked` is `suspended`. The players table is copied into one of the new layout
    (as a new file has it, not `kyc_verified` dropped and columns appended with
    defaults); one transaction. Figures start empty: the step counts from the first
    movement after the migration (`NO_FIGURES`), as for a new player.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_PLAYERS_V6)
        conn.execute(
            "INSERT INTO players_v6 SELECT player_id, brand, jurisdiction, currency,"
            " date_of_birth, CASE status WHEN 'blocked' THEN 'suspended' ELSE status END,"
            " funding_order, CASE WHEN kyc_verified THEN 'verified' ELSE 'none' END,"
            " NULL, NULL, '', '[]' FROM players"
        )
        conn.execute("DROP TABLE players")
        conn.execute("ALTER TABLE players_v6 RENAME TO players")
        conn.execute("ALTER TABLE sessions ADD COLUMN vertical TEXT NOT NULL DEFAULT ''")
        conn.execute("ALTER TABLE sessions ADD COLUMN reality_check_s INTEGER NOT NULL DEFAULT 0")
        for statement in _TABLES_V6:
            conn.execute(statement)
        conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _key_sessions_by_digest(conn: sqlite3.Connection) -> None:
    """A new table of digests, and the old one dropped whole: its pages (every copy of a
    clear token, live or stale) are freed, hence zeroed under `secure_delete`."""
    conn.execute(
        "CREATE TABLE sessions_v4 ("
        " token_sha256 TEXT PRIMARY KEY, player_id TEXT NOT NULL, provider TEXT NOT NULL,"
        " game_id TEXT NOT NULL, currency TEXT NOT NULL, expires_at_us INTEGER NOT NULL,"
        " created_at_us INTEGER NOT NULL"
        ") WITHOUT ROWID"
    )
    conn.execute(
        f"INSERT INTO sessions_v4 SELECT {_DIGEST_FUNCTION}(token), player_id, provider,"
        " game_id, currency, expires_at_us, created_at_us FROM sessions"
    )
    conn.execute("DROP TABLE sessions")
    conn.execute("ALTER TABLE sessions_v4 RENAME TO sessions")


def _fill_in_currencies(conn: sqlite3.Connection) -> set[int]:
    """Give each transaction without a currency its player's wallet currency, as this
    version stores it; failing a player row, its referenced transaction's, then its
    round's. Returns the seqs changed; a row none of these names keeps '' (verify names
    it: a person must look at it)."""
    touched = {
        seq
        for (seq,) in conn.execute(
            "UPDATE txs SET currency = COALESCE("
            " (SELECT p.currency FROM players p WHERE p.player_id = txs.player_id),"
            " (SELECT o.currency FROM txs o WHERE o.provider = txs.provider"
            "  AND o.tx_id = txs.ref_tx_id AND o.currency != ''),"
            " (SELECT r.currency FROM rounds r WHERE r.provider = txs.provider"
            "  AND r.round_id = txs.round_id),"
            " '') WHERE currency = '' RETURNING seq"
        ).fetchall()
    }
    left = {seq for (seq,) in conn.execute("SELECT seq FROM txs WHERE currency = ''")}
    if left:
        _log.warning("wallet_migration_rows_without_currency", rows=len(left), first_seq=min(left))
    return touched - left


def _relink(conn: sqlite3.Connection, repaired: set[int]) -> None:
    """Recompute the hash chain from the first repaired row on, over the repaired rows.

    The currency is part of each link. A link that did not recompute before (a row
    changed behind the store's back) keeps its stored hash, so `gamegate verify` still
    reports that break, and only it: the repair must not launder a tampered row. Both
    chains continue from a break as verify does: from the stored hash if it is one.
    Every row after the first repaired one gets a new hash, so the WAL grows by about
    that part of the `txs` table until the checkpoint.
    """
    if not repaired:
        return
    first = min(repaired)
    row = conn.execute("SELECT hash FROM txs WHERE seq = ?", (first - 1,)).fetchone()
    old_previous = new_previous = GENESIS_HASH if row is None else row[0]
    after = first - 1
    while rows := conn.execute(
        f"SELECT {TX_COLUMNS}, hash FROM txs WHERE seq > ? ORDER BY seq LIMIT ?",
        (after, RELINK_CHUNK_ROWS),
    ).fetchall():
        updates: list[tuple[bytes, int]] = []
        for chained in rows:
            record, stored = tx_from_row(chained[:-1]), chained[-1]
            was = record._replace(currency="") if record.seq in repaired else record
            old_expected = link_hash(old_previous, was)
            new_expected = link_hash(new_previous, record)
            if old_expected == stored:
                new_previous = new_expected
                if new_expected != stored:
                    updates.append((new_expected, record.seq))
            else:  # already broken: the stored hash stays, and so does the break
                new_previous = stored if _is_link(stored) else new_expected
            old_previous = stored if _is_link(stored) else old_expected
        conn.executemany("UPDATE txs SET hash = ? WHERE seq = ?", updates)
        after = rows[-1][0]


def _is_link(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == 32
