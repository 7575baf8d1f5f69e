"""The GGR report over the reporting rollups (never the raw events), for either store.

A report without the game reads `daily_provider_ggr`, one with it `daily_ggr`. Grouped
by exactly a rollup's key, every count is the stored one. Grouped coarser (a month per
market, say), the sums add up the rollup rows and `active_players` is a
`COUNT(DISTINCT player_id)` over that level's player set in the day range: its cost
grows with the players-per-group-per-day rows in the range (about one per bet for a
player's first bet of a day on a provider), not with the events. `rounds` are summed
(a round with bets on two days counts on each).

One statement builder: what differs between DuckDB and PostgreSQL is a `GgrDialect`
(`adapters.reporting.duckdb_ggr`, `adapters.reporting.postgres_ggr`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from adapters.reporting.reporting_ddl import GAME_KEY, PROVIDER_KEY
from core.reporting.store import GGR_DIMENSIONS, GgrQuery, GgrRow

__all__ = ["GgrDialect", "ggr_row", "ggr_rows", "ggr_sql", "report_dimensions"]

_SUMMED = (
    "bets", "stake_real_minor", "stake_bonus_minor", "win_real_minor", "win_bonus_minor",
    "rollback_real_minor", "rollback_bonus_minor", "rounds",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GgrDialect:
    """How one database writes the parts of the GGR statement that differ."""

    day_text: str
    """`day` as `YYYY-MM-DD` text: every key column of a row is text, as it comes."""
    sum_bigint: str
    """A sum (`{}`: the summed expression) cast to a 64-bit integer: not the wider type
    a sum gives, so an overflow fails loudly and the counts arrive as Python ints."""
    placeholder: str
    """A parameter's marker."""
    key_order: str
    """A text key column (`{}`) as ordered: byte-wise, as DuckDB orders text."""


def report_dimensions(by: tuple[str, ...]) -> tuple[str, ...]:
    """`by` checked, with `currency` appended when missing."""
    unknown = [name for name in by if name not in GGR_DIMENSIONS]
    if unknown:
        raise ValueError(f"GGR cannot be grouped by {unknown}: choose from {GGR_DIMENSIONS}")
    if len(set(by)) != len(by):
        raise ValueError(f"GGR grouping {by} names a dimension twice")
    return by if "currency" in by else (*by, "currency")


def ggr_sql(query: GgrQuery, dialect: GgrDialect) -> tuple[str, list[date]]:
    """The statement in `dialect` and its parameters for `query`; rows are `ggr_row`'s
    input."""
    by = report_dimensions(query.by)
    key, rollup, players = (
        (GAME_KEY, "daily_ggr", "daily_players")
        if "game_id" in by
        else (PROVIDER_KEY, "daily_provider_ggr", "daily_provider_players")
    )
    grouped = ", ".join(by)
    shown = ", ".join(dialect.day_text if name == "day" else name for name in by)
    ordered = ", ".join(name if name == "day" else dialect.key_order.format(name) for name in by)
    sums = ", ".join(
        f"{dialect.sum_bigint.format(f'sum({measure})')} AS {measure}" for measure in _SUMMED
    )
    in_range = f"day BETWEEN {dialect.placeholder} AND {dialect.placeholder}"
    days = [query.first_day, query.last_day]
    if set(by) == set(key):
        return (
            f"SELECT {shown}, {sums}, {dialect.sum_bigint.format('sum(active_players)')} "
            f"FROM {rollup} WHERE {in_range} GROUP BY {grouped} ORDER BY {ordered}",
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


def ggr_row(width: int, row: tuple[Any, ...]) -> GgrRow:
    """A result row of `ggr_sql` (`width` key columns first, then 64-bit counts, which
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


def ggr_rows(query: GgrQuery, rows: Iterable[tuple[Any, ...]]) -> list[GgrRow]:
    """The result rows of `ggr_sql(query, ...)` as `GgrRow`s."""
    width = len(report_dimensions(query.by))
    return [ggr_row(width, row) for row in rows]
