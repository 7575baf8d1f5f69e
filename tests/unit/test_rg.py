"""Player limits against the play figures (core.rg)."""

from __future__ import annotations

import pytest

from core.errors import (
    DepositLimitReached,
    GatewayError,
    LossLimitReached,
    SessionTimeLimitReached,
    WagerLimitReached,
)
from core.limits import Limit, LimitKind, LimitPeriod
from core.rg import check_bet_limits, check_deposit_limits, check_play_time, limits_set
from core.wallet.figures import NO_FIGURES, moved, rolled

NOW_US = 1_800_000_000_000_000
K, P = LimitKind, LimitPeriod
FIGURES = moved(
    rolled(NO_FIGURES, NOW_US), NOW_US, deposited_minor=900, wagered_minor=400, lost_minor=300
)


@pytest.mark.parametrize(
    ("limit", "stake", "refusal"),
    [
        (Limit(K.LOSS, P.DAY, 350), 50, None),  # 300 + 50 reaches the limit, not past it
        (Limit(K.LOSS, P.DAY, 350), 51, LossLimitReached),
        (Limit(K.LOSS, P.MONTH, 350), 51, LossLimitReached),
        (Limit(K.WAGER, P.WEEK, 500), 100, None),
        (Limit(K.WAGER, P.WEEK, 500), 101, WagerLimitReached),
        (Limit(K.DEPOSIT, P.DAY, 0), 10, None),  # deposits are not bets
        (Limit(K.WAGER, P.DAY, 100, 10_000, NOW_US), 101, None),  # the raise is due now
        (Limit(K.WAGER, P.DAY, 100, 10_000, NOW_US + 1), 1, WagerLimitReached),
        (Limit(K.WAGER, P.DAY, None, 10, NOW_US + 1), 10**6, None),  # no limit until then
    ],
)
def test_bets(limit: Limit, stake: int, refusal: type[GatewayError] | None) -> None:
    if refusal is None:
        check_bet_limits((limit,), FIGURES, stake, NOW_US)
    else:
        with pytest.raises(refusal):
            check_bet_limits((limit,), FIGURES, stake, NOW_US)


def test_deposits() -> None:
    check_deposit_limits((Limit(K.DEPOSIT, P.DAY, 1_000),), FIGURES, 100, NOW_US)
    with pytest.raises(DepositLimitReached):
        check_deposit_limits((Limit(K.DEPOSIT, P.DAY, 1_000),), FIGURES, 101, NOW_US)
    check_deposit_limits((Limit(K.LOSS, P.DAY, 0),), FIGURES, 10**6, NOW_US)


def test_play_time_is_checked_at_session_creation_and_on_bets() -> None:
    played = moved(
        moved(rolled(NO_FIGURES, NOW_US), NOW_US, bet=True), NOW_US + 60_000_000, bet=True
    )
    limit = (Limit(K.SESSION_TIME, P.DAY, 60),)
    with pytest.raises(SessionTimeLimitReached):
        check_play_time(limit, played, NOW_US)
    with pytest.raises(SessionTimeLimitReached):
        check_bet_limits(limit, played, 0, NOW_US)
    check_play_time((Limit(K.SESSION_TIME, P.DAY, 61),), played, NOW_US)


def test_limits_set_names_the_kinds_in_force() -> None:
    limits = (Limit(K.DEPOSIT, P.DAY, 10), Limit(K.LOSS, P.DAY, None, 5, NOW_US + 1))
    assert limits_set(limits, NOW_US) == {K.DEPOSIT}
    assert limits_set(limits, NOW_US + 1) == {K.DEPOSIT, K.LOSS}
