"""Responsible-gambling limit checks: the player's own limits against the wallet's figures.

Run inside the atomic step (bets, deposits) with figures rolled to the step's time, so
two bets cannot both fit under a limit only one fits under. A bet is refused when it
could take a figure past a limit: its stake counts in full towards wagers and net loss.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import (
    DepositLimitReached,
    LimitReached,
    LossLimitReached,
    SessionTimeLimitReached,
    WagerLimitReached,
)
from core.limits import Limit, LimitKind, LimitPeriod
from core.wallet.figures import PlayFigures, figure

__all__ = ["check_bet_limits", "check_deposit_limits", "check_play_time", "limits_set"]

_REFUSAL: dict[LimitKind, type[LimitReached]] = {
    LimitKind.DEPOSIT: DepositLimitReached,
    LimitKind.LOSS: LossLimitReached,
    LimitKind.WAGER: WagerLimitReached,
    LimitKind.SESSION_TIME: SessionTimeLimitReached,
}


def limits_set(limits: Iterable[Limit], now_us: int) -> frozenset[LimitKind]:
    """The kinds the player has a limit of in force (any period)."""
    return frozenset(limit.kind for limit in limits if limit.at(now_us) is not None)


def check_bet_limits(
    limits: tuple[Limit, ...], figures: PlayFigures, stake_minor: int, now_us: int
) -> None:
    """Wager and loss limits with this stake added; play-time limits as they stand."""
    for limit in limits:
        kind = limit.kind
        if kind is LimitKind.DEPOSIT:
            continue
        value = limit.at(now_us)
        if value is None:
            continue
        added = 0 if kind is LimitKind.SESSION_TIME else stake_minor
        _check(kind, limit.period, value, figures, added)


def check_deposit_limits(
    limits: tuple[Limit, ...], figures: PlayFigures, amount_minor: int, now_us: int
) -> None:
    for limit in limits:
        if limit.kind is LimitKind.DEPOSIT:
            value = limit.at(now_us)
            if value is not None:
                _check(LimitKind.DEPOSIT, limit.period, value, figures, amount_minor)


def check_play_time(limits: tuple[Limit, ...], figures: PlayFigures, now_us: int) -> None:
    """Session creation and launch: refused once the play time in a period is used up."""
    for limit in limits:
        if limit.kind is LimitKind.SESSION_TIME:
            value = limit.at(now_us)
            if value is not None:
                _check(LimitKind.SESSION_TIME, limit.period, value, figures, 0)


def _check(
    kind: LimitKind, period: LimitPeriod, value: int, figures: PlayFigures, added: int
) -> None:
    current = figure(figures, kind, period)
    if kind is LimitKind.SESSION_TIME:
        if current >= value:
            raise SessionTimeLimitReached(f"{period.value} play time limit of {value} s used up")
        return
    if current + added > value:
        raise _REFUSAL[kind](f"{period.value} {kind.value} limit {value} would be exceeded")
