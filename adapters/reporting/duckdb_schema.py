"""The DuckDB reporting file's tables, and the schema version it records.

Events are stored once by `(seq, part)`; everything a report reads comes from the daily
rollups, which `apply` maintains in the same transaction as the events
(`adapters.reporting.duckdb_rollups`). Two rollup levels: `daily_ggr` per game, and
`daily_provider_ggr` without the game, because a daily report per provider would
otherwise add up a per-game table nearly as long as the events. Each level keeps exact
"first seen" sets of the players (and, per game, the rounds) that bet in a group, so a
row's counts are exact and a coarser report can count distinct players from its set.

Amounts are integer minor units of the row's currency; days are UTC.
"""

from __future__ import annotations

import duckdb

__all__ = [
    "GAME_KEY",
    "PROVIDER_KEY",
    "SCHEMA_VERSION",
    "ReportingSchemaError",
    "open_schema",
    "schema_version",
]

SCHEMA_VERSION = 1

GAME_KEY = ("day", "brand", "market", "provider", "game_id", "currency")
"""The key of `daily_ggr`, `daily_players` (with `player_id`), `daily_rounds` (`round_id`)."""
PROVIDER_KEY = ("day", "brand", "market", "provider", "currency")
"""The key of `daily_provider_ggr` and `daily_provider_players` (with `player_id`)."""


class ReportingSchemaError(Exception):
    """The reporting file cannot be used by this build (written by a newer one)."""


_MEASURES = """
    bets BIGINT NOT NULL,
    stake_real_minor BIGINT NOT NULL,
    stake_bonus_minor BIGINT NOT NULL,
    win_real_minor BIGINT NOT NULL,
    win_bonus_minor BIGINT NOT NULL,
    rollback_real_minor BIGINT NOT NULL,
    rollback_bonus_minor BIGINT NOT NULL,
    rounds BIGINT NOT NULL,
    active_players BIGINT NOT NULL"""

SCHEMA_V1 = (
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    """CREATE TABLE events (
        seq BIGINT NOT NULL,
        part INTEGER NOT NULL,
        at_us BIGINT NOT NULL,
        day DATE NOT NULL,
        kind VARCHAR NOT NULL,
        player_id VARCHAR NOT NULL,
        brand VARCHAR NOT NULL,
        market VARCHAR NOT NULL,
        currency VARCHAR NOT NULL,
        provider VARCHAR NOT NULL,
        tx_id VARCHAR NOT NULL,
        game_id VARCHAR NOT NULL,
        vertical VARCHAR NOT NULL,
        round_id VARCHAR NOT NULL,
        amount_minor BIGINT NOT NULL,
        real_delta_minor BIGINT NOT NULL,
        bonus_delta_minor BIGINT NOT NULL,
        real_after_minor BIGINT NOT NULL,
        bonus_after_minor BIGINT NOT NULL,
        reason VARCHAR NOT NULL,
        detail VARCHAR NOT NULL,
        ref_seq BIGINT,
        PRIMARY KEY (seq, part)
    )""",
    # Appended in seq order, which is commit-time order: the zone maps on `day` and
    # `seq` prune a day range or a seq range without a secondary index.
    """CREATE TABLE requests (
        at_us BIGINT NOT NULL,
        day DATE NOT NULL,
        request_id VARCHAR NOT NULL,
        method VARCHAR NOT NULL,
        route VARCHAR NOT NULL,
        provider VARCHAR NOT NULL,
        operation VARCHAR NOT NULL,
        outcome VARCHAR NOT NULL,
        status INTEGER NOT NULL,
        latency_us BIGINT NOT NULL,
        player_id VARCHAR NOT NULL
    )""",
    """CREATE TABLE balances (
        player_id VARCHAR NOT NULL,
        currency VARCHAR NOT NULL,
        real_minor BIGINT NOT NULL,
        bonus_minor BIGINT NOT NULL,
        PRIMARY KEY (player_id, currency)
    )""",
    """CREATE TABLE cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq BIGINT NOT NULL CHECK (seq >= 0)
    )""",
    "INSERT INTO cursor VALUES (1, 0)",
    f"""CREATE TABLE daily_ggr (
        day DATE NOT NULL, brand VARCHAR NOT NULL, market VARCHAR NOT NULL,
        provider VARCHAR NOT NULL, game_id VARCHAR NOT NULL, currency VARCHAR NOT NULL,
        {_MEASURES},
        PRIMARY KEY (day, brand, market, provider, game_id, currency)
    )""",
    f"""CREATE TABLE daily_provider_ggr (
        day DATE NOT NULL, brand VARCHAR NOT NULL, market VARCHAR NOT NULL,
        provider VARCHAR NOT NULL, currency VARCHAR NOT NULL,
        {_MEASURES},
        PRIMARY KEY (day, brand, market, provider, currency)
    )""",
    """CREATE TABLE daily_players (
        day DATE NOT NULL, brand VARCHAR NOT NULL, market VARCHAR NOT NULL,
        provider VARCHAR NOT NULL, game_id VARCHAR NOT NULL, currency VARCHAR NOT NULL,
        player_id VARCHAR NOT NULL,
        PRIMARY KEY (day, brand, market, provider, game_id, currency, player_id)
    )""",
    """CREATE TABLE daily_provider_players (
        day DATE NOT NULL, brand VARCHAR NOT NULL, market VARCHAR NOT NULL,
        provider VARCHAR NOT NULL, currency VARCHAR NOT NULL, player_id VARCHAR NOT NULL,
        PRIMARY KEY (day, brand, market, provider, currency, player_id)
    )""",
    """CREATE TABLE daily_rounds (
        day DATE NOT NULL, brand VARCHAR NOT NULL, market VARCHAR NOT NULL,
        provider VARCHAR NOT NULL, game_id VARCHAR NOT NULL, currency VARCHAR NOT NULL,
        round_id VARCHAR NOT NULL,
        PRIMARY KEY (day, brand, market, provider, game_id, currency, round_id)
    )""",
)
"""Version 1, as a new file gets it. A later version adds a step to `_MIGRATIONS`
written with its own DDL, never by editing this."""

_MIGRATIONS: dict[int, tuple[str, ...]] = {}
"""From version N (key) to N + 1: the statements, run in one transaction."""


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The version the file records; 0 for a file without the reporting tables."""
    # fetchall, not fetchone: DuckDB 2 keeps a half-read result open, which an
    # appender on the same connection then refuses.
    ((tables,),) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'meta'"
    ).fetchall()
    if tables == 0:
        return 0
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else 0


def open_schema(con: duckdb.DuckDBPyConnection, describe: str) -> None:
    """Create the tables in a new file, migrate an older one step by step (each step one
    transaction: a crash leaves the version before), or refuse a newer one."""
    version = schema_version(con)
    if version > SCHEMA_VERSION:
        raise ReportingSchemaError(
            f"{describe} has reporting schema version {version}, newer than this build "
            f"knows ({SCHEMA_VERSION}): run the gamegate that wrote it, or a newer one"
        )
    if version == 0:
        _run(con, (*SCHEMA_V1, _set_version(SCHEMA_VERSION)))
        return
    while version < SCHEMA_VERSION:
        _run(con, (*_MIGRATIONS[version], _set_version(version + 1)))
        version += 1


def _set_version(version: int) -> str:
    return f"INSERT OR REPLACE INTO meta VALUES ('schema_version', '{int(version)}')"


def _run(con: duckdb.DuckDBPyConnection, statements: tuple[str, ...]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        for statement in statements:
            con.execute(statement)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
