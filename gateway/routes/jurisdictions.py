"""The jurisdiction rules in force, and reloading them without a restart.

    GET  /v1/jurisdictions/{market}?at=<RFC 3339>&brand=<brand>   admin, viewer
    POST /v1/jurisdictions/reload                                  admin

A market without a rule file answers with no rules and `"configured": false`. A reload
that finds a bad file keeps the rules in force and answers 422 `rules_invalid` naming
the file, the rule and the field.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from core.catalogue.game import MARKET_PATTERN
from core.errors import InvalidRequest
from core.jurisdiction import RulesInvalid
from gateway.keys import CLOCK, REQUEST_INFO, RULES
from gateway.responses import error_response, json_response
from gateway.routes._guard import ExpectHandler, operator_handler
from gateway.views import iso_utc

__all__ = ["add_jurisdiction_routes"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME_TEXT_LENGTH_MAX = 40


def add_jurisdiction_routes(app: web.Application, *, expect_handler: ExpectHandler) -> None:
    app.router.add_routes(
        [
            web.post("/v1/jurisdictions/reload", reload_rules, expect_handler=expect_handler),
            web.get("/v1/jurisdictions/{market}", market_rules, expect_handler=expect_handler),
        ]
    )


@operator_handler(write=False)
async def market_rules(request: web.Request) -> web.Response:
    """The market's rules (with `brand`'s overlay) in force at `at` (default now)."""
    market = request.match_info["market"]
    if not MARKET_PATTERN.match(market):
        raise InvalidRequest("market: an ISO 3166 code such as GB or CA-ON")
    text = request.query.get("at")
    at_us = request.app[CLOCK].micros() if text is None else _at_us(text)
    brand = request.query.get("brand")
    if brand is not None and not (
        1 <= len(brand) <= 64 and brand.isascii() and brand.isprintable()
    ):
        raise InvalidRequest("brand: 1-64 printable ASCII characters")
    described = request.app[RULES].rules_for(market, brand, at_us).describe()
    return json_response(_shown(described))


@operator_handler(write=True)
async def reload_rules(request: web.Request) -> web.Response:
    """Read the rule directory again; on a bad file the rules in force stay."""
    rules = request.app[RULES]
    try:
        book = await asyncio.to_thread(rules.reload)
    except RulesInvalid as error:
        request[REQUEST_INFO].outcome = "rules_invalid"
        return error_response(422, "rules_invalid", f"{error} (the rules in force are kept)")
    return json_response(
        {"status": "reloaded", "markets": list(book.markets), "brands": list(book.brands)}
    )


def _at_us(text: str) -> int:
    """An RFC 3339 time with its offset, as microseconds since the epoch."""
    if len(text) > _TIME_TEXT_LENGTH_MAX:
        raise InvalidRequest("at: an RFC 3339 time, e.g. 2025-05-21T12:00:00Z")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest("at: an RFC 3339 time, e.g. 2025-05-21T12:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidRequest("at: the time needs its offset (Z or +01:00)")
    elapsed = moment - _EPOCH
    return elapsed // timedelta(microseconds=1)


def _shown(described: dict[str, Any]) -> dict[str, Any]:
    until_us = described["valid_until_us"]
    return {
        **described,
        "at": iso_utc(described["at_us"]),
        "valid_until": None if until_us is None else iso_utc(until_us),
    }
