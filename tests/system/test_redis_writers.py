"""Two gateway processes bet on one player through one Redis: no overdraw, no lost bet.

Each writer is an OS process with its own store (`redis_bet_load.py`). Together they
send more bets than the player can afford; every bet ends with a known answer, exactly
as many are accepted as the funds cover, each accepted bet is in the player's history
once, the balance is what is left, and `verify` passes.
"""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.stores.redis_store import RedisWalletStore
from adapters.stores.redis_verify import verify_redis_wallet
from core.model import Balance, Deposit, TxStatus
from core.wallet.records import PlayerRecord
from tests.redis_servers import shared_cluster, shared_server

pytestmark = [pytest.mark.redis, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
WRITERS = 2
BETS_PER_WRITER = 150
STAKE_MINOR = 100
AFFORDABLE = 170
RUN_TIMEOUT_S = 120


async def _fund(url: str) -> None:
    store = await RedisWalletStore.open(url)
    try:
        await store.create_player(
            PlayerRecord("p1", "demo", "MT", "EUR", datetime.date(1990, 1, 1))
        )
        await store.apply([Deposit("d1", "p1", "EUR", AFFORDABLE * STAKE_MINOR)])
    finally:
        await store.close()


async def _state(url: str) -> tuple[Balance, set[str]]:
    store = await RedisWalletStore.open(url)
    try:
        history = await store.transactions("p1", limit=1_000)
        taken = {
            r.tx_id for r in history if r.kind.value == "debit" and r.status is TxStatus.APPLIED
        }
        return await store.balance("p1"), taken
    finally:
        await store.close()


def _start(url: str, writer: int) -> subprocess.Popen[bytes]:
    args = ["--url", url, "--writer", str(writer), "--bets", str(BETS_PER_WRITER)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.system.redis_bet_load", *args, "--stake", str(STAKE_MINOR)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("which", ["redis", "cluster"])
def test_two_writer_processes_never_overdraw_and_lose_no_bet(which: str) -> None:
    servers = shared_server() if which == "redis" else shared_cluster()
    servers.flush()
    asyncio.run(_fund(servers.url))
    processes = [_start(servers.url, writer) for writer in range(WRITERS)]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=RUN_TIMEOUT_S)
        assert process.returncode == 0, err.decode()[-2_000:]
        outputs.append(out.decode().splitlines())
    lines = [line.split() for output in outputs for line in output]
    acked = {fields[1] for fields in lines if fields[0] == "ACK"}
    refused = [fields for fields in lines if fields[0] == "REFUSED"]
    conflicts = sum(int(fields[1]) for fields in lines if fields[0] == "CONFLICTS")
    assert not [fields for fields in lines if fields[0] == "UNKNOWN"]
    assert len(acked) == AFFORDABLE
    assert len(refused) == WRITERS * BETS_PER_WRITER - AFFORDABLE
    assert {fields[2] for fields in refused} == {"insufficient_funds"}
    assert conflicts > 0, "the writers never raced"
    balance, taken = asyncio.run(_state(servers.url))
    assert balance == Balance("EUR", 0, 0)
    assert taken == acked
    report = verify_redis_wallet(servers.url)
    assert report.ok, report.lines()
