"""How a batch of events reaches the PostgreSQL reporting tables: the statement `apply`
runs, the same rules as `adapters.reporting.duckdb_rollups`.

One statement, one round trip: the batch arrives as one array per column (`unnest`),
and data-modifying CTEs chain the steps. `INSERT INTO events ... ON CONFLICT DO NOTHING
RETURNING` yields only the events the store did not hold, so only those reach the
rollups and a batch relayed again after a crash adds nothing twice. The "first seen"
sets work the same way: a bet's player (per game and per provider) and its round are
inserted with `ON CONFLICT DO NOTHING RETURNING`, and each rollup row's `active_players`
and `rounds` grow by the set rows that came back. Rounds come from the per-game set at
both levels, so a provider row's rounds are the sum of its games' rows.

Run inside the caller's transaction, after it has locked the cursor row: two writers
take turns, and the second sees the first's events as conflicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.reporting.reporting_ddl import GAME_KEY, PROVIDER_KEY
from adapters.reporting.reporting_rollups import (
    BET,
    ROLLUP_MEASURES,
    rollup_increments,
    rollup_updates,
)
from adapters.reporting.store_rules import utc_day
from core.reporting.events import ReportEvent

__all__ = ["APPLY_SQL", "apply_parameters"]

_COLUMNS = (
    ("seq", "bigint"), ("part", "integer"), ("at_us", "bigint"), ("day", "date"),
    ("kind", "text"), ("player_id", "text"), ("brand", "text"), ("market", "text"),
    ("currency", "text"), ("provider", "text"), ("tx_id", "text"), ("game_id", "text"),
    ("vertical", "text"), ("round_id", "text"), ("amount_minor", "bigint"),
    ("real_delta_minor", "bigint"), ("bonus_delta_minor", "bigint"),
    ("real_after_minor", "bigint"), ("bonus_after_minor", "bigint"), ("reason", "text"),
    ("detail", "text"), ("ref_seq", "bigint"),
)  # fmt: skip
"""`ReportEvent`'s fields with `day` after `at_us`: the events table's columns."""

_NAMES = ", ".join(name for name, _ in _COLUMNS)
_ARRAYS = ", ".join(f"%s::{kind}[]" for _, kind in _COLUMNS)


def _first_seen(name: str, table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    """The batch's new bets' `columns` into `table`; returns the `key` of rows it lacked."""
    listed = ", ".join(columns)
    return f"""{name} AS (
    INSERT INTO {table} ({listed})
    SELECT DISTINCT {listed} FROM fresh WHERE kind = {BET}
    ON CONFLICT DO NOTHING
    RETURNING {", ".join(key)}
)"""


def _rollup(name: str, table: str, key: tuple[str, ...], players: str) -> str:
    """Add the batch's increments to `table`'s rows, creating the rows it lacks."""
    listed = ", ".join(key)
    increments = rollup_increments(key, "fresh", "new_rounds", players)
    return f"""{name} AS (
    INSERT INTO {table} ({listed}, {", ".join(ROLLUP_MEASURES)})
    {increments}
    ON CONFLICT ({listed}) DO UPDATE SET {rollup_updates(table)}
)"""


APPLY_SQL = f"""WITH incoming AS (
    SELECT DISTINCT ON (seq, part) *
    FROM unnest({_ARRAYS}) AS s ({_NAMES})
    ORDER BY seq, part
), fresh AS (
    INSERT INTO events ({_NAMES}) SELECT {_NAMES} FROM incoming
    ON CONFLICT (seq, part) DO NOTHING
    RETURNING {", ".join(GAME_KEY)}, player_id, round_id, kind,
              real_delta_minor, bonus_delta_minor
), {_first_seen("new_players", "daily_players", (*GAME_KEY, "player_id"), GAME_KEY)},
{
    _first_seen(
        "new_provider_players", "daily_provider_players", (*PROVIDER_KEY, "player_id"), PROVIDER_KEY
    )
},
{_first_seen("new_rounds", "daily_rounds", (*GAME_KEY, "round_id"), GAME_KEY)},
{_rollup("game_rollup", "daily_ggr", GAME_KEY, "new_players")},
{_rollup("provider_rollup", "daily_provider_ggr", PROVIDER_KEY, "new_provider_players")}
SELECT count(*) FROM fresh"""
"""Parameters: `apply_parameters(events)`. Returns one row: how many events were new."""


def apply_parameters(events: Sequence[ReportEvent]) -> list[list[Any]]:
    """`APPLY_SQL`'s arrays, one per column of `_COLUMNS`."""
    columns: list[list[Any]] = [list(values) for values in zip(*events, strict=True)]
    columns.insert(3, [utc_day(at_us) for at_us in columns[2]])
    columns[4] = [str(kind) for kind in columns[4]]
    return columns
