"""`pragmatic`: Pragmatic Play's `getCasinoGames` answer, `{error, description, gameList}`.

The list is Pragmatic's whole portfolio for the operator (a full feed). An `error`
other than "0" is the provider refusing the request (bad hash, unknown login): the
feed is invalid and nothing is applied, whatever `gameList` holds.

Mapping decisions:
    gameID            -> code, the game's symbol (`vs20bonzanza`; required)
    gameName          -> title (required)
    typeDescription   -> game_type as sent, and the vertical by keyword (`vocabulary`:
                         "Video Slots" slots, "Live games" live); when it names none,
                         gameTypeID ("vs", "cs" slots, "lg" live, "rl", "bj", "bc"
                         table, "sc" instant); else slots
    platform          -> devices: the comma list "WEB,MOBILE", WEB desktop, MOBILE
                         mobile; absent or naming neither: both
    demoGameAvailable -> demo (absent: true)
    frbAvailable      -> the free_rounds feature
    features          -> features by alias (`vocabulary`); unknown names ignored
    studio            -> "Pragmatic Play": a direct provider's games are its own
    technology, gameIdNumeric, lines, fcAvailable, variableFrbAvailable -> not kept
The list carries no RTP, markets, currencies or stakes: every game is certified for
the instance's configured markets (`FeedContext.markets_default`).
"""

from __future__ import annotations

from typing import Any

import orjson

from adapters.catalogue.feeds import fields
from adapters.catalogue.feeds.base import FeedContext, FieldError, ParsedFeed, collect_games
from adapters.catalogue.feeds.vocabulary import CATEGORY_DEFAULT, features_named, vertical_named
from core.catalogue.game import Device, Feature, Game, Vertical
from core.errors import FeedInvalid

__all__ = ["STUDIO", "parse_pragmatic"]

STUDIO = "Pragmatic Play"
_DEVICES = {"WEB": Device.DESKTOP, "MOBILE": Device.MOBILE}
_TYPE_IDS = {
    "vs": Vertical.SLOTS,
    "cs": Vertical.SLOTS,
    "lg": Vertical.LIVE,
    "rl": Vertical.TABLE,
    "bj": Vertical.TABLE,
    "bc": Vertical.TABLE,
    "sc": Vertical.INSTANT,
}
_DESCRIPTION_CHARS_MAX = 200


def parse_pragmatic(body: bytes, context: FeedContext) -> ParsedFeed:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise FeedInvalid(f"the feed is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise FeedInvalid("the feed is not a JSON object")
    answer = str(document.get("error", "0"))[:_DESCRIPTION_CHARS_MAX]
    if answer != "0":
        description = str(document.get("description", ""))[:_DESCRIPTION_CHARS_MAX]
        raise FeedInvalid(f"the provider answered error {answer}: {description}")
    records = document.get("gameList")
    if not isinstance(records, list):
        raise FeedInvalid('the feed has no "gameList" list')
    games = collect_games(records, lambda record: _game(record, context), code_field="gameID")
    return ParsedFeed(games=games, full=True)


def _vertical(description: str, type_id: Any) -> Vertical:
    named = vertical_named(description)
    if named is not None:
        return named
    return (
        _TYPE_IDS.get(type_id, CATEGORY_DEFAULT) if isinstance(type_id, str) else CATEGORY_DEFAULT
    )


def _devices(value: Any) -> frozenset[Device]:
    platforms = value.split(",") if isinstance(value, str) else []
    devices = frozenset(_DEVICES[item] for item in map(str.strip, platforms) if item in _DEVICES)
    return devices or frozenset(Device)


def _features(record: dict[str, Any]) -> frozenset[Feature]:
    named = record.get("features")
    names = [name for name in named if isinstance(name, str)] if isinstance(named, list) else []
    features = set(features_named(names))
    if record.get("frbAvailable") is True:
        features.add(Feature.FREE_ROUNDS)
    return frozenset(features)


def _game(record: Any, context: FeedContext) -> Game:
    if not isinstance(record, dict):
        raise FieldError("record", "expected an object")
    code = fields.required_code(record.get("gameID"), "gameID")
    title = fields.required_text(record.get("gameName"), "gameName")
    description = fields.optional_text(record.get("typeDescription"), "typeDescription")
    return Game(
        instance=context.instance,
        code=code,
        title=title,
        studio=STUDIO,
        vertical=_vertical(description, record.get("gameTypeID")),
        game_type=description,
        features=_features(record),
        devices=_devices(record.get("platform")),
        markets=context.markets_default,
        demo=fields.optional_bool(
            record.get("demoGameAvailable"), "demoGameAvailable", default=True
        ),
    )
