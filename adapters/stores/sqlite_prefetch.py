"""Bulk loads that fill the ledger's caches before a batch runs.

A batch of a few hundred commands would otherwise do a few indexed lookups each; here
they become one `IN (...)` query per table, provider and chunk. Keys found missing are
cached as missing: the writer thread is the only writer, so they cannot appear behind
its back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from adapters.stores.sqlite_schema import TX_COLUMNS, player_from_row
from core.wallet.records import PlayerRecord

__all__ = ["SELECT_ROUNDS", "SELECT_TXS", "load_keyed", "load_players"]

CHUNK_KEYS_MAX = 400
"""Parameters per query, well under SQLite's limit of bound variables."""
SELECT_TXS = f"SELECT tx_id, {TX_COLUMNS} FROM txs WHERE provider = ? AND tx_id IN ({{marks}})"
SELECT_ROUNDS = "SELECT round_id, * FROM rounds WHERE provider = ? AND round_id IN ({marks})"


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
        for start in range(0, len(ids), CHUNK_KEYS_MAX):
            chunk = ids[start : start + CHUNK_KEYS_MAX]
            marks = ", ".join("?" * len(chunk))
            found = {
                row[0]: from_row(row[1:])
                for row in conn.execute(select.format(marks=marks), [provider, *chunk])
            }
            for key_id in chunk:
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
    wanted = list(player_ids)
    for start in range(0, len(wanted), CHUNK_KEYS_MAX):
        chunk = wanted[start : start + CHUNK_KEYS_MAX]
        marks = ", ".join("?" * len(chunk))
        for row in conn.execute(f"SELECT * FROM players WHERE player_id IN ({marks})", chunk):
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
    for start in range(0, len(accounts), CHUNK_KEYS_MAX):
        chunk = accounts[start : start + CHUNK_KEYS_MAX]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT account, currency, balance_minor FROM accounts WHERE account IN ({marks})",
            chunk,
        )
        for account, currency, balance in rows:
            _, player_id, bucket = account.split(":", 2)
            key = (player_id, currency)
            if key not in balances:
                continue  # an account in another currency than the player's wallet
            real, bonus = balances[key]
            balances[key] = (real + balance, bonus) if bucket == "real" else (real, bonus + balance)
