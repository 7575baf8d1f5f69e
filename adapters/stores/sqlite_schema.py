"""SQLite schema of the embedded wallet and the row <-> record conversions."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date
from typing import Any

from core.errors import Reason
from core.limits import decode_limits, encode_limits
from core.model import FundingOrder, KycState, PlayerStatus, TxKind, TxStatus
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord

__all__ = [
    "PLAYER_INSERT",
    "PLAYER_REPLACE",
    "SCHEMA_VERSION",
    "SESSION_COLUMNS",
    "SESSION_INSERT",
    "SNAPSHOT_SEQ_KEY",
    "TX_COLUMNS",
    "TX_INSERT",
    "apply_pragmas",
    "create_schema",
    "meta_int",
    "player_from_row",
    "player_to_row",
    "round_from_row",
    "round_to_row",
    "schema_version",
    "session_from_row",
    "session_to_row",
    "token_digest",
    "tx_from_row",
    "tx_to_row",
]

SCHEMA_VERSION = 6
"""6: players carry a KYC state (`kyc`, `kyc_changed_at_us`: was `kyc_verified`), the end of a
timed status (`status_until_us`), their limits and identity; status `blocked` is
`suspended`; sessions record the game's vertical and the reality-check interval
(`reality_check_s`, 0: none); `player_figures` holds each player's play figures
(`sqlite_figures`) and `player_audit` the changes to their accounts
(`sqlite_player_audit`). 5: sessions record the device the game was launched on
(`sessions.device`, '' when unknown). 4: sessions are keyed by the SHA-256 of their token
(`sessions.token_sha256`), never the token itself, and every transaction has a currency
(version 3 stored refused and tombstone rollbacks with ''). 3: per-player chains
(`txs.prev_player_seq`, `player_heads`) replace the `txs_by_player` index, and `accounts`
and `player_heads` are snapshots written every so many transactions (`sqlite_snapshot`).
`sqlite_migrations` converts older files."""
SNAPSHOT_SEQ_KEY = "snapshot_through_seq"
"""meta key: `accounts` holds the sums of the entries of the txs up to this seq, and
`player_heads` each player's last seq up to it."""
BUSY_TIMEOUT_MS = 5_000
WAL_AUTOCHECKPOINT_PAGES = 10_000
"""About 40 MB of WAL between checkpoints (SQLite's default is 1,000 pages). A group
commit dirties a few hundred pages, so the default checkpointed after nearly every
commit and copied the same hot pages (balances, index roots) into the database file
again and again; a larger interval copies each hot page once per interval."""

_DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- kyc: a KycState value; kyc_changed_at_us NULL: never changed (or before schema 6);
-- status_until_us: the end of a self-exclusion or break, NULL: none or indefinite;
-- limits: `core.limits.encode_limits`, '' for none; identity: JSON [[name, value], ...]
-- (personal data: never logged). Comments on new columns go here, outside the stored
-- CREATE TABLE: a comment between two columns breaks ALTER TABLE DROP COLUMN.
CREATE TABLE IF NOT EXISTS players (
    player_id TEXT PRIMARY KEY,
    brand TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    currency TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    status TEXT NOT NULL,
    funding_order TEXT NOT NULL,
    kyc TEXT NOT NULL,
    kyc_changed_at_us INTEGER,
    status_until_us INTEGER,
    limits TEXT NOT NULL,
    identity TEXT NOT NULL
) WITHOUT ROWID;

-- A copy of the file must not let anyone play: the token is known only as its digest.
-- device: 'desktop', 'mobile'; vertical: 'slots', 'live', ...; '' when unknown.
-- reality_check_s: seconds between reality-check reminders, 0: none asked for.
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,  -- hex SHA-256 of the token (`token_digest`)
    player_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    game_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    expires_at_us INTEGER NOT NULL,
    created_at_us INTEGER NOT NULL,
    device TEXT NOT NULL DEFAULT '',
    vertical TEXT NOT NULL DEFAULT '',
    reality_check_s INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Balances: SUM(entries.amount_minor) over the entries with seq up to meta's
-- snapshot_through_seq (the writer adds the later ones in memory); verify checks them.
CREATE TABLE IF NOT EXISTS accounts (
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance_minor INTEGER NOT NULL,
    PRIMARY KEY (account, currency)
) WITHOUT ROWID;

-- The transaction log, idempotency records and hash chain in one append-only table.
CREATE TABLE IF NOT EXISTS txs (
    seq INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    tx_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    player_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    real_delta_minor INTEGER NOT NULL,
    bonus_delta_minor INTEGER NOT NULL,
    round_id TEXT,
    ref_tx_id TEXT,
    fingerprint BLOB NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    detail TEXT NOT NULL,
    created_at_us INTEGER NOT NULL,
    hash BLOB NOT NULL,
    prev_player_seq INTEGER,  -- the player's previous transaction (NULL: the first)
    UNIQUE (provider, tx_id)
);
CREATE INDEX IF NOT EXISTS txs_by_round ON txs (provider, round_id);

-- A player's history is a chain through txs.prev_player_seq starting at the player's
-- newest seq. No (player_id, seq) index: with players spread over the whole key space,
-- it put one random leaf page into nearly every transaction's commit. The heads up to
-- meta's snapshot_through_seq; the writer keeps the later ones in memory.
CREATE TABLE IF NOT EXISTS player_heads (
    player_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
) WITHOUT ROWID;

-- Double-entry legs; the legs of one transaction (same seq) sum to zero.
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER NOT NULL,
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS rounds (
    provider TEXT NOT NULL,
    round_id TEXT NOT NULL,
    player_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    game_id TEXT NOT NULL,
    closed INTEGER NOT NULL,
    stake_real_minor INTEGER NOT NULL,
    stake_bonus_minor INTEGER NOT NULL,
    win_real_minor INTEGER NOT NULL,
    win_bonus_minor INTEGER NOT NULL,
    bet_count INTEGER NOT NULL,
    settled_before_seq INTEGER NOT NULL,
    opened_at_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (provider, round_id)
) WITHOUT ROWID;
-- No index on `closed`: every round write would move in it. Finding open rounds is a
-- rare, offline query (reconciliation, incomplete-game handling); it scans.

-- Transactional outbox, written in the same transaction as the ledger rows: one event
-- per flush naming the range of txs seqs it wrote (seqs are dense, so consecutive events
-- tile the log). An event is the immutable part of those txs rows and their entries;
-- consumers read events in event_id order, join, and dedupe by seq.
CREATE TABLE IF NOT EXISTS outbox (
    event_id INTEGER PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
);

-- Each player's play figures (`core.wallet.figures.PlayFigures`, field by field),
-- written with the job that changed them; why a table and columns: `sqlite_figures`.
-- last_bet_us NULL: no bet yet; cycle_starts: 'vertical:start_us' pairs, comma-joined.
CREATE TABLE IF NOT EXISTS player_figures (
    player_id TEXT PRIMARY KEY,
    day_start_day INTEGER NOT NULL,
    day_deposited_minor INTEGER NOT NULL,
    day_wagered_minor INTEGER NOT NULL,
    day_lost_minor INTEGER NOT NULL,
    day_played_us INTEGER NOT NULL,
    week_start_day INTEGER NOT NULL,
    week_deposited_minor INTEGER NOT NULL,
    week_wagered_minor INTEGER NOT NULL,
    week_lost_minor INTEGER NOT NULL,
    week_played_us INTEGER NOT NULL,
    month_start_day INTEGER NOT NULL,
    month_deposited_minor INTEGER NOT NULL,
    month_wagered_minor INTEGER NOT NULL,
    month_lost_minor INTEGER NOT NULL,
    month_played_us INTEGER NOT NULL,
    last_bet_us INTEGER,
    cycle_starts TEXT NOT NULL,
    deposited_total_minor INTEGER NOT NULL
) WITHOUT ROWID;

-- Changes to players' accounts (status, KYC, limits...), append-only: the triggers
-- refuse any UPDATE or DELETE. seq is the page cursor.
CREATE TABLE IF NOT EXISTS player_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    player_id TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    why TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS player_audit_by_player ON player_audit (player_id, seq);
CREATE TRIGGER IF NOT EXISTS player_audit_no_update BEFORE UPDATE ON player_audit
BEGIN SELECT RAISE(ABORT, 'player_audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS player_audit_no_delete BEFORE DELETE ON player_audit
BEGIN SELECT RAISE(ABORT, 'player_audit is append-only'); END;
"""

SESSION_COLUMNS = (
    "token_sha256, player_id, provider, game_id, currency, expires_at_us, created_at_us, "
    "device, vertical, reality_check_s"
)
"""The columns of `session_to_row` and `session_from_row`, in their order."""
SESSION_INSERT = f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
PLAYER_INSERT = "INSERT INTO players VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
"""Rows from `player_to_row`, in the table's column order."""
PLAYER_REPLACE = "REPLACE INTO players VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
TX_COLUMNS = (
    "seq, provider, tx_id, kind, player_id, currency, amount_minor, real_delta_minor, "
    "bonus_delta_minor, round_id, ref_tx_id, fingerprint, status, reason, detail, created_at_us"
)
TX_INSERT = (
    f"INSERT INTO txs ({TX_COLUMNS}, hash, prev_player_seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?, ?)"
)
"""Rows from `tx_to_row`."""


def apply_pragmas(conn: sqlite3.Connection, *, synchronous: str) -> None:
    """WAL with an explicit synchronous level: FULL fsyncs the WAL at every commit."""
    assert synchronous in ("FULL", "NORMAL", "OFF", "EXTRA")
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise RuntimeError(f"could not switch SQLite to WAL mode (got {mode})")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-65536")


def create_schema(conn: sqlite3.Connection) -> None:
    """Create a new wallet file, or check that an existing one is of this build's version
    (`sqlite_migrations.migrate` converts older ones first)."""
    version = schema_version(conn)
    if version is None:
        conn.executescript(_DDL)
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("schema_version", str(SCHEMA_VERSION)), (SNAPSHOT_SEQ_KEY, "0")],
        )
        return
    if version != SCHEMA_VERSION:
        raise RuntimeError(f"wallet schema version {version}, this build needs {SCHEMA_VERSION}")


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The file's schema version; None for a file without one (new, or not a wallet)."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    return None if has_meta is None else meta_int(conn, "schema_version")


def meta_int(conn: sqlite3.Connection, key: str) -> int | None:
    """An integer from the meta table, or None if the key is missing."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else int(row[0])


def player_to_row(p: PlayerRecord) -> tuple[Any, ...]:
    return (
        p.player_id, p.brand, p.jurisdiction, p.currency, p.date_of_birth.isoformat(),
        p.status._value_, p.funding_order._value_, p.kyc._value_, p.kyc_changed_at_us,
        p.status_until_us, encode_limits(p.limits), _identity_text(p.identity),
    )  # fmt: skip


def player_from_row(row: tuple[Any, ...]) -> PlayerRecord:
    """Runs for every player a batch loads into the writer's cache: empty limits and
    identity (the common case) decode without a parser."""
    return PlayerRecord(
        player_id=row[0], brand=row[1], jurisdiction=row[2], currency=row[3],
        date_of_birth=date.fromisoformat(row[4]), status=PlayerStatus(row[5]),
        funding_order=FundingOrder(row[6]), kyc=KycState(row[7]), kyc_changed_at_us=row[8],
        status_until_us=row[9], limits=decode_limits(row[10]),
        identity=() if row[11] == _NO_IDENTITY else _identity_pairs(row[11]),
    )  # fmt: skip


_NO_IDENTITY = "[]"


def _identity_text(identity: tuple[tuple[str, str], ...]) -> str:
    """JSON pairs, in the record's order: read back, the record compares equal."""
    if not identity:
        return _NO_IDENTITY
    return json.dumps([list(pair) for pair in identity], ensure_ascii=False, separators=(",", ":"))


def _identity_pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in json.loads(text))


def token_digest(token: str) -> str:
    """What the file keeps of a session token: its SHA-256, in hex. Tokens are random
    (24 bytes or more), so an unsalted digest cannot be reversed by guessing."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_to_row(session: SessionRecord) -> tuple[Any, ...]:
    return (
        token_digest(session.token), session.player_id, session.provider, session.game_id,
        session.currency, session.expires_at_us, session.created_at_us, session.device,
        session.vertical, session.reality_check_s,
    )  # fmt: skip


def session_from_row(token: str, row: tuple[Any, ...]) -> SessionRecord:
    """The session stored under `token`'s digest; the file does not hold the token."""
    return SessionRecord(
        token=token, player_id=row[1], provider=row[2], game_id=row[3], currency=row[4],
        expires_at_us=row[5], created_at_us=row[6], device=row[7], vertical=row[8],
        reality_check_s=row[9],
    )  # fmt: skip


def tx_to_row(r: TxRecord, link: bytes, prev_player_seq: int | None) -> tuple[Any, ...]:
    """For `TX_INSERT`. Enum members as their plain `str` values, blobs as `bytearray`
    and no reason as "" (NULL again in SQL): the sqlite3 module binds exact str, int,
    float and bytearray as they are, and sends every other type (enum members, bytes,
    bool, None) through its adapter lookup first, about 0.3 µs a parameter, twice the
    cost of converting it."""
    return (
        r.seq, r.provider, r.tx_id, r.kind._value_, r.player_id, r.currency, r.amount_minor,
        r.real_delta_minor, r.bonus_delta_minor, r.round_id, r.ref_tx_id,
        bytearray(r.fingerprint), r.status._value_,
        "" if r.reason is None else r.reason._value_, r.detail,
        r.created_at_us, bytearray(link), prev_player_seq,
    )  # fmt: skip


def round_to_row(r: RoundRecord) -> tuple[Any, ...]:
    """A plain tuple with `closed` as an int: the sqlite3 module reads a tuple subclass
    item by item through the sequence protocol and adapts a bool like any non-exact
    type; converted, a round row binds in 1.3 µs instead of 2.0."""
    return (*r[:5], 1 if r[5] else 0, *r[6:])


def tx_from_row(row: tuple[Any, ...]) -> TxRecord:
    return TxRecord(
        seq=row[0], provider=row[1], tx_id=row[2], kind=TxKind(row[3]), player_id=row[4],
        currency=row[5], amount_minor=row[6], real_delta_minor=row[7],
        bonus_delta_minor=row[8], round_id=row[9], ref_tx_id=row[10], fingerprint=row[11],
        status=TxStatus(row[12]), reason=None if row[13] is None else Reason(row[13]),
        detail=row[14], created_at_us=row[15],
    )  # fmt: skip


def round_from_row(row: tuple[Any, ...]) -> RoundRecord:
    """A rounds row is a `RoundRecord` in column order; only `closed` needs converting."""
    return RoundRecord._make((*row[:5], bool(row[5]), *row[6:]))
