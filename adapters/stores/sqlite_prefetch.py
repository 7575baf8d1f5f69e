"""Bulk loads that fill the ledger's caches before a batch runs.

A batch of a few hundred commands would otherwise do a few indexed lookups each; here
they become one `IN (...)` query per table, provider and chunk. Keys found missing are
cached as missing: the writer thread is the only writer, so they cannot appear behind
its back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from adapters.stores.sqlite_schema import TX_COLUMNS, player_from_row
from core.wallet.records import PlayerRecord

__all__ = ["SELECT_ROUNDS", "SELECT_TXS", "load_keyed", "load_players", "select_in"]

CHUNK_KEYS_MAX = 400
"""Parameters per query, well under SQLite's limit of bound variables."""
SELECT_TXS = f"SELECT tx_id, {TX_COLUMNS} FROM txs WHERE provider = ? AND tx_id IN ({{marks}})"
SELECT_ROUNDS = "SELECT round_id, * FROM rounds WHERE provider = ? AND round_id IN ({marks})"
_SELECT_PLAYERS = "SELECT * FROM players WHERE player_id IN ({marks})"
_SELECT_ACCOUNTS = (
    "SELECT account, currency, balance_minor FROM accounts WHERE account IN ({marks})"
)


def select_in(
    conn: sqlite3.Connection,
    select: str,
    keys: Sequence[str],
    leading: tuple[Any, ...] = (),
) -> Iterator[Any]:
    """The rows of `select` (with `{marks}` for the `IN` list) over every chunk of keys."""
    for start in range(0, len(keys), CHUNK_KEYS_MAX):
        chunk = keys[start : start + CHUNK_KEYS_MAX]
        marks = ", ".join("?" * len(chunk))
        yield from conn.execute(select.format(marks=marks), [*leading, *chunk])


def load_keyed(
    conn: sqlite3.Connection,
    keys: set[tuple[str, str]],
    select: str,
    cache: MutableMapping[tuple[str, str], Any],
    from_row: Callable[[tuple[Any, ...]], Any],
) -> None:
    """Load `(provider, id)` keys with one indexed `provider = ? AND id IN (...)` per chunk.

    (A row-value `(provider, id) IN (VALUES ...)` would scan the table instead.)
    """
    by_provider: dict[str, list[str]] = {}
    for provider, key_id in keys:
        by_provider.setdefault(provider, []).append(key_id)
    for provider, ids in by_provider.items():
        found = {row[0]: from_row(row[1:]) for row in select_in(conn, select, ids, (provider,))}
        for key_id in ids:
            cache[(provider, key_id)] = found.get(key_id)


def load_players(
    conn: sqlite3.Connection,
    player_ids: set[str],
    players: MutableMapping[str, PlayerRecord],
    balances: MutableMapping[tuple[str, str], tuple[int, int]],
    unsnapshotted: Mapping[tuple[str, str], int],
) -> None:
    """Load players and their (real, bonus) balances in their wallet currency: the
    snapshot in `accounts` plus the changes since (`unsnapshotted`, by account)."""
    for row in select_in(conn, _SELECT_PLAYERS, list(player_ids)):
        players[row[0]] = player_from_row(row)
    accounts: list[str] = []
    for player_id in player_ids:
        player = players.get(player_id)
        if player is not None and (player_id, player.currency) not in balances:
            real_account, bonus_account = f"player:{player_id}:real", f"player:{player_id}:bonus"
            accounts += (real_account, bonus_account)
            balances[(player_id, player.currency)] = (
                unsnapshotted.get((real_account, player.currency), 0),
                unsnapshotted.get((bonus_account, player.currency), 0),
            )
    for account, currency, balance in select_in(conn, _SELECT_ACCOUNTS, accounts):
        _, player_id, bucket = account.split(":", 2)
        key = (player_id, currency)
        if key not in balances:
            continue  # an account in another currency than the player's wallet
        real, bonus = balances[key]
        balances[key] = (real + balance, bonus) if bucket == "real" else (real, bonus + balance)
