from __future__ import annotations

from adapters.stores.sqlite_store import SqliteWalletStore
from core.model import Debit
from tests.conftest import MakePlayer


async def test_a_bet_takes_money_from_a_funded_player(
    store: SqliteWalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    [outcome] = await store.apply([Debit("demo", "b1", "p1", "EUR", 250, "r1", "g1")])
    assert outcome.balance.real_minor == 750
