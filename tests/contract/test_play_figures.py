"""The play figures a store keeps beside the balances (`core.wallet.figures`), through
`store.apply` and `store.figures`: what responsible-gambling limits and game-cycle rules
read. Runs once per backend in `tests/contract/stores.py`.
"""

from __future__ import annotations

import pytest

from core.errors import InsufficientFunds
from core.model import Credit, Debit, Deposit, Rollback, Withdrawal
from core.wallet.figures import NO_FIGURES, PeriodFigures, PlayFigures, rolled
from core.wallet.records import SessionRecord
from core.wallet.store import DebitGuard, GuardContext, GuardedCommand, WalletStore
from tests.conftest import FakeClock, MakePlayer

P = "prov"
DAY_S = 86_400
"""The FakeClock starts on Friday 2027-01-15, 08:00 UTC: one day on is the same week and
month, three days on (Monday) a new week of the same month."""


def bet(tx_id: str, amount: int, round_id: str = "r1") -> Debit:
    return Debit(P, tx_id, "p1", "EUR", amount, round_id, "g1")


def win(tx_id: str, amount: int, ref_tx_id: str, round_id: str = "r1") -> Credit:
    return Credit(P, tx_id, "p1", "EUR", amount, round_id, "g1", ref_tx_id=ref_tx_id)


def rollback(tx_id: str, ref: str) -> Rollback:
    return Rollback(P, tx_id, "p1", ref)


def amounts(totals: PeriodFigures) -> tuple[int, int, int]:
    """(deposited, wagered, lost) of one period."""
    return totals.deposited_minor, totals.wagered_minor, totals.lost_minor


def periods(figures: PlayFigures) -> list[tuple[int, int, int]]:
    """(deposited, wagered, lost) of the day, the week and the month."""
    return [amounts(totals) for totals in (figures.day, figures.week, figures.month)]


async def test_a_player_who_never_moved_money_has_no_figures(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1")
    assert await store.figures("p1") == NO_FIGURES
    assert await store.figures("nobody") == NO_FIGURES


async def test_bets_wins_and_rollbacks_move_wagered_and_lost_in_every_period(
    store: WalletStore, make_player: MakePlayer, clock: FakeClock
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 300)])
    assert periods(await store.figures("p1")) == [(1_000, 300, 300)] * 3
    await store.apply([bet("b2", 200, "r2")])
    await store.apply([win("w1", 500, "b1")])
    assert periods(await store.figures("p1")) == [(1_000, 500, 0)] * 3
    await store.apply([rollback("rb-b2", "b2")])  # the stake given back
    assert periods(await store.figures("p1")) == [(1_000, 300, -200)] * 3
    await store.apply([rollback("rb-w1", "w1")])  # the win taken back
    figures = await store.figures("p1")
    assert periods(figures) == [(1_000, 300, 300)] * 3
    assert figures.last_bet_us == clock.micros()
    assert figures.deposited_total_minor == 1_000


async def test_deposits_add_to_deposited_and_withdrawals_take_nothing_back(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([Deposit("d2", "p1", "EUR", 500)])
    await store.apply([Withdrawal("wd1", "p1", "EUR", 700)])
    figures = await store.figures("p1")
    assert periods(figures) == [(1_500, 0, 0)] * 3
    assert figures.deposited_total_minor == 1_500
    assert figures.last_bet_us is None


async def test_a_refused_debit_leaves_the_figures_as_they_were(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=100)
    await store.apply([bet("b1", 60)])
    before = await store.figures("p1")
    with pytest.raises(InsufficientFunds):
        await store.apply([bet("b2", 500)])
    with pytest.raises(InsufficientFunds):
        await store.apply([bet("b2", 500)])
    assert await store.figures("p1") == before


async def test_an_identical_replay_does_not_count_twice(
    store: WalletStore, make_player: MakePlayer, clock: FakeClock
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100)])
    clock.advance(30)
    await store.apply([win("w1", 40, "b1")])
    before = await store.figures("p1")
    clock.advance(30)
    [replayed] = await store.apply([bet("b1", 100)])
    assert replayed.replay
    [replayed] = await store.apply([win("w1", 40, "b1")])
    assert replayed.replay
    await store.apply([Deposit("seed-real-p1", "p1", "EUR", 1_000)])  # the seed, again
    assert await store.figures("p1") == before
    assert periods(before) == [(1_000, 100, 60)] * 3


async def test_a_job_of_several_commands_counts_each(
    store: WalletStore, make_player: MakePlayer
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100), bet("b2", 50, "r2"), win("w1", 30, "b1")])
    assert periods(await store.figures("p1")) == [(1_000, 150, 120)] * 3
    await store.apply([Deposit("d2", "p1", "EUR", 5), Deposit("d3", "p1", "EUR", 7)])
    figures = await store.figures("p1")
    assert periods(figures) == [(1_012, 150, 120)] * 3
    assert figures.deposited_total_minor == 1_012


async def test_play_time_runs_from_one_bet_to_the_next(
    store: WalletStore, make_player: MakePlayer, clock: FakeClock
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 10)])
    clock.advance(40)
    await store.apply([bet("b2", 10)])
    clock.advance(100)
    await store.apply([win("w1", 5, "b2")])  # a win is no bet: the clock runs on
    await store.apply([bet("b3", 10, "r2")])
    figures = await store.figures("p1")
    assert [totals.played_us for totals in (figures.day, figures.week, figures.month)] == [
        140_000_000
    ] * 3
    assert figures.last_bet_us == clock.micros()


async def test_the_figures_of_a_new_day_and_week_start_from_zero(
    store: WalletStore, make_player: MakePlayer, clock: FakeClock
) -> None:
    await make_player("p1", real=1_000)
    await store.apply([bet("b1", 100)])
    clock.advance(DAY_S)  # Saturday: a new day, the same week and month
    stored = await store.figures("p1")
    assert periods(stored) == [(1_000, 100, 100)] * 3  # as stored: not rolled yet
    assert periods(rolled(stored, clock.micros())) == [
        (0, 0, 0),
        (1_000, 100, 100),
        (1_000, 100, 100),
    ]
    await store.apply([bet("b2", 30, "r2")])
    await store.apply([Deposit("d2", "p1", "EUR", 50)])
    figures = await store.figures("p1")
    assert periods(figures) == [(50, 30, 30), (1_050, 130, 130), (1_050, 130, 130)]
    assert figures.day.start_day == clock.micros() // (DAY_S * 1_000_000)
    clock.advance(2 * DAY_S)  # Monday: a new week, the same month
    await store.apply([bet("b3", 7, "r3")])
    figures = await store.figures("p1")
    assert periods(figures) == [(0, 7, 7), (0, 7, 7), (1_050, 137, 137)]
    assert figures.deposited_total_minor == 1_050


async def test_a_bet_that_opens_a_round_starts_a_game_cycle_on_its_sessions_vertical(
    store: WalletStore, make_player: MakePlayer, clock: FakeClock
) -> None:
    await make_player("p1", real=1_000)
    now_us = clock.micros()
    session = SessionRecord("tok-slots", "p1", P, "g1", "EUR", now_us + 3_600_000_000, now_us,
                            "desktop", "slots")  # fmt: skip
    await store.create_session(session)
    assert await store.get_session(session.token) == session
    seen: list[GuardContext] = []

    def check(command: GuardedCommand, context: GuardContext) -> None:
        seen.append(context)

    guard = DebitGuard(session.token, check)
    opened_us = clock.micros()
    await store.apply([bet("b1", 100)], guard=guard)
    clock.advance(5)
    await store.apply([bet("b2", 50)], guard=guard)  # the same round: the same cycle
    figures = await store.figures("p1")
    assert figures.cycle_starts == (("slots", opened_us),)
    assert figures.cycle_start_us("slots") == opened_us
    assert [(c.opens_cycle, c.round_stake_minor) for c in seen] == [(True, 0), (False, 100)]
    assert seen[1].figures.day.wagered_minor == 100
    assert seen[1].session == session
    clock.advance(5)
    await store.apply([bet("b3", 10, "r2")], guard=guard)  # the next cycle
    assert (await store.figures("p1")).cycle_starts == (("slots", clock.micros()),)
    await store.apply([bet("b4", 10, "r3")])  # no session: no vertical, no cycle kept
    assert (await store.figures("p1")).cycle_starts == (("slots", clock.micros()),)
