"""The games a conformance run (or a load test) opens sessions on.

Sessions name catalogue games, so a run first imports its game into the instance's
catalogue through the operator API, as a partial feed: it adds the game and retires
nothing, and repeating it changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["import_path", "single_game_feed"]

CONFORMANCE_STUDIO = "gamegate conformance"


def import_path(instance: str) -> str:
    return f"/v1/catalogue/instances/{instance}/import?partial=true"


def single_game_feed(code: str, *, markets: Iterable[str] = ("MT",)) -> dict[str, Any]:
    """A `gamegate_json` feed of one slot game certified for `markets`."""
    game = {
        "code": code,
        "title": f"Test game {code}",
        "studio": CONFORMANCE_STUDIO,
        "vertical": "slots",
        "markets": sorted(markets),
    }
    return {"games": [game], "partial": True}
