"""The reality-check interval (issue 12): `POST /v1/sessions` and `POST /v1/launch` take
the one the player chose, from 60 to 86,400 whole seconds; the session records it, the
launch URL carries it as `{reality_check_s}`, and the `gamegate` protocol's
`authenticate` answers it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse
from pytest_aiohttp import AiohttpClient

from adapters.providers.gamegate_wire import new_nonce, sign_request
from gateway.app import create_app
from gateway.keys import SERVICE
from tests.conftest import FakeClock
from tests.gateway.conftest import ADMIN, Client, MakeSettings, app_of
from tests.gateway.helpers import import_game, new_player

INSTANCE = "acme"
HMAC_KEY = b"reality-check-test-hmac-key-0123"
LAUNCH_URL = "https://games.example/{code}?token={token}&rc={reality_check_s}"

Json = Any


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> Client:
    """One gamegate instance `acme` with a launch URL, game `g1` and player `p1`."""
    acme = {"protocol": "gamegate", "launch_url": LAUNCH_URL}
    settings = make_settings(
        providers={INSTANCE: acme},
        secret_env={"GAMEGATE_SECRET_ACME_HMAC_KEY": HMAC_KEY.decode()},
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    await import_game(client, INSTANCE, "g1")
    await new_player(client, "p1")
    return client


async def _new_session(client: Client, **extra: Json) -> ClientResponse:
    body = {"player_id": "p1", "game_id": "g1", "provider": INSTANCE, **extra}
    return await client.post("/v1/sessions", json=body, headers=ADMIN)


async def _launch(client: Client, **extra: Json) -> ClientResponse:
    body = {"game": f"{INSTANCE}:g1", "player_id": "p1", "device": "desktop", **extra}
    return await client.post("/v1/launch", json=body, headers=ADMIN)


async def _authenticate(client: Client, clock: FakeClock, token: str) -> Json:
    raw = orjson.dumps({"session_token": token})
    headers = sign_request(
        HMAC_KEY, raw, operation="authenticate", timestamp=int(clock.seconds()), nonce=new_nonce()
    )
    response = await client.post(f"/providers/{INSTANCE}/authenticate", data=raw, headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def _stored_interval(client: Client, token: str) -> int:
    session = await app_of(client)[SERVICE].session(INSTANCE, token, allow_expired=False)
    return session.reality_check_s


@pytest.mark.parametrize(("asked", "shown"), [(60, 60), (1_800, 1_800), (86_400, 86_400),
                                              (None, None)])  # fmt: skip
async def test_a_session_records_the_interval_and_gamegate_authenticate_answers_it(
    client: Client, clock: FakeClock, asked: int | None, shown: int | None
) -> None:
    response = await _new_session(client, reality_check_s=asked)
    assert response.status == 201, await response.text()
    session = await response.json()
    assert session["reality_check_s"] == shown
    assert await _stored_interval(client, session["token"]) == (shown or 0)
    auth = await _authenticate(client, clock, session["token"])
    assert (auth["status"], auth["reality_check_s"]) == ("ok", shown)


async def test_a_session_asked_without_an_interval_has_none(client: Client) -> None:
    response = await _new_session(client)
    assert response.status == 201, await response.text()
    session = await response.json()
    assert session["reality_check_s"] is None
    assert await _stored_interval(client, session["token"]) == 0


async def test_a_real_launch_records_the_interval_and_puts_it_in_the_url(client: Client) -> None:
    response = await _launch(client, reality_check_s=900)
    assert response.status == 201, await response.text()
    shown = await response.json()
    token = shown["session"]["token"]
    assert shown["url"] == f"https://games.example/g1?token={token}&rc=900"
    assert shown["session"]["reality_check_s"] == 900
    assert await _stored_interval(client, token) == 900


async def test_a_launch_without_an_interval_leaves_the_placeholder_empty(client: Client) -> None:
    response = await _launch(client)
    assert response.status == 201, await response.text()
    shown = await response.json()
    assert shown["url"] == f"https://games.example/g1?token={shown['session']['token']}&rc="
    assert shown["session"]["reality_check_s"] is None


async def test_a_demo_launch_puts_the_interval_in_the_url_only(client: Client) -> None:
    response = await _launch(
        client, mode="demo", player_id=None, brand="demo", market="MT", reality_check_s=3_600
    )
    assert response.status == 201, await response.text()
    shown = await response.json()
    assert (shown["url"], shown["session"]) == ("https://games.example/g1?token=&rc=3600", None)


REFUSED: list[Json] = [59, 0, -60, 86_401, 1_800.5, 1_800.0, "1800", True, [60]]
"""Out of range, not whole seconds, or not a JSON integer (strict: nothing coerced)."""


@pytest.mark.parametrize("value", REFUSED, ids=repr)
@pytest.mark.parametrize("route", ["/v1/sessions", "/v1/launch"])
async def test_an_interval_out_of_bounds_or_not_whole_seconds_is_refused(
    client: Client, route: str, value: Json
) -> None:
    response = await (_new_session if route == "/v1/sessions" else _launch)(
        client, reality_check_s=value
    )
    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("reality_check_s")
