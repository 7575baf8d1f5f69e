"""The GGR report over the PostgreSQL rollups: `adapters.reporting.reporting_ggr`'s
statement in PostgreSQL's dialect. Keys are ordered byte-wise (`COLLATE "C"`), as
DuckDB orders them, whatever the database's collation."""

from __future__ import annotations

from datetime import date

from adapters.reporting.reporting_ggr import GgrDialect
from adapters.reporting.reporting_ggr import ggr_sql as _ggr_sql
from core.reporting.store import GgrQuery

__all__ = ["POSTGRES_GGR", "ggr_sql"]

POSTGRES_GGR = GgrDialect(
    day_text="to_char(day, 'YYYY-MM-DD')",
    # sum(bigint) is numeric: cast back, so an overflow fails rather than arriving as a
    # Decimal
    sum_bigint="{}::bigint",
    placeholder="%s",
    key_order='{} COLLATE "C"',
)


def ggr_sql(query: GgrQuery) -> tuple[str, list[date]]:
    """The statement and its parameters for `query`; rows are `ggr_row`'s input."""
    return _ggr_sql(query, POSTGRES_GGR)
