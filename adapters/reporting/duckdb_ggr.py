"""The GGR report over the DuckDB rollups: `adapters.reporting.reporting_ggr`'s
statement in DuckDB's dialect."""

from __future__ import annotations

from datetime import date

from adapters.reporting.reporting_ggr import GgrDialect
from adapters.reporting.reporting_ggr import ggr_sql as _ggr_sql
from core.reporting.store import GgrQuery

__all__ = ["DUCKDB_GGR", "ggr_sql"]

DUCKDB_GGR = GgrDialect(
    day_text="CAST(day AS VARCHAR)",
    # BIGINT, not the HUGEINT a sum gives: Python converts those ~3x slower, and an
    # overflowing cast fails loudly rather than wrapping.
    sum_bigint="CAST({} AS BIGINT)",
    placeholder="?",
    key_order="{}",  # DuckDB orders VARCHAR byte-wise already
)


def ggr_sql(query: GgrQuery) -> tuple[str, list[date]]:
    """The statement and its parameters for `query`; rows are `ggr_row`'s input."""
    return _ggr_sql(query, DUCKDB_GGR)
