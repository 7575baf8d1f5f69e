"""POST /v1/players: create, identical repeat, conflicting repeat, validation."""

from __future__ import annotations

import pytest

from core.model import FundingOrder
from tests.gateway.conftest import ADMIN, Client, MakeClient
from tests.gateway.helpers import player_body


def _period(start: str) -> dict[str, object]:
    return {"from": start, "deposited": "0.00", "deposited_minor": 0, "wagered": "0.00",
            "wagered_minor": 0, "lost": "0.00", "lost_minor": 0, "played_s": 0}  # fmt: skip


async def test_creating_a_player_answers_201_with_the_player(client: Client) -> None:
    """The test clock is 2027-01-15 (a Friday): the player is 37 that day."""
    response = await client.post("/v1/players", json=player_body("p1"), headers=ADMIN)
    assert response.status == 201
    assert await response.json() == {
        "player_id": "p1",
        "brand": "demo",
        "jurisdiction": "MT",
        "currency": "EUR",
        "date_of_birth": "1990-01-01",
        "age": 37,
        "status": "active",
        "status_until": None,
        "funding_order": "real_first",
        "kyc": {"state": "none", "changed_at": None},
        "identity_on_file": [],
        "limits": [],
        "figures": {
            "day": _period("2027-01-15"),
            "week": _period("2027-01-11"),
            "month": _period("2027-01-01"),
        },
    }
    again = await client.get("/v1/players/p1", headers=ADMIN)
    assert await again.json() == await response.json()


async def test_an_identity_given_at_registration_is_kept_and_never_shown(client: Client) -> None:
    identity = {"first_name": "Ada", "email": "ada@example.org"}
    body = {**player_body("p1"), "identity": identity}
    response = await client.post("/v1/players", json=body, headers=ADMIN)
    assert response.status == 201
    shown = await response.text()
    assert (await response.json())["identity_on_file"] == ["email", "first_name"]
    assert "Ada" not in shown
    assert "ada@example.org" not in shown
    again = await client.post("/v1/players", json=body, headers=ADMIN)
    assert again.status == 200
    other = {**body, "identity": {**identity, "email": "eve@example.org"}}
    conflict = await client.post("/v1/players", json=other, headers=ADMIN)
    assert conflict.status == 409


@pytest.mark.parametrize(
    "identity",
    [{"nickname": "x"}, {"email": ""}, {"email": "x" * 201}, {"mobile": 447700900123}, "ada"],
)
async def test_an_invalid_identity_at_registration_is_a_400(
    client: Client, identity: object
) -> None:
    body = {**player_body("p1"), "identity": identity}
    response = await client.post("/v1/players", json=body, headers=ADMIN)
    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("identity")
    assert (await client.get("/v1/players/p1", headers=ADMIN)).status == 404


async def test_a_repeat_after_an_account_change_is_still_the_same_registration(
    client: Client,
) -> None:
    await client.post("/v1/players", json=player_body("p1"), headers=ADMIN)
    change = {"state": "verified", "why": "passport checked"}
    assert (await client.post("/v1/players/p1/kyc", json=change, headers=ADMIN)).status == 200
    again = await client.post("/v1/players", json=player_body("p1"), headers=ADMIN)
    assert again.status == 200
    assert (await again.json())["kyc"]["state"] == "verified"


async def test_an_identical_repeat_answers_200_with_the_same_body(client: Client) -> None:
    first = await client.post("/v1/players", json=player_body("p1"), headers=ADMIN)
    again = await client.post("/v1/players", json=player_body("p1"), headers=ADMIN)
    assert again.status == 200
    assert await again.json() == await first.json()


async def test_different_data_for_an_existing_player_is_a_409_conflict(client: Client) -> None:
    await client.post("/v1/players", json=player_body("p1"), headers=ADMIN)
    response = await client.post(
        "/v1/players", json=player_body("p1", currency="USD"), headers=ADMIN
    )
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "conflicting_replay"
    balance = await client.get("/v1/players/p1/balance", headers=ADMIN)
    assert (await balance.json())["currency"] == "EUR"


async def test_the_funding_order_comes_from_the_brand_settings(make_client: MakeClient) -> None:
    client = await make_client(brands={"bonusy": FundingOrder.BONUS_FIRST})
    response = await client.post(
        "/v1/players", json=player_body("p1", brand="bonusy"), headers=ADMIN
    )
    assert (await response.json())["funding_order"] == "bonus_first"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("player_id", ""),
        ("player_id", "has space"),
        ("jurisdiction", "malta"),
        ("currency", "eur"),
        ("date_of_birth", "01/02/1990"),
        ("date_of_birth", 631152000),
    ],
)
async def test_an_invalid_field_is_a_400_that_names_it(
    client: Client, field: str, value: object
) -> None:
    body: dict[str, object] = {**player_body("p1"), field: value}
    response = await client.post("/v1/players", json=body, headers=ADMIN)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(field)


async def test_an_unknown_field_is_refused(client: Client) -> None:
    body = {**player_body("p1"), "balance": "1000000.00"}
    response = await client.post("/v1/players", json=body, headers=ADMIN)
    assert response.status == 400
    assert "balance" in (await response.json())["error"]["message"]


async def test_an_unknown_currency_is_refused_with_its_own_code(client: Client) -> None:
    response = await client.post(
        "/v1/players", json=player_body("p1", currency="XYZ"), headers=ADMIN
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "unknown_currency"


async def test_a_date_of_birth_in_the_future_is_refused(client: Client) -> None:
    body = player_body("p1", date_of_birth="2999-01-01")
    response = await client.post("/v1/players", json=body, headers=ADMIN)
    assert response.status == 400
    assert (await response.json())["error"]["message"].startswith("date_of_birth")


async def test_a_body_that_is_not_json_is_a_400(client: Client) -> None:
    headers = {**ADMIN, "Content-Type": "application/json"}
    response = await client.post("/v1/players", data=b"player_id=p1", headers=headers)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_request"
