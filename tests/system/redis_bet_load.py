"""One writer process for the Redis conflict test: bets on one player, then exits.

    python -m tests.system.redis_bet_load --url URL --writer W --bets N --stake S

Sends N bets (ids `w<W>-b<i>`) on player p1, up to 16 at a time, each until its outcome
is known (a retryable answer is sent again with the same id), and prints one line per
bet: `ACK <tx_id> <transaction_id>` or `REFUSED <tx_id> <reason>`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from adapters.stores.redis_store import RedisWalletStore
from core.errors import GatewayError, StorageUnavailable
from core.model import Debit

IN_FLIGHT = 16
TRIES_MAX = 50


async def _bet(store: RedisWalletStore, bet: Debit, gate: asyncio.Semaphore) -> str:
    async with gate:
        for _ in range(TRIES_MAX):
            try:
                [outcome] = await store.apply([bet])
            except StorageUnavailable:
                continue
            except GatewayError as error:
                return f"REFUSED {bet.tx_id} {error.reason.value}"
            return f"ACK {bet.tx_id} {outcome.transaction_id}"
    return f"UNKNOWN {bet.tx_id}"


async def main(url: str, writer: int, bets: int, stake: int) -> None:
    store = await RedisWalletStore.open(url)
    gate = asyncio.Semaphore(IN_FLIGHT)
    try:
        commands = [
            Debit("prov", f"w{writer}-b{i}", "p1", "EUR", stake, f"w{writer}-r{i}", "g1")
            for i in range(bets)
        ]
        lines = await asyncio.gather(*(_bet(store, bet, gate) for bet in commands))
    finally:
        await store.close()
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    sys.stdout.write(f"CONFLICTS {store.conflicts_total}\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--writer", type=int, required=True)
    parser.add_argument("--bets", type=int, required=True)
    parser.add_argument("--stake", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.writer, args.bets, args.stake))
