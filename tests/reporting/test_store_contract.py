"""The reporting store contract: every backend in `tests.reporting.stores` passes it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.reporting.events import EventKind, ReportEvent, RequestRecord
from core.reporting.store import GgrQuery, GgrRow, ReportingStore
from tests.reporting.events import DAY0, at_us, event, expected_ggr
from tests.reporting.stores import ReportingStoreFactory

K = EventKind
DAY1 = DAY0 + timedelta(days=1)
WEEK = (DAY0, DAY0 + timedelta(days=6))
GROUPINGS = [
    ("day", "brand", "market", "provider", "currency"),
    ("day", "brand", "market", "provider", "game_id", "currency"),
    ("currency",),
    ("market",),
    ("provider", "game_id"),
    ("brand", "day"),
]


def history() -> list[ReportEvent]:
    """Two players over two days: bets, bonus money, a win, a resettled win, a rolled
    back bet, a deposit, a refusal and the state changes they caused."""
    day1 = at_us(DAY1, 60)
    return [
        event(1, K.DEPOSIT, provider="_cashier", game_id="", round_id="", real_delta_minor=5_000),
        event(2, K.BET, real_delta_minor=-300, bonus_delta_minor=-100, round_id="r1"),
        event(3, K.BET, real_delta_minor=-200, round_id="r1"),
        event(4, K.WIN, real_delta_minor=900, bonus_delta_minor=100, round_id="r1"),
        event(4, K.SETTLED, part=1, round_id="r1", ref_seq=2),
        event(5, K.BET, player_id="p2", real_delta_minor=-1_000, game_id="game-2", round_id="r2"),
        event(6, K.REFUSAL, player_id="p2", reason="insufficient_funds", round_id="r3"),
        event(7, K.ROLLBACK, game_id="", real_delta_minor=-900, bonus_delta_minor=-100, ref_seq=4),
        event(7, K.ROLLED_BACK, part=1, ref_seq=4),
        event(8, K.WIN, real_delta_minor=400, round_id="r1"),
        event(9, K.BET, at_us=day1, player_id="p2", currency="GBP", real_delta_minor=-50),
        event(10, K.BET, at_us=day1 + 1, player_id="p1", provider="prov-b", round_id="x"),
        event(11, K.ROLLBACK, at_us=day1 + 2, player_id="p2", currency="GBP", game_id="",
              real_delta_minor=50, ref_seq=9),
        event(11, K.ROLLED_BACK, part=1, at_us=day1 + 2, ref_seq=9),
    ]  # fmt: skip


async def ggr_everywhere(store: ReportingStore) -> list[list[GgrRow]]:
    return [await store.ggr(GgrQuery(*WEEK, by)) for by in GROUPINGS]


async def test_apply_then_ggr(reporting_store: ReportingStore) -> None:
    events = history()
    await reporting_store.apply(events, 11, {})
    rows = await reporting_store.ggr(GgrQuery(DAY0, DAY0, ("day", "provider", "game_id")))
    # The rollback of the win has no game: it is a row of its own.
    assert rows == [
        GgrRow(("2026-12-01", "prov-a", "", "EUR"), 0, 0, 0, 0, 0, -900, -100, 1_000, 900, 0, 0),
        GgrRow(("2026-12-01", "prov-a", "game-1", "EUR"), 2, 500, 100, 1_300, 100, 0, 0,
               -800, -800, 1, 1),
        GgrRow(("2026-12-01", "prov-a", "game-2", "EUR"), 1, 1_000, 0, 0, 0, 0, 0,
               1_000, 1_000, 1, 1),
    ]  # fmt: skip
    by_currency = await reporting_store.ggr(GgrQuery(*WEEK, ("currency",)))
    assert [
        (r.keys, r.ggr_minor, r.ngr_minor, r.rounds, r.active_players) for r in by_currency
    ] == [
        (("EUR",), 1_200, 1_100, 3, 2),
        (("GBP",), 0, 0, 1, 1),
    ]
    for by in GROUPINGS:
        query = GgrQuery(*WEEK, by)
        assert await reporting_store.ggr(query) == expected_ggr(events, query), by


async def test_currency_is_always_a_key(reporting_store: ReportingStore) -> None:
    await reporting_store.apply(history(), 11, {})
    rows = await reporting_store.ggr(GgrQuery(*WEEK, ("brand",)))
    assert [row.keys for row in rows] == [("brand-a", "EUR"), ("brand-a", "GBP")]
    with pytest.raises(ValueError, match="player_id"):
        await reporting_store.ggr(GgrQuery(*WEEK, ("player_id",)))
    with pytest.raises(ValueError, match="twice"):
        await reporting_store.ggr(GgrQuery(*WEEK, ("day", "day")))


async def test_days_are_inclusive_and_utc(reporting_store: ReportingStore) -> None:
    events = [
        event(1, K.BET, at_us=at_us(DAY0) - 1, real_delta_minor=-1),
        event(2, K.BET, at_us=at_us(DAY0), real_delta_minor=-10),
        event(3, K.BET, at_us=at_us(DAY1) - 1, real_delta_minor=-100),
        event(4, K.BET, at_us=at_us(DAY1), real_delta_minor=-1_000),
    ]
    await reporting_store.apply(events, 4, {})
    rows = await reporting_store.ggr(GgrQuery(DAY0, DAY0, ("day",)))
    assert [(row.keys, row.ggr_minor) for row in rows] == [(("2026-12-01", "EUR"), 110)]
    rows = await reporting_store.ggr(GgrQuery(DAY0, DAY1, ("currency",)))
    assert [row.ggr_minor for row in rows] == [1_110]
    assert await reporting_store.ggr(GgrQuery(DAY1, DAY0)) == []


async def test_replayed_events_change_nothing(reporting_store: ReportingStore) -> None:
    events = history()
    await reporting_store.apply(events, 11, {("p1", "EUR"): (4_500, 0)})
    before = await ggr_everywhere(reporting_store)
    await reporting_store.apply(events, 11, {("p1", "EUR"): (4_500, 0)})
    await reporting_store.apply(events[5:], 12, {})
    assert await ggr_everywhere(reporting_store) == before
    assert await reporting_store.cursor() == 12


async def test_cursor_only_goes_forward(reporting_store: ReportingStore) -> None:
    assert await reporting_store.cursor() == 0
    await reporting_store.apply([], 10, {})
    await reporting_store.apply([], 10, {})
    assert await reporting_store.cursor() == 10
    with pytest.raises(ValueError, match="cannot go back"):
        await reporting_store.apply(
            [event(9, K.BET, real_delta_minor=-5)], 9, {("p1", "EUR"): (1, 1)}
        )
    with pytest.raises(ValueError, match="past through_seq"):
        await reporting_store.apply([event(12, K.BET, real_delta_minor=-5)], 11, {})
    assert await reporting_store.cursor() == 10
    assert await reporting_store.ggr(GgrQuery(*WEEK)) == []
    assert await reporting_store.balances([("p1", "EUR")]) == {("p1", "EUR"): (0, 0)}


async def test_balances_round_trip(reporting_store: ReportingStore) -> None:
    await reporting_store.apply([], 1, {("p1", "EUR"): (100, 5), ("p1", "GBP"): (7, 0)})
    await reporting_store.apply([], 2, {("p1", "EUR"): (90, 0), ("p2", "EUR"): (1, 2)})
    keys = [("p1", "EUR"), ("p1", "GBP"), ("p2", "EUR"), ("p3", "EUR"), ("p2", "GBP")]
    assert await reporting_store.balances(keys) == {
        ("p1", "EUR"): (90, 0),
        ("p1", "GBP"): (7, 0),
        ("p2", "EUR"): (1, 2),
        ("p3", "EUR"): (0, 0),
        ("p2", "GBP"): (0, 0),
    }
    assert await reporting_store.balances([]) == {}


async def test_overlapping_batches_equal_one_batch(
    reporting_factory: ReportingStoreFactory, tmp_path: Path
) -> None:
    events = history()
    async with reporting_factory(tmp_path / "one") as one:
        await one.apply(events, 11, {})
        whole = await ggr_everywhere(one)
    async with reporting_factory(tmp_path / "two") as two:
        await two.apply(events[:9], 7, {})
        await two.apply(events[4:], 11, {})
        assert await ggr_everywhere(two) == whole


async def test_reopened_store_holds_everything(
    reporting_factory: ReportingStoreFactory, tmp_path: Path
) -> None:
    events = history()
    async with reporting_factory(tmp_path / "r") as store:
        await store.apply(events, 11, {("p1", "EUR"): (4_500, 0)})
        await store.add_requests(
            [
                RequestRecord(
                    at_us(DAY0), "req-1", "POST", "/p/bet", "prov-a", "bet", "ok", 200, 900, "p1"
                )
            ]
        )
        before = await ggr_everywhere(store)
    async with reporting_factory(tmp_path / "r") as store:
        assert await store.cursor() == 11
        assert await store.balances([("p1", "EUR")]) == {("p1", "EUR"): (4_500, 0)}
        assert await ggr_everywhere(store) == before
        await store.apply(events, 11, {})
        assert await ggr_everywhere(store) == before


async def test_positions_move_with_the_events(
    reporting_factory: ReportingStoreFactory, tmp_path: Path
) -> None:
    """A source's position is written in `apply`'s transaction: sources not named keep
    theirs, an `apply` without positions keeps them all, a refused one moves none."""
    events = history()
    async with reporting_factory(tmp_path / "r") as store:
        assert await store.positions() == {}
        await store.apply(events[:5], 4, {}, {"redis:1": "10-0", "redis:7": "11-0"})
        await store.apply(events[5:], 11, {}, {"redis:7": "12-3"})
        assert await store.positions() == {"redis:1": "10-0", "redis:7": "12-3"}
        await store.apply([], 11, {})
        with pytest.raises(ValueError, match="cannot go back"):
            await store.apply([], 9, {}, {"redis:1": "99-0"})
        assert await store.positions() == {"redis:1": "10-0", "redis:7": "12-3"}
        await store.apply(events, 11, {}, {"redis:7": "12-3"})  # replayed: nothing twice
        before = await ggr_everywhere(store)
    async with reporting_factory(tmp_path / "r") as store:
        assert await store.positions() == {"redis:1": "10-0", "redis:7": "12-3"}
        assert await ggr_everywhere(store) == before
