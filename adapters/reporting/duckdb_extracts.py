"""The reads behind open rounds, reconciliation and the regulator export, on DuckDB.

Plain SQL over the `events` table (no rollup holds what these need), written so it
ports as it is: no DuckDB-only syntax beyond `?` parameters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from core.reporting.events import EventKind, ReportEvent
from core.reporting.store import DaySum, OpenRound, OpenRoundsQuery

__all__ = ["day_sums", "market_day_events", "open_rounds"]

_EVENT_COLUMNS = ", ".join(ReportEvent._fields)

_OPEN_ROUNDS = """
SELECT b.provider, b.round_id, b.player_id, b.brand, b.market, b.currency, b.game_id,
       count(*), min(b.at_us), max(b.at_us),
       CAST(-sum(b.real_delta_minor) AS BIGINT), CAST(-sum(b.bonus_delta_minor) AS BIGINT)
FROM events AS b
WHERE b.kind = 'bet' AND (? = '' OR b.provider = ?)
  AND NOT EXISTS (
    SELECT 1 FROM events AS c
    WHERE c.ref_seq = b.seq
      AND (c.kind = 'rolled_back' OR (c.kind = 'settled' AND NOT EXISTS (
        SELECT 1 FROM events AS o
        WHERE o.ref_seq = b.seq AND o.kind = 'reopened' AND o.seq > c.seq
      )))
  )
GROUP BY b.provider, b.round_id, b.player_id, b.brand, b.market, b.currency, b.game_id
HAVING max(b.at_us) <= ?
ORDER BY b.provider, min(b.at_us), b.round_id, b.player_id
LIMIT ?
"""

_DAY_SUMS = """
SELECT day, currency,
       CAST(sum(real_delta_minor) AS BIGINT), CAST(sum(bonus_delta_minor) AS BIGINT)
FROM events WHERE day BETWEEN ? AND ?
GROUP BY day, currency ORDER BY day, currency
"""

_MARKET_DAY = f"SELECT {_EVENT_COLUMNS} FROM events WHERE market = ? AND day = ? ORDER BY seq, part"


def open_rounds(con: duckdb.DuckDBPyConnection, query: OpenRoundsQuery) -> list[OpenRound]:
    rows = con.execute(
        _OPEN_ROUNDS,
        [query.provider, query.provider, query.stale_before_us, query.rows_max],
    ).fetchall()
    return [OpenRound(*row) for row in rows]


def day_sums(con: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> list[DaySum]:
    rows = con.execute(_DAY_SUMS, [first_day, last_day]).fetchall()
    return [DaySum(*row) for row in rows]


def market_day_events(con: duckdb.DuckDBPyConnection, market: str, day: date) -> list[ReportEvent]:
    return [_event(row) for row in con.execute(_MARKET_DAY, [market, day]).fetchall()]


def _event(row: tuple[Any, ...]) -> ReportEvent:
    event = ReportEvent(*row)
    return event._replace(kind=EventKind(event.kind))
