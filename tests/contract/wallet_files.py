"""Wallet files as older builds left them, and raw reads of a wallet file's bytes.

Tests of the store's file-level promises (migrations, what may be on disk) build their
files with the current store and turn them back into what an older build wrote, with
plain SQL: a file of the old version, however this build happens to write it. (The
migration to version 6 is also tested on a file an older build really wrote:
`fixtures/wallet-v5.db`, `VERSION_5_FILE`.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

from adapters.stores.sqlite_schema import TX_COLUMNS, tx_from_row
from core.wallet.chain import GENESIS_HASH, link_hash

__all__ = [
    "VERSION_5_FILE",
    "downgrade_to_version_3",
    "downgrade_to_version_4",
    "downgrade_to_version_5",
    "raw_bytes",
    "relink",
]

WALLET_SUFFIXES = ("", "-wal", "-shm")
VERSION_5_FILE = Path(__file__).parent / "fixtures" / "wallet-v5.db"
"""A wallet written by the store of schema version 5 (see `fixtures/README.md`): copy it
before opening, the store migrates files in place."""

_PLAYERS_V5 = """
CREATE TABLE players_v5 (
    player_id TEXT PRIMARY KEY, brand TEXT NOT NULL, jurisdiction TEXT NOT NULL,
    currency TEXT NOT NULL, date_of_birth TEXT NOT NULL, status TEXT NOT NULL,
    funding_order TEXT NOT NULL, kyc_verified INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO players_v5 SELECT player_id, brand, jurisdiction, currency, date_of_birth,
    CASE status WHEN 'suspended' THEN 'blocked' ELSE status END, funding_order,
    kyc = 'verified' FROM players;
DROP TABLE players;
ALTER TABLE players_v5 RENAME TO players;
ALTER TABLE sessions DROP COLUMN vertical;
ALTER TABLE sessions DROP COLUMN reality_check_s;
DROP TABLE player_figures;
DROP TABLE player_audit;
DELETE FROM sqlite_sequence WHERE name = 'player_audit';
UPDATE meta SET value = '5' WHERE key = 'schema_version';
"""


def downgrade_to_version_5(path: Path) -> None:
    """Turn a closed wallet file of version 6 into what schema version 5 wrote: players
    with `kyc_verified` (and `blocked` for suspended) and none of the new fields,
    sessions without a vertical or a reality-check interval, no play figures and no
    audit trail."""
    with sqlite3.connect(path) as conn:
        conn.executescript(_PLAYERS_V5)


_NO_CURRENCY_ROWS = (
    "(kind = 'rollback' AND (status = 'refused' OR detail = 'tombstone')) OR status = 'tombstone'"
)
"""The rows schema version 3 stored without a currency: refused rollbacks, rollbacks
that found nothing to reverse, and the tombstones they left."""


def downgrade_to_version_4(path: Path) -> None:
    """Turn a closed wallet file into what schema version 4 wrote: sessions without a
    device column (its values are lost)."""
    downgrade_to_version_5(path)
    with sqlite3.connect(path) as conn:
        _drop_session_devices(conn)
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")


def _drop_session_devices(conn: sqlite3.Connection) -> None:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
    if "device" in columns:
        conn.execute("ALTER TABLE sessions DROP COLUMN device")


def downgrade_to_version_3(path: Path, tokens: Mapping[str, str] = {}) -> None:
    """Turn a closed wallet file into what schema version 3 wrote: refused and tombstone
    rollbacks (and their tombstones) with currency '' and the hash chain over that, and
    the session tokens in clear under `sessions.token` (`tokens`: each stored key, a
    SHA-256 hex digest, to the clear token it stands for), and no session device."""
    downgrade_to_version_5(path)
    with sqlite3.connect(path) as conn:
        _drop_session_devices(conn)
        conn.execute(f"UPDATE txs SET currency = '' WHERE {_NO_CURRENCY_ROWS}")
        relink(conn)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        if "token_sha256" in columns:
            conn.execute("ALTER TABLE sessions RENAME COLUMN token_sha256 TO token")
        for stored, clear in tokens.items():
            conn.execute("UPDATE sessions SET token = ? WHERE token = ?", (clear, stored))
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def relink(conn: sqlite3.Connection) -> None:
    """Recompute every link of the hash chain over the rows as they now are."""
    link = GENESIS_HASH
    rows = conn.execute(f"SELECT {TX_COLUMNS} FROM txs ORDER BY seq").fetchall()
    for row in rows:
        link = link_hash(link, tx_from_row(row))
        conn.execute("UPDATE txs SET hash = ? WHERE seq = ?", (link, row[0]))


def raw_bytes(path: Path) -> bytes:
    """The wallet file and its WAL and shared-memory files, as they are on disk."""
    found = b""
    for suffix in WALLET_SUFFIXES:
        part = path.with_name(path.name + suffix)
        if part.exists():
            found += part.read_bytes()
    return found
