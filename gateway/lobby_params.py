"""Lobby query strings, parsed strictly into a `LobbyQuery`, and their canonical form.

Strict, because a lobby that silently ignores a misspelt filter (`verticle=live`) shows
a player games the operator meant to hide: an unknown parameter, an unknown value or a
parameter given twice where one is allowed is a 400 naming it. The canonical form (every
filter sorted) keys the answer cache and the ETag, so equal queries share both however
their parameters were ordered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from multidict import MultiMapping

from core.catalogue.game import MARKET_PATTERN, Device, Feature, Vertical
from core.catalogue.overlay import CATEGORY_PATTERN
from core.catalogue.query import (
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    SEARCH_TEXT_LENGTH_MAX,
    LobbyQuery,
    decode_cursor,
)
from core.errors import InvalidRequest

__all__ = ["VALUES_PER_FILTER_MAX", "canonical_query", "parse_lobby_query"]

VALUES_PER_FILTER_MAX = 32
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z0-9]{2,8}$")
_STUDIO_LENGTH_MAX = 64
_SINGLE = frozenset({"brand", "market", "device", "category", "currency", "q", "cursor", "limit"})
_REPEATABLE = frozenset({"vertical", "provider", "studio", "feature", "exclude_feature"})
_E = TypeVar("_E")


def _one(params: MultiMapping[str], name: str, *, required: bool = False) -> str | None:
    values = params.getall(name, [])
    if len(values) > 1:
        raise InvalidRequest(f"{name}: give it once")
    if not values:
        if required:
            raise InvalidRequest(f"{name}: required")
        return None
    return values[0]


def _matching(name: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.match(value):
        raise InvalidRequest(f"{name}: {value[:64]!r} is not valid")
    return value


def _enum_value(name: str, value: str, kind: Callable[[str], _E]) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise InvalidRequest(f"{name}: unknown value {value[:64]!r}") from None


def _many(params: MultiMapping[str], name: str, parse: Callable[[str], _E]) -> frozenset[_E]:
    values = params.getall(name, [])
    if len(values) > VALUES_PER_FILTER_MAX:
        raise InvalidRequest(f"{name}: at most {VALUES_PER_FILTER_MAX} values")
    return frozenset(parse(value) for value in values)


def _studio(value: str) -> str:
    if not 1 <= len(value) <= _STUDIO_LENGTH_MAX or not value.isprintable():
        raise InvalidRequest(f"studio: 1-{_STUDIO_LENGTH_MAX} printable characters")
    return value


def _limit(text: str | None) -> int:
    if text is None:
        return PAGE_LIMIT_DEFAULT
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= PAGE_LIMIT_MAX:
        raise InvalidRequest(f"limit: a whole number from 1 to {PAGE_LIMIT_MAX}")
    return int(text)


def _text(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text) > SEARCH_TEXT_LENGTH_MAX or not text.isprintable():
        raise InvalidRequest(f"q: at most {SEARCH_TEXT_LENGTH_MAX} printable characters")
    return text.strip()


def parse_lobby_query(params: MultiMapping[str], *, brand: str | None = None) -> LobbyQuery:
    """`brand` given by the caller (a route that fixes it) wins over the parameter."""
    unknown = sorted(set(params) - _SINGLE - _REPEATABLE)
    if unknown:
        raise InvalidRequest(f"{unknown[0][:64]}: not a lobby filter")
    brand = brand or _matching("brand", _one(params, "brand", required=True) or "", _IDENTIFIER)
    market = _matching("market", _one(params, "market", required=True) or "", MARKET_PATTERN)
    device = _enum_value("device", _one(params, "device", required=True) or "", Device)
    category = _one(params, "category")
    currency = _one(params, "currency")
    cursor = _one(params, "cursor")
    return LobbyQuery(
        brand=brand,
        market=market,
        device=device,
        verticals=_many(params, "vertical", lambda v: _enum_value("vertical", v, Vertical)),
        providers=_many(params, "provider", lambda v: _matching("provider", v, _IDENTIFIER)),
        studios=_many(params, "studio", _studio),
        features=_many(params, "feature", lambda v: _enum_value("feature", v, Feature)),
        features_excluded=_many(
            params, "exclude_feature", lambda v: _enum_value("exclude_feature", v, Feature)
        ),
        category=None if category is None else _matching("category", category, CATEGORY_PATTERN),
        currency=None if currency is None else _matching("currency", currency, _CURRENCY),
        text=_text(_one(params, "q")),
        after=None if cursor is None else decode_cursor(cursor),
        limit=_limit(_one(params, "limit")),
    )


def canonical_query(query: LobbyQuery) -> str:
    """One text per distinct query: equal queries, however written, give equal text."""
    after = query.after
    parts = (
        query.brand,
        query.market,
        query.device.value,
        ",".join(sorted(v.value for v in query.verticals)),
        ",".join(sorted(query.providers)),
        "\x1f".join(sorted(query.studios)),
        ",".join(sorted(f.value for f in query.features)),
        ",".join(sorted(f.value for f in query.features_excluded)),
        query.category or "",
        query.currency or "",
        (query.text or "").casefold(),
        "" if after is None else f"{after.pinned}|{after.rank}|{after.key}",
        str(query.limit),
    )
    return "\x1e".join(parts)
