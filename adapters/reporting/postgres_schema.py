"""The PostgreSQL reporting tables, and the schema version they record.

The same tables and rollup rules as the DuckDB file (`adapters.reporting.duckdb_schema`):
events stored once by `(seq, part)`, reports read only the daily rollups `daily_ggr`
(per game) and `daily_provider_ggr`, kept exact by the "first seen" sets
`daily_players`, `daily_provider_players` and `daily_rounds`.

Day ranges: `events.day` and `requests.day` carry a BRIN index rather than range
partitions. Rows arrive in seq order, which is commit-time order, so a block range's
min/max day is tight (the PostgreSQL analogue of DuckDB's zone maps) for a few pages
of index. Partitioning by day would force `day` into the primary key, so the database
would no longer enforce uniqueness by `(seq, part)` alone, and it needs partitions made
ahead of the data; it pays off for retention (detach a month), which nothing asks for
yet. Reports never scan the events: the rollups' primary keys start with `day`.

Amounts are integer minor units of the row's currency; days are UTC.
"""

from __future__ import annotations

from psycopg import AsyncConnection, sql

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
    """The reporting schema cannot be used by this build (written by a newer one)."""


_MEASURES = """
    bets bigint NOT NULL,
    stake_real_minor bigint NOT NULL,
    stake_bonus_minor bigint NOT NULL,
    win_real_minor bigint NOT NULL,
    win_bonus_minor bigint NOT NULL,
    rollback_real_minor bigint NOT NULL,
    rollback_bonus_minor bigint NOT NULL,
    rounds bigint NOT NULL,
    active_players bigint NOT NULL"""

SCHEMA_V1 = (
    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
    """CREATE TABLE events (
        seq bigint NOT NULL,
        part integer NOT NULL,
        at_us bigint NOT NULL,
        day date NOT NULL,
        kind text NOT NULL,
        player_id text NOT NULL,
        brand text NOT NULL,
        market text NOT NULL,
        currency text NOT NULL,
        provider text NOT NULL,
        tx_id text NOT NULL,
        game_id text NOT NULL,
        vertical text NOT NULL,
        round_id text NOT NULL,
        amount_minor bigint NOT NULL,
        real_delta_minor bigint NOT NULL,
        bonus_delta_minor bigint NOT NULL,
        real_after_minor bigint NOT NULL,
        bonus_after_minor bigint NOT NULL,
        reason text NOT NULL,
        detail text NOT NULL,
        ref_seq bigint,
        PRIMARY KEY (seq, part)
    )""",
    "CREATE INDEX events_day ON events USING brin (day)",
    """CREATE TABLE requests (
        at_us bigint NOT NULL,
        day date NOT NULL,
        request_id text NOT NULL,
        method text NOT NULL,
        route text NOT NULL,
        provider text NOT NULL,
        operation text NOT NULL,
        outcome text NOT NULL,
        status integer NOT NULL,
        latency_us bigint NOT NULL,
        player_id text NOT NULL
    )""",
    "CREATE INDEX requests_day ON requests USING brin (day)",
    """CREATE TABLE balances (
        player_id text NOT NULL,
        currency text NOT NULL,
        real_minor bigint NOT NULL,
        bonus_minor bigint NOT NULL,
        PRIMARY KEY (player_id, currency)
    )""",
    """CREATE TABLE cursor (
        id integer PRIMARY KEY CHECK (id = 1),
        seq bigint NOT NULL CHECK (seq >= 0)
    )""",
    "INSERT INTO cursor VALUES (1, 0)",
    f"""CREATE TABLE daily_ggr (
        day date NOT NULL, brand text NOT NULL, market text NOT NULL,
        provider text NOT NULL, game_id text NOT NULL, currency text NOT NULL,
        {_MEASURES},
        PRIMARY KEY (day, brand, market, provider, game_id, currency)
    )""",
    f"""CREATE TABLE daily_provider_ggr (
        day date NOT NULL, brand text NOT NULL, market text NOT NULL,
        provider text NOT NULL, currency text NOT NULL,
        {_MEASURES},
        PRIMARY KEY (day, brand, market, provider, currency)
    )""",
    """CREATE TABLE daily_players (
        day date NOT NULL, brand text NOT NULL, market text NOT NULL,
        provider text NOT NULL, game_id text NOT NULL, currency text NOT NULL,
        player_id text NOT NULL,
        PRIMARY KEY (day, brand, market, provider, game_id, currency, player_id)
    )""",
    """CREATE TABLE daily_provider_players (
        day date NOT NULL, brand text NOT NULL, market text NOT NULL,
        provider text NOT NULL, currency text NOT NULL, player_id text NOT NULL,
        PRIMARY KEY (day, brand, market, provider, currency, player_id)
    )""",
    """CREATE TABLE daily_rounds (
        day date NOT NULL, brand text NOT NULL, market text NOT NULL,
        provider text NOT NULL, game_id text NOT NULL, currency text NOT NULL,
        round_id text NOT NULL,
        PRIMARY KEY (day, brand, market, provider, game_id, currency, round_id)
    )""",
)
"""Version 1, as a new schema gets it. A later version adds a step to `_MIGRATIONS`
written with its own DDL, never by editing this."""

_MIGRATIONS: dict[int, tuple[str, ...]] = {}
"""From version N (key) to N + 1: the statements, run in one transaction."""

_SET_VERSION = (
    "INSERT INTO meta VALUES ('schema_version', %s) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


async def schema_version(con: AsyncConnection) -> int:
    """The version the current schema records; 0 without the reporting tables."""
    cur = await con.execute("SELECT to_regclass('meta') IS NOT NULL")
    row = await cur.fetchone()
    if row is None or not row[0]:
        return 0
    cur = await con.execute("SELECT value FROM meta WHERE key = 'schema_version'")
    found = await cur.fetchone()
    return int(found[0]) if found else 0


async def open_schema(con: AsyncConnection, schema: str | None, describe: str) -> None:
    """Create the tables (in `schema`, made if missing; None: the connection's current
    schema), migrate an older version, or refuse a newer one: one transaction (DDL is
    transactional here), under an advisory lock on the schema's name so two processes
    opening it at once do the work once."""
    async with con.transaction():
        await con.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended("
            "'gamegate.reporting:' || coalesce(%s::text, current_schema(), ''), 0))",
            [schema],
        )
        if schema is not None:
            await con.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
            )
        version = await schema_version(con)
        if version > SCHEMA_VERSION:
            raise ReportingSchemaError(
                f"{describe} has reporting schema version {version}, newer than this build "
                f"knows ({SCHEMA_VERSION}): run the gamegate that wrote it, or a newer one"
            )
        steps: tuple[str, ...] = SCHEMA_V1 if version == 0 else ()
        for step in range(max(version, 1), SCHEMA_VERSION):
            steps += _MIGRATIONS[step]
        for statement in steps:
            await con.execute(statement)
        if version < SCHEMA_VERSION:
            await con.execute(_SET_VERSION, [str(SCHEMA_VERSION)])
