"""`hub88` and `hub88_latest`: Hub88's operator game list, a bare JSON array of games.

The answer of `POST /operator/generic/v2/game/list` is the whole list (`hub88`, a full
feed); asked with `latest: true` it holds only the games updated today (UTC), a delta
that must retire nothing (`hub88_latest`). Field types follow Hub88's own API tests
(`coingaming/hub88-automationtests`); every field but the code and name may be null.

Mapping decisions:
    game_code             -> code (required)
    name                  -> title (required)
    product               -> studio (the supplier)
    category              -> game_type as sent, and the vertical by keyword
                             (`vocabulary`: "Live Casino" live, "Video Slots" slots,
                             unknown or null: slots)
    platforms             -> devices: GPL_DESKTOP desktop, GPL_MOBILE mobile; none of
                             these (or null): both, as Hub88 launches on either
    enabled               -> status: false is `disabled` (still in the list, switched
                             off); absence from a full list is retirement, not this
    certifications        -> markets: the allow-list of markets the game is certified
                             for, country codes upper-cased, `UK` read as `GB`; null or
                             empty: the instance's configured markets
    blocked_countries     -> removed from those markets: the supplier's deny-list wins
                             over any allow-list (the gateway keeps no separate
                             deny-list, as a game is only ever listed where certified)
    rtp                   -> rtp_bp ("96.50" -> 9650; finer than 0.01 % refused)
    volatility            -> 1 low, 2 medium, 3 high, 4 and 5 very high (Hub88's
                             scale is not documented; other values: unknown)
    features              -> features by alias (`vocabulary`); unknown names ignored
    freebet_support       -> the free_rounds feature
    phoenix_jackpot_support -> the jackpot feature (field withdrawn in July 2025)
    release_date          -> release_date (YYYY-MM-DD)
    url_thumb, url_background -> images `thumbnail`, `background`
    paylines, hit_ratio, languages, technology, supplier_identifier -> not kept
Hub88 offers demo play for its games (`currency: "XXX"`), so `demo` is true; the list
has no currencies or stakes.
"""

from __future__ import annotations

from typing import Any

import orjson

from adapters.catalogue.feeds import fields
from adapters.catalogue.feeds.base import FeedContext, FieldError, ParsedFeed, collect_games
from adapters.catalogue.feeds.vocabulary import CATEGORY_DEFAULT, features_named, vertical_named
from core.catalogue.game import Device, Feature, Game, GameStatus, Volatility, frozen_mapping
from core.errors import FeedInvalid

__all__ = ["parse_hub88", "parse_hub88_latest"]

_DEVICES = {"GPL_DESKTOP": Device.DESKTOP, "GPL_MOBILE": Device.MOBILE}
_VOLATILITY = {
    1: Volatility.LOW,
    2: Volatility.MEDIUM,
    3: Volatility.HIGH,
    4: Volatility.VERY_HIGH,
    5: Volatility.VERY_HIGH,
}
_COUNTRY_ALIASES = {"UK": "GB"}


def parse_hub88(body: bytes, context: FeedContext) -> ParsedFeed:
    return ParsedFeed(games=_games(body, context), full=True)


def parse_hub88_latest(body: bytes, context: FeedContext) -> ParsedFeed:
    return ParsedFeed(games=_games(body, context), full=False)


def _games(body: bytes, context: FeedContext) -> tuple[Game, ...]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise FeedInvalid(f"the feed is not JSON: {error}") from error
    if not isinstance(document, list):
        raise FeedInvalid("the feed is not a JSON array of games")
    return collect_games(document, lambda record: _game(record, context), code_field="game_code")


def _countries(value: Any, field: str) -> frozenset[str]:
    codes = (code.strip().upper() for code in fields.string_list(value, field))
    return frozenset(fields.market_code(_COUNTRY_ALIASES.get(code, code), field) for code in codes)


def _devices(value: Any) -> frozenset[Device]:
    platforms = value if isinstance(value, list) else []
    devices = frozenset(_DEVICES[item] for item in platforms if item in _DEVICES)
    return devices or frozenset(Device)


def _features(record: dict[str, Any]) -> frozenset[Feature]:
    features = set(features_named(fields.string_list(record.get("features"), "features")))
    if record.get("freebet_support") is True:
        features.add(Feature.FREE_ROUNDS)
    if record.get("phoenix_jackpot_support") is True:
        features.add(Feature.JACKPOT)
    return frozenset(features)


def _game(record: Any, context: FeedContext) -> Game:
    if not isinstance(record, dict):
        raise FieldError("record", "expected an object")
    code = fields.required_code(record.get("game_code"), "game_code")
    title = fields.required_text(record.get("name"), "name")
    category = fields.optional_text(record.get("category"), "category")
    certified = _countries(record.get("certifications"), "certifications")
    blocked = _countries(record.get("blocked_countries"), "blocked_countries")
    enabled = fields.optional_bool(record.get("enabled"), "enabled", default=True)
    volatility = record.get("volatility")
    images = {"thumbnail": record.get("url_thumb"), "background": record.get("url_background")}
    return Game(
        instance=context.instance,
        code=code,
        title=title,
        studio=fields.optional_text(record.get("product"), "product"),
        vertical=vertical_named(category) or CATEGORY_DEFAULT,
        game_type=category,
        features=_features(record),
        rtp_bp=fields.rtp_bp(record.get("rtp"), "rtp"),
        volatility=_VOLATILITY.get(volatility) if type(volatility) is int else None,
        devices=_devices(record.get("platforms")),
        markets=(certified or context.markets_default) - blocked,
        release_date=fields.optional_date(record.get("release_date"), "release_date"),
        images=frozen_mapping(fields.image_urls(images)),
        status=GameStatus.ACTIVE if enabled else GameStatus.DISABLED,
        demo=True,
    )
