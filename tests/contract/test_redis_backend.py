"""The Redis wallet by URL: what it says it opened, what it refuses, functions it reloads."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import pytest

from adapters.stores.backend import WalletAccessError
from adapters.stores.open import check_wallet_url, open_wallet_store, verify_wallet_store
from adapters.stores.redis_store import RedisWalletStore
from core.model import Balance, Debit, Deposit
from core.wallet.records import PlayerRecord
from tests.redis_servers import (
    RedisCluster,
    free_port,
    shared_cluster,
    shared_server,
    start_server,
)

pytestmark = pytest.mark.redis


def _player() -> PlayerRecord:
    return PlayerRecord("p1", "demo", "MT", "EUR", datetime.date(1990, 1, 1))


async def test_the_store_says_which_server_it_opened_and_its_durability(tmp_path: Path) -> None:
    server = shared_server()
    store = await open_wallet_store(server.url, data_dir=tmp_path, synchronous="NORMAL")
    try:
        described = store.describe()
    finally:
        await store.close()
    assert described.startswith(f"redis redis://127.0.0.1:{server.port}/0")
    assert "servers at appendfsync=always" in described


async def test_everysec_accepted_by_the_url_is_stated_with_what_a_crash_loses(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path, "--appendfsync", "everysec")
    try:
        with pytest.raises(WalletAccessError, match="appendfsync everysec; set `appendfsync"):
            await open_wallet_store(server.url, data_dir=tmp_path)
        store = await open_wallet_store(f"{server.url}?appendfsync=everysec", data_dir=tmp_path)
        try:
            assert "loses up to ~2 s of acknowledged wallet writes" in store.describe()
        finally:
            await store.close()
    finally:
        server.stop()


async def test_a_redis_nobody_listens_on_is_a_wallet_access_error_saying_where(
    tmp_path: Path,
) -> None:
    port = free_port()
    with pytest.raises(WalletAccessError, match=f"cannot open the wallet at redis .*:{port}"):
        await open_wallet_store(f"redis://127.0.0.1:{port}/0", data_dir=tmp_path)


def test_a_redis_url_is_checked_before_anything_connects() -> None:
    check_wallet_url("redis+cluster://a:7000,b:7001")
    with pytest.raises(ValueError, match="database 0 only"):
        check_wallet_url("redis+cluster://a:7000/1")


@pytest.mark.parametrize("which", ["redis", "cluster"])
async def test_flushed_functions_are_loaded_again_and_the_call_goes_through(
    tmp_path: Path, which: str
) -> None:
    servers = shared_server() if which == "redis" else shared_cluster()
    servers.flush()
    store = await open_wallet_store(servers.url, data_dir=tmp_path)
    assert isinstance(store, RedisWalletStore)
    try:
        await store.create_player(_player())
        await store.apply([Deposit("d1", "p1", "EUR", 500)])
        nodes = servers.nodes if isinstance(servers, RedisCluster) else [servers]
        for node in nodes:
            with node.client() as client:
                client.function_flush()
        [outcome] = await store.apply([Debit("prov", "b1", "p1", "EUR", 200, "r1", "g1")])
        assert outcome.balance == Balance("EUR", 300, 0)
        assert store.reloads_total >= 1
    finally:
        await store.close()
    report = verify_wallet_store(servers.url, data_dir=tmp_path)
    assert report.ok, report.lines()


def test_the_store_works_on_uvloop_as_gamegate_serve_runs_it(tmp_path: Path) -> None:
    """uvloop's transports are no subclasses of asyncio.Transport (the pipelined link
    must not assume they are): one bet and its answer, on the loop the gateway uses."""
    uvloop = pytest.importorskip("uvloop")
    server = shared_server()
    server.flush()

    async def bet() -> Balance:
        store = await open_wallet_store(server.url, data_dir=tmp_path)
        try:
            await store.create_player(_player())
            await store.apply([Deposit("d1", "p1", "EUR", 500)])
            [outcome] = await store.apply([Debit("prov", "b1", "p1", "EUR", 200, "r1", "g1")])
            return outcome.balance
        finally:
            await store.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(bet()) == Balance("EUR", 300, 0)
