"""The relay's tests' two sides: a random wallet history written by a real wallet store
(SQLite or Redis), and the check that the reporting file says what the wallet's ledger
says (`assert_matches_ledger` for a wallet file, `assert_matches_redis_ledger` for a
Redis wallet: the ledger legs stored with its players' records).

`history` plays bets, wins (naming their bet or the round, some bonus wins and
jackpots), rollbacks of bets and of wins, rollbacks before their bet (tombstones) and
the late bet they refuse, refusals (funds), deposits, withdrawals and bonus grants, for
players in several currencies and funding orders. `assert_matches_ledger` reads both
sides as they are (the wallet read-only, a reporting file read-only, so no process
may hold it then; or a PostgreSQL schema through a query function).
"""

from __future__ import annotations

import datetime
import random
import sqlite3
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from adapters.reporting.wallet_logs import open_wallet_log
from adapters.stores.redis_clients import sync_client
from adapters.stores.redis_codec import decode_tx
from adapters.stores.redis_keys import player_keys
from adapters.stores.redis_url import parse_redis_url
from core.errors import GatewayError
from core.model import (
    BonusGrant,
    Credit,
    CreditKind,
    Debit,
    Deposit,
    FundingOrder,
    MoneyCommand,
    Rollback,
    Withdrawal,
)
from core.reporting.wallet_log import WalletLog
from core.wallet.records import PlayerRecord
from core.wallet.store import WalletStore
from gateway.relay import Relay

__all__ = ["PLAYERS", "assert_matches_ledger", "assert_matches_redis_ledger", "history", "seed"]

PROVIDER = "prov"
GAMES = ("g-slot", "g-live")
PLAYERS = (
    PlayerRecord("p-eur", "brand-a", "MT", "EUR", datetime.date(1990, 1, 1)),
    PlayerRecord("p-sek", "brand-b", "SE", "SEK", datetime.date(1985, 5, 5),
                 funding_order=FundingOrder.BONUS_FIRST),
    PlayerRecord("p-btc", "brand-a", "CW", "BTC", datetime.date(1970, 2, 2)),
)  # fmt: skip


async def seed(store: WalletStore) -> None:
    for player in PLAYERS:
        await store.create_player(player)
        await _send(store, [Deposit(f"dep0-{player.player_id}", player.player_id,
                                    player.currency, 50_000)])  # fmt: skip
        await _send(store, [BonusGrant(f"bg0-{player.player_id}", player.player_id,
                                       player.currency, 5_000)])  # fmt: skip


async def history(store: WalletStore, rng: random.Random, rounds: int, tag: str = "") -> None:
    """`rounds` random rounds (and cashier movements between them)."""
    for n in range(rounds):
        player = rng.choice(PLAYERS)
        p, cur = player.player_id, player.currency
        name = f"{tag}{n}"
        round_id, game = f"r{name}", rng.choice(GAMES)
        roll = rng.random()
        if roll < 0.08:
            await _send(store, [Deposit(f"dep{name}", p, cur, rng.randint(1, 20_000))])
            await _send(store, [Withdrawal(f"wd{name}", p, cur, rng.randint(1, 30_000))])
            await _send(store, [BonusGrant(f"bg{name}", p, cur, rng.randint(1, 2_000))])
            continue
        if roll < 0.14:  # a rollback before its bet, then the late bet (refused)
            await _send(store, [Rollback(PROVIDER, f"rb{name}", p, f"b{name}", round_id)])
            await _send(store, [Debit(PROVIDER, f"b{name}", p, cur, 10, round_id, game)])
            continue
        bets = [Debit(PROVIDER, f"b{name}-{i}", p, cur, rng.randint(1, 9_000), round_id, game)
                for i in range(rng.choice((1, 1, 2, 3)))]  # fmt: skip
        for bet in bets:  # some are refused: stakes above the balance
            await _send(store, [bet])
        if rng.random() < 0.2:
            await _send(store, [Rollback(PROVIDER, f"rb{name}", p, bets[0].tx_id)])
        kind = rng.choice((CreditKind.WIN, CreditKind.WIN, CreditKind.BONUS_WIN,
                           CreditKind.JACKPOT))  # fmt: skip
        named = bets[-1].tx_id if rng.random() < 0.5 else None
        win = Credit(PROVIDER, f"w{name}", p, cur, rng.randint(0, 15_000), round_id, game,
                     credit_kind=kind, ref_tx_id=named,
                     requires_bet=kind is CreditKind.WIN)  # fmt: skip
        if await _send(store, [win]) and rng.random() < 0.15:
            await _send(store, [Rollback(PROVIDER, f"rbw{name}", p, win.tx_id)])
        if rng.random() < 0.1:  # a second, round-level win
            await _send(store, [Credit(PROVIDER, f"w2{name}", p, cur, 100, round_id, game)])


async def _send(store: WalletStore, commands: list[MoneyCommand]) -> bool:
    try:
        await store.apply(commands)
    except GatewayError:
        return False
    return True


Ledger = dict[tuple[str, str], tuple[int, int]]
"""(player_id, currency) -> (real, bonus), summed from the ledger's entries."""


def _add_leg(ledger: Ledger, account: str, currency: str, amount: int) -> None:
    _, player_id, bucket = account.split(":")
    real, bonus = ledger.get((player_id, currency), (0, 0))
    ledger[(player_id, currency)] = (
        (real + amount, bonus) if bucket == "real" else (real, bonus + amount)
    )


def _redis_rows(url: str) -> tuple[set[int], Ledger]:
    """Every seq of the players' records and their (real, bonus) by currency, from the
    legs stored with the records (`PLAYERS`: the players `seed` made)."""
    client = sync_client(parse_redis_url(url), 10.0)
    try:
        seqs: set[int] = set()
        ledger: Ledger = {}
        for player in PLAYERS:
            for raw in client.hgetall(player_keys(player.player_id).txs).values():
                stored = decode_tx(raw)
                seqs.add(stored.record.seq)
                for account, currency, amount in stored.entries:
                    if account.startswith("player:"):
                        _add_leg(ledger, account, currency, amount)
    finally:
        client.close()
    return seqs, ledger


def _wallet_rows(wallet: Path) -> tuple[int, dict[tuple[str, str], tuple[int, int]]]:
    """The last seq and every player's (real, bonus) by currency, from the entries."""
    uri = f"file:{urllib.parse.quote(str(wallet))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        (last_seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM txs").fetchone()
        balances: dict[tuple[str, str], tuple[int, int]] = {}
        for account, currency, total in conn.execute(
            "SELECT account, currency, SUM(amount_minor) FROM entries "
            "WHERE account LIKE 'player:%' GROUP BY account, currency"
        ):
            _, player_id, bucket = account.split(":")
            real, bonus = balances.get((player_id, currency), (0, 0))
            balances[(player_id, currency)] = (
                (real + total, bonus) if bucket == "real" else (real, bonus + total)
            )
    finally:
        conn.close()
    return int(last_seq), balances


Fetch = Callable[[str], list[tuple[Any, ...]]]
"""Runs a query on the reporting store's tables and returns its rows."""


def _by_player(fetch: Fetch, select: str) -> dict[tuple[str, str], tuple[int, int]]:
    return {(p, c): (int(r), int(b)) for p, c, r, b in fetch(select)}


def assert_matches_ledger(wallet: Path, reporting: Path | Fetch) -> int:
    """Every wallet seq has its events once, the reporting balances and the events'
    deltas equal the ledger's balances, the cursor is at the last seq, and the GGR
    rollups counted each bet once. The number of events.

    `reporting`: a DuckDB file, or a query function for a server-backed store."""
    if not isinstance(reporting, Path):
        return _assert_matches_ledger(wallet, reporting)
    con = duckdb.connect(str(reporting), read_only=True)
    try:
        return _assert_matches_ledger(wallet, lambda query: con.execute(query).fetchall())
    finally:
        con.close()


def assert_matches_redis_ledger(url: str, reporting: Path) -> int:
    """`assert_matches_ledger` for the Redis wallet at `url`: its seqs are not dense
    (`counter * GROUPS + group`), so every record's seq has its events, and the cursor
    (a high-water mark) is the largest."""
    seqs, ledger = _redis_rows(url)
    con = duckdb.connect(str(reporting), read_only=True)
    try:
        return _assert_matches(seqs, ledger, lambda query: con.execute(query).fetchall())
    finally:
        con.close()


def _assert_matches_ledger(wallet: Path, fetch: Fetch) -> int:
    last_seq, ledger = _wallet_rows(wallet)
    return _assert_matches(set(range(1, last_seq + 1)), ledger, fetch)


def _assert_matches(wallet_seqs: set[int], ledger: Ledger, fetch: Fetch) -> int:
    last_seq = max(wallet_seqs, default=0)
    ((cursor,),) = fetch("SELECT seq FROM cursor")
    keys = fetch("SELECT seq, part FROM events")
    seqs = {seq for (seq,) in fetch("SELECT DISTINCT seq FROM events")}
    stored = _by_player(fetch, "SELECT player_id, currency, real_minor, bonus_minor FROM balances")
    sums = _by_player(
        fetch,
        "SELECT player_id, currency, SUM(real_delta_minor), SUM(bonus_delta_minor) "
        "FROM events GROUP BY player_id, currency",
    )
    ((bets,),) = fetch("SELECT COUNT(*) FROM events WHERE kind = 'bet'")
    ((rolled_up,),) = fetch("SELECT COALESCE(SUM(bets), 0) FROM daily_ggr")
    assert cursor == last_seq
    assert not [key for key, n in Counter(keys).items() if n > 1], "an event stored twice"
    assert seqs == wallet_seqs, "wallet seqs missing from the events (or not the wallet's)"
    nonzero = {key: value for key, value in ledger.items() if value != (0, 0)}
    assert {k: v for k, v in stored.items() if v != (0, 0)} == nonzero
    assert {k: v for k, v in sums.items() if v != (0, 0)} == nonzero
    assert rolled_up == bets, "the GGR rollups counted a bet twice or missed one"
    return len(keys)


def relay_of(wallet_url: str, store: object, batch_seqs_max: int = 5_000) -> Relay:
    """The relay `gamegate relay` builds, from the wallet at `wallet_url` into `store`
    (no catalogue: games unknown), polling every 10 ms."""

    async def open_wallet() -> WalletLog:
        return await open_wallet_log(wallet_url, data_dir=Path("."))

    return Relay(
        open_wallet,
        store,  # type: ignore[arg-type]
        lambda key: None,
        batch_seqs_max=batch_seqs_max,
        poll_interval_s=0.01,
    )
