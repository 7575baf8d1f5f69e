"""The reads behind open rounds, reconciliation and the regulator export, on PostgreSQL:
the shared statements (`adapters.reporting.reporting_extracts`) in PostgreSQL's dialect
(`%s` parameters, sums cast back to bigint, keys ordered byte-wise as DuckDB orders them)."""

from __future__ import annotations

from datetime import date

from psycopg import AsyncConnection

from adapters.reporting.postgres_ggr import POSTGRES_GGR
from adapters.reporting.reporting_extracts import (
    event_from_row,
    extract_sql,
    open_rounds_parameters,
)
from core.reporting.events import ReportEvent
from core.reporting.store import DaySum, OpenRound, OpenRoundsQuery

__all__ = ["day_sums", "market_day_events", "open_rounds"]

_SQL = extract_sql(POSTGRES_GGR)


async def open_rounds(con: AsyncConnection, query: OpenRoundsQuery) -> list[OpenRound]:
    cur = await con.execute(_SQL.open_rounds, open_rounds_parameters(query))
    return [OpenRound(*row) for row in await cur.fetchall()]


async def day_sums(con: AsyncConnection, first_day: date, last_day: date) -> list[DaySum]:
    cur = await con.execute(_SQL.day_sums, [first_day, last_day])
    return [DaySum(*row) for row in await cur.fetchall()]


async def market_day_events(con: AsyncConnection, market: str, day: date) -> list[ReportEvent]:
    cur = await con.execute(_SQL.market_day, [market, day])
    return [event_from_row(row) for row in await cur.fetchall()]
