"""Stored forms: a game and an overlay read back equal, and one game has one text."""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from adapters.catalogue.game_codec import dumps_game, game_to_json, loads_game
from adapters.catalogue.overlay_codec import overlay_from_json, overlay_to_json
from core.catalogue.game import (
    Device,
    Feature,
    Game,
    GameKey,
    GameStatus,
    StakeRange,
    Volatility,
    frozen_mapping,
)
from core.catalogue.overlay import BrandOverlay
from tests.catalogue.games import game

GAMES = [
    game("plain"),
    game(
        "rich",
        "Rich Game",
        features=frozenset({Feature.JACKPOT, Feature.AUTOPLAY}),
        rtp_bp=9650,
        rtp_bp_by_market=frozen_mapping({"GB": 9400, "DE": 9200}),
        volatility=Volatility.HIGH,
        devices=frozenset({Device.MOBILE}),
        currencies=frozenset({"EUR", "BTC"}),
        stakes=frozen_mapping({"EUR": StakeRange(10, 10_000), "BTC": StakeRange(1, 99_999_999)}),
        release_date=date(2024, 2, 29),
        tags=frozenset({"b", "a"}),
        images=frozen_mapping({"thumbnail": "/art/t.png"}),
        status=GameStatus.DISABLED,
        demo=False,
    ),
]


@pytest.mark.parametrize("stored", GAMES, ids=[one.code for one in GAMES])
def test_game_round_trip(stored: Game) -> None:
    assert loads_game(dumps_game(stored)) == stored


def test_one_game_one_text() -> None:
    first = game("x", tags=frozenset(["c", "a", "b"]), markets=frozenset(["MT", "GB", "SE"]))
    second = game("x", tags=frozenset(["b", "c", "a"]), markets=frozenset(["SE", "MT", "GB"]))
    assert dumps_game(first) == dumps_game(second)
    assert game_to_json(first)["tags"] == ["a", "b", "c"]


def test_stored_amounts_are_integers() -> None:
    stored = orjson.loads(dumps_game(GAMES[1]))
    assert stored["rtp_bp"] == 9650
    assert stored["stakes"] == {"BTC": [1, 99_999_999], "EUR": [10, 10_000]}


def test_overlay_round_trip() -> None:
    a, b = GameKey("hub", "a"), GameKey("hub", "b:with:colons")
    overlay = BrandOverlay(
        brand="brand1",
        disabled_instances=frozenset({"other"}),
        disabled_games=frozenset({a}),
        pinned=(b, a),
        categories=frozen_mapping({"popular": (a, b)}),
        titles=frozen_mapping({b: "Renamed"}),
    )
    assert overlay_from_json(orjson.loads(orjson.dumps(overlay_to_json(overlay)))) == overlay
