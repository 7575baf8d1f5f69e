"""POST /v1/sessions: a token a provider instance can authenticate, with a TTL."""

from __future__ import annotations

import pytest

from tests.conftest import FakeClock
from tests.gateway.conftest import ADMIN, Client, MakeClient
from tests.gateway.helpers import cashier, import_game, new_player


def _session_body(player_id: str = "p1", provider: str = "fake") -> dict[str, str]:
    return {"player_id": player_id, "game_id": "g1", "provider": provider}


async def test_a_session_answers_201_with_a_token_and_its_expiry(
    make_client: MakeClient,
) -> None:
    client = await make_client(sessions={"ttl_s": 600})
    await new_player(client, "p1")
    await import_game(client, "fake", "g1")
    response = await client.post("/v1/sessions", json=_session_body(), headers=ADMIN)
    assert response.status == 201
    shown = await response.json()
    assert len(shown["token"]) >= 32
    assert {k: v for k, v in shown.items() if k != "token"} == {
        "player_id": "p1",
        "provider": "fake",
        "game_id": "g1",
        "currency": "EUR",
        "device": None,
        "reality_check_s": None,
        "expires_at": "2027-01-15T08:10:00.000000Z",
    }


async def test_the_provider_instance_authenticates_the_new_token(client: Client) -> None:
    await new_player(client, "p1")
    await import_game(client, "fake", "g1")
    session = await (await client.post("/v1/sessions", json=_session_body(), headers=ADMIN)).json()
    response = await client.post("/providers/fake/auth", json={"token": session["token"]})
    assert await response.json() == {"player_id": "p1"}


async def test_an_expired_session_refuses_bets(client: Client, clock: FakeClock) -> None:
    await new_player(client, "p1")
    await import_game(client, "fake", "g1")
    await cashier(client, "p1", "deposits", "10.00", "d-1")
    session = await (await client.post("/v1/sessions", json=_session_body(), headers=ADMIN)).json()
    clock.advance(3_601)
    bet = {"tx_id": "b-1", "player_id": "p1", "currency": "EUR", "amount_minor": 100,
           "round_id": "r-1", "token": session["token"]}  # fmt: skip
    response = await client.post("/providers/fake/bet", json=bet)
    assert await response.json() == {"error": "session_expired"}


async def test_each_session_gets_a_fresh_token(client: Client) -> None:
    await new_player(client, "p1")
    await import_game(client, "fake", "g1")
    tokens = set()
    for _ in range(3):
        response = await client.post("/v1/sessions", json=_session_body(), headers=ADMIN)
        tokens.add((await response.json())["token"])
    assert len(tokens) == 3


async def test_a_session_for_an_unconfigured_provider_is_a_400(client: Client) -> None:
    await new_player(client, "p1")
    await import_game(client, "fake", "g1")
    response = await client.post(
        "/v1/sessions", json=_session_body(provider="hub88"), headers=ADMIN
    )
    assert response.status == 400
    assert (await response.json())["error"]["message"].startswith("provider")


async def test_a_session_for_an_unknown_player_is_a_404(client: Client) -> None:
    response = await client.post("/v1/sessions", json=_session_body("ghost"), headers=ADMIN)
    assert response.status == 404


async def test_a_session_may_ask_for_a_shorter_ttl_and_expires_after_it(
    client: Client, clock: FakeClock
) -> None:
    await new_player(client, "p1")
    await import_game(client, "fake", "g1")
    await cashier(client, "p1", "deposits", "10.00", "d-1")
    body = {**_session_body(), "ttl_s": 5}
    response = await client.post("/v1/sessions", json=body, headers=ADMIN)
    assert response.status == 201
    session = await response.json()
    assert session["expires_at"] == "2027-01-15T08:00:05.000000Z"
    bet = {"tx_id": "b-1", "player_id": "p1", "currency": "EUR", "amount_minor": 100,
           "round_id": "r-1", "token": session["token"]}  # fmt: skip
    clock.advance(4)
    assert (await (await client.post("/providers/fake/bet", json=bet)).json())["real"] == 900
    clock.advance(2)
    expired = await client.post("/providers/fake/bet", json={**bet, "tx_id": "b-2"})
    assert await expired.json() == {"error": "session_expired"}


@pytest.mark.parametrize("ttl_s", [0, -1, 601, "60", 1.5, True])
async def test_a_ttl_outside_1_to_the_configured_ttl_is_a_400(
    make_client: MakeClient, ttl_s: object
) -> None:
    client = await make_client(sessions={"ttl_s": 600})
    await new_player(client, "p1")
    await import_game(client, "fake", "g1")
    body = {**_session_body(), "ttl_s": ttl_s}
    response = await client.post("/v1/sessions", json=body, headers=ADMIN)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("ttl_s")


@pytest.mark.parametrize("ttl_s", [600, None])
async def test_the_configured_ttl_or_null_gives_the_full_session(
    make_client: MakeClient, ttl_s: int | None
) -> None:
    client = await make_client(sessions={"ttl_s": 600})
    await new_player(client, "p1")
    await import_game(client, "fake", "g1")
    body = {**_session_body(), "ttl_s": ttl_s}
    response = await client.post("/v1/sessions", json=body, headers=ADMIN)
    assert response.status == 201
    assert (await response.json())["expires_at"] == "2027-01-15T08:10:00.000000Z"
