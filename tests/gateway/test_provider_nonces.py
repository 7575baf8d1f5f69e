"""Nonce memory as the composition root builds it: as long as the adapter needs, bounded.

Before the hardening every instance remembered nonces for a fixed 900 s whatever its
clock skew, so with gamegate's `clock_skew_s = 3600` a request stamped now + 3500 s was
accepted again 918 s later; and a full memory forgot its oldest nonce to take a new one.
"""

from __future__ import annotations

import re

import orjson
import pytest
from pytest_aiohttp import AiohttpClient

from adapters.providers.gamegate_wire import new_nonce, sign_request
from gateway import app as app_module
from gateway.app import create_app
from tests.conftest import FakeClock
from tests.gateway.conftest import Client, MakeSettings

KEY = "gamegate-nonce-test-key"
BODY = orjson.dumps({"player_id": "nobody"})
"""A balance read: what matters is whether the nonce layer lets it through."""


async def _client(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock, skew_s: int
) -> Client:
    settings = make_settings(
        providers={"gg": {"protocol": "gamegate", "options": {"clock_skew_s": skew_s}}},
        secret_env={"GAMEGATE_SECRET_GG_HMAC_KEY": KEY},
    )
    return await aiohttp_client(create_app(settings, clock=clock))


def _signed(clock: FakeClock, *, ahead_s: int = 0) -> dict[str, str]:
    timestamp = int(clock.seconds()) + ahead_s
    return sign_request(
        KEY.encode(), BODY, operation="balance", timestamp=timestamp, nonce=new_nonce()
    )


async def _post(client: Client, headers: dict[str, str]) -> tuple[int, str]:
    response = await client.post("/providers/gg/balance", data=BODY, headers=headers)
    answer = await response.json()
    return response.status, answer.get("code", answer["status"])


async def _nonce_metrics(client: Client) -> tuple[float, float]:
    text = await (await client.get("/metrics")).text()
    entries = re.search(r'^gamegate_nonce_cache_entries\{provider="gg"\} (\S+)$', text, re.M)
    refused = re.search(
        r'^gamegate_nonce_cache_full_refusals_total\{provider="gg"\} (\S+)$', text, re.M
    )
    assert entries is not None
    assert refused is not None
    return float(entries[1]), float(refused[1])


async def test_a_request_from_the_future_edge_is_not_accepted_again_918_s_later(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> None:
    client = await _client(aiohttp_client, make_settings, clock, skew_s=3600)
    headers = _signed(clock, ahead_s=3500)
    assert await _post(client, headers) == (200, "player_not_found")

    clock.advance(918)
    assert await _post(client, headers) == (401, "replayed_request")
    clock.advance(7100 - 918)  # its timestamp passes until +7100 s; still remembered
    assert await _post(client, headers) == (401, "replayed_request")


async def test_a_full_nonce_memory_refuses_counts_and_accepts_again_once_nonces_expire(
    aiohttp_client: AiohttpClient,
    make_settings: MakeSettings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_module, "NONCE_ENTRIES_MAX", 2)
    client = await _client(aiohttp_client, make_settings, clock, skew_s=300)
    assert [await _post(client, _signed(clock)) for _ in range(2)] == [
        (200, "player_not_found")
    ] * 2

    assert await _post(client, _signed(clock)) == (503, "storage_unavailable")
    assert await _nonce_metrics(client) == (2, 1)

    clock.advance(2 * 300 + 1)  # the two nonces' timestamps can no longer pass
    assert await _post(client, _signed(clock)) == (200, "player_not_found")
    assert await _nonce_metrics(client) == (1, 1)
