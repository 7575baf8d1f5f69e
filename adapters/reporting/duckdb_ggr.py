"""The GGR report over the DuckDB rollups (never the raw events).

A report without the game reads `daily_provider_ggr`, one with it `daily_ggr`. Grouped
by exactly a rollup's key, every count is the stored one. Grouped coarser (a month per
market, say), the sums add up the rollup rows and `active_players` is a
`COUNT(DISTINCT player_id)` over that level's player set in the day range: its cost
grows with the players-per-group-per-day rows in the range (about one per bet for a
player's first bet of a day on a provider), not with the events. `rounds` are summed
(a round with bets on two days counts on each).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters.reporting.duckdb_schema import GAME_KEY, PROVIDER_KEY
from core.reporting.store import GGR_DIMENSIONS, GgrQuery, GgrRow

__all__ = ["ggr_row", "ggr_sql", "report_dimensions"]

_SUMMED = (
    "bets", "stake_real_minor", "stake_bonus_minor", "win_real_minor", "win_bonus_minor",
    "rollback_real_minor", "rollback_bonus_minor", "rounds",
)  # fmt: skip


def report_dimensions(by: tuple[str, ...]) -> tuple[str, ...]:
    """`by` checked, with `currency` appended when missing."""
    unknown = [name for name in by if name not in GGR_DIMENSIONS]
    if unknown:
        raise ValueError(f"GGR cannot be grouped by {unknown}: choose from {GGR_DIMENSIONS}")
    if len(set(by)) != len(by):
        raise ValueError(f"GGR grouping {by} names a dimension twice")
    return by if "currency" in by else (*by, "currency")


def ggr_sql(query: GgrQuery) -> tuple[str, list[date]]:
    """The statement and its parameters for `query`; rows are `ggr_row`'s input."""
    by = report_dimensions(query.by)
    key, rollup, players = (
        (GAME_KEY, "daily_ggr", "daily_players")
        if "game_id" in by
        else (PROVIDER_KEY, "daily_provider_ggr", "daily_provider_players")
    )
    grouped = ", ".join(by)
    shown = ", ".join("CAST(day AS VARCHAR)" if name == "day" else name for name in by)
    # every key a VARCHAR: a row's keys are its first columns as they come
    # BIGINT, not the HUGEINT a sum gives: Python converts those ~3x slower, and an
    # overflowing cast fails loudly rather than wrapping.
    sums = ", ".join(f"CAST(sum({measure}) AS BIGINT) AS {measure}" for measure in _SUMMED)
    in_range = "day BETWEEN ? AND ?"
    days = [query.first_day, query.last_day]
    if set(by) == set(key):
        return (
            f"SELECT {shown}, {sums}, CAST(sum(active_players) AS BIGINT) FROM {rollup} "
            f"WHERE {in_range} GROUP BY {grouped} ORDER BY {grouped}",
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
ORDER BY {grouped}""",
        days + days,
    )


def ggr_row(width: int, row: tuple[Any, ...]) -> GgrRow:
    """A result row of `ggr_sql` (`width` key columns first, then BIGINT counts, which
    arrive as Python ints) as a `GgrRow`. Positional: this runs per row of a report."""
    bets, stake_real, stake_bonus, win_real, win_bonus, back_real, back_bonus, rounds, players = (
        row[width:]
    )
    return GgrRow(
        row[:width],
        bets,
        stake_real,
        stake_bonus,
        win_real,
        win_bonus,
        back_real,
        back_bonus,
        stake_real + stake_bonus - win_real - win_bonus - back_real - back_bonus,
        stake_real - win_real - back_real,
        rounds,
        players,
    )
