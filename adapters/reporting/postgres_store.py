"""The reporting store at scale: PostgreSQL, through psycopg 3's async API.

Two connections, no pool: the relay's (cursor, balances, apply, request records) and
the reports' (read only), each running one call at a time with a bounded time
(`adapters.reporting.postgres_link`). The tables are in `postgres_schema`, the apply
statement in `postgres_apply`, the GGR report in `postgres_ggr`, the reads over the events
(open rounds, reconciliation, export) in `postgres_extracts`; the rules are DuckDB's, so
one contract suite runs against both. Unlike DuckDB's file, the database may be shared:
any number of processes can serve reports from it, and the relay may run elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict

from adapters.reporting.postgres_apply import APPLY_SQL, apply_parameters
from adapters.reporting.postgres_extracts import day_sums, market_day_events, open_rounds
from adapters.reporting.postgres_ggr import ggr_sql
from adapters.reporting.postgres_link import PostgresLink
from adapters.reporting.postgres_schema import open_schema
from adapters.reporting.reporting_ggr import ggr_rows
from adapters.reporting.store_rules import (
    check_cursor_forward,
    check_events_through,
    known_balances,
    request_rows,
)
from core.reporting.events import ReportEvent, RequestRecord
from core.reporting.store import DaySum, GgrQuery, GgrRow, OpenRound, OpenRoundsQuery

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_STORE_TIMEOUT_S",
    "PostgresReportingStore",
    "describe_url",
]

DEFAULT_STORE_TIMEOUT_S = 30.0
"""Per call and per statement: far above an `apply` of a relay batch (milliseconds),
enough for a report over months of rollups."""
DEFAULT_CONNECT_TIMEOUT_S = 5.0

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

_REQUEST_COLUMNS = (
    "at_us, day, request_id, method, route, provider, operation, outcome, status, "
    "latency_us, player_id"
)

_BALANCES_READ = """SELECT b.player_id, b.currency, b.real_minor, b.bonus_minor
FROM balances AS b
JOIN unnest(%s::text[], %s::text[]) AS k (player_id, currency) USING (player_id, currency)"""

_BALANCES_WRITE = """INSERT INTO balances (player_id, currency, real_minor, bonus_minor)
SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[])
ON CONFLICT (player_id, currency)
DO UPDATE SET real_minor = excluded.real_minor, bonus_minor = excluded.bonus_minor"""

_POSITIONS_WRITE = """INSERT INTO relay_positions (source, position)
SELECT * FROM unnest(%s::text[], %s::text[])
ON CONFLICT (source) DO UPDATE SET position = excluded.position"""


class PostgresReportingStore:
    """`ReportingStore` over PostgreSQL. Create with `await PostgresReportingStore.open`."""

    def __init__(self, description: str, writer: PostgresLink, reader: PostgresLink) -> None:
        self._description = description
        self._writer = writer
        self._reader = reader

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        schema: str | None = None,
        store_timeout_s: float = DEFAULT_STORE_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> PostgresReportingStore:
        """Connect to `url` (a libpq URL), create or migrate the tables in `schema`
        (made if missing; None: the first schema of the role's search_path).

        Raises `StorageUnavailable` when the server cannot be reached or fails, and
        `ReportingSchemaError` for tables written by a newer build."""
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"reporting schema {schema!r}: use [a-z_][a-z0-9_]*, at most 63")
        description = describe_url(url, schema)
        links = {
            read_only: PostgresLink(
                url,
                description,
                store_timeout_s=store_timeout_s,
                connect_timeout_s=connect_timeout_s,
                read_only=read_only,
                schema=schema,
            )
            for read_only in (False, True)
        }
        store = cls(description, links[False], links[True])
        try:
            await store._writer.run(lambda con: open_schema(con, schema, description))
            await store._reader.run(_cursor)  # reachable, and the tables are visible
        except BaseException:
            await store.close()
            raise
        return store

    async def cursor(self) -> int:
        return await self._writer.run(_cursor)

    async def positions(self) -> Mapping[str, str]:
        return await self._writer.run(_positions)

    async def balances(
        self, keys: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[int, int]]:
        wanted = list(keys)
        if not wanted:
            return {}

        async def read(con: AsyncConnection) -> list[tuple[Any, ...]]:
            cur = await con.execute(
                _BALANCES_READ, [[p for p, _ in wanted], [c for _, c in wanted]]
            )
            return await cur.fetchall()

        return known_balances(wanted, await self._writer.run(read))

    async def apply(
        self,
        events: Sequence[ReportEvent],
        through_seq: int,
        balances: Mapping[tuple[str, str], tuple[int, int]],
        positions: Mapping[str, str] | None = None,
    ) -> None:
        check_events_through(events, through_seq)
        arrays = apply_parameters(events) if events else None
        rows = [(p, c, real, bonus) for (p, c), (real, bonus) in balances.items()]
        balance_arrays = [list(column) for column in zip(*rows, strict=True)]
        moved = sorted((positions or {}).items())
        position_arrays = [[source for source, _ in moved], [at for _, at in moved]]

        async def write(con: AsyncConnection) -> None:
            async with con.transaction():
                cur = await con.execute("SELECT seq FROM cursor WHERE id = 1 FOR UPDATE")
                row = await cur.fetchone()
                assert row is not None, "the cursor row is made with the schema"
                check_cursor_forward(row[0], through_seq)
                if arrays is not None:
                    await con.execute(APPLY_SQL, arrays)
                if balance_arrays:
                    await con.execute(_BALANCES_WRITE, balance_arrays)
                if moved:
                    await con.execute(_POSITIONS_WRITE, position_arrays)
                await con.execute("UPDATE cursor SET seq = %s WHERE id = 1", [through_seq])

        await self._writer.run(write)

    async def add_requests(self, requests: Sequence[RequestRecord]) -> None:
        rows = request_rows(requests)
        if not rows:
            return

        async def write(con: AsyncConnection) -> None:
            async with (
                con.transaction(),
                con.cursor() as cur,
                cur.copy(f"COPY requests ({_REQUEST_COLUMNS}) FROM STDIN") as copy,
            ):
                for row in rows:
                    await copy.write_row(row)

        await self._writer.run(write)

    async def ggr(self, query: GgrQuery) -> list[GgrRow]:
        sql, parameters = ggr_sql(query)

        async def read(con: AsyncConnection) -> list[tuple[Any, ...]]:
            cur = await con.execute(sql, parameters)
            return await cur.fetchall()

        return ggr_rows(query, await self._reader.run(read))

    async def open_rounds(self, query: OpenRoundsQuery) -> list[OpenRound]:
        return await self._reader.run(lambda con: open_rounds(con, query))

    async def day_sums(self, first_day: date, last_day: date) -> list[DaySum]:
        return await self._reader.run(lambda con: day_sums(con, first_day, last_day))

    async def market_day_events(self, market: str, day: date) -> list[ReportEvent]:
        return await self._reader.run(lambda con: market_day_events(con, market, day))

    def describe(self) -> str:
        return self._description

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()


def describe_url(url: str, schema: str | None = None) -> str:
    """`postgresql host:port/dbname[ schema s]`: never the user or a password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:  # malformed: described here, refused by open.py
        return "postgresql (unparsable URL)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    where = f"postgresql {host}:{port}/{parts.get('dbname') or ''}"
    return where if schema is None else f"{where} schema {schema}"


async def _cursor(con: AsyncConnection) -> int:
    cur = await con.execute("SELECT seq FROM cursor WHERE id = 1")
    row = await cur.fetchone()
    assert row is not None, "the cursor row is made with the schema"
    return int(row[0])


async def _positions(con: AsyncConnection) -> dict[str, str]:
    cur = await con.execute("SELECT source, position FROM relay_positions")
    return {source: position for source, position in await cur.fetchall()}
