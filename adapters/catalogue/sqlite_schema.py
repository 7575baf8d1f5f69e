"""The catalogue file's tables and connection settings.

Rollback journal (`journal_mode=DELETE`), not WAL: several gateway processes may open
this file, and the SQLite bundled with Python 3.11 here (3.40) can corrupt a WAL
database when two connections write or checkpoint at once. Catalogue writes are rare
(a sync, an operator's click), so the journal's coarser locking costs nothing that
matters. `synchronous=FULL`: a change is on disk before it is reported.
"""

from __future__ import annotations

import sqlite3

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SCHEMA_VERSION",
    "VERSION_KEY",
    "apply_pragmas",
    "create_schema",
    "read_version",
]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000
"""How long a connection waits for another process's write lock before failing."""
VERSION_KEY = "catalogue_version"
_SCHEMA_KEY = "schema_version"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS games (
    key TEXT PRIMARY KEY,                -- instance:code
    instance TEXT NOT NULL,
    code TEXT NOT NULL,
    json TEXT NOT NULL,                  -- adapters.catalogue.game_codec
    status TEXT NOT NULL,
    added_version INTEGER NOT NULL,
    updated_version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS games_by_instance ON games (instance);

CREATE TABLE IF NOT EXISTS overlays (
    brand TEXT PRIMARY KEY,
    json TEXT NOT NULL,                  -- adapters.catalogue.overlay_codec
    updated_version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS overlay_audit (  -- append-only
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    brand TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS overlay_audit_by_brand ON overlay_audit (brand, seq);

CREATE TABLE IF NOT EXISTS sync_history (   -- append-only, every sync that was applied
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    instance TEXT NOT NULL,
    source TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    full INTEGER NOT NULL,
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    retired INTEGER NOT NULL,
    unchanged INTEGER NOT NULL
);
"""


def apply_pragmas(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    if str(mode).lower() != "delete":
        raise RuntimeError(f"catalogue database refused journal_mode=DELETE (got {mode})")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables of a new file, or check an existing file's schema version.

    Runs in one write transaction, so two processes opening a new file at once create
    it once. Raises RuntimeError for a file of another schema version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        found = conn.execute("SELECT value FROM meta WHERE key = ?", (_SCHEMA_KEY,)).fetchone()
        if found is None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)", (_SCHEMA_KEY, SCHEMA_VERSION)
            )
            conn.execute("INSERT INTO meta (key, value) VALUES (?, 0)", (VERSION_KEY,))
        elif found[0] != SCHEMA_VERSION:
            raise RuntimeError(
                f"catalogue database has schema version {found[0]}; "
                f"this build reads version {SCHEMA_VERSION}"
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def read_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
    assert row is not None, "catalogue database without a version"
    return int(row[0])
