"""Game launch: check the player may play this game here, open a session, return the URL.

Real play opens a wallet session for the player (the device recorded on it) and hands
its token to the provider through the instance's launch URL template; the provider
then calls back with that token. Demo (fun) play needs no player and no session: the
token in the URL is empty and no wallet call can follow. A reality-check interval the
player chose is recorded on the session and goes into the URL in both modes (a fun
game reminds of elapsed time too). The catalogue rule is the one the lobby lists by
(`CatalogueIndex.playable`), checked again here because a list a player looked at may
be minutes old.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from core.catalogue.game import Device, Game, GameKey
from core.errors import GameUnavailable, InvalidRequest
from core.wallet.records import PlayerRecord, SessionRecord
from gateway.keys import ADAPTERS, CATALOGUE, CLOCK, REQUEST_INFO, SERVICE, SETTINGS
from gateway.launch_urls import HTTP_SCHEMES, fill_launch_url
from gateway.player_checks import check_session_opening
from gateway.responses import json_response
from gateway.routes._guard import operator_handler
from gateway.routes.bodies import LaunchBody, parse_body
from gateway.routes.query import game_key
from gateway.views import session_json

__all__ = ["launch", "open_game_session", "playable_for"]


async def playable_for(
    request: web.Request, player: PlayerRecord, key: GameKey, device: Device | None
) -> Game:
    """The game, if `player` may play and may play it: their account allows play, their
    brand offers the game in their market (on the device, when named), and the market's
    rules, the player's limits and the market's register let them open a session."""
    request.app[SERVICE].check_may_play(player)
    game = await request.app[CATALOGUE].playable(
        key, brand=player.brand, market=player.jurisdiction, device=device
    )
    await check_session_opening(request, player, game)
    return game


async def open_game_session(
    request: web.Request,
    player: PlayerRecord,
    game: Game,
    device: Device | None,
    ttl_s: int,
    reality_check_s: int | None,
) -> SessionRecord:
    """A wallet session for `player` on `game` (checked with `playable_for`), with the
    reality-check interval the player chose (None: none asked for)."""
    assert game.instance in request.app[ADAPTERS], "callers refuse disabled instances first"
    now_us = request.app[CLOCK].micros()
    session = SessionRecord(
        token=secrets.token_urlsafe(24),
        player_id=player.player_id,
        provider=game.instance,
        game_id=game.code,
        currency=player.currency,
        expires_at_us=now_us + ttl_s * 1_000_000,
        created_at_us=now_us,
        device="" if device is None else device.value,
        vertical=game.vertical.value,
        reality_check_s=reality_check_s or 0,
    )
    await request.app[SERVICE].create_session(session)
    return session


@operator_handler(write=True, lobby=True)
async def launch(request: web.Request) -> web.Response:
    body = await parse_body(request, LaunchBody)
    if body.return_url is not None and not body.return_url.startswith(HTTP_SCHEMES):
        raise InvalidRequest("return_url: an absolute http(s) URL")
    key = game_key(body.game, "game")
    if key.instance not in request.app[ADAPTERS]:
        raise GameUnavailable(f"provider instance {key.instance!r} is not enabled")
    template = request.app[SETTINGS].providers[key.instance].launch_url
    if not template:  # before a real launch opens a session it could never hand over
        raise GameUnavailable(f"provider instance {key.instance!r} has no launch URL")
    live = request.app[CATALOGUE]
    session: SessionRecord | None = None
    if body.mode == "demo":
        if body.player_id is not None:
            raise InvalidRequest("player_id: demo (fun) play has no player")
        if body.brand is None or body.market is None:
            raise InvalidRequest("brand and market are required in demo mode")
        brand, market, currency = body.brand, body.market, ""
        game = await live.playable(key, brand=brand, market=market, device=body.device)
        if not game.demo:
            raise GameUnavailable(f"game {key} has no fun mode")
        compliance = request.app[SERVICE].compliance
        compliance.check_demo_launch(market, brand, game, request.app[CLOCK].micros())
    else:
        if body.player_id is None:
            raise InvalidRequest("player_id: required for real play")
        request[REQUEST_INFO].player_id = body.player_id
        player = await request.app[SERVICE].player(body.player_id)
        if body.brand is not None and body.brand != player.brand:
            raise InvalidRequest("brand: not the player's brand")
        brand, market, currency = player.brand, player.jurisdiction, player.currency
        game = await playable_for(request, player, key, body.device)
        if body.market is not None and body.market != market:
            live.index.playable(key, brand=brand, market=body.market, device=body.device)
            compliance = request.app[SERVICE].compliance
            compliance.check_game_in(body.market, brand, game, request.app[CLOCK].micros())
            market = body.market
        ttl_s = request.app[SETTINGS].sessions.ttl_s
        session = await open_game_session(
            request, player, game, body.device, ttl_s, body.reality_check_s
        )
    url = fill_launch_url(
        template,
        {
            "code": game.code,
            "game": str(game.key),
            "token": "" if session is None else session.token,
            "mode": body.mode,
            "language": body.language,
            "device": body.device.value,
            "currency": currency,
            "market": market,
            "brand": brand,
            "return_url": body.return_url or "",
            "reality_check_s": str(body.reality_check_s or ""),
        },
    )
    request[REQUEST_INFO].outcome = "ok"
    shown = {
        "url": url,
        "mode": body.mode,
        "game": str(game.key),
        "session": None if session is None else session_json(session),
    }
    return json_response(shown, status=201)
