"""A player's play figures: what responsible-gambling limits and game-cycle rules read.

The atomic step keeps them beside the balances, from the wallet's own movements, so a
limit check and the bet it admits see one state (`core.wallet.step`). Per calendar period
(UTC day, ISO week from Monday, month), in the player's wallet currency:

- deposited: deposits (gross; withdrawals do not give allowance back);
- wagered: stakes, less stakes rolled back;
- lost: net loss, stakes less wins; a rolled-back bet or win is undone (may go below 0);
- played: time between a player's consecutive bets, each gap counted up to
  `PLAY_GAP_US_MAX` (a longer pause is a break, not play). Session-time limits read it.

Beside them: the time of the last bet, and per vertical the start of the player's last
game cycle (the first bet of a round), for a market's minimum time between cycles.
Amounts count real and bonus money alike: a limit then binds no later than on real money.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from core.limits import LimitKind, LimitPeriod

__all__ = [
    "NO_FIGURES",
    "PLAY_GAP_US_MAX",
    "PeriodFigures",
    "PlayFigures",
    "decode_figures",
    "encode_figures",
    "figure",
    "moved",
    "period_start_day",
    "rolled",
]

PLAY_GAP_US_MAX = 5 * 60 * 1_000_000
"""A gap between two bets counts as play time up to five minutes."""
_US_PER_DAY = 86_400 * 1_000_000
_EPOCH_WEEKDAY = 3
"""1970-01-01 was a Thursday (Monday = 0)."""


class PeriodFigures(NamedTuple):
    start_day: int
    """The period's first day, in days since 1970-01-01 (UTC)."""
    deposited_minor: int = 0
    wagered_minor: int = 0
    lost_minor: int = 0
    played_us: int = 0


class PlayFigures(NamedTuple):
    day: PeriodFigures
    week: PeriodFigures
    month: PeriodFigures
    last_bet_us: int | None = None
    cycle_starts: tuple[tuple[str, int], ...] = ()
    """(vertical, start of the player's last game cycle on it), one per vertical."""
    deposited_total_minor: int = 0
    """Every deposit ever (a market caps deposits while KYC is pending: ES)."""

    def cycle_start_us(self, vertical: str) -> int | None:
        for name, start_us in self.cycle_starts:
            if name == vertical:
                return start_us
        return None


NO_FIGURES = PlayFigures(PeriodFigures(-1), PeriodFigures(-1), PeriodFigures(-1))
"""A player who never moved money: every period stale, so `rolled` starts them afresh."""


def period_start_day(period: LimitPeriod, now_us: int) -> int:
    """The first day (days since the epoch, UTC) of the period holding `now_us`."""
    day = now_us // _US_PER_DAY
    if period is LimitPeriod.DAY:
        return day
    if period is LimitPeriod.WEEK:
        return day - (day + _EPOCH_WEEKDAY) % 7
    moment = datetime.fromtimestamp(now_us / 1_000_000, tz=UTC).date()
    return day - (moment.day - 1)


def rolled(figures: PlayFigures, now_us: int) -> PlayFigures:
    """`figures` as of `now_us`: a period that has ended starts again at zero."""
    day = now_us // _US_PER_DAY
    if figures.day.start_day == day:  # nearly always: nothing has ended
        return figures
    week, month = figures.week, figures.month
    week_start = period_start_day(LimitPeriod.WEEK, now_us)
    if week.start_day != week_start:
        week = PeriodFigures(week_start)
    month_start = period_start_day(LimitPeriod.MONTH, now_us)
    if month.start_day != month_start:
        month = PeriodFigures(month_start)
    return figures._replace(day=PeriodFigures(day), week=week, month=month)


def figure(figures: PlayFigures, kind: LimitKind, period: LimitPeriod) -> int:
    """The figure a limit of `kind` over `period` compares with (minor units, or whole
    seconds for play time). `figures` must be rolled to the moment of the check."""
    totals = (
        figures.day if period is LimitPeriod.DAY
        else figures.week if period is LimitPeriod.WEEK
        else figures.month
    )  # fmt: skip
    if kind is LimitKind.DEPOSIT:
        return totals.deposited_minor
    if kind is LimitKind.WAGER:
        return totals.wagered_minor
    if kind is LimitKind.LOSS:
        return totals.lost_minor
    return totals.played_us // 1_000_000


def moved(
    figures: PlayFigures,
    now_us: int,
    *,
    deposited_minor: int = 0,
    wagered_minor: int = 0,
    lost_minor: int = 0,
    bet: bool = False,
    cycle_vertical: str = "",
) -> PlayFigures:
    """`figures` (rolled to `now_us`) after one movement. `bet`: a stake was placed now
    (play time runs from the last one); `cycle_vertical`: the bet opened a game cycle
    on that vertical. Written out long-hand: it runs for every money command."""
    played_us = 0
    last_bet_us = figures.last_bet_us
    if bet:
        if last_bet_us is not None:
            played_us = min(max(now_us - last_bet_us, 0), PLAY_GAP_US_MAX)
        last_bet_us = now_us
    d, w, m = figures.day, figures.week, figures.month
    day = PeriodFigures(
        d[0], d[1] + deposited_minor, d[2] + wagered_minor, d[3] + lost_minor, d[4] + played_us
    )
    week = PeriodFigures(
        w[0], w[1] + deposited_minor, w[2] + wagered_minor, w[3] + lost_minor, w[4] + played_us
    )
    month = PeriodFigures(
        m[0], m[1] + deposited_minor, m[2] + wagered_minor, m[3] + lost_minor, m[4] + played_us
    )
    cycle_starts = figures.cycle_starts
    if cycle_vertical:
        cycle_starts = (
            *[item for item in cycle_starts if item[0] != cycle_vertical],
            (cycle_vertical, now_us),
        )
    return PlayFigures(
        day, week, month, last_bet_us, cycle_starts,
        figures.deposited_total_minor + deposited_minor,
    )  # fmt: skip


def encode_figures(figures: PlayFigures) -> str:
    """`20431,0,500,120,0;20427,...;20423,...;<last bet us or ->;slots:1765..,live:...;
    <deposited total>`. Spelled out: a store writes it on nearly every bet."""
    d, w, m = figures.day, figures.week, figures.month
    last_bet = "-" if figures.last_bet_us is None else figures.last_bet_us
    cycles = ",".join([f"{name}:{start_us}" for name, start_us in figures.cycle_starts])
    return (
        f"{d[0]},{d[1]},{d[2]},{d[3]},{d[4]};{w[0]},{w[1]},{w[2]},{w[3]},{w[4]};"
        f"{m[0]},{m[1]},{m[2]},{m[3]},{m[4]};{last_bet};{cycles};{figures.deposited_total_minor}"
    )


def decode_figures(text: str) -> PlayFigures:
    """The inverse of `encode_figures`; ValueError for text it did not write."""
    day, week, month, last_bet, cycles, deposited_total = text.split(";")
    d = day.split(",")
    w = week.split(",")
    m = month.split(",")
    if len(d) != 5 or len(w) != 5 or len(m) != 5:
        raise ValueError("a period has five figures")
    cycle_starts: tuple[tuple[str, int], ...] = ()
    if cycles:
        pairs = [item.partition(":") for item in cycles.split(",")]
        cycle_starts = tuple([(name, int(start_us)) for name, _, start_us in pairs])
    return PlayFigures(
        PeriodFigures(int(d[0]), int(d[1]), int(d[2]), int(d[3]), int(d[4])),
        PeriodFigures(int(w[0]), int(w[1]), int(w[2]), int(w[3]), int(w[4])),
        PeriodFigures(int(m[0]), int(m[1]), int(m[2]), int(m[3]), int(m[4])),
        None if last_bet == "-" else int(last_bet),
        cycle_starts,
        int(deposited_total),
    )
