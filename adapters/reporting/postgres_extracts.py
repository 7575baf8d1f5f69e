"""The reads behind open rounds, reconciliation and the regulator export, on PostgreSQL.

The same SQL as `adapters.reporting.duckdb_extracts` over the `events` table, with
psycopg's `%s` parameters; sums cast back to bigint (PostgreSQL sums bigints as
numeric) and keys ordered byte-wise (`COLLATE "C"`), as DuckDB orders them.
"""

from __future__ import annotations

from datetime import date

from psycopg import AsyncConnection

from core.reporting.events import EventKind, ReportEvent
from core.reporting.store import DaySum, OpenRound, OpenRoundsQuery

__all__ = ["day_sums", "market_day_events", "open_rounds"]

_EVENT_COLUMNS = ", ".join(ReportEvent._fields)

_OPEN_ROUNDS = """
SELECT b.provider, b.round_id, b.player_id, b.brand, b.market, b.currency, b.game_id,
       count(*), min(b.at_us), max(b.at_us),
       (-sum(b.real_delta_minor))::bigint, (-sum(b.bonus_delta_minor))::bigint
FROM events AS b
WHERE b.kind = 'bet' AND (%(provider)s::text = '' OR b.provider = %(provider)s::text)
  AND NOT EXISTS (
    SELECT 1 FROM events AS c
    WHERE c.ref_seq = b.seq
      AND (c.kind = 'rolled_back' OR (c.kind = 'settled' AND NOT EXISTS (
        SELECT 1 FROM events AS o
        WHERE o.ref_seq = b.seq AND o.kind = 'reopened' AND o.seq > c.seq
      )))
  )
GROUP BY b.provider, b.round_id, b.player_id, b.brand, b.market, b.currency, b.game_id
HAVING max(b.at_us) <= %(stale_before_us)s
ORDER BY b.provider COLLATE "C", min(b.at_us), b.round_id COLLATE "C",
         b.player_id COLLATE "C"
LIMIT %(rows_max)s
"""

_DAY_SUMS = """
SELECT day, currency, sum(real_delta_minor)::bigint, sum(bonus_delta_minor)::bigint
FROM events WHERE day BETWEEN %s AND %s
GROUP BY day, currency ORDER BY day, currency COLLATE "C"
"""

_MARKET_DAY = (
    f"SELECT {_EVENT_COLUMNS} FROM events WHERE market = %s AND day = %s ORDER BY seq, part"
)


async def open_rounds(con: AsyncConnection, query: OpenRoundsQuery) -> list[OpenRound]:
    cur = await con.execute(
        _OPEN_ROUNDS,
        {
            "provider": query.provider,
            "stale_before_us": query.stale_before_us,
            "rows_max": query.rows_max,
        },
    )
    return [OpenRound(*row) for row in await cur.fetchall()]


async def day_sums(con: AsyncConnection, first_day: date, last_day: date) -> list[DaySum]:
    cur = await con.execute(_DAY_SUMS, [first_day, last_day])
    return [DaySum(*row) for row in await cur.fetchall()]


async def market_day_events(con: AsyncConnection, market: str, day: date) -> list[ReportEvent]:
    cur = await con.execute(_MARKET_DAY, [market, day])
    return [_event(row) for row in await cur.fetchall()]


def _event(row: tuple[object, ...]) -> ReportEvent:
    event = ReportEvent(*row)  # type: ignore[arg-type]  # the columns are the fields
    return event._replace(kind=EventKind(event.kind))
