"""The relay inside `gamegate serve`: it starts with the app when `reporting.relay` is
on and the process holds the reporting store, relays what the wallet commits, and shows
its lag on `/metrics`; off, without the store (another worker) or for a wallet it
cannot read yet (Redis), it does not start and nothing else changes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import MutableMapping
from typing import Any

from aiohttp import web
from structlog.testing import capture_logs

from core.model import BonusGrant, Deposit
from core.wallet.records import PlayerRecord
from gateway.keys import METRICS, REPORTING_STORE, STORE
from gateway.metrics import Metrics
from gateway.relay import relay_context
from gateway.settings import Settings
from tests.gateway.conftest import MakeClient, MakeSettings, app_of

WAIT_S = 10.0
POLL_S = 0.02


async def test_the_app_relays_what_the_wallet_commits(make_client: MakeClient) -> None:
    client = await make_client(reporting={"relay_poll_interval_s": 0.01})
    app = app_of(client)
    wallet = app[STORE]
    await wallet.create_player(PlayerRecord("p1", "demo", "MT", "EUR", datetime.date(1990, 1, 1)))
    await wallet.apply([Deposit("d1", "p1", "EUR", 1_000), BonusGrant("g1", "p1", "EUR", 50)])
    store = app[REPORTING_STORE]
    for _ in range(int(WAIT_S / POLL_S)):
        if await store.cursor() == 2:
            break
        await asyncio.sleep(POLL_S)
    assert await store.cursor() == 2
    assert await store.balances([("p1", "EUR")]) == {("p1", "EUR"): (1_000, 50)}
    text = await (await client.get("/metrics")).text()
    assert "gamegate_relay_events_total 2.0" in text
    assert "gamegate_relay_failures_total 0.0" in text
    assert "gamegate_relay_lag_seqs 0.0" in text
    assert "gamegate_relay_lag_seconds 0.0" in text


async def test_off_the_relay_does_not_start(make_client: MakeClient) -> None:
    client = await make_client(reporting={"relay": False})
    await app_of(client)[STORE].create_player(
        PlayerRecord("p1", "demo", "MT", "EUR", datetime.date(1990, 1, 1))
    )
    await app_of(client)[STORE].apply([Deposit("d1", "p1", "EUR", 1_000)])
    await asyncio.sleep(0.3)
    assert await app_of(client)[REPORTING_STORE].cursor() == 0
    assert "gamegate_relay" not in await (await client.get("/metrics")).text()


async def _started(app: web.Application, settings: Settings) -> list[MutableMapping[str, Any]]:
    """Enter and leave the relay's context on a bare app; the log lines it wrote."""
    app[METRICS] = Metrics()
    with capture_logs() as logs:
        async with contextlib.asynccontextmanager(relay_context(settings))(app):
            assert "gamegate_relay" not in app[METRICS].render().decode()
    return logs


async def test_without_the_reporting_store_it_does_not_start(
    make_settings: MakeSettings,
) -> None:
    assert await _started(web.Application(), make_settings()) == []
    redis = make_settings(wallet={"url": "redis://127.0.0.1/0"})
    assert await _started(web.Application(), redis) == []
