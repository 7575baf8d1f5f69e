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

from adapters.reporting.reporting_ddl import (
    SCHEMA_VERSION,
    DdlDialect,
    ReportingSchemaError,
    schema_v1,
    upgrade,
)

__all__ = ["SCHEMA_VERSION", "ReportingSchemaError", "open_schema", "schema_version"]

_DIALECT = DdlDialect(
    text="VARCHAR",
    bigint="BIGINT",
    integer="INTEGER",
    date="DATE",
    # No index by day: rows are appended in seq order, which is commit-time order, so
    # the zone maps on `day` and `seq` prune a day range or a seq range without one.
    day_index=lambda table: (),
)

SCHEMA_V1 = schema_v1(_DIALECT)
"""Version 1, as a new file gets it (tests write old files with it). A later version
adds a step in `reporting_ddl`, never by editing version 1."""


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
    for after, statements in upgrade(_DIALECT, schema_version(con), describe):
        _run(con, (*statements, _set_version(after)))


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
