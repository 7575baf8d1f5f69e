"""Players' play figures in the wallet file: one row per player in `player_figures`.

Why a table of their own and not columns of `players`: the figures change with nearly
every bet, the player row a few times in a player's life. Kept apart, a group commit
rewrites one short row per player moved in a narrow table, never the player's row with
its limits and identity, and the player cache and record never change under a bet.

Why columns and not `core.wallet.figures.encode_figures` text: the row is written for
every player of every group commit, on the writer thread. Encoding the text costs
~3.4 µs a player; the flat tuple of the figures' integers ~0.9 µs (and binds ~0.4 µs
slower), and it decodes in a third of the time on a cache miss. The integers are the
`PlayFigures` fields in order (each period's `PeriodFigures`, then the last bet); only
the game-cycle starts are text, `vertical:start_us` pairs joined by commas. SQL can
then read figures too (support, ops), and the core's text stays the core's business.

The ledger caches figures like balances and stages each job's last figures per player;
`flush` writes them with one `executemany` in the job's transaction (or savepoint), so
a rolled-back job's figures go with its rows, and the ledger's reload forgets the cache.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, MutableMapping
from typing import Any

from adapters.stores.sqlite_prefetch import select_in
from core.wallet.figures import NO_FIGURES, PeriodFigures, PlayFigures

__all__ = ["figures_from_row", "figures_to_row", "load_figures", "read_figures", "write_figures"]

_COLUMNS = 19
_SELECT_ONE = "SELECT * FROM player_figures WHERE player_id = ?"
_SELECT_MANY = "SELECT * FROM player_figures WHERE player_id IN ({marks})"
_UPSERT = f"INSERT OR REPLACE INTO player_figures VALUES ({', '.join('?' * _COLUMNS)})"


def figures_to_row(player_id: str, figures: PlayFigures) -> tuple[Any, ...]:
    """Plain ints and strs (the sqlite3 module binds those without an adapter lookup)."""
    day, week, month, last_bet_us, cycle_starts, deposited_total_minor = figures
    cycles = ",".join([f"{name}:{start_us}" for name, start_us in cycle_starts])
    return (player_id, *day, *week, *month, last_bet_us, cycles, deposited_total_minor)


def figures_from_row(row: tuple[Any, ...]) -> PlayFigures:
    cycles = row[17]
    return PlayFigures(
        PeriodFigures._make(row[1:6]),
        PeriodFigures._make(row[6:11]),
        PeriodFigures._make(row[11:16]),
        row[16],
        tuple((name, int(start)) for name, _, start in map(_split, cycles.split(",")))
        if cycles
        else (),
        row[18],
    )


def _split(pair: str) -> tuple[str, str, str]:
    return pair.rpartition(":")


def read_figures(conn: sqlite3.Connection, player_id: str) -> PlayFigures:
    """The player's figures as stored, `NO_FIGURES` if none."""
    row = conn.execute(_SELECT_ONE, (player_id,)).fetchone()
    return NO_FIGURES if row is None else figures_from_row(row)


def load_figures(
    conn: sqlite3.Connection, player_ids: list[str], cache: MutableMapping[str, PlayFigures]
) -> None:
    """Cache the figures of a batch's players with one query per chunk (`NO_FIGURES`
    for a player without: the writer is the only one to add them)."""
    for player_id in player_ids:
        cache[player_id] = NO_FIGURES
    for row in select_in(conn, _SELECT_MANY, player_ids):
        cache[row[0]] = figures_from_row(row)


def write_figures(conn: sqlite3.Connection, staged: Mapping[str, PlayFigures]) -> None:
    """Upsert each staged player's figures, in key order (each page visited once)."""
    conn.executemany(
        _UPSERT, [figures_to_row(player_id, staged[player_id]) for player_id in sorted(staged)]
    )
