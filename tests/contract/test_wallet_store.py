"""The wallet contract: every rule of ARCHITECTURE.md "The wallet", through `store.apply`.

Runs once per backend in `tests/contract/stores.py`; nothing here knows which store it has.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from core.errors import (
    AlreadyRolledBack,
    AlreadySettled,
    ConflictingReplay,
    CurrencyMismatch,
    InsufficientFunds,
    PlayerInDebt,
    PlayerNotFound,
    ReferenceNotFound,
    RoundClosed,
    StakeAboveLimit,
)
from core.model import (
    Balance,
    BonusGrant,
    CloseRound,
    Credit,
    CreditKind,
    Debit,
    Deposit,
    FundingOrder,
    Rollback,
    TxKind,
    TxStatus,
    Withdrawal,
)
from core.wallet.store import WalletStore
from tests.conftest import MakePlayer, MakeSession

P = "prov"


def bet(
    tx_id: str,
    amount: int,
    round_id: str = "r1",
    *,
    player: str = "p1",
    currency: str = "EUR",
    close_round: bool = False,
) -> Debit:
    return Debit(P, tx_id, player, currency, amount, round_id, "g1", close_round)


def win(
    tx_id: str,
    amount: int,
    round_id: str = "r1",
    *,
    player: str = "p1",
    currency: str = "EUR",
    ref_tx_id: str | None = None,
    credit_kind: CreditKind = CreditKind.WIN,
    close_round: bool = False,
    requires_bet: bool = True,
) -> Credit:
    return Credit(
        P, tx_id, player, currency, amount, round_id, "g1",
        credit_kind, ref_tx_id, close_round, requires_bet,
    )  # fmt: skip


def rollback(tx_id: str, ref: str, *, player: str = "p1", round_id: str | None = None) -> Rollback:
    return Rollback(P, tx_id, player, ref, round_id)


async def balance(store: WalletStore, player: str = "p1", currency: str = "EUR") -> tuple[int, int]:
    found = await store.balance(player, currency)
    return found.real_minor, found.bonus_minor


# -- idempotency --------------------------------------------------------------------


async def test_an_identical_retry_returns_the_stored_outcome_and_moves_nothing(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    [first] = await store.apply([bet("b1", 300)])
    [again] = await store.apply([bet("b1", 300)])
    assert not first.replay
    assert again.replay
    assert again.transaction_id == first.transaction_id
    assert (again.real_delta_minor, again.bonus_delta_minor) == (-300, 0)
    assert again.balance == Balance("EUR", 700, 0)
    assert await balance(store) == (700, 0)


async def test_a_refusal_is_replayed_even_after_the_player_could_afford_it(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=100)
    with pytest.raises(InsufficientFunds) as first:
        await store.apply([bet("b1", 500)])
    assert not first.value.replay
    await store.apply([Deposit("d1", "p1", "EUR", 1_000)])
    with pytest.raises(InsufficientFunds) as retried:
        await store.apply([bet("b1", 500)])
    assert retried.value.replay
    assert retried.value.balance == Balance("EUR", 1_100, 0)
    assert await balance(store) == (1_100, 0)


@pytest.mark.parametrize(
    "changed",
    [
        bet("b1", 301),
        bet("b1", 300, "r2"),
        bet("b1", 300, currency="USD"),
        bet("b1", 300, close_round=True),
        win("b1", 300),
    ],
    ids=["amount", "round", "currency", "close-flag", "kind"],
)
async def test_the_same_id_with_another_payload_is_a_conflict_and_applies_nothing(
    store: WalletStore, make_player: MakePlayer, changed: Debit | Credit
) -> None:
    await make_player("p1", real=1_000)
    [first] = await store.apply([bet("b1", 300)])
    before = await store.transactions("p1", limit=100)
    with pytest.raises(ConflictingReplay):
        await store.apply([changed])
    assert await balance(store) == (700, 0)
    assert await store.transactions("p1", limit=100) == before
    [again] = await store.apply([bet("b1", 300)])
    assert again.replay
    assert again.transaction_id == first.transaction_id


async def test_a_conflicting_retry_of_a_refusal_is_a_conflict_not_the_refusal(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=100)
    with pytest.raises(InsufficientFunds):
        await store.apply([bet("b1", 500)])
    with pytest.raises(ConflictingReplay):
        await store.apply([bet("b1", 50)])
    assert await balance(store) == (100, 0)


async def test_ids_are_namespaced_by_provider(store: WalletStore, make_player: MakePlayer) -> None:
    await make_player("p1", real=1_000)
    [first] = await store.apply([bet("b1", 300)])
    [other] = await store.apply([Debit("other", "b1", "p1", "EUR", 200, "r1", "g1")])
    assert not other.replay
    assert other.transaction_id != first.transaction_id
    assert await balance(store) == (500, 0)


async def test_a_verdict_reached_before_the_store_is_stored_but_spares_accepted_retries(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    [accepted] = await store.apply([bet("b1", 300)])
    [retried] = await store.apply([bet("b1", 300)], refusal=StakeAboveLimit("too high"))
    assert retried.replay
    assert retried.transaction_id == accepted.transaction_id
    with pytest.raises(StakeAboveLimit):
        await store.apply([bet("b2", 300)], refusal=StakeAboveLimit("too high"))
    with pytest.raises(StakeAboveLimit) as again:
        await store.apply([bet("b2", 300)])
    assert again.value.replay
    assert await balance(store) == (700, 0)


# -- rollbacks -------------------------------------------------------------------


async def test_a_rollback_before_its_bet_leaves_a_tombstone_that_refuses_the_late_bet(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    [tombstone] = await store.apply([rollback("rb1", "b1")])
    assert tombstone.tombstone
    assert (tombstone.real_delta_minor, tombstone.bonus_delta_minor) == (0, 0)
    assert tombstone.balance == Balance("EUR", 1_000, 0)
    with pytest.raises(AlreadyRolledBack):
        await store.apply([bet("b1", 300)])
    with pytest.raises(AlreadyRolledBack):
        await store.apply([bet("b1", 300)])
    [replayed] = await store.apply([rollback("rb1", "b1")])
    assert replayed.replay
    assert replayed.tombstone
    assert replayed.transaction_id == tombstone.transaction_id
    assert await balance(store) == (1_000, 0)


async def test_a_rollback_of_a_refused_bet_moves_nothing_and_the_refusal_stands(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=100)
    with pytest.raises(InsufficientFunds):
        await store.apply([bet("b1", 500)])
    [undone] = await store.apply([rollback("rb1", "b1")])
    assert undone.tombstone
    assert await balance(store) == (100, 0)
    with pytest.raises(InsufficientFunds):
        await store.apply([bet("b1", 500)])


async def test_a_rollback_restores_the_exact_split_of_its_bet(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=30, bonus=100)
    [taken] = await store.apply([bet("b1", 50)])
    assert (taken.real_delta_minor, taken.bonus_delta_minor) == (-30, -20)
    [undone] = await store.apply([rollback("rb1", "b1")])
    assert (undone.real_delta_minor, undone.bonus_delta_minor) == (30, 20)
    assert await balance(store) == (30, 100)
    with pytest.raises(AlreadyRolledBack):
        await store.apply([rollback("rb2", "b1")])
    with pytest.raises(AlreadyRolledBack):
        await store.apply([win("w1", 100, ref_tx_id="b1")])


async def test_a_bet_settled_by_its_win_cannot_be_rolled_back(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 300)])
    await store.apply([win("w1", 500, ref_tx_id="b1")])
    with pytest.raises(AlreadySettled):
        await store.apply([rollback("rb1", "b1")])
    with pytest.raises(AlreadySettled):
        await store.apply([win("w2", 500, ref_tx_id="b1")])
    assert await balance(store) == (1_200, 0)


async def test_a_round_level_win_settles_the_earlier_bets_of_its_round_only(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100), bet("b2", 100)])
    await store.apply([win("w1", 0)])
    await store.apply([bet("b3", 100)])
    for ref in ("b1", "b2"):
        with pytest.raises(AlreadySettled):
            await store.apply([rollback(f"rb-{ref}", ref)])
    [undone] = await store.apply([rollback("rb-b3", "b3")])
    assert undone.real_delta_minor == 100
    assert await balance(store) == (800, 0)


async def test_a_bet_settled_by_a_round_level_win_is_not_paid_again_by_name(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100)])
    await store.apply([win("w1", 300)])
    with pytest.raises(AlreadySettled):
        await store.apply([win("w2", 300, ref_tx_id="b1")])
    [jackpot] = await store.apply([win("j1", 50, ref_tx_id="b1", credit_kind=CreditKind.JACKPOT)])
    assert jackpot.real_delta_minor == 50
    assert await balance(store) == (1_250, 0)


async def test_a_rolled_back_bet_no_longer_lets_a_round_level_win_in(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100)])
    await store.apply([rollback("rb1", "b1")])
    with pytest.raises(ReferenceNotFound):
        await store.apply([win("w1", 300)])
    found = await store.get_round(P, "r1")
    assert found is not None
    assert (found.bet_count, found.stake_real_minor) == (0, 0)
    assert await balance(store) == (1_000, 0)


async def test_a_win_that_arrives_before_its_bet_is_paid_once_the_bet_is_there(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    with pytest.raises(ReferenceNotFound):
        await store.apply([win("w1", 300, ref_tx_id="b1")])
    await store.apply([bet("b1", 100)])
    [paid] = await store.apply([win("w1", 300, ref_tx_id="b1")])
    assert not paid.replay
    assert await balance(store) == (1_200, 0)


async def test_a_reversed_spent_win_leaves_a_debt_that_blocks_bets_until_repaid(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=100)
    await store.apply([bet("b1", 100)])
    await store.apply([win("w1", 500, ref_tx_id="b1")])
    await store.apply([Withdrawal("x1", "p1", "EUR", 500)])
    [reversed_win] = await store.apply([rollback("rb1", "w1")])
    assert reversed_win.real_delta_minor == -500
    assert reversed_win.balance == Balance("EUR", -500, 0)
    with pytest.raises(PlayerInDebt):
        await store.apply([bet("b2", 1, "r2")])
    with pytest.raises(InsufficientFunds):
        await store.apply([Withdrawal("x2", "p1", "EUR", 1)])
    await store.apply([Deposit("d1", "p1", "EUR", 400)])
    with pytest.raises(PlayerInDebt):
        await store.apply([bet("b3", 1, "r2")])
    await store.apply([Deposit("d2", "p1", "EUR", 150)])
    [ok] = await store.apply([bet("b4", 50, "r2")])
    assert ok.balance == Balance("EUR", 0, 0)
    with pytest.raises(PlayerInDebt):  # a stored refusal stays refused
        await store.apply([bet("b2", 1, "r2")])


async def test_reversing_a_win_reopens_its_bet_for_rollback_or_another_win(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 300)])
    await store.apply([win("w1", 600, ref_tx_id="b1")])
    await store.apply([rollback("rb-w1", "w1")])
    [undone] = await store.apply([rollback("rb-b1", "b1")])
    assert undone.real_delta_minor == 300
    assert await balance(store) == (1_000, 0)


async def test_a_rollback_after_the_round_closed_still_restores_the_stake(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 300, close_round=True)])
    await store.apply([rollback("rb1", "b1")])
    assert await balance(store) == (1_000, 0)


# -- real and bonus ----------------------------------------------------------------


async def test_a_bet_consumes_real_money_before_bonus_by_default(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=30, bonus=100)
    [taken] = await store.apply([bet("b1", 50)])
    assert (taken.real_delta_minor, taken.bonus_delta_minor) == (-30, -20)
    assert taken.balance == Balance("EUR", 0, 80)
    with pytest.raises(InsufficientFunds):
        await store.apply([bet("b2", 81)])


async def test_a_bonus_first_player_consumes_bonus_before_real(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=100, bonus=30, funding_order=FundingOrder.BONUS_FIRST)
    [taken] = await store.apply([bet("b1", 50)])
    assert (taken.real_delta_minor, taken.bonus_delta_minor) == (-20, -30)
    assert taken.balance == Balance("EUR", 80, 0)


async def test_a_win_is_split_like_its_stake_with_the_rounding_remainder_to_real(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=30, bonus=100)
    await store.apply([bet("b1", 50)])  # 30 real + 20 bonus
    [paid] = await store.apply([win("w1", 101, ref_tx_id="b1")])
    # bonus share 101 * 20 / 50 = 40.4 -> 40; the remainder 61 is real
    assert (paid.real_delta_minor, paid.bonus_delta_minor) == (61, 40)
    assert paid.balance == Balance("EUR", 61, 120)


async def test_a_round_level_win_is_split_like_the_rounds_stakes(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=10, bonus=100)
    await store.apply([bet("b1", 10), bet("b2", 20)])  # 10 real, then 20 bonus
    [paid] = await store.apply([win("w1", 100)])
    assert (paid.real_delta_minor, paid.bonus_delta_minor) == (34, 66)


async def test_a_bonus_win_without_a_stake_goes_to_bonus_and_promo_and_jackpot_to_real(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1")
    [bonus_win] = await store.apply(
        [win("w0", 50, "fr-1", credit_kind=CreditKind.BONUS_WIN, requires_bet=False)]
    )
    [promo] = await store.apply(
        [win("w1", 70, "promo-1", credit_kind=CreditKind.PROMO, requires_bet=False)]
    )
    [jackpot] = await store.apply(
        [win("w2", 90, "jp-1", credit_kind=CreditKind.JACKPOT, requires_bet=False)]
    )
    assert (bonus_win.real_delta_minor, bonus_win.bonus_delta_minor) == (0, 50)
    assert (promo.real_delta_minor, promo.bonus_delta_minor) == (70, 0)
    assert (jackpot.real_delta_minor, jackpot.bonus_delta_minor) == (90, 0)


async def test_a_withdrawal_cannot_touch_bonus_funds(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=10, bonus=100)
    with pytest.raises(InsufficientFunds):
        await store.apply([Withdrawal("x1", "p1", "EUR", 50)])
    [out] = await store.apply([Withdrawal("x2", "p1", "EUR", 10)])
    assert out.balance == Balance("EUR", 0, 100)
    await store.apply([BonusGrant("g2", "p1", "EUR", 5)])
    assert await balance(store) == (0, 105)


# -- credits ------------------------------------------------------------------------


async def test_a_zero_win_settles_the_bet_without_moving_money(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 300)])
    [lost] = await store.apply([win("w1", 0, ref_tx_id="b1", close_round=True)])
    assert lost.transaction_id
    assert (lost.real_delta_minor, lost.bonus_delta_minor) == (0, 0)
    assert lost.balance == Balance("EUR", 700, 0)
    with pytest.raises(AlreadySettled):
        await store.apply([rollback("rb1", "b1")])
    found = await store.get_round(P, "r1")
    assert found is not None
    assert found.closed


async def test_a_win_needs_a_bet_unless_told_otherwise(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    with pytest.raises(ReferenceNotFound):
        await store.apply([win("w1", 100, ref_tx_id="nope")])
    with pytest.raises(ReferenceNotFound):
        await store.apply([win("w2", 100, "empty-round")])
    [paid] = await store.apply([win("w3", 100, ref_tx_id="nope", requires_bet=False)])
    assert paid.real_delta_minor == 100


async def test_a_win_on_another_players_bet_is_refused(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await make_player("p2", real=1_000)
    await store.apply([bet("b1", 300)])
    with pytest.raises(ReferenceNotFound):
        await store.apply([win("w1", 100, "r9", player="p2", ref_tx_id="b1")])
    with pytest.raises(ReferenceNotFound):
        await store.apply([rollback("rb1", "b1", player="p2")])
    assert await balance(store, "p2") == (1_000, 0)


async def test_a_currency_other_than_the_wallets_is_refused(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    with pytest.raises(CurrencyMismatch):
        await store.apply([bet("b1", 100, currency="USD")])
    with pytest.raises(CurrencyMismatch):
        await store.apply([Deposit("d1", "p1", "USD", 100)])
    assert await balance(store) == (1_000, 0)


@pytest.mark.parametrize(
    ("currency", "funds", "stake", "payout"),
    [
        ("JPY", 1_000, 1, 12_345),  # 0 decimals: minor unit is one yen
        ("KWD", 5_000, 1, 1_234),  # 3 decimals: 1.234 KWD
        ("BTC", 2_100_000_000_000_000, 1, 2_099_999_999_999_999),  # 8 decimals: all bitcoin
    ],
)
async def test_every_currency_moves_in_exact_minor_units(
    store: WalletStore,
    make_player: MakePlayer,
    currency: str,
    funds: int,
    stake: int,
    payout: int,
) -> None:
    await make_player("p1", currency=currency, real=funds)
    await store.apply([bet("b1", stake, currency=currency)])
    [paid] = await store.apply([win("w1", payout, currency=currency, ref_tx_id="b1")])
    assert paid.balance == Balance(currency, funds - stake + payout, 0)
    assert await balance(store, "p1", currency) == (funds - stake + payout, 0)
    [record] = await store.transactions("p1", limit=1)
    assert (record.currency, record.amount_minor) == (currency, payout)


# -- batches ------------------------------------------------------------------------


async def test_a_batch_whose_second_command_fails_applies_nothing_and_stores_the_refusal(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=100)
    with pytest.raises(InsufficientFunds) as refused:
        await store.apply([bet("b1", 60), bet("b2", 60), win("w1", 10)])
    assert refused.value.balance == Balance("EUR", 100, 0)
    assert await balance(store) == (100, 0)
    assert await store.get_round(P, "r1") is None
    with pytest.raises(InsufficientFunds) as stored:
        await store.apply([bet("b2", 60)])
    assert stored.value.replay
    [first] = await store.apply([bet("b1", 60)])
    assert not first.replay
    assert await balance(store) == (40, 0)


async def test_a_batch_applies_in_order_and_sees_its_own_earlier_commands(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=100)
    outcomes = await store.apply(
        [bet("b1", 100), win("w1", 250, ref_tx_id="b1"), bet("b2", 250), CloseRound(P, "p1", "r1")]
    )
    assert [o.balance.real_minor for o in outcomes] == [0, 250, 0, 0]
    assert len({o.transaction_id for o in outcomes[:3]}) == 3
    with pytest.raises(RoundClosed):
        await store.apply([bet("b3", 0)])
    replayed = await store.apply([bet("b1", 100), win("w1", 250, ref_tx_id="b1")])
    assert [o.replay for o in replayed] == [True, True]


# -- rounds ---------------------------------------------------------------------------


async def test_a_round_tracks_stakes_wins_and_bets_by_bucket(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=30, bonus=100)
    await store.apply([bet("b1", 50), bet("b2", 10)])  # 30 real + 20 bonus, then 10 bonus
    await store.apply([win("w1", 101, ref_tx_id="b1")])
    found = await store.get_round(P, "r1")
    assert found is not None
    assert (found.player_id, found.currency, found.game_id) == ("p1", "EUR", "g1")
    assert (found.stake_real_minor, found.stake_bonus_minor) == (30, 30)
    assert (found.win_real_minor, found.win_bonus_minor) == (61, 40)
    assert (found.bet_count, found.closed) == (2, False)
    await store.apply([rollback("rb2", "b2")])
    found = await store.get_round(P, "r1")
    assert found is not None
    assert (found.stake_real_minor, found.stake_bonus_minor) == (30, 20)


async def test_a_closed_round_refuses_bets_but_still_pays_wins(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100)])
    [closed] = await store.apply([CloseRound(P, "p1", "r1")])
    assert closed.balance == Balance("EUR", 900, 0)
    await store.apply([CloseRound(P, "p1", "r1")])  # closing twice is a no-op
    with pytest.raises(RoundClosed):
        await store.apply([bet("b2", 100)])
    [paid] = await store.apply([win("w1", 300, ref_tx_id="b1")])
    assert paid.real_delta_minor == 300
    found = await store.get_round(P, "r1")
    assert found is not None
    assert found.closed
    assert found.bet_count == 1


async def test_a_bet_that_closes_its_round_refuses_the_next_bet(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100, close_round=True)])
    with pytest.raises(RoundClosed):
        await store.apply([bet("b2", 100)])
    await store.apply([bet("b3", 100, "r2")])
    assert await balance(store) == (800, 0)


# -- history ------------------------------------------------------------------------


async def test_history_is_newest_first_and_pages_by_seq(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await make_player("p2", real=1_000)
    ids = [f"b{i}" for i in range(5)]
    for tx_id in ids:
        await store.apply([bet(tx_id, 10, f"r-{tx_id}")])
        await store.apply([bet(f"other-{tx_id}", 10, f"ro-{tx_id}", player="p2")])
    page = await store.transactions("p1", limit=2)
    assert [r.tx_id for r in page] == ["b4", "b3"]
    page = await store.transactions("p1", limit=3, before_seq=page[-1].seq)
    assert [r.tx_id for r in page] == ["b2", "b1", "b0"]
    page = await store.transactions("p1", limit=3, before_seq=page[-1].seq)
    assert [r.tx_id for r in page] == ["seed-real-p1"]
    assert all(r.player_id == "p1" for r in page)


async def test_history_shows_the_current_status_of_each_record(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100), bet("b2", 100, "r2")])
    await store.apply([win("w1", 0, ref_tx_id="b1"), rollback("rb2", "b2")])
    with pytest.raises(InsufficientFunds):
        await store.apply([bet("b3", 10_000)])
    statuses = {r.tx_id: (r.kind, r.status) for r in await store.transactions("p1", limit=10)}
    assert statuses["b1"] == (TxKind.DEBIT, TxStatus.SETTLED)
    assert statuses["b2"] == (TxKind.DEBIT, TxStatus.ROLLED_BACK)
    assert statuses["rb2"] == (TxKind.ROLLBACK, TxStatus.APPLIED)
    assert statuses["b3"] == (TxKind.DEBIT, TxStatus.REFUSED)


async def test_round_transactions_list_every_record_of_the_round_oldest_first(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100), bet("b2", 50)])
    await store.apply([bet("elsewhere", 10, "r2")])
    await store.apply([rollback("rb2", "b2", round_id="r1"), win("w1", 400, ref_tx_id="b1")])
    records = await store.round_transactions(P, "r1")
    assert [r.tx_id for r in records] == ["b1", "b2", "rb2", "w1"]
    assert [r.status for r in records] == [
        TxStatus.SETTLED,
        TxStatus.ROLLED_BACK,
        TxStatus.APPLIED,
        TxStatus.APPLIED,
    ]
    assert await store.round_transactions(P, "unknown") == []


async def test_a_rollback_without_a_round_id_is_recalled_with_its_originals_round(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100, "r7")])
    await store.apply([rollback("rb1", "b1")])
    recalled = await store.round_transactions(P, "r7")
    assert [(r.tx_id, r.kind.value, r.currency) for r in recalled] == [
        ("b1", "debit", "EUR"),
        ("rb1", "rollback", "EUR"),
    ]


async def test_a_balance_without_a_currency_is_in_the_players_wallet_currency(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", currency="JPY", real=1_500)
    assert await store.balance("p1") == Balance("JPY", 1_500, 0)
    with pytest.raises(PlayerNotFound):
        await store.balance("nobody")


class TestSessions:
    async def test_a_rotated_session_ends_even_after_it_was_looked_up(
        self, store: WalletStore, make_player: MakePlayer, make_session: MakeSession
    ) -> None:
        await make_player("p1")
        old = await make_session("tok-old", "p1", provider=P)
        assert await store.get_session("tok-old") == old  # looked up (and remembered)
        new = dataclasses.replace(old, token="tok-new", created_at_us=old.created_at_us + 5)
        lookup = asyncio.ensure_future(store.get_session("tok-old"))  # in flight meanwhile
        await store.rotate_session("tok-old", new)
        await lookup
        ended = await store.get_session("tok-old")
        assert ended is not None
        assert ended.expires_at_us == new.created_at_us
        assert await store.get_session("tok-new") == new

    async def test_an_unknown_token_stays_unknown_until_created(
        self, store: WalletStore, make_player: MakePlayer, make_session: MakeSession
    ) -> None:
        await make_player("p1")
        assert await store.get_session("tok-later") is None
        created = await make_session("tok-later", "p1", provider=P)
        assert await store.get_session("tok-later") == created

    async def test_a_session_keeps_the_device_it_was_opened_on(
        self, store: WalletStore, make_player: MakePlayer, make_session: MakeSession
    ) -> None:
        await make_player("p1")
        unknown = await make_session("tok-unknown", "p1", provider=P)
        assert unknown.device == ""
        mobile = dataclasses.replace(unknown, token="tok-mobile", device="mobile")
        await store.create_session(mobile)
        assert await store.get_session("tok-mobile") == mobile
        assert await store.get_session("tok-unknown") == unknown

    async def test_a_rotated_session_has_the_device_of_the_new_record(
        self, store: WalletStore, make_player: MakePlayer, make_session: MakeSession
    ) -> None:
        await make_player("p1")
        opened = await make_session("tok-old", "p1", provider=P)
        old = dataclasses.replace(opened, token="tok-desktop", device="desktop")
        await store.create_session(old)
        new = dataclasses.replace(
            old, token="tok-rotated", created_at_us=old.created_at_us + 5, device="mobile"
        )
        await store.rotate_session("tok-desktop", new)
        assert await store.get_session("tok-rotated") == new
        ended = await store.get_session("tok-desktop")
        assert ended == dataclasses.replace(old, expires_at_us=new.created_at_us)


# -- what a store shows at scrape time ------------------------------------------------


async def test_every_durable_commit_is_timed_once(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    before = store.stats()
    for index in range(3):
        await store.apply([bet(f"b{index}", 100)])
    await store.apply([win("w1", 50, ref_tx_id="b0")])
    after = store.stats()
    timed = after.commit_durations
    commits = after.commits_total - before.commits_total
    assert commits >= 4
    assert timed.total - before.commit_durations.total == commits
    assert timed.sum_s > before.commit_durations.sum_s
    assert len(timed.counts) == len(timed.bounds_s) + 1
    earlier = before.commit_durations.counts
    assert all(now >= then for now, then in zip(timed.counts, earlier, strict=True))
