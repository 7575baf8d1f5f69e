"""Player account rules: what each account status allows, and how an account may change.

Every money path and every session asks `check_account` first; a market's rules
(`core.jurisdiction`) and the player's own limits (`core.rg`) come after it. Changes are
pure functions over the stored record (`PlayerChange`, run by the store atomically with
their audit entry), so a rule such as "a self-exclusion cannot be lifted before its end"
holds whichever API or process asks.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import replace

from core.errors import (
    AccountClosed,
    AccountRestricted,
    AccountSuspended,
    CoolingOff,
    GatewayError,
    InvalidRequest,
    SelfExcluded,
)
from core.limits import Limit, LimitKind, LimitPeriod, change_limit, encode_limits
from core.model import KycState, PlayerStatus
from core.wallet.records import PlayerRecord
from core.wallet.store import PlayerChange

__all__ = [
    "IDENTITY_FIELDS",
    "AccountUse",
    "check_account",
    "check_may_play",
    "effective_status",
    "identity_change",
    "kyc_change",
    "limit_change",
    "self_exclusion_change",
    "status_change",
    "take_break_change",
]

IDENTITY_FIELDS = frozenset({"first_name", "last_name", "email", "postcode", "mobile"})
"""What a national self-exclusion register matches on; nothing else is kept."""
IDENTITY_VALUE_CHARS_MAX = 200
BREAK_S_MAX = 366 * 86_400
"""The longest break a player can take; longer is a self-exclusion."""


class AccountUse(enum.StrEnum):
    PLAY = "play"
    """Bets, session creation and game launch."""
    DEPOSIT = "deposit"
    WITHDRAW = "withdraw"


_WITHDRAW_ONLY = frozenset({AccountUse.WITHDRAW})
_ALLOWED: Mapping[PlayerStatus, frozenset[AccountUse]] = {
    PlayerStatus.ACTIVE: frozenset(AccountUse),
    PlayerStatus.RESTRICTED: _WITHDRAW_ONLY,
    PlayerStatus.SELF_EXCLUDED: _WITHDRAW_ONLY,
    PlayerStatus.COOLING_OFF: _WITHDRAW_ONLY,
    PlayerStatus.SUSPENDED: frozenset(),
    PlayerStatus.CLOSED: frozenset(),
}
"""A player may always take their money out unless the account is suspended (under
investigation) or closed (paid out by the operator's own process)."""
_REFUSAL: Mapping[PlayerStatus, type[GatewayError]] = {
    PlayerStatus.RESTRICTED: AccountRestricted,
    PlayerStatus.SELF_EXCLUDED: SelfExcluded,
    PlayerStatus.COOLING_OFF: CoolingOff,
    PlayerStatus.SUSPENDED: AccountSuspended,
    PlayerStatus.CLOSED: AccountClosed,
}


def effective_status(player: PlayerRecord, now_us: int) -> PlayerStatus:
    """The status at `now_us`: a break ends by itself; a self-exclusion does not (the
    operator sets the account active again when the player asks to come back)."""
    status = player.status
    if (
        status is PlayerStatus.COOLING_OFF
        and player.status_until_us is not None
        and player.status_until_us <= now_us
    ):
        return PlayerStatus.ACTIVE
    return status


def check_account(player: PlayerRecord, use: AccountUse, now_us: int) -> None:
    """Raise the refusal for an account whose status does not allow `use` now."""
    status = player.status
    if status is PlayerStatus.ACTIVE:  # nearly every call
        return
    status = effective_status(player, now_us)
    if use not in _ALLOWED[status]:
        raise _REFUSAL[status](f"player account is {status.value}")


def check_may_play(player: PlayerRecord, now_us: int) -> None:
    """Bets, sessions, launches and provider balance calls: `check_account` for play."""
    check_account(player, AccountUse.PLAY, now_us)


# -- changes (run by the store atomically, with their audit entry) ---------------------


def status_change(status: PlayerStatus) -> PlayerChange:
    """Set active, restricted, suspended or closed. Refused while a self-exclusion or a
    break runs, except to close or suspend the account (never to shorten them)."""
    if status in (PlayerStatus.SELF_EXCLUDED, PlayerStatus.COOLING_OFF):
        raise InvalidRequest(f"status: use the {status.value} change, which takes an end")

    def change(player: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        if status not in (PlayerStatus.CLOSED, PlayerStatus.SUSPENDED):
            _refuse_shortening(player, now_us)
        changed = replace(player, status=status, status_until_us=None)
        return _audited("status", player, changed, ("status", "status_until_us"))

    return change


def self_exclusion_change(until_us: int | None) -> PlayerChange:
    """Self-exclude until `until_us` (None: indefinitely). An exclusion already running
    can only be extended. A refusal by the account's state is its status's refusal
    (`SelfExcluded`, `CoolingOff`, ...), so that callers tell it from a malformed ask."""

    def change(player: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        if until_us is not None and until_us <= now_us:
            raise InvalidRequest("until: must be in the future")
        status = effective_status(player, now_us)
        if status is PlayerStatus.SELF_EXCLUDED and _ends_sooner(until_us, player.status_until_us):
            raise SelfExcluded("a self-exclusion can be extended, never shortened or lifted")
        changed = replace(player, status=PlayerStatus.SELF_EXCLUDED, status_until_us=until_us)
        return _audited("self_exclusion", player, changed, ("status", "status_until_us"))

    return change


def take_break_change(duration_s: int) -> PlayerChange:
    """A break (cooling-off) of `duration_s` from now; 86,400 is the 24-hour panic
    button. A running break can only be extended; a self-excluded player needs none."""
    if not 1 <= duration_s <= BREAK_S_MAX:
        raise InvalidRequest(f"duration_s: a whole number of seconds from 1 to {BREAK_S_MAX}")

    def change(player: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        until_us = now_us + duration_s * 1_000_000
        status = effective_status(player, now_us)
        if status is PlayerStatus.SELF_EXCLUDED:
            raise SelfExcluded("the player is self-excluded; a break would shorten nothing")
        if status is PlayerStatus.COOLING_OFF and _ends_sooner(until_us, player.status_until_us):
            raise CoolingOff("a break can be extended, never shortened")
        if status in (PlayerStatus.SUSPENDED, PlayerStatus.CLOSED):
            raise _REFUSAL[status](f"the account is {status.value}")
        changed = replace(player, status=PlayerStatus.COOLING_OFF, status_until_us=until_us)
        return _audited("break", player, changed, ("status", "status_until_us"))

    return change


def kyc_change(state: KycState) -> PlayerChange:
    def change(player: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        if state is player.kyc:
            return player, "kyc", "", ""
        changed = replace(player, kyc=state, kyc_changed_at_us=now_us)
        return _audited("kyc", player, changed, ("kyc", "kyc_changed_at_us"))

    return change


def limit_change(
    kind: LimitKind, period: LimitPeriod, value: int | None, *, increase_delay_s: int
) -> PlayerChange:
    """Set, lower, raise or remove one limit: lower at once, raise or remove after
    `increase_delay_s` (the market's cooling-off; `core.limits.change_limit`)."""

    def change(player: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        limits: tuple[Limit, ...] = change_limit(
            player.limits, kind, period, value, now_us=now_us, increase_delay_s=increase_delay_s
        )
        changed = replace(player, limits=limits)
        return _audited("limit", player, changed, ("limits",))

    return change


def identity_change(identity: Mapping[str, str]) -> PlayerChange:
    """What registers match on; unknown names and oversized values are refused."""
    unknown = set(identity) - IDENTITY_FIELDS
    if unknown:
        raise InvalidRequest(f"identity: unknown field {sorted(unknown)[0]!r}")
    for name, value in identity.items():
        if not 0 < len(value) <= IDENTITY_VALUE_CHARS_MAX:
            raise InvalidRequest(f"identity.{name}: 1-{IDENTITY_VALUE_CHARS_MAX} characters")
    pairs = tuple(sorted(identity.items()))

    def change(player: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        changed = replace(player, identity=pairs)
        # The trail says that it changed, never what it holds: personal data.
        before = json.dumps({"identity": sorted(name for name, _ in player.identity)})
        after = json.dumps({"identity": sorted(name for name, _ in pairs)})
        return changed, "identity", before, after

    return change


def _refuse_shortening(player: PlayerRecord, now_us: int) -> None:
    status = effective_status(player, now_us)
    if status is PlayerStatus.SELF_EXCLUDED:
        ends = player.status_until_us
        if ends is None or ends > now_us:
            raise SelfExcluded("a self-exclusion cannot be lifted before its end")
    elif status is PlayerStatus.COOLING_OFF:
        raise CoolingOff("a break cannot be cut short")


def _ends_sooner(until_us: int | None, current_until_us: int | None) -> bool:
    """Whether an end of `until_us` is sooner than the current one (None: never)."""
    if current_until_us is None:
        return until_us is not None
    return until_us is not None and until_us < current_until_us


def _audited(
    action: str, before: PlayerRecord, after: PlayerRecord, names: tuple[str, ...]
) -> tuple[PlayerRecord, str, str, str]:
    return after, action, _json(before, names), _json(after, names)


def _json(player: PlayerRecord, names: tuple[str, ...]) -> str:
    shown: dict[str, object] = {}
    for name in names:
        value = getattr(player, name)
        if name == "limits":
            value = encode_limits(value)
        elif isinstance(value, enum.Enum):
            value = value.value
        shown[name] = value
    return json.dumps(shown, separators=(",", ":"))
