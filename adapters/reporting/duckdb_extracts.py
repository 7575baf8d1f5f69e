"""The reads behind open rounds, reconciliation and the regulator export, on DuckDB: the
shared statements (`adapters.reporting.reporting_extracts`) in DuckDB's dialect."""

from __future__ import annotations

from datetime import date

import duckdb

from adapters.reporting.duckdb_ggr import DUCKDB_GGR
from adapters.reporting.reporting_extracts import (
    event_from_row,
    extract_sql,
    open_rounds_parameters,
)
from core.reporting.events import ReportEvent
from core.reporting.store import DaySum, OpenRound, OpenRoundsQuery

__all__ = ["day_sums", "market_day_events", "open_rounds"]

_SQL = extract_sql(DUCKDB_GGR)


def open_rounds(con: duckdb.DuckDBPyConnection, query: OpenRoundsQuery) -> list[OpenRound]:
    rows = con.execute(_SQL.open_rounds, open_rounds_parameters(query)).fetchall()
    return [OpenRound(*row) for row in rows]


def day_sums(con: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> list[DaySum]:
    rows = con.execute(_SQL.day_sums, [first_day, last_day]).fetchall()
    return [DaySum(*row) for row in rows]


def market_day_events(con: duckdb.DuckDBPyConnection, market: str, day: date) -> list[ReportEvent]:
    return [event_from_row(row) for row in con.execute(_SQL.market_day, [market, day]).fetchall()]
