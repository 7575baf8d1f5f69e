"""Operator API keys: a bearer key is required, and its role decides what it may do."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import ADMIN, ADMIN_KEY, VIEWER, Client
from tests.gateway.helpers import new_player, player_body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-configured-key-at-all"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer "},
    ],
)
async def test_operator_api_refuses_requests_without_a_valid_key(
    client: Client, headers: dict[str, str]
) -> None:
    response = await client.get("/v1/players/p1/balance", headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["error"]["code"] == "unauthorized"


async def test_an_unauthorized_write_changes_nothing(client: Client) -> None:
    response = await client.post("/v1/players", json=player_body("p1"))
    assert response.status == 401
    missing = await client.get("/v1/players/p1/balance", headers=ADMIN)
    assert missing.status == 404


async def test_a_viewer_key_reads_but_may_not_write(client: Client) -> None:
    await new_player(client, "p1")
    read = await client.get("/v1/players/p1/balance", headers=VIEWER)
    assert read.status == 200
    write = await client.post(
        "/v1/players/p1/deposits",
        json={"amount": "1.00"},
        headers={**VIEWER, "Idempotency-Key": "v-1"},
    )
    assert write.status == 403
    assert (await write.json())["error"]["code"] == "forbidden"
    assert (await (await client.get("/v1/players/p1/balance", headers=ADMIN)).json())[
        "real"
    ] == "0.00"


async def test_the_bearer_scheme_is_case_insensitive(client: Client) -> None:
    await new_player(client, "p1")
    headers = {"Authorization": f"bearer {ADMIN_KEY}"}
    response = await client.get("/v1/players/p1/balance", headers=headers)
    assert response.status == 200
