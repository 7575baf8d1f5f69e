"""Deposits, withdrawals and bonus grants: exact amounts, idempotency, refusals."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import ADMIN, Client
from tests.gateway.helpers import balance, cashier, new_player


async def test_a_deposit_answers_201_with_the_new_balance(client: Client) -> None:
    await new_player(client, "p1")
    status, shown = await cashier(client, "p1", "deposits", "12.50", "d-1")
    assert status == 201
    assert shown["replay"] is False
    assert shown["balance"] == {
        "player_id": "p1",
        "currency": "EUR",
        "real": "12.50",
        "bonus": "0.00",
        "total": "12.50",
        "real_minor": 1250,
        "bonus_minor": 0,
    }


async def test_a_replayed_deposit_answers_200_with_the_same_transaction(client: Client) -> None:
    await new_player(client, "p1")
    _, first = await cashier(client, "p1", "deposits", "12.50", "d-1")
    status, again = await cashier(client, "p1", "deposits", "12.50", "d-1")
    assert status == 200
    assert again["replay"] is True
    assert again["transaction_id"] == first["transaction_id"]
    assert (await balance(client, "p1"))["real_minor"] == 1250


async def test_the_same_key_with_a_different_amount_is_a_409_and_moves_nothing(
    client: Client,
) -> None:
    await new_player(client, "p1")
    await cashier(client, "p1", "deposits", "12.50", "d-1")
    status, shown = await cashier(client, "p1", "deposits", "99.00", "d-1")
    assert status == 409
    assert shown["error"]["code"] == "conflicting_replay"
    assert (await balance(client, "p1"))["real_minor"] == 1250


async def test_a_withdrawal_above_the_real_balance_is_a_422(client: Client) -> None:
    await new_player(client, "p1")
    await cashier(client, "p1", "deposits", "10.00", "d-1")
    status, shown = await cashier(client, "p1", "withdrawals", "10.01", "w-1")
    assert status == 422
    assert shown["error"]["code"] == "insufficient_funds"
    assert (await balance(client, "p1"))["real_minor"] == 1000


async def test_a_withdrawal_takes_real_money_out(client: Client) -> None:
    await new_player(client, "p1")
    await cashier(client, "p1", "deposits", "10.00", "d-1")
    status, shown = await cashier(client, "p1", "withdrawals", "2.50", "w-1")
    assert status == 201
    assert shown["balance"]["real"] == "7.50"


async def test_a_bonus_grant_goes_to_the_bonus_balance(client: Client) -> None:
    await new_player(client, "p1")
    status, shown = await cashier(client, "p1", "bonus-grants", "5.00", "b-1")
    assert status == 201
    assert shown["balance"]["bonus"] == "5.00"
    assert shown["balance"]["real"] == "0.00"
    assert shown["balance"]["total"] == "5.00"


@pytest.mark.parametrize(
    "amount",
    ["12.505", "0.001", "1e3", "-5.00", "12,50", " 1.00", "NaN", "", "0.00", 12.5, 12, None, True],
)
async def test_an_inexact_malformed_zero_or_non_string_amount_is_refused_never_rounded(
    client: Client, amount: object
) -> None:
    await new_player(client, "p1")
    status, shown = await cashier(client, "p1", "deposits", amount, "d-1")
    assert status == 400
    assert shown["error"]["code"] == "invalid_amount"
    assert (await balance(client, "p1"))["real_minor"] == 0


@pytest.mark.parametrize(
    ("currency", "amount", "real_minor"), [("JPY", "1500", 1500), ("KWD", "1.125", 1125)]
)
async def test_amounts_follow_the_exponent_of_the_players_currency(
    client: Client, currency: str, amount: str, real_minor: int
) -> None:
    await new_player(client, "p1", currency=currency)
    status, shown = await cashier(client, "p1", "deposits", amount, "d-1")
    assert status == 201
    assert shown["balance"]["real_minor"] == real_minor
    assert shown["balance"]["real"] == amount


async def test_a_currency_that_differs_from_the_wallet_is_refused(client: Client) -> None:
    await new_player(client, "p1")
    response = await client.post(
        "/v1/players/p1/deposits",
        json={"amount": "1.00", "currency": "USD"},
        headers={**ADMIN, "Idempotency-Key": "d-1"},
    )
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "currency_mismatch"


async def test_a_matching_currency_is_accepted(client: Client) -> None:
    await new_player(client, "p1")
    response = await client.post(
        "/v1/players/p1/deposits",
        json={"amount": "1.00", "currency": "EUR"},
        headers={**ADMIN, "Idempotency-Key": "d-1"},
    )
    assert response.status == 201


async def test_a_deposit_without_an_idempotency_key_is_a_400(client: Client) -> None:
    await new_player(client, "p1")
    response = await client.post("/v1/players/p1/deposits", json={"amount": "1.00"}, headers=ADMIN)
    assert response.status == 400
    assert "Idempotency-Key" in (await response.json())["error"]["message"]
    assert (await balance(client, "p1"))["real_minor"] == 0


async def test_a_deposit_for_an_unknown_player_is_a_404(client: Client) -> None:
    status, shown = await cashier(client, "ghost", "deposits", "1.00", "d-1")
    assert status == 404
    assert shown["error"]["code"] == "player_not_found"
