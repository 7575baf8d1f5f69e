"""Play figures: calendar periods in UTC, movements, play time, and their text form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.limits import LimitKind, LimitPeriod
from core.wallet.figures import (
    NO_FIGURES,
    PLAY_GAP_US_MAX,
    decode_figures,
    encode_figures,
    figure,
    moved,
    period_start_day,
    rolled,
)


def _us(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1_000_000)


def _day(text: str) -> int:
    return _us(text) // (86_400 * 1_000_000)


@pytest.mark.parametrize(
    ("moment", "period", "first_day"),
    [
        ("2026-12-05T23:59:59", LimitPeriod.DAY, "2026-12-05"),
        ("2026-12-05T10:00:00", LimitPeriod.WEEK, "2026-11-30"),  # a Saturday; weeks start Monday
        ("2026-11-30T00:00:00", LimitPeriod.WEEK, "2026-11-30"),
        ("2026-12-05T10:00:00", LimitPeriod.MONTH, "2026-12-01"),
        ("2024-02-29T12:00:00", LimitPeriod.MONTH, "2024-02-01"),
        ("1970-01-01T00:00:00", LimitPeriod.WEEK, "1969-12-29"),
    ],
)
def test_periods_are_calendar_periods_in_utc(
    moment: str, period: LimitPeriod, first_day: str
) -> None:
    assert period_start_day(period, _us(moment)) == _day(first_day + "T00:00:00")


def test_a_new_day_starts_the_day_afresh_and_keeps_the_week_and_month() -> None:
    saturday = _us("2026-12-05T10:00:00")
    figures = moved(
        rolled(NO_FIGURES, saturday), saturday, wagered_minor=500, lost_minor=500, bet=True
    )
    sunday = rolled(figures, _us("2026-12-06T10:00:00"))
    assert figure(sunday, LimitKind.WAGER, LimitPeriod.DAY) == 0
    assert figure(sunday, LimitKind.WAGER, LimitPeriod.WEEK) == 500
    assert figure(sunday, LimitKind.LOSS, LimitPeriod.MONTH) == 500
    monday = rolled(sunday, _us("2026-12-07T00:00:00"))
    assert figure(monday, LimitKind.WAGER, LimitPeriod.WEEK) == 0
    assert figure(monday, LimitKind.WAGER, LimitPeriod.MONTH) == 500
    january = rolled(monday, _us("2027-01-01T00:00:00"))
    assert figure(january, LimitKind.WAGER, LimitPeriod.MONTH) == 0
    assert january.last_bet_us == saturday  # not a period figure: kept


def test_play_time_counts_gaps_between_bets_up_to_the_cap() -> None:
    start = _us("2026-12-05T10:00:00")
    figures = rolled(NO_FIGURES, start)
    figures = moved(figures, start, bet=True)  # the first bet starts the clock
    figures = moved(figures, start + 60_000_000, bet=True)  # one minute of play
    figures = moved(figures, start + 60_000_000 + 2 * PLAY_GAP_US_MAX, bet=True)  # a break
    assert (
        figure(figures, LimitKind.SESSION_TIME, LimitPeriod.DAY)
        == 60 + PLAY_GAP_US_MAX // 1_000_000
    )


def test_cycle_starts_are_kept_per_vertical() -> None:
    now = _us("2026-12-05T10:00:00")
    figures = moved(rolled(NO_FIGURES, now), now, bet=True, cycle_vertical="slots")
    figures = moved(figures, now + 1, bet=True, cycle_vertical="live")
    figures = moved(figures, now + 2, bet=True, cycle_vertical="slots")
    assert figures.cycle_start_us("slots") == now + 2
    assert figures.cycle_start_us("live") == now + 1
    assert figures.cycle_start_us("table") is None


def test_deposits_count_per_period_and_in_total() -> None:
    now = _us("2026-12-05T10:00:00")
    figures = moved(rolled(NO_FIGURES, now), now, deposited_minor=1_000)
    figures = moved(
        rolled(figures, now + 86_400_000_000 * 40), now + 86_400_000_000 * 40, deposited_minor=500
    )
    assert figure(figures, LimitKind.DEPOSIT, LimitPeriod.MONTH) == 500
    assert figures.deposited_total_minor == 1_500


def test_the_text_form_round_trips() -> None:
    now = _us("2026-12-05T10:00:00")
    figures = moved(
        rolled(NO_FIGURES, now),
        now,
        deposited_minor=7,
        wagered_minor=5,
        lost_minor=-3,
        bet=True,
        cycle_vertical="slots",
    )
    assert decode_figures(encode_figures(figures)) == figures
    assert decode_figures(encode_figures(NO_FIGURES)) == NO_FIGURES
