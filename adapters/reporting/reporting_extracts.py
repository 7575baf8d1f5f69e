"""The reads behind open rounds, reconciliation and the regulator export, for either store.

Plain SQL over the `events` table (no rollup holds what these need). One text per read,
so a rule such as "which bets are still open" is written once; what differs between
DuckDB and PostgreSQL (parameter markers, the cast of a sum, byte-wise ordering of text)
comes from the same `GgrDialect` the GGR report uses. Each store runs the statements
with its own driver (`adapters.reporting.duckdb_extracts`,
`adapters.reporting.postgres_extracts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.reporting.reporting_ggr import GgrDialect
from core.reporting.events import EventKind, ReportEvent
from core.reporting.store import OpenRoundsQuery

__all__ = ["ExtractSql", "event_from_row", "extract_sql", "open_rounds_parameters"]

_EVENT_COLUMNS = ", ".join(ReportEvent._fields)


@dataclass(frozen=True, slots=True)
class ExtractSql:
    open_rounds: str
    """Parameters: `open_rounds_parameters(query)`."""
    day_sums: str
    """Parameters: the first and the last day."""
    market_day: str
    """Parameters: the market and the day."""


def extract_sql(dialect: GgrDialect) -> ExtractSql:
    """The statements in `dialect`.

    A bet is open while nothing rolled it back and it is unsettled, or a `reopened`
    event came after its last `settled` one (the rollback of the win that settled it).
    """
    mark = dialect.placeholder
    text_mark = f"CAST({mark} AS TEXT)"  # an untyped '' comparison needs a type (PostgreSQL)
    order = dialect.key_order.format
    total = dialect.sum_bigint.format
    open_rounds = f"""
SELECT b.provider, b.round_id, b.player_id, b.brand, b.market, b.currency, b.game_id,
       count(*), min(b.at_us), max(b.at_us),
       {total("(-sum(b.real_delta_minor))")}, {total("(-sum(b.bonus_delta_minor))")}
FROM events AS b
WHERE b.kind = 'bet' AND ({text_mark} = '' OR b.provider = {text_mark})
  AND NOT EXISTS (
    SELECT 1 FROM events AS c
    WHERE c.ref_seq = b.seq
      AND (c.kind = 'rolled_back' OR (c.kind = 'settled' AND NOT EXISTS (
        SELECT 1 FROM events AS o
        WHERE o.ref_seq = b.seq AND o.kind = 'reopened' AND o.seq > c.seq
      )))
  )
GROUP BY b.provider, b.round_id, b.player_id, b.brand, b.market, b.currency, b.game_id
HAVING max(b.at_us) <= {mark}
ORDER BY {order("b.provider")}, min(b.at_us), {order("b.round_id")}, {order("b.player_id")}
LIMIT {mark}
"""
    day_sums = f"""
SELECT day, currency, {total("sum(real_delta_minor)")}, {total("sum(bonus_delta_minor)")}
FROM events WHERE day BETWEEN {mark} AND {mark}
GROUP BY day, currency ORDER BY day, {order("currency")}
"""
    market_day = (
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE market = {mark} AND day = {mark} "
        "ORDER BY seq, part"
    )
    return ExtractSql(open_rounds, day_sums, market_day)


def open_rounds_parameters(query: OpenRoundsQuery) -> list[Any]:
    """In the order of the open-rounds statement's markers."""
    return [query.provider, query.provider, query.stale_before_us, query.rows_max]


def event_from_row(row: tuple[Any, ...]) -> ReportEvent:
    """An `events` row (the statement's columns are the fields) as a `ReportEvent`."""
    event = ReportEvent(*row)
    return event._replace(kind=EventKind(event.kind))
