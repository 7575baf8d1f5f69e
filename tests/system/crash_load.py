"""Load for the crash test: bets, wins and rollbacks on a wallet file until killed.

    python -m tests.system.crash_load --db PATH --run N [--workers 8] [--duration-s 30]

Opens `SqliteWalletStore` (synchronous=FULL) on PATH, seeds the players idempotently,
prints `READY`, then runs concurrent workers. After each `apply` returns it prints one
line per acknowledged transaction, `ACK <provider> <tx_id>`, and flushes: whatever
reached the output was acknowledged, so it must survive a SIGKILL. Ids carry the run
number, so every run's ids are new. It stops by itself after `--duration-s`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import random
import sys
import time
from pathlib import Path

from adapters.stores.sqlite_store import SqliteWalletStore
from core.errors import GatewayError
from core.model import Credit, Debit, Deposit, MoneyCommand, Rollback
from core.wallet.records import PlayerRecord

PROVIDER = "crash"
PLAYERS = tuple(f"p{i}" for i in range(6))
SEED_FUNDS_MINOR = 10**12
STAKE_MAX_MINOR = 5_000


def _ack(commands: list[MoneyCommand]) -> None:
    sys.stdout.write("".join(f"ACK {c.provider} {c.tx_id}\n" for c in commands))
    sys.stdout.flush()


async def _seed(store: SqliteWalletStore) -> None:
    for player_id in PLAYERS:
        record = PlayerRecord(player_id, "demo", "MT", "EUR", datetime.date(1990, 1, 1))
        await store.create_player(record)
        await store.apply([Deposit(f"seed-{player_id}", player_id, "EUR", SEED_FUNDS_MINOR)])


async def _send(store: SqliteWalletStore, commands: list[MoneyCommand]) -> bool:
    try:
        await store.apply(commands)
    except GatewayError:
        return False  # a refusal is an answer too, but the test tracks successes only
    _ack(commands)
    return True


async def _worker(store: SqliteWalletStore, run: int, worker: int, deadline_s: float) -> None:
    rng = random.Random(run * 1_000 + worker)
    n = 0
    while time.monotonic() < deadline_s:
        n += 1
        name = f"r{run}-w{worker}-{n}"
        player = rng.choice(PLAYERS)
        bet = Debit(
            PROVIDER, f"{name}-bet", player, "EUR", rng.randint(1, STAKE_MAX_MINOR), name, "g"
        )
        win = Credit(
            PROVIDER, f"{name}-win", player, "EUR", rng.randint(0, 2 * STAKE_MAX_MINOR), name, "g",
            ref_tx_id=bet.tx_id, close_round=True,
        )  # fmt: skip
        roll = rng.random()
        if roll < 0.2:  # bet and win in one atomic batch
            await _send(store, [bet, win])
            continue
        if not await _send(store, [bet]):
            continue
        if roll < 0.4:
            await _send(store, [Rollback(PROVIDER, f"{name}-rb", player, bet.tx_id)])
        elif await _send(store, [win]) and roll > 0.9:
            await _send(store, [Rollback(PROVIDER, f"{name}-rbw", player, win.tx_id)])


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--run", type=int, required=True)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--duration-s", type=float, default=30.0)
    args = parser.parse_args(argv)
    store = await SqliteWalletStore.open(args.db, synchronous="FULL")
    try:
        await _seed(store)
        sys.stdout.write("READY\n")
        sys.stdout.flush()
        deadline_s = time.monotonic() + args.duration_s
        await asyncio.gather(
            *(_worker(store, args.run, w, deadline_s) for w in range(args.workers))
        )
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
