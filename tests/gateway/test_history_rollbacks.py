"""History and round recall render rollbacks that moved nothing: a refused rollback of a
settled bet, and a rollback that arrived before its bet (and the tombstone it left)."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import AlreadySettled
from core.model import Credit, Debit, Rollback
from gateway.keys import SERVICE
from tests.gateway.conftest import ADMIN, Client
from tests.gateway.helpers import cashier, new_player


async def _get(client: Client, path: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(path, headers=ADMIN)
    shown: dict[str, Any] = await response.json()
    return response.status, shown


async def test_rollbacks_that_moved_nothing_render_in_history_and_round(client: Client) -> None:
    await new_player(client, "p1", currency="KWD")
    await cashier(client, "p1", "deposits", "10.000", "d-1")
    service = client.app[SERVICE]
    await service.debit(Debit("fake", "b-1", "p1", "KWD", 1_500, "r-1", "g1"), session_token=None)
    await service.credit(Credit("fake", "w-1", "p1", "KWD", 3_000, "r-1", "g1", ref_tx_id="b-1"))
    with pytest.raises(AlreadySettled):
        await service.rollback(Rollback("fake", "rb-1", "p1", "b-1"))
    await service.rollback(Rollback("fake", "rb-2", "p1", "b-2", round_id="r-1"))

    status, history = await _get(client, "/v1/players/p1/transactions")
    assert status == 200, history
    shown = {item["tx_id"]: item for item in history["items"]}
    assert (shown["rb-1"]["status"], shown["rb-1"]["reason"]) == ("refused", "already_settled")
    assert shown["b-2"]["status"] == "tombstone"
    for tx_id in ("rb-1", "rb-2", "b-2"):
        assert (shown[tx_id]["currency"], shown[tx_id]["amount"]) == ("KWD", "0.000"), tx_id

    status, round_ = await _get(client, "/v1/rounds/fake/r-1")
    assert status == 200, round_
    assert [tx["tx_id"] for tx in round_["transactions"]] == ["b-1", "w-1", "rb-2", "b-2"]
    assert {tx["currency"] for tx in round_["transactions"]} == {"KWD"}
