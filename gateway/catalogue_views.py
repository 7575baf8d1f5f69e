"""JSON shapes of the lobby API: a listed game, its details, and a page of games.

RTP is shown as decimal percent text (`"96.50"`) for the market asked about; stakes as
decimal text and exact minor units in the currency asked about, never a JSON float.
"""

from __future__ import annotations

from typing import Any

from core.catalogue.game import Game
from core.catalogue.query import ListedGame, LobbyPage, encode_cursor
from core.money import CurrencyTable, format_minor

__all__ = ["game_detail_json", "listed_game_json", "page_json"]

JsonObject = dict[str, Any]


def _rtp(rtp_bp: int | None) -> str | None:
    return None if rtp_bp is None else f"{rtp_bp // 100}.{rtp_bp % 100:02d}"


def _stake(game: Game, currency: str | None, currencies: CurrencyTable) -> JsonObject | None:
    if currency is None or currency not in game.stakes:
        return None
    low, high = game.stakes[currency]
    known = currencies.get(currency)
    return {
        "currency": currency,
        "min": format_minor(low, known),
        "min_minor": low,
        "max": format_minor(high, known),
        "max_minor": high,
    }


def listed_game_json(
    listed: ListedGame, *, market: str, currency: str | None, currencies: CurrencyTable
) -> JsonObject:
    game = listed.game
    return {
        "key": str(game.key),
        "provider": game.instance,
        "code": game.code,
        "title": listed.title,
        "studio": game.studio,
        "vertical": game.vertical.value,
        "type": game.game_type,
        "features": sorted(feature.value for feature in game.features),
        "rtp": _rtp(game.rtp_bp_in(market)),
        "volatility": None if game.volatility is None else game.volatility.value,
        "devices": sorted(device.value for device in game.devices),
        "images": dict(game.images),
        "demo": game.demo,
        "release_date": None if game.release_date is None else game.release_date.isoformat(),
        "tags": sorted(game.tags),
        "stake": _stake(game, currency, currencies),
    }


def game_detail_json(listed: ListedGame, *, market: str, currencies: CurrencyTable) -> JsonObject:
    """Everything about one game: stakes in every currency, the markets it is certified
    for and its RTP in each market that has a variant."""
    game = listed.game
    shown = listed_game_json(listed, market=market, currency=None, currencies=currencies)
    shown.pop("stake")
    shown["status"] = game.status.value
    shown["markets"] = sorted(game.markets)
    shown["currencies"] = sorted(game.currencies)
    shown["stakes"] = [
        _stake(game, currency, currencies) for currency in sorted(game.stakes) if currency
    ]
    shown["rtp_by_market"] = {
        market: _rtp(rtp_bp) for market, rtp_bp in sorted(game.rtp_bp_by_market.items())
    }
    return shown


def page_json(
    page: LobbyPage,
    *,
    version: int,
    market: str,
    currency: str | None,
    currencies: CurrencyTable,
) -> JsonObject:
    return {
        "version": version,
        "total": page.total,
        "items": [
            listed_game_json(listed, market=market, currency=currency, currencies=currencies)
            for listed in page.games
        ],
        "facets": {name: dict(counts) for name, counts in page.facets.items()},
        "next_cursor": None if page.next_cursor is None else encode_cursor(page.next_cursor),
    }
