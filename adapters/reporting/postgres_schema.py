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

from adapters.reporting.reporting_ddl import (
    SCHEMA_VERSION,
    DdlDialect,
    ReportingSchemaError,
    schema_v1,
    upgrade,
)

__all__ = ["SCHEMA_VERSION", "ReportingSchemaError", "open_schema", "schema_version"]

_DIALECT = DdlDialect(
    text="text",
    bigint="bigint",
    integer="integer",
    date="date",
    day_index=lambda table: (f"CREATE INDEX {table}_day ON {table} USING brin (day)",),
)

SCHEMA_V1 = schema_v1(_DIALECT)
"""Version 1, as a new schema gets it (tests write old schemas with it). A later version
adds a step in `reporting_ddl`, never by editing version 1."""

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
        steps = upgrade(_DIALECT, await schema_version(con), describe)
        for _, statements in steps:  # every step in this one transaction
            for statement in statements:
                await con.execute(statement)
        if steps:
            await con.execute(_SET_VERSION, [str(SCHEMA_VERSION)])
