"""A `Game` as canonical JSON-ready data and back: how the catalogue store keeps games.

Canonical means one game has one text: sets become sorted lists, mappings are dumped
with sorted keys, every field is present. Equal games then store equal bytes, which
keeps repeat syncs and snapshots comparable. Amounts stay exact integers: the RTP in
basis points, stakes per currency as `[min_minor, max_minor]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import orjson

from core.catalogue.game import (
    Device,
    Feature,
    Game,
    GameStatus,
    StakeRange,
    Vertical,
    Volatility,
    frozen_mapping,
)

__all__ = ["dumps_game", "game_from_json", "game_to_json", "loads_game"]


def game_to_json(game: Game) -> dict[str, Any]:
    return {
        "instance": game.instance,
        "code": game.code,
        "title": game.title,
        "studio": game.studio,
        "vertical": game.vertical.value,
        "game_type": game.game_type,
        "features": sorted(feature.value for feature in game.features),
        "rtp_bp": game.rtp_bp,
        "rtp_bp_by_market": dict(sorted(game.rtp_bp_by_market.items())),
        "volatility": None if game.volatility is None else game.volatility.value,
        "devices": sorted(device.value for device in game.devices),
        "currencies": sorted(game.currencies),
        "markets": sorted(game.markets),
        "stakes": {
            currency: [stake.min_minor, stake.max_minor]
            for currency, stake in sorted(game.stakes.items())
        },
        "release_date": None if game.release_date is None else game.release_date.isoformat(),
        "tags": sorted(game.tags),
        "images": dict(sorted(game.images.items())),
        "status": game.status.value,
        "demo": game.demo,
    }


def game_from_json(data: Mapping[str, Any]) -> Game:
    """The game `game_to_json` wrote. Stored data is trusted to be ours: a foreign shape
    fails with KeyError, ValueError or TypeError, never silently."""
    volatility = data["volatility"]
    release_date = data["release_date"]
    return Game(
        instance=data["instance"],
        code=data["code"],
        title=data["title"],
        studio=data["studio"],
        vertical=Vertical(data["vertical"]),
        game_type=data["game_type"],
        features=frozenset(Feature(value) for value in data["features"]),
        rtp_bp=data["rtp_bp"],
        rtp_bp_by_market=frozen_mapping(data["rtp_bp_by_market"]),
        volatility=None if volatility is None else Volatility(volatility),
        devices=frozenset(Device(value) for value in data["devices"]),
        currencies=frozenset(data["currencies"]),
        markets=frozenset(data["markets"]),
        stakes=frozen_mapping(
            {currency: StakeRange(*pair) for currency, pair in data["stakes"].items()}
        ),
        release_date=None if release_date is None else date.fromisoformat(release_date),
        tags=frozenset(data["tags"]),
        images=frozen_mapping(data["images"]),
        status=GameStatus(data["status"]),
        demo=data["demo"],
    )


def dumps_game(game: Game) -> str:
    return orjson.dumps(game_to_json(game), option=orjson.OPT_SORT_KEYS).decode()


def loads_game(text: str | bytes) -> Game:
    return game_from_json(orjson.loads(text))
