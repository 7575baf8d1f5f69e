"""How a batch of events reaches the DuckDB reporting tables: the SQL `apply` runs.

The caller fills the temporary `stage_events` table (`STAGE_DDL`) and runs
`apply_staged` inside its transaction. Only the events the file does not hold yet (an
anti-join on `(seq, part)`, restricted to the batch's seq range so the zone maps prune
the rest) go on to `events` and into the rollups, so a batch relayed again after a
crash adds nothing twice. The same goes for the "first seen" sets: a player or a round
already counted in a group is not counted again; each rollup row's `rounds` and
`active_players` grow by the set rows that were new.

Set-based throughout (no per-event Python): the benchmark pushes millions of generated
events through this same SQL.
"""

from __future__ import annotations

import duckdb

from adapters.reporting.reporting_ddl import GAME_KEY, PROVIDER_KEY
from adapters.reporting.reporting_rollups import BET, rollup_increments, rollup_updates

__all__ = ["EVENT_COLUMNS", "STAGE_DDL", "apply_staged"]

EVENT_COLUMNS = (
    "seq", "part", "at_us", "kind", "player_id", "brand", "market", "currency", "provider",
    "tx_id", "game_id", "vertical", "round_id", "amount_minor", "real_delta_minor",
    "bonus_delta_minor", "real_after_minor", "bonus_after_minor", "reason", "detail",
    "ref_seq",
)  # fmt: skip
"""`ReportEvent`'s fields in order: a staged row is the event tuple as it is."""

STAGE_DDL = """CREATE TEMP TABLE IF NOT EXISTS stage_events (
    seq BIGINT NOT NULL, part INTEGER NOT NULL, at_us BIGINT NOT NULL, kind VARCHAR NOT NULL,
    player_id VARCHAR NOT NULL, brand VARCHAR NOT NULL, market VARCHAR NOT NULL,
    currency VARCHAR NOT NULL, provider VARCHAR NOT NULL, tx_id VARCHAR NOT NULL,
    game_id VARCHAR NOT NULL, vertical VARCHAR NOT NULL, round_id VARCHAR NOT NULL,
    amount_minor BIGINT NOT NULL, real_delta_minor BIGINT NOT NULL,
    bonus_delta_minor BIGINT NOT NULL, real_after_minor BIGINT NOT NULL,
    bonus_after_minor BIGINT NOT NULL, reason VARCHAR NOT NULL, detail VARCHAR NOT NULL,
    ref_seq BIGINT
)"""

_FRESH = """CREATE OR REPLACE TEMP TABLE fresh AS
SELECT s.*, CAST(make_timestamp(s.at_us) AS DATE) AS day
FROM (SELECT DISTINCT ON (seq, part) * FROM stage_events) AS s
WHERE NOT EXISTS (
    SELECT 1 FROM events AS e
    WHERE e.seq = s.seq AND e.part = s.part
      AND e.seq BETWEEN (SELECT min(seq) FROM stage_events)
                    AND (SELECT max(seq) FROM stage_events)
)"""

_STORE_EVENTS = "INSERT INTO events BY NAME SELECT * FROM fresh"


def _fresh_set(name: str, table: str, columns: tuple[str, ...]) -> str:
    """The set rows the batch's bets bring that `table` does not hold yet."""
    listed = ", ".join(columns)
    matched = " AND ".join(f"t.{column} = f.{column}" for column in columns)
    return f"""CREATE OR REPLACE TEMP TABLE {name} AS
SELECT DISTINCT {listed} FROM fresh AS f
WHERE kind = {BET} AND NOT EXISTS (
    SELECT 1 FROM {table} AS t
    WHERE {matched}
      AND t.day BETWEEN (SELECT min(day) FROM fresh) AND (SELECT max(day) FROM fresh)
)"""


_SETS = (
    ("fresh_players", "daily_players", (*GAME_KEY, "player_id")),
    ("fresh_provider_players", "daily_provider_players", (*PROVIDER_KEY, "player_id")),
    ("fresh_rounds", "daily_rounds", (*GAME_KEY, "round_id")),
)


def _rollup(table: str, key: tuple[str, ...], players: str) -> str:
    """Add the batch's increments to `table`'s rows, creating the rows it lacks."""
    return f"""INSERT INTO {table}
{rollup_increments(key, "fresh", "fresh_rounds", players)}
ON CONFLICT DO UPDATE SET {rollup_updates(table)}"""


_STATEMENTS = (
    _FRESH,
    _STORE_EVENTS,
    *(_fresh_set(name, table, columns) for name, table, columns in _SETS),
    *(f"INSERT INTO {table} BY NAME SELECT * FROM {name}" for name, table, _ in _SETS),
    _rollup("daily_ggr", GAME_KEY, "fresh_players"),
    _rollup("daily_provider_ggr", PROVIDER_KEY, "fresh_provider_players"),
)


def apply_staged(con: duckdb.DuckDBPyConnection) -> int:
    """Move the staged events the file lacks into `events` and the rollups; return how
    many were new. Run inside the caller's transaction; the stage is emptied."""
    for statement in _STATEMENTS:
        con.execute(statement)
    ((fresh,),) = con.execute("SELECT count(*) FROM fresh").fetchall()
    con.execute("DELETE FROM stage_events")
    return int(fresh)
