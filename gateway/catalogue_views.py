"""JSON shapes of the lobby API: a listed game, its details, and a page of games.

RTP is shown as decimal percent text (`"96.50"`) for the market asked about; stakes as
decimal text and exact minor units in the currency asked about, never a JSON float.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

from core.catalogue.game import Game, GameKey, rtp_text
from core.catalogue.query import ListedGame, LobbyPage, encode_cursor
from core.money import CurrencyTable, format_minor

__all__ = ["GameFragments", "game_detail_json", "listed_game_json", "page_body"]

GAME_FRAGMENTS_MAX = 50_000
"""Rendered games kept per catalogue version: about 500 bytes each, 25 MB at most."""

JsonObject = dict[str, Any]


def _rtp(rtp_bp: int | None) -> str | None:
    return None if rtp_bp is None else rtp_text(rtp_bp)


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


class GameFragments:
    """Each listed game's JSON, rendered once per catalogue version, market and currency.

    A lobby page is 48 games that other pages show too; rendering a game (stakes as
    decimal text, sorted features, the RTP of the market) costs more than finding it, so
    a page is the join of fragments rendered earlier. Oldest first out past the bound."""

    def __init__(self, entries_max: int = GAME_FRAGMENTS_MAX) -> None:
        assert entries_max >= 1
        self._entries_max = entries_max
        self._version = -1
        self._fragments: OrderedDict[tuple[GameKey, str, str, str | None], bytes] = OrderedDict()

    def render(
        self,
        version: int,
        listed: ListedGame,
        *,
        market: str,
        currency: str | None,
        currencies: CurrencyTable,
    ) -> bytes:
        if version != self._version:
            self._version = version
            self._fragments.clear()
        key = (listed.game.key, listed.title, market, currency)
        fragment = self._fragments.get(key)
        if fragment is None:
            shown = listed_game_json(
                listed, market=market, currency=currency, currencies=currencies
            )
            fragment = orjson.dumps(shown)
            self._fragments[key] = fragment
            if len(self._fragments) > self._entries_max:
                self._fragments.popitem(last=False)
        return fragment


def page_body(
    page: LobbyPage,
    *,
    version: int,
    market: str,
    currency: str | None,
    currencies: CurrencyTable,
    fragments: GameFragments,
) -> bytes:
    """`{"version", "total", "items", "facets", "next_cursor"}`, the items joined from the
    games' rendered fragments."""
    items = b",".join(
        fragments.render(version, listed, market=market, currency=currency, currencies=currencies)
        for listed in page.games
    )
    cursor = None if page.next_cursor is None else encode_cursor(page.next_cursor)
    facets = {name: dict(counts) for name, counts in page.facets.items()}
    return b"".join(
        (
            b'{"version":%d,"total":%d,"items":[' % (version, page.total),
            items,
            b'],"facets":',
            orjson.dumps(facets),
            b',"next_cursor":',
            orjson.dumps(cursor),
            b"}",
        )
    )
