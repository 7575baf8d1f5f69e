"""The demo provider's game maths: one draw from a small paytable, in whole minor units.

A win is the stake times a multiplier, rounded down to the minor unit (the house keeps
the remainder, as real games do). The paytable's return to player is exactly
`RTP_BP` basis points; `tests/unit` checks the arithmetic, so a change to the table
cannot drift it silently.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["PAYTABLE", "RTP_BP", "WEIGHT_TOTAL", "Line", "Outcome", "draw", "paytable_rtp_bp"]


@dataclass(frozen=True, slots=True)
class Line:
    """One paytable line: three of `symbol` pay `multiplier_pct` % of the stake."""

    symbol: str
    multiplier_pct: int
    weight: int


PAYTABLE = (
    Line("7", 10_000, 1),
    Line("♦", 5_000, 15),
    Line("★", 2_000, 50),
    Line("B", 1_000, 150),
    Line("♥", 500, 500),
    Line("♣", 200, 900),
    Line("♠", 100, 1_200),
    Line("A", 50, 1_500),
)
"""Losing draws take the remaining weight up to `WEIGHT_TOTAL`."""
WEIGHT_TOTAL = 10_000
RTP_BP = 9_600
"""96.00 %: what `paytable_rtp_bp(PAYTABLE)` must give."""


@dataclass(frozen=True, slots=True)
class Outcome:
    stake_minor: int
    win_minor: int
    multiplier_pct: int
    symbols: tuple[str, str, str]


def paytable_rtp_bp(paytable: tuple[Line, ...] = PAYTABLE) -> float:
    """Expected return in basis points of the stake (before rounding wins down)."""
    return sum(line.multiplier_pct * line.weight for line in paytable) * 100 / WEIGHT_TOTAL


def draw(rng: random.Random, stake_minor: int) -> Outcome:
    """One round: a paying line with its weight's chance, else a losing mix of symbols."""
    assert stake_minor > 0
    ticket = rng.randrange(WEIGHT_TOTAL)
    for line in PAYTABLE:
        if ticket < line.weight:
            win_minor = stake_minor * line.multiplier_pct // 100
            return Outcome(stake_minor, win_minor, line.multiplier_pct, (line.symbol,) * 3)
        ticket -= line.weight
    return Outcome(stake_minor, 0, 0, _losing_symbols(rng))


def _losing_symbols(rng: random.Random) -> tuple[str, str, str]:
    """Three symbols that are not all the same (so the reels never show a false win)."""
    symbols = [line.symbol for line in PAYTABLE]
    first, second = rng.sample(symbols, 2)
    return first, second, rng.choice(symbols)
