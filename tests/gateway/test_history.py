"""Transaction history (paged, newest first) and round recall."""

from __future__ import annotations

from typing import Any

from tests.gateway.conftest import ADMIN, Client
from tests.gateway.helpers import cashier, import_game, new_player


async def _history(client: Client, query: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(f"/v1/players/p1/transactions{query}", headers=ADMIN)
    shown: dict[str, Any] = await response.json()
    return response.status, shown


async def test_transactions_are_listed_newest_first_with_exact_amounts(client: Client) -> None:
    await new_player(client, "p1")
    await cashier(client, "p1", "deposits", "10.00", "d-1")
    await cashier(client, "p1", "withdrawals", "2.50", "w-1")
    status, shown = await _history(client, "")
    assert status == 200
    withdrawal, deposit = shown["items"]
    assert withdrawal["kind"] == "withdrawal"
    assert withdrawal["tx_id"] == "w-1"
    assert withdrawal["provider"] == "_cashier"
    assert withdrawal["amount"] == "2.50"
    assert withdrawal["amount_minor"] == 250
    assert withdrawal["real_delta_minor"] == -250
    assert withdrawal["status"] == "applied"
    assert withdrawal["created_at"] == "2027-01-15T08:00:00.000000Z"
    assert deposit["seq"] < withdrawal["seq"]
    assert shown["next_before"] is None


async def test_history_pages_with_next_before(client: Client) -> None:
    await new_player(client, "p1")
    for number in range(5):
        await cashier(client, "p1", "deposits", "1.00", f"d-{number}")
    _, first = await _history(client, "?limit=2")
    _, second = await _history(client, f"?limit=2&before={first['next_before']}")
    _, last = await _history(client, f"?limit=2&before={second['next_before']}")
    keys = [item["tx_id"] for page in (first, second, last) for item in page["items"]]
    assert keys == ["d-4", "d-3", "d-2", "d-1", "d-0"]
    assert last["next_before"] is None


async def test_a_refused_withdrawal_is_in_the_history_with_its_reason(client: Client) -> None:
    await new_player(client, "p1")
    await cashier(client, "p1", "withdrawals", "1.00", "w-1")
    _, shown = await _history(client, "")
    [refused] = shown["items"]
    assert refused["status"] == "refused"
    assert refused["reason"] == "insufficient_funds"


async def test_a_bad_page_size_is_a_400(client: Client) -> None:
    await new_player(client, "p1")
    for query in ("?limit=0", "?limit=501", "?limit=ten", "?before=-1"):
        status, shown = await _history(client, query)
        assert status == 400, query
        assert shown["error"]["code"] == "invalid_request"


async def test_the_history_of_an_unknown_player_is_a_404(client: Client) -> None:
    response = await client.get("/v1/players/ghost/transactions", headers=ADMIN)
    assert response.status == 404


async def test_a_round_is_recalled_with_its_transactions(client: Client) -> None:
    await new_player(client, "p1")
    await import_game(client, "fake", "g1")
    await cashier(client, "p1", "deposits", "10.00", "d-1")
    session = await client.post(
        "/v1/sessions", json={"player_id": "p1", "game_id": "g1", "provider": "fake"}, headers=ADMIN
    )
    token = (await session.json())["token"]
    bet = {"tx_id": "b-1", "player_id": "p1", "currency": "EUR", "amount_minor": 150,
           "round_id": "r-1", "token": token}  # fmt: skip
    assert (await client.post("/providers/fake/bet", json=bet)).status == 200
    response = await client.get("/v1/rounds/fake/r-1", headers=ADMIN)
    assert response.status == 200
    shown = await response.json()
    assert shown["player_id"] == "p1"
    assert shown["closed"] is False
    assert shown["stake_real"] == "1.50"
    assert shown["stake_real_minor"] == 150
    assert [tx["tx_id"] for tx in shown["transactions"]] == ["b-1"]


async def test_an_unknown_round_is_a_404(client: Client) -> None:
    response = await client.get("/v1/rounds/fake/nope", headers=ADMIN)
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "reference_not_found"
