"""Two gateway processes on one Redis wallet share their nonce memory: a signed request
replayed at the other process is refused there too, as it is at the first."""

from __future__ import annotations

import orjson
import pytest
from pytest_aiohttp import AiohttpClient

from adapters.providers.gamegate_wire import new_nonce, sign_request
from gateway.app import create_app
from tests.conftest import FakeClock
from tests.gateway.conftest import Client, MakeSettings
from tests.redis_servers import shared_server

pytestmark = pytest.mark.redis

KEY = "gamegate-shared-nonce-key"
BODY = orjson.dumps({"player_id": "nobody"})


async def _gateway(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> Client:
    settings = make_settings(
        wallet={"url": shared_server().url},
        providers={"gg": {"protocol": "gamegate"}},
        secret_env={"GAMEGATE_SECRET_GG_HMAC_KEY": KEY},
    )
    return await aiohttp_client(create_app(settings, clock=clock))


async def _post(client: Client, headers: dict[str, str]) -> tuple[int, str]:
    response = await client.post("/providers/gg/balance", data=BODY, headers=headers)
    answer = await response.json()
    return response.status, answer.get("code", answer["status"])


async def test_a_request_replayed_at_another_process_is_refused_there_too(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> None:
    shared_server().flush()
    first = await _gateway(aiohttp_client, make_settings, clock)
    second = await _gateway(aiohttp_client, make_settings, clock)
    headers = sign_request(
        KEY.encode(), BODY, operation="balance", timestamp=int(clock.seconds()), nonce=new_nonce()
    )
    assert await _post(first, headers) == (200, "player_not_found")
    assert await _post(second, headers) == (401, "replayed_request")
    assert await _post(first, headers) == (401, "replayed_request")
    fresh = sign_request(
        KEY.encode(), BODY, operation="balance", timestamp=int(clock.seconds()), nonce=new_nonce()
    )
    assert await _post(second, fresh) == (200, "player_not_found")
