"""Responsible-gambling limit changes: decreases at once, increases after the cooling-off."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.limits import (
    Limit,
    LimitKind,
    LimitPeriod,
    change_limit,
    decode_limits,
    encode_limits,
    limit_in_force,
)

DAY_US = 86_400 * 1_000_000
DELAY_S = 86_400
DEPOSIT, DAY = LimitKind.DEPOSIT, LimitPeriod.DAY


def _in_force(limits: tuple[Limit, ...], at_us: int) -> int | None:
    return limit_in_force(limits, DEPOSIT, DAY, at_us)


# (value before, value asked, in force at once, in force after the delay)
CHANGES = [
    (None, 5_000, 5_000, 5_000),  # a first limit counts at once
    (5_000, 3_000, 3_000, 3_000),  # a decrease counts at once
    (5_000, 8_000, 5_000, 8_000),  # an increase waits
    (5_000, None, 5_000, None),  # so does removing the limit
    (5_000, 5_000, 5_000, 5_000),  # the same value changes nothing
    (None, None, None, None),
]


@pytest.mark.parametrize(("before", "asked", "at_once", "later"), CHANGES)
def test_a_change_counts_when_the_rule_says(
    before: int | None, asked: int | None, at_once: int | None, later: int | None
) -> None:
    limits = (
        ()
        if before is None
        else change_limit((), DEPOSIT, DAY, before, now_us=0, increase_delay_s=DELAY_S)
    )
    changed = change_limit(limits, DEPOSIT, DAY, asked, now_us=DAY_US, increase_delay_s=DELAY_S)
    assert _in_force(changed, DAY_US) == at_once
    assert _in_force(changed, 2 * DAY_US - 1) == at_once
    assert _in_force(changed, 2 * DAY_US) == later


def test_asking_for_less_drops_a_pending_increase() -> None:
    limits = change_limit((), DEPOSIT, DAY, 5_000, now_us=0, increase_delay_s=DELAY_S)
    raised = change_limit(limits, DEPOSIT, DAY, 9_000, now_us=1, increase_delay_s=DELAY_S)
    lowered = change_limit(raised, DEPOSIT, DAY, 4_000, now_us=2, increase_delay_s=DELAY_S)
    assert lowered == (Limit(DEPOSIT, DAY, 4_000),)
    assert _in_force(lowered, 10 * DAY_US) == 4_000


def test_other_limits_are_kept_and_the_order_is_stable() -> None:
    limits = change_limit((), LimitKind.LOSS, LimitPeriod.WEEK, 100, now_us=0, increase_delay_s=0)
    limits = change_limit(limits, DEPOSIT, DAY, 50, now_us=0, increase_delay_s=0)
    assert [(limit.kind, limit.period) for limit in limits] == [
        (DEPOSIT, DAY),
        (LimitKind.LOSS, LimitPeriod.WEEK),
    ]


values = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))
steps = st.lists(
    st.tuples(values, st.integers(min_value=0, max_value=3 * DAY_US)), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_random_changes_obey_decrease_now_increase_later(
    asked: list[tuple[int | None, int]],
) -> None:
    """Whatever a player asks, in whatever order: the limit in force never rises before
    the cooling-off since the request that raised it, and a lower ask counts at once."""
    limits: tuple[Limit, ...] = ()
    now_us = 0
    for value, wait_us in asked:
        before = _in_force(limits, now_us)
        limits = change_limit(limits, DEPOSIT, DAY, value, now_us=now_us, increase_delay_s=DELAY_S)
        after = _in_force(limits, now_us)
        if before is not None and (after is None or after > before):
            raise AssertionError(f"raised at once: {before} -> {after}")
        if value is not None and (before is None or value <= before):
            assert after == value
        # Until the delay has passed, nothing is looser than it was when asked.
        just_before = now_us + DELAY_S * 1_000_000 - 1
        later = _in_force(limits, just_before)
        if before is not None:
            assert later is not None
            assert later <= before
        assert decode_limits(encode_limits(limits)) == limits
        now_us += wait_us


def test_the_text_form_round_trips() -> None:
    limits = (
        Limit(DEPOSIT, DAY, 5_000),
        Limit(LimitKind.LOSS, LimitPeriod.MONTH, 100, None, 1_767_225_600_000_000),
        Limit(LimitKind.SESSION_TIME, LimitPeriod.WEEK, None, 3_600, 7),
    )
    assert decode_limits(encode_limits(limits)) == limits
    assert decode_limits("") == ()
