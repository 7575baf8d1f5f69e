"""`gamegate_json`: the gateway's own feed, `{"games": [...], "partial": false}`.

Field names are `Game`'s, with two wire forms: `rtp` and `rtp_by_market` carry
percentages as decimal strings (`"96.50"`, `{"GB": "94.00"}`) where `Game` holds basis
points, and `stakes` are `{"EUR": {"min": "0.10", "max": "100.00"}}` in major units,
converted exactly to minor units (more decimals than the currency has is refused).

    code, title           required
    vertical              required, a `Vertical` value
    instance              optional; when present, the feed's instance
    studio, game_type     text, default ""
    features, devices     lists of `Feature` / `Device` values (devices default: both)
    volatility            a `Volatility` value or null
    currencies            codes the currency table knows; stake currencies are added
    markets               market codes; absent: the instance's configured markets
    release_date          YYYY-MM-DD or null
    tags                  list of text
    images                role -> absolute https URL or site path (others dropped)
    status                "active" (default) or "disabled"; a feed never retires: an
                          omitted game is retired by a full feed
    demo                  boolean, default true

This is our own format, so its enums are strict: an unknown vertical or feature is a
producer's bug and refuses the feed. Unknown fields are ignored. `partial: true` makes
the feed a delta that retires nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

import orjson

from adapters.catalogue.feeds import fields
from adapters.catalogue.feeds.base import FeedContext, FieldError, ParsedFeed, collect_games
from core.catalogue.game import (
    Device,
    Feature,
    Game,
    GameStatus,
    StakeRange,
    Vertical,
    Volatility,
    frozen_mapping,
    rtp_text,
)
from core.errors import FeedInvalid
from core.money import CurrencyTable, format_minor

__all__ = ["game_from_record", "parse_gamegate_json", "record_of"]

_E = TypeVar("_E", bound=Enum)
_FEED_STATUSES = frozenset({GameStatus.ACTIVE, GameStatus.DISABLED})


def parse_gamegate_json(body: bytes, context: FeedContext) -> ParsedFeed:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise FeedInvalid(f"the feed is not JSON: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("games"), list):
        raise FeedInvalid('the feed is not an object with a "games" list')
    partial = document.get("partial", False)
    if not isinstance(partial, bool):
        raise FeedInvalid('"partial" must be true or false')
    games = collect_games(
        document["games"], lambda record: game_from_record(record, context), code_field="code"
    )
    return ParsedFeed(games=games, full=not partial)


def _member(enum: type[_E], value: Any, field: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(str(member.value) for member in enum)
        raise FieldError(field, f"{value!r} is not one of {known}") from None


def _members(enum: type[_E], value: Any, field: str) -> frozenset[_E]:
    return frozenset(_member(enum, item, field) for item in fields.string_list(value, field))


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(field, "expected an object")
    if len(value) > fields.LIST_ITEMS_MAX:
        raise FieldError(field, f"more than {fields.LIST_ITEMS_MAX} entries")
    return value


def _stakes(value: Any, context: FeedContext) -> dict[str, StakeRange]:
    stakes: dict[str, StakeRange] = {}
    for currency, limits in _mapping(value, "stakes").items():
        code = fields.known_currency(currency, context.currencies, "stakes")
        if not isinstance(limits, dict):
            raise FieldError("stakes", f'{code}: expected {{"min": ..., "max": ...}}')
        stakes[code] = fields.stake_range(
            limits.get("min"), limits.get("max"), code, context.currencies, "stakes"
        )
    return stakes


def _rtp_by_market(value: Any) -> dict[str, int]:
    by_market: dict[str, int] = {}
    for market, rtp in _mapping(value, "rtp_by_market").items():
        basis_points = fields.rtp_bp(rtp, "rtp_by_market")
        if basis_points is None:
            raise FieldError("rtp_by_market", f"{market}: missing")
        by_market[fields.market_code(market, "rtp_by_market")] = basis_points
    return by_market


def _markets(value: Any, context: FeedContext) -> frozenset[str]:
    if value is None:
        return context.markets_default
    return frozenset(
        fields.market_code(item, "markets") for item in fields.string_list(value, "markets")
    )


def game_from_record(record: Any, context: FeedContext) -> Game:
    """One record of this format (also the CSV format's rows, once split)."""
    if not isinstance(record, dict):
        raise FieldError("record", "expected an object")
    code = fields.required_code(record.get("code"), "code")
    title = fields.required_text(record.get("title"), "title")
    instance = record.get("instance", context.instance)
    if instance != context.instance:
        raise FieldError("instance", f"{instance!r} is not the feed's {context.instance!r}")
    if "vertical" not in record:
        raise FieldError("vertical", "missing")
    status = _member(GameStatus, record.get("status", "active"), "status")
    if status not in _FEED_STATUSES:
        raise FieldError("status", "a feed sets active or disabled; omitting a game retires it")
    volatility = record.get("volatility")
    devices = _members(Device, record.get("devices", ["desktop", "mobile"]), "devices")
    if not devices:
        raise FieldError("devices", "empty: a game is made for at least one device")
    stakes = _stakes(record.get("stakes"), context)
    currencies = {
        fields.known_currency(item, context.currencies, "currencies")
        for item in fields.string_list(record.get("currencies"), "currencies")
    }
    tags = fields.string_list(record.get("tags"), "tags")
    return Game(
        instance=context.instance,
        code=code,
        title=title,
        studio=fields.optional_text(record.get("studio"), "studio"),
        vertical=_member(Vertical, record["vertical"], "vertical"),
        game_type=fields.optional_text(record.get("game_type"), "game_type"),
        features=_members(Feature, record.get("features"), "features"),
        rtp_bp=fields.rtp_bp(record.get("rtp"), "rtp"),
        rtp_bp_by_market=frozen_mapping(_rtp_by_market(record.get("rtp_by_market"))),
        volatility=None if volatility is None else _member(Volatility, volatility, "volatility"),
        devices=devices,
        currencies=frozenset(currencies | stakes.keys()),
        markets=_markets(record.get("markets"), context),
        stakes=frozen_mapping(stakes),
        release_date=fields.optional_date(record.get("release_date"), "release_date"),
        tags=frozenset(fields.optional_text(tag, "tags") for tag in tags) - {""},
        images=frozen_mapping(fields.image_urls(_mapping(record.get("images"), "images"))),
        status=status,
        demo=fields.optional_bool(record.get("demo"), "demo", default=True),
    )


def record_of(game: Game, currencies: CurrencyTable) -> dict[str, Any]:
    """The record of `game` in this format, which `game_from_record` reads back to the
    same game: for exporting a catalogue, and for tools that write feeds."""
    record: dict[str, Any] = {
        "code": game.code,
        "title": game.title,
        "studio": game.studio,
        "vertical": game.vertical.value,
        "game_type": game.game_type,
        "features": sorted(feature.value for feature in game.features),
        "rtp_by_market": {m: rtp_text(bp) for m, bp in sorted(game.rtp_bp_by_market.items())},
        "volatility": None if game.volatility is None else game.volatility.value,
        "devices": sorted(device.value for device in game.devices),
        "currencies": sorted(game.currencies),
        "markets": sorted(game.markets),
        "stakes": {
            code: {
                "min": format_minor(stake.min_minor, currencies.get(code)),
                "max": format_minor(stake.max_minor, currencies.get(code)),
            }
            for code, stake in sorted(game.stakes.items())
        },
        "release_date": None if game.release_date is None else game.release_date.isoformat(),
        "tags": sorted(game.tags),
        "images": dict(sorted(game.images.items())),
        "status": game.status.value,
        "demo": game.demo,
    }
    if game.rtp_bp is not None:
        record["rtp"] = rtp_text(game.rtp_bp)
    return record
