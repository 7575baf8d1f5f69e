"""`gamegate relay` as an operator runs it, in its own process: `--once` drains and
says how far; a wallet the relay cannot read yet is refused with a reason."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

from adapters.stores.sqlite_store import SqliteWalletStore
from tests.relay.ledger import assert_matches_ledger, history, seed

RUN_TIMEOUT_S = 60


def _relay(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GAMEGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "relay", *argv],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env={**clean, **env}, check=False,
    )  # fmt: skip


async def _wallet(path: Path) -> None:
    store = await SqliteWalletStore.open(path)
    try:
        await seed(store)
        await history(store, random.Random(11), 50)
    finally:
        await store.close()


def test_once_drains_the_wallet_and_says_how_far(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(_wallet(data / "wallet.db"))
    done = _relay("--once", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    events = assert_matches_ledger(data / "wallet.db", data / "reporting.duckdb")
    assert done.stdout.startswith("relayed through seq ")
    assert done.stdout.endswith(f" ({events} events)\n")
    again = _relay("--once", "--data-dir", str(data))
    assert again.returncode == 0, again.stderr
    assert again.stdout.endswith(" (0 events)\n")  # nothing new: nothing written twice


def test_a_redis_wallet_is_not_relayed_yet(tmp_path: Path) -> None:
    done = _relay("--once", "--data-dir", str(tmp_path),
                  GAMEGATE_WALLET__URL="redis://127.0.0.1:6379/0")  # fmt: skip
    assert done.returncode == 1
    assert "the relay cannot read a redis wallet yet (only sqlite)" in done.stderr
    assert not (tmp_path / "reporting.duckdb").exists()
