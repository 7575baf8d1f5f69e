"""The rollup rules both reporting stores apply: what a batch's new events and new
"first seen" set rows add to a `daily_ggr` or `daily_provider_ggr` row.

How the batch and its new set rows are found differs by store (DuckDB: temporary tables,
`adapters.reporting.duckdb_rollups`; PostgreSQL: data-modifying CTEs,
`adapters.reporting.postgres_apply`); both name them and hand them to `rollup_increments`.
"""

from __future__ import annotations

from core.reporting.events import EventKind

__all__ = ["BET", "ROLLUP_MEASURES", "rollup_increments", "rollup_updates"]

BET = f"'{EventKind.BET.value}'"
_WIN = f"'{EventKind.WIN.value}'"
_ROLLBACK = f"'{EventKind.ROLLBACK.value}'"

ROLLUP_MEASURES = (
    "bets", "stake_real_minor", "stake_bonus_minor", "win_real_minor", "win_bonus_minor",
    "rollback_real_minor", "rollback_bonus_minor", "rounds", "active_players",
)  # fmt: skip
"""A rollup row's counts, in the tables' column order."""

_EVENT_MEASURES = f"""
    CASE WHEN kind = {BET} THEN 1 ELSE 0 END,
    CASE WHEN kind = {BET} THEN -real_delta_minor ELSE 0 END,
    CASE WHEN kind = {BET} THEN -bonus_delta_minor ELSE 0 END,
    CASE WHEN kind = {_WIN} THEN real_delta_minor ELSE 0 END,
    CASE WHEN kind = {_WIN} THEN bonus_delta_minor ELSE 0 END,
    CASE WHEN kind = {_ROLLBACK} THEN real_delta_minor ELSE 0 END,
    CASE WHEN kind = {_ROLLBACK} THEN bonus_delta_minor ELSE 0 END,
    0, 0"""


def rollup_increments(key: tuple[str, ...], events: str, rounds: str, players: str) -> str:
    """A query of `key`, then `ROLLUP_MEASURES`: one row per group the batch touches,
    its increments. `events`: the batch's new events; `rounds`: its new rows of the
    per-game round set (rounds come from it at both levels, so a provider row's rounds
    are the sum of its games' rows); `players`: its new rows of the level's player set."""
    listed = ", ".join(key)
    sums = ", ".join(f"sum({measure})" for measure in ROLLUP_MEASURES)
    return f"""SELECT {listed}, {sums} FROM (
    SELECT {listed}, {_EVENT_MEASURES}
    FROM {events} WHERE kind IN ({BET}, {_WIN}, {_ROLLBACK})
    UNION ALL
    SELECT {listed}, 0, 0, 0, 0, 0, 0, 0, 1, 0 FROM {rounds}
    UNION ALL
    SELECT {listed}, 0, 0, 0, 0, 0, 0, 0, 0, 1 FROM {players}
) AS increments ({listed}, {", ".join(ROLLUP_MEASURES)})
GROUP BY {listed}"""


def rollup_updates(table: str) -> str:
    """The `ON CONFLICT ... DO UPDATE SET` list adding an increment to `table`'s row."""
    return ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in ROLLUP_MEASURES)
