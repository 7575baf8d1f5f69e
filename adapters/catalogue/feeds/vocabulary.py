"""Providers' words for verticals and features, mapped onto the gateway's enums.

Matching is on normalised text (lower case, runs of other characters as `_`): for
categories by keyword at the start of a word ("Live Roulette" is live before it is
table), for features by alias. A category no keyword matches is `CATEGORY_DEFAULT`
(slots: most casino content is slot-like); the provider's own text stays in
`Game.game_type`, so it can be re-mapped later. A feature no alias names is ignored:
the gateway filters only on the features it knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.catalogue.game import Feature, Vertical

__all__ = ["CATEGORY_DEFAULT", "features_named", "normalised", "vertical_named"]

CATEGORY_DEFAULT = Vertical.SLOTS
_NON_WORD = re.compile(r"[^a-z0-9]+")

_CATEGORY_KEYWORDS: tuple[tuple[str, Vertical], ...] = (
    # first match wins: the more specific words come first
    ("live", Vertical.LIVE),
    ("virtual", Vertical.VIRTUAL),
    ("crash", Vertical.CRASH),
    ("video_poker", Vertical.TABLE),
    ("bingo", Vertical.BINGO),
    ("scratch", Vertical.INSTANT),
    ("instant", Vertical.INSTANT),
    ("arcade", Vertical.INSTANT),
    ("keno", Vertical.INSTANT),
    ("lotter", Vertical.INSTANT),
    ("plinko", Vertical.INSTANT),
    ("mines", Vertical.INSTANT),
    ("roulette", Vertical.TABLE),
    ("blackjack", Vertical.TABLE),
    ("baccarat", Vertical.TABLE),
    ("table", Vertical.TABLE),
    ("card", Vertical.TABLE),
    ("dice", Vertical.TABLE),
    ("poker", Vertical.POKER),
    ("sportsbook", Vertical.SPORTSBOOK),
    ("sport", Vertical.SPORTSBOOK),
    ("slot", Vertical.SLOTS),
)

_FEATURE_ALIASES: dict[str, Feature] = {
    alias: feature
    for feature, aliases in {
        Feature.AUTOPLAY: ("autoplay", "auto_play"),
        Feature.TURBO: ("turbo", "turbo_spin", "turbo_mode", "quick_spin"),
        Feature.SLAM_STOP: ("slam_stop", "quick_stop"),
        Feature.BONUS_BUY: ("bonus_buy", "buy_bonus", "buy_feature", "feature_buy", "bonusbuy"),
        Feature.JACKPOT: ("jackpot", "jackpots", "progressive_jackpot", "jackpot_game"),
        Feature.FREE_ROUNDS: ("free_rounds", "freebet", "freebets", "frb"),
        Feature.ANTE_BET: ("ante_bet", "ante"),
        Feature.MEGAWAYS: ("megaways",),
    }.items()
    for alias in aliases
}


def normalised(text: str) -> str:
    return _NON_WORD.sub("_", text.lower()).strip("_")


def vertical_named(text: str) -> Vertical | None:
    """The vertical a provider's category text names, or None when no keyword matches."""
    words = f"_{normalised(text)}"
    for keyword, vertical in _CATEGORY_KEYWORDS:
        if f"_{keyword}" in words:  # at the start of a word: "olive" is not live
            return vertical
    return None


def features_named(names: Iterable[str]) -> frozenset[Feature]:
    return frozenset(
        feature for name in names if (feature := _FEATURE_ALIASES.get(normalised(name)))
    )
