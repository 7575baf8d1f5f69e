"""plan_sync as scenario tables: what a feed adds, changes and retires, and the guard."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from core.catalogue.game import Game, GameStatus
from core.catalogue.sync import SyncPlan, plan_sync
from core.errors import FeedInvalid, RetirementGuarded
from tests.catalogue.games import INSTANCE, game, retired


def _plan(
    current: Sequence[Game],
    feed: Sequence[Game],
    *,
    full: bool = True,
    share: float = 1.0,
    confirmed: bool = False,
) -> SyncPlan:
    return plan_sync(
        {stored.key: stored for stored in current},
        feed,
        instance=INSTANCE,
        full=full,
        retire_share_max=share,
        confirmed=confirmed,
    )


def _codes(games: Sequence[Game]) -> list[str]:
    return [one.code for one in games]


TEN = [game(f"g{number}") for number in range(10)]

SCENARIOS = [
    # name, current, feed, full, (added, changed, retired, unchanged)
    ("first sync adds all", [], [game("a"), game("b")], True, (["a", "b"], [], [], 0)),
    ("identical repeat", [game("a")], [game("a")], True, ([], [], [], 1)),
    ("title changed", [game("a")], [game("a", "New")], True, ([], ["a"], [], 0)),
    (
        "disabled by provider",
        [game("a")],
        [game("a", status=GameStatus.DISABLED)],
        True,
        ([], ["a"], [], 0),
    ),
    ("full feed retires omitted", [game("a"), game("b")], [game("a")], True, ([], [], ["b"], 1)),
    ("partial feed retires nothing", [game("a"), game("b")], [game("a")], False, ([], [], [], 1)),
    ("partial feed adds", [game("a")], [game("c")], False, (["c"], [], [], 0)),
    ("retired stays retired", [game("a"), retired("b")], [game("a")], True, ([], [], [], 1)),
    ("reappearance is a change", [retired("b")], [game("b")], True, ([], ["b"], [], 0)),
    (
        "other instances untouched",
        [game("a"), game("x", instance="other")],
        [game("a")],
        True,
        ([], [], [], 1),
    ),
    (
        "mixed",
        [game("a"), game("b"), game("c")],
        [game("a"), game("b", "B2"), game("d")],
        True,
        (["d"], ["b"], ["c"], 1),
    ),
]


@pytest.mark.parametrize(
    ("current", "feed", "full", "expected"),
    [scenario[1:] for scenario in SCENARIOS],
    ids=[scenario[0] for scenario in SCENARIOS],
)
def test_plan(
    current: list[Game],
    feed: list[Game],
    full: bool,
    expected: tuple[list[str], list[str], list[str], int],
) -> None:
    plan = _plan(current, feed, full=full)
    assert (_codes(plan.added), _codes(plan.changed), _codes(plan.retired), plan.unchanged) == (
        expected
    )
    assert plan.empty == (not any(expected[:3]))


def test_retired_copies_keep_everything_but_status() -> None:
    stored = game("b", "Bee", rtp_bp=9650)
    (gone,) = _plan([game("a"), stored], [game("a")]).retired
    assert gone.status is GameStatus.RETIRED
    assert gone == game("b", "Bee", rtp_bp=9650, status=GameStatus.RETIRED)


GUARD = [
    # name, retiring of ten listed, share allowed, confirmed, refused
    ("at the share", 2, 0.2, False, False),
    ("just above the share", 3, 0.2, False, True),
    ("above but confirmed", 3, 0.2, True, False),
    ("decimal share exact", 3, 0.3, False, False),
    ("zero share refuses any", 1, 0.0, False, True),
    ("all gone", 10, 0.9, False, True),
    ("all gone confirmed", 10, 0.9, True, False),
]


@pytest.mark.parametrize(
    ("retiring", "share", "confirmed", "refused"),
    [row[1:] for row in GUARD],
    ids=[row[0] for row in GUARD],
)
def test_guard(retiring: int, share: float, confirmed: bool, refused: bool) -> None:
    feed = TEN[retiring:]
    if refused:
        with pytest.raises(RetirementGuarded) as caught:
            _plan(TEN, feed, share=share, confirmed=confirmed)
        assert f"{retiring} of 10" in caught.value.message
        assert "confirm" in caught.value.message
    else:
        assert len(_plan(TEN, feed, share=share, confirmed=confirmed).retired) == retiring


def test_guard_counts_listed_games_only() -> None:
    """Retired games are not in the base: 2 of 4 listed is 50 %, not 2 of 10."""
    current = [*TEN[:4], *(retired(stored.code) for stored in TEN[4:])]
    with pytest.raises(RetirementGuarded, match="2 of 4"):
        _plan(current, TEN[:2], share=0.4)


def test_guard_ignores_partial_feeds() -> None:
    assert _plan(TEN, TEN[:1], full=False, share=0.0).empty


INVALID = [
    ("other instance", [game("a"), game("b", instance="other")], "record 1 (code 'b')"),
    ("duplicate", [game("a"), game("b"), game("a", "Again")], "record 2 (code 'a') repeats"),
]


@pytest.mark.parametrize(
    ("feed", "message"), [row[1:] for row in INVALID], ids=[row[0] for row in INVALID]
)
def test_invalid_feed(feed: list[Game], message: str) -> None:
    with pytest.raises(FeedInvalid) as caught:
        _plan([], feed)
    assert message in caught.value.message
