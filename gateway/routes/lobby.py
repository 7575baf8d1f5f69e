"""The lobby API: the games a brand may show in a market on a device, and one game.

Read-only and open to lobby keys. A game list is answered from the in-memory index (or
the answer cache) and carries a strong ETag derived from the catalogue version and the
query, so a front end revalidating its page gets a `304` without the index being asked.
The market, brand and device are in the URL and the key in `Authorization`, which
`Vary` names: a shared cache can never hand one market's lobby to another. The market's
rules take out what they ban (`MarketRules.lobby_filter`, the rules a launch is judged
by), and their revision is part of the answer's version and ETag.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from core.catalogue.game import MARKET_PATTERN, Device
from core.catalogue.query import ListedGame, LobbyQuery
from core.errors import InvalidRequest
from core.jurisdiction import game_refusal
from gateway.catalogue_views import game_detail_json, page_body
from gateway.keys import (
    CATALOGUE,
    CLOCK,
    GAME_FRAGMENTS,
    LOBBY_ANSWERS,
    METRICS,
    REQUEST_INFO,
    RULES,
    SERVICE,
    SETTINGS,
)
from gateway.lobby_answers import LobbyAnswer, etag_matches, lobby_etag
from gateway.lobby_params import canonical_query, parse_lobby_query
from gateway.responses import json_response
from gateway.routes._guard import operator_handler
from gateway.routes.query import game_key

__all__ = ["game_detail", "list_games"]

JSON_CONTENT_TYPE = "application/json"


def _answers_version(catalogue_version: int, rules_revision: int) -> int:
    """What a lobby answer is valid for: the catalogue version and the rules' revision
    (a reload, or a rule starting or ending, changes what a market may list)."""
    return (catalogue_version << 32) | rules_revision


def _caching_headers(request: web.Request, etag: str) -> dict[str, str]:
    """What a 200 and a 304 both carry (RFC 9110 15.4.5)."""
    max_age_s = request.app[SETTINGS].catalogue.lobby_max_age_s
    return {
        "ETag": etag,
        "Cache-Control": f"private, max-age={max_age_s}",
        "Vary": "Authorization",
    }


@operator_handler(write=False, lobby=True)
async def list_games(request: web.Request) -> web.StreamResponse:
    """A query string seen before skips the strict parse; an answer computed before
    (this catalogue version) is served from memory; a client that has it gets a 304."""
    app = request.app
    index = app[CATALOGUE].index
    answers = app[LOBBY_ANSWERS]
    raw_query = request.query_string
    now_us = app[CLOCK].micros()
    rules = app[RULES]
    version = _answers_version(index.version, rules.book.revision(now_us))
    query: LobbyQuery | None = None
    known = answers.validators(version, raw_query)
    if known is None:
        query = parse_lobby_query(request.query)
        canonical = canonical_query(query)
        etag = lobby_etag(version, canonical)
        answers.remember_query(raw_query, canonical, version, etag)
    else:
        canonical, etag = known
    headers = _caching_headers(request, etag)
    metrics = app[METRICS]
    info = request[REQUEST_INFO]
    if etag_matches(request.headers.get("If-None-Match"), etag):
        info.outcome = "not_modified"
        metrics.observe_lobby_answer("not_modified")
        return web.Response(status=304, headers=headers)
    answer = answers.get(version, canonical)
    if answer is None:
        query = query or parse_lobby_query(request.query)
        market_rules = rules.rules_for(query.market, query.brand, now_us)
        query = replace(query, market_filter=market_rules.lobby_filter())
        body = page_body(
            index.query(query),
            version=index.version,
            market=query.market,
            currency=query.currency,
            currencies=app[SERVICE].currencies,
            fragments=app[GAME_FRAGMENTS],
        )
        answer = LobbyAnswer(etag, body)
        answers.put(version, canonical, answer)
        metrics.observe_lobby_answer("computed")
    else:
        metrics.observe_lobby_answer("memory")
    info.outcome = "ok"
    headers["Content-Type"] = JSON_CONTENT_TYPE
    return web.Response(body=answer.body, headers=headers)


@operator_handler(write=False, lobby=True)
async def game_detail(request: web.Request) -> web.Response:
    """One game, if the brand may show it in the market on the device (the same rule as
    the list: an operator page cannot reach a game its lobby would not list)."""
    key = game_key(request.match_info["key"], "key")
    query = request.query
    brand = query.get("brand") or ""
    market = query.get("market") or ""
    if not brand or not MARKET_PATTERN.match(market):
        raise InvalidRequest("brand and market (ISO 3166, e.g. MT or CA-ON) are required")
    try:
        device = Device(query.get("device", ""))
    except ValueError:
        raise InvalidRequest("device: desktop or mobile") from None
    index = request.app[CATALOGUE].index
    game = index.playable(key, brand=brand, market=market, device=device)
    rules = request.app[RULES].rules_for(market, brand, request.app[CLOCK].micros())
    refused = game_refusal(rules, game)
    if refused is not None:
        raise refused
    listed = ListedGame(game, index.title(game, brand))
    shown = game_detail_json(listed, market=market, currencies=request.app[SERVICE].currencies)
    return json_response({"version": index.version, "game": shown})
