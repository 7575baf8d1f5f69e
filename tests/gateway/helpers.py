"""Small helpers for the operator API tests: player bodies, funded players, games."""

from __future__ import annotations

from typing import Any

from adapters.conformance.games import import_path, single_game_feed
from tests.gateway.conftest import ADMIN, Client


def player_body(player_id: str, **overrides: str) -> dict[str, str]:
    body = {
        "player_id": player_id,
        "brand": "demo",
        "jurisdiction": "MT",
        "currency": "EUR",
        "date_of_birth": "1990-01-01",
    }
    body.update(overrides)
    return body


async def new_player(client: Client, player_id: str, *, currency: str = "EUR") -> None:
    response = await client.post(
        "/v1/players", json=player_body(player_id, currency=currency), headers=ADMIN
    )
    assert response.status == 201, await response.text()


async def cashier(
    client: Client, player_id: str, operation: str, amount: Any, key: str
) -> tuple[int, dict[str, Any]]:
    """POST `/v1/players/{id}/{operation}`; the status and the JSON answer."""
    response = await client.post(
        f"/v1/players/{player_id}/{operation}",
        json={"amount": amount},
        headers={**ADMIN, "Idempotency-Key": key},
    )
    shown: dict[str, Any] = await response.json()
    return response.status, shown


async def balance(client: Client, player_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/players/{player_id}/balance", headers=ADMIN)
    assert response.status == 200, await response.text()
    shown: dict[str, Any] = await response.json()
    return shown


async def import_game(client: Client, instance: str, code: str, *, market: str = "MT") -> None:
    """Put one game in the instance's catalogue, so that sessions may name it."""
    feed = single_game_feed(code, markets=[market])
    response = await client.post(import_path(instance), json=feed, headers=ADMIN)
    assert response.status == 200, await response.text()
