"""The GGR report over the PostgreSQL rollups (never the raw events).

The same plan as `adapters.reporting.duckdb_ggr`: without the game it reads
`daily_provider_ggr`, with it `daily_ggr`; grouped by exactly a rollup's key every count
is the stored one; grouped coarser, the sums add up the rollup rows and `active_players`
counts distinct players in that level's player set over the day range. Keys are ordered
byte-wise (`COLLATE "C"`), as DuckDB orders them, whatever the database's collation.
"""

from __future__ import annotations

from datetime import date

from adapters.reporting.duckdb_ggr import report_dimensions
from adapters.reporting.postgres_schema import GAME_KEY, PROVIDER_KEY
from core.reporting.store import GgrQuery

__all__ = ["ggr_sql"]

_SUMMED = (
    "bets", "stake_real_minor", "stake_bonus_minor", "win_real_minor", "win_bonus_minor",
    "rollback_real_minor", "rollback_bonus_minor", "rounds",
)  # fmt: skip


def ggr_sql(query: GgrQuery) -> tuple[str, list[date]]:
    """The statement and its parameters for `query`: rows of key columns (text) then
    bigint counts, as `adapters.reporting.duckdb_ggr.ggr_row` reads them."""
    by = report_dimensions(query.by)
    key, rollup, players = (
        (GAME_KEY, "daily_ggr", "daily_players")
        if "game_id" in by
        else (PROVIDER_KEY, "daily_provider_ggr", "daily_provider_players")
    )
    grouped = ", ".join(by)
    shown = ", ".join("to_char(day, 'YYYY-MM-DD')" if name == "day" else name for name in by)
    ordered = ", ".join(name if name == "day" else f'{name} COLLATE "C"' for name in by)
    # sum(bigint) is numeric: cast back, so an overflow fails rather than arriving as a
    # Decimal
    sums = ", ".join(f"sum({measure})::bigint AS {measure}" for measure in _SUMMED)
    in_range = "day BETWEEN %s AND %s"
    days = [query.first_day, query.last_day]
    if set(by) == set(key):
        return (
            f"SELECT {shown}, {sums}, sum(active_players)::bigint FROM {rollup} "
            f"WHERE {in_range} GROUP BY {grouped} ORDER BY {ordered}",
            days,
        )
    return (
        f"""WITH sums AS (
    SELECT {grouped}, {sums} FROM {rollup} WHERE {in_range} GROUP BY {grouped}
), players AS (
    SELECT {grouped}, count(DISTINCT player_id) AS active_players
    FROM {players} WHERE {in_range} GROUP BY {grouped}
)
SELECT {shown}, {", ".join(_SUMMED)}, coalesce(players.active_players, 0)
FROM sums LEFT JOIN players USING ({grouped})
ORDER BY {ordered}""",
        days + days,
    )
