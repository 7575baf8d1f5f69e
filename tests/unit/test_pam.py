# ruff: noqa: E501 -- the scenario tables read best one case a line
"""Account statuses and account changes (core.pam), as scenario tables."""

from __future__ import annotations

import json
from datetime import date

import pytest

from core.errors import (
    AccountClosed,
    AccountRestricted,
    AccountSuspended,
    CoolingOff,
    GatewayError,
    InvalidRequest,
    SelfExcluded,
)
from core.limits import LimitKind, LimitPeriod
from core.model import KycState, PlayerStatus
from core.pam import (
    AccountUse,
    check_account,
    effective_status,
    identity_change,
    kyc_change,
    limit_change,
    self_exclusion_change,
    status_change,
    take_break_change,
)
from core.wallet.records import PlayerRecord

HOUR_US = 3_600 * 1_000_000
NOW_US = 1_000 * HOUR_US
PLAYER = PlayerRecord("p1", "demo", "GB", "GBP", date(1990, 1, 1))
S = PlayerStatus
PLAY, DEPOSIT, WITHDRAW = AccountUse.PLAY, AccountUse.DEPOSIT, AccountUse.WITHDRAW


def _with(status: PlayerStatus, until_us: int | None = None) -> PlayerRecord:
    return PlayerRecord(
        "p1", "demo", "GB", "GBP", date(1990, 1, 1), status=status, status_until_us=until_us
    )


# status, end, use -> refusal (None: allowed)
ACCOUNT_USES: list[tuple[PlayerStatus, int | None, AccountUse, type[GatewayError] | None]] = [
    (S.ACTIVE, None, PLAY, None),
    (S.ACTIVE, None, DEPOSIT, None),
    (S.RESTRICTED, None, PLAY, AccountRestricted),
    (S.RESTRICTED, None, DEPOSIT, AccountRestricted),
    (S.RESTRICTED, None, WITHDRAW, None),
    (S.SUSPENDED, None, WITHDRAW, AccountSuspended),
    (S.CLOSED, None, PLAY, AccountClosed),
    (S.CLOSED, None, WITHDRAW, AccountClosed),
    (S.SELF_EXCLUDED, None, PLAY, SelfExcluded),
    (S.SELF_EXCLUDED, None, DEPOSIT, SelfExcluded),
    (S.SELF_EXCLUDED, None, WITHDRAW, None),
    (S.SELF_EXCLUDED, NOW_US - 1, PLAY, SelfExcluded),  # ended, but nobody reactivated it
    (S.COOLING_OFF, NOW_US + 1, PLAY, CoolingOff),
    (S.COOLING_OFF, NOW_US + 1, DEPOSIT, CoolingOff),
    (S.COOLING_OFF, NOW_US + 1, WITHDRAW, None),
    (S.COOLING_OFF, NOW_US, PLAY, None),  # a break ends by itself
]


@pytest.mark.parametrize(("status", "until_us", "use", "refusal"), ACCOUNT_USES)
def test_what_each_status_allows(
    status: PlayerStatus, until_us: int | None, use: AccountUse, refusal: type[GatewayError] | None
) -> None:
    player = _with(status, until_us)
    if refusal is None:
        check_account(player, use, NOW_US)
    else:
        with pytest.raises(refusal) as raised:
            check_account(player, use, NOW_US)
        assert type(raised.value) is refusal


# player before, change, -> status and end after, or the refusal
CHANGES = [
    ("restrict an active player", _with(S.ACTIVE), status_change(S.RESTRICTED), (S.RESTRICTED, None)),
    ("reactivate", _with(S.SUSPENDED), status_change(S.ACTIVE), (S.ACTIVE, None)),
    ("lift a running exclusion", _with(S.SELF_EXCLUDED, NOW_US + HOUR_US), status_change(S.ACTIVE), SelfExcluded),
    ("lift an indefinite exclusion", _with(S.SELF_EXCLUDED), status_change(S.ACTIVE), SelfExcluded),
    ("reactivate after the exclusion ended", _with(S.SELF_EXCLUDED, NOW_US - 1), status_change(S.ACTIVE), (S.ACTIVE, None)),
    ("close a self-excluded account", _with(S.SELF_EXCLUDED), status_change(S.CLOSED), (S.CLOSED, None)),
    ("cut a break short", _with(S.COOLING_OFF, NOW_US + HOUR_US), status_change(S.ACTIVE), CoolingOff),
    ("extend an exclusion", _with(S.SELF_EXCLUDED, NOW_US + HOUR_US), self_exclusion_change(NOW_US + 2 * HOUR_US), (S.SELF_EXCLUDED, NOW_US + 2 * HOUR_US)),
    ("make an exclusion indefinite", _with(S.SELF_EXCLUDED, NOW_US + HOUR_US), self_exclusion_change(None), (S.SELF_EXCLUDED, None)),
    ("shorten an exclusion", _with(S.SELF_EXCLUDED, NOW_US + 2 * HOUR_US), self_exclusion_change(NOW_US + HOUR_US), SelfExcluded),
    ("end an indefinite exclusion", _with(S.SELF_EXCLUDED), self_exclusion_change(NOW_US + HOUR_US), SelfExcluded),
    ("exclude until the past", _with(S.ACTIVE), self_exclusion_change(NOW_US), InvalidRequest),
    ("panic button", _with(S.ACTIVE), take_break_change(86_400), (S.COOLING_OFF, NOW_US + 24 * HOUR_US)),
    ("extend a break", _with(S.COOLING_OFF, NOW_US + HOUR_US), take_break_change(7_200), (S.COOLING_OFF, NOW_US + 2 * HOUR_US)),
    ("shorten a break", _with(S.COOLING_OFF, NOW_US + 2 * HOUR_US), take_break_change(3_600), CoolingOff),
    ("a break after the last one ended", _with(S.COOLING_OFF, NOW_US - 1), take_break_change(60), (S.COOLING_OFF, NOW_US + 60_000_000)),
    ("a break while self-excluded", _with(S.SELF_EXCLUDED), take_break_change(60), SelfExcluded),
    ("exclude a player on a break", _with(S.COOLING_OFF, NOW_US + HOUR_US), self_exclusion_change(None), (S.SELF_EXCLUDED, None)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "player", "change", "expected"), CHANGES, ids=[c[0] for c in CHANGES]
)
def test_account_changes(name: str, player: PlayerRecord, change: object, expected: object) -> None:
    assert callable(change)
    if isinstance(expected, type):
        with pytest.raises(expected):
            change(player, NOW_US)
        return
    changed, action, before, after = change(player, NOW_US)
    assert (changed.status, changed.status_until_us) == expected
    assert json.loads(before)["status"] == player.status.value
    assert json.loads(after)["status"] == changed.status.value
    assert action in ("status", "self_exclusion", "break")


def test_a_change_to_self_exclusion_or_break_needs_its_own_change() -> None:
    with pytest.raises(InvalidRequest):
        status_change(S.SELF_EXCLUDED)
    with pytest.raises(InvalidRequest):
        take_break_change(0)


def test_kyc_changes_record_when() -> None:
    changed, action, before, _after = kyc_change(KycState.VERIFIED)(PLAYER, NOW_US)
    assert (changed.kyc, changed.kyc_changed_at_us, action) == (KycState.VERIFIED, NOW_US, "kyc")
    assert json.loads(before) == {"kyc": "none", "kyc_changed_at_us": None}
    same, *_ = kyc_change(KycState.VERIFIED)(changed, NOW_US + 1)
    assert same is changed


def test_limit_changes_keep_the_cooling_off() -> None:
    lowered, *_ = limit_change(LimitKind.LOSS, LimitPeriod.DAY, 1_000, increase_delay_s=60)(
        PLAYER, NOW_US
    )
    raised, action, before, _after = limit_change(
        LimitKind.LOSS, LimitPeriod.DAY, 5_000, increase_delay_s=60
    )(lowered, NOW_US)
    assert raised.limits[0].at(NOW_US) == 1_000
    assert raised.limits[0].at(NOW_US + 60_000_000) == 5_000
    assert (action, json.loads(before)) == ("limit", {"limits": "loss/day=1000"})


def test_identity_is_kept_sorted_and_the_trail_names_fields_only() -> None:
    changed, _, _before, after = identity_change({"last_name": "Smith", "email": "a@b.c"})(
        PLAYER, NOW_US
    )
    assert changed.identity == (("email", "a@b.c"), ("last_name", "Smith"))
    assert "Smith" not in after
    assert json.loads(after) == {"identity": ["email", "last_name"]}
    with pytest.raises(InvalidRequest):
        identity_change({"passport": "X"})
    with pytest.raises(InvalidRequest):
        identity_change({"email": ""})


def test_effective_status() -> None:
    assert effective_status(_with(S.COOLING_OFF, NOW_US), NOW_US) is S.ACTIVE
    assert effective_status(_with(S.SELF_EXCLUDED, NOW_US), NOW_US) is S.SELF_EXCLUDED
