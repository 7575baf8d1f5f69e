"""A brand's view of the catalogue: what it switches off, pins, groups and renames.

An overlay can only narrow or rearrange what the catalogue offers: it may disable a game
or a whole provider instance for the brand, never enable a game the provider disabled or
list one in a market it is not certified for. Changes arrive one at a time through the
operator API (`OverlayChange`), each recorded in the audit trail with its before and
after, so an overlay is always the result of its changes in order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from core.catalogue.game import GameKey, frozen_mapping

__all__ = [
    "AUTOMATIC_CATEGORIES",
    "CATEGORY_GAMES_MAX",
    "CATEGORY_PATTERN",
    "PINNED_GAMES_MAX",
    "TITLE_LENGTH_MAX",
    "BrandOverlay",
    "CategoryGames",
    "GameSwitch",
    "GameTitle",
    "OverlayChange",
    "PinnedOrder",
    "ProviderSwitch",
    "apply_change",
]

CATEGORY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
AUTOMATIC_CATEGORIES = frozenset({"new", "live"})
"""Filled from game data unless the brand curates them: `new` are the games released in
the last `NEW_GAMES_DAYS` days, `live` the live-dealer vertical."""
PINNED_GAMES_MAX = 1_000
CATEGORY_GAMES_MAX = 1_000
TITLE_LENGTH_MAX = 120
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class BrandOverlay:
    brand: str
    disabled_instances: frozenset[str] = frozenset()
    disabled_games: frozenset[GameKey] = frozenset()
    pinned: tuple[GameKey, ...] = ()
    """Listed first, in this order; every other game follows in the catalogue's order."""
    categories: Mapping[str, tuple[GameKey, ...]] = field(default_factory=frozen_mapping)
    """Curated categories (`popular`, or any custom name), each an ordered list of games;
    a curated `new` or `live` replaces the automatic one."""
    titles: Mapping[GameKey, str] = field(default_factory=frozen_mapping)


@dataclass(frozen=True, slots=True)
class GameSwitch:
    key: GameKey
    enabled: bool


@dataclass(frozen=True, slots=True)
class ProviderSwitch:
    instance: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class PinnedOrder:
    games: tuple[GameKey, ...]


@dataclass(frozen=True, slots=True)
class CategoryGames:
    category: str
    games: tuple[GameKey, ...]
    """Empty removes the category (an automatic one returns to its automatic content)."""


@dataclass(frozen=True, slots=True)
class GameTitle:
    key: GameKey
    title: str | None
    """None returns to the provider's title."""


OverlayChange = GameSwitch | ProviderSwitch | PinnedOrder | CategoryGames | GameTitle


def _toggled(items: frozenset[_T], item: _T, *, present: bool) -> frozenset[_T]:
    return items | {item} if present else items - {item}


def apply_change(overlay: BrandOverlay, change: OverlayChange) -> BrandOverlay:
    """The overlay after `change`. Validation (known games, sizes) is the caller's."""
    match change:
        case GameSwitch(key, enabled):
            games = _toggled(overlay.disabled_games, key, present=not enabled)
            return replace(overlay, disabled_games=games)
        case ProviderSwitch(instance, enabled):
            instances = _toggled(overlay.disabled_instances, instance, present=not enabled)
            return replace(overlay, disabled_instances=instances)
        case PinnedOrder(games):
            return replace(overlay, pinned=games)
        case CategoryGames(category, games):
            categories = dict(overlay.categories)
            if games:
                categories[category] = games
            else:
                categories.pop(category, None)
            return replace(overlay, categories=frozen_mapping(categories))
        case GameTitle(key, title):
            titles = dict(overlay.titles)
            if title is None:
                titles.pop(key, None)
            else:
                titles[key] = title
            return replace(overlay, titles=frozen_mapping(titles))
