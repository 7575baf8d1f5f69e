"""A brand overlay as canonical JSON-ready data, and an overlay change as an audit line.

Game keys are written as `instance:code` text. The audit keeps only the part of the
overlay a change touched, before and after (`{"enabled": true}` -> `{"enabled": false}`,
the pinned list before and after), so an operator reads what changed, not two
whole overlays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from core.catalogue.game import GameKey, frozen_mapping
from core.catalogue.overlay import (
    BrandOverlay,
    CategoryGames,
    GameSwitch,
    GameTitle,
    OverlayChange,
    PinnedOrder,
    ProviderSwitch,
)

__all__ = ["AuditLine", "audit_line", "overlay_from_json", "overlay_to_json"]


def _keys(keys: Iterable[GameKey]) -> list[str]:
    return [str(key) for key in keys]


def _parse_keys(texts: Iterable[str]) -> tuple[GameKey, ...]:
    return tuple(GameKey.parse(text) for text in texts)


def overlay_to_json(overlay: BrandOverlay) -> dict[str, Any]:
    return {
        "brand": overlay.brand,
        "disabled_instances": sorted(overlay.disabled_instances),
        "disabled_games": sorted(_keys(overlay.disabled_games)),
        "pinned": _keys(overlay.pinned),
        "categories": {name: _keys(games) for name, games in sorted(overlay.categories.items())},
        "titles": {str(key): title for key, title in sorted(overlay.titles.items())},
    }


def overlay_from_json(data: Mapping[str, Any]) -> BrandOverlay:
    return BrandOverlay(
        brand=data["brand"],
        disabled_instances=frozenset(data["disabled_instances"]),
        disabled_games=frozenset(_parse_keys(data["disabled_games"])),
        pinned=_parse_keys(data["pinned"]),
        categories=frozen_mapping(
            {name: _parse_keys(games) for name, games in data["categories"].items()}
        ),
        titles=frozen_mapping({GameKey.parse(key): title for key, title in data["titles"].items()}),
    )


class AuditLine(NamedTuple):
    action: str
    target: str
    before: Any
    after: Any


def audit_line(change: OverlayChange, before: BrandOverlay, after: BrandOverlay) -> AuditLine:
    """What `change` did, as `AuditEntry` records it."""
    match change:
        case GameSwitch(key):
            return AuditLine(
                "game_switch",
                str(key),
                {"enabled": key not in before.disabled_games},
                {"enabled": key not in after.disabled_games},
            )
        case ProviderSwitch(instance):
            return AuditLine(
                "provider_switch",
                instance,
                {"enabled": instance not in before.disabled_instances},
                {"enabled": instance not in after.disabled_instances},
            )
        case PinnedOrder():
            return AuditLine("pinned_order", "", _keys(before.pinned), _keys(after.pinned))
        case CategoryGames(category):
            return AuditLine(
                "category_games",
                category,
                _keys(before.categories.get(category, ())),
                _keys(after.categories.get(category, ())),
            )
        case GameTitle(key):
            return AuditLine("game_title", str(key), before.titles.get(key), after.titles.get(key))
