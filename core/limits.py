"""Responsible-gambling limits a player sets: what they are and how they may change.

A limit caps one figure (deposits, net loss, wagers in minor units of the wallet
currency; play time in seconds) over one calendar period (UTC day, ISO week, month).
Decreases take effect at once; increases, and removing a limit, only after the market's
cooling-off period, so a player cannot raise a limit in the heat of play. A pending
increase is kept beside the value in force until its time comes; asking for a lower
value meanwhile drops it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "INCREASE_DELAY_S_DEFAULT",
    "Limit",
    "LimitKind",
    "LimitPeriod",
    "change_limit",
    "decode_limits",
    "encode_limits",
    "limit_in_force",
    "limits_in_force",
]

INCREASE_DELAY_S_DEFAULT = 24 * 3600
"""The cooling-off before an increase counts where a market sets none."""


class LimitKind(enum.StrEnum):
    DEPOSIT = "deposit"
    LOSS = "loss"
    """Net loss: stakes less wins, a rolled-back bet or win undone."""
    WAGER = "wager"
    SESSION_TIME = "session_time"
    """Seconds of play; see `core.wallet.figures` for how play time is counted."""


class LimitPeriod(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Limit(NamedTuple):
    """One limit of a player: `value` in force (None: none set), and a pending raise."""

    kind: LimitKind
    period: LimitPeriod
    value: int | None
    pending_value: int | None = None
    """The value asked for that waits for the cooling-off (None with `pending_from_us`
    set: the limit is to be removed)."""
    pending_from_us: int | None = None
    """When the pending value takes effect; None: nothing pending."""

    def at(self, now_us: int) -> int | None:
        """The value in force at `now_us`: the pending one once its time has come."""
        if self.pending_from_us is not None and self.pending_from_us <= now_us:
            return self.pending_value
        return self.value


def limit_in_force(
    limits: Iterable[Limit], kind: LimitKind, period: LimitPeriod, now_us: int
) -> int | None:
    for limit in limits:
        if limit.kind is kind and limit.period is period:
            return limit.at(now_us)
    return None


def limits_in_force(
    limits: Iterable[Limit], now_us: int
) -> list[tuple[LimitKind, LimitPeriod, int]]:
    """Every (kind, period, value) in force at `now_us`, in stored order."""
    found = []
    for limit in limits:
        value = limit.at(now_us)
        if value is not None:
            found.append((limit.kind, limit.period, value))
    return found


def change_limit(
    limits: tuple[Limit, ...],
    kind: LimitKind,
    period: LimitPeriod,
    value: int | None,
    *,
    now_us: int,
    increase_delay_s: int,
) -> tuple[Limit, ...]:
    """The player's limits after asking for `value` (None: remove the limit).

    A lower value (or a first limit) is in force at once and drops any pending raise;
    a higher one, or removal, waits `increase_delay_s` from now. Asking for the value in
    force cancels a pending raise. Other limits are kept as they are.
    """
    assert value is None or value >= 0
    assert increase_delay_s >= 0
    current = None
    kept: list[Limit] = []
    for limit in limits:
        if limit.kind is kind and limit.period is period:
            current = limit
        else:
            kept.append(limit)
    in_force = None if current is None else current.at(now_us)
    if value is not None and (in_force is None or value <= in_force):
        changed: Limit | None = Limit(kind, period, value)
    elif value is None and in_force is None:
        changed = None
    else:
        changed = Limit(kind, period, in_force, value, now_us + increase_delay_s * 1_000_000)
    if changed is not None:
        kept.append(changed)
    return tuple(sorted(kept, key=_order))


def _order(limit: Limit) -> tuple[int, int]:
    return (list(LimitKind).index(limit.kind), list(LimitPeriod).index(limit.period))


def encode_limits(limits: Iterable[Limit]) -> str:
    """`deposit/day=5000;loss/week=10000>20000@1767225600000000`: value in force, then
    an optional pending value (`-` for removal) and when it takes effect. Empty: none."""
    parts = []
    for limit in limits:
        text = f"{limit.kind.value}/{limit.period.value}={_number(limit.value)}"
        if limit.pending_from_us is not None:
            text += f">{_number(limit.pending_value)}@{limit.pending_from_us}"
        parts.append(text)
    return ";".join(parts)


def decode_limits(text: str) -> tuple[Limit, ...]:
    """The inverse of `encode_limits`; ValueError for text it did not write."""
    if not text:
        return ()
    limits = []
    for part in text.split(";"):
        head, _, rest = part.partition("=")
        kind, _, period = head.partition("/")
        value_text, pending, when = rest.partition(">")
        pending_value: int | None = None
        pending_from_us: int | None = None
        if pending:
            pending_text, _, from_text = when.partition("@")
            pending_value = _parse_number(pending_text)
            pending_from_us = int(from_text)
        limits.append(
            Limit(
                LimitKind(kind),
                LimitPeriod(period),
                _parse_number(value_text),
                pending_value,
                pending_from_us,
            )
        )
    return tuple(limits)


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _parse_number(text: str) -> int | None:
    return None if text == "-" else int(text)
