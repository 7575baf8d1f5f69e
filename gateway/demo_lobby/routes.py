"""The lobby page's routes (demo mode only): pages, assets, tiles and the page's API.

    GET  /lobby                           the lobby (HTML)
    GET  /lobby/play                      the demo game page a launch URL points at
    GET  /lobby/static/{name}             its one JS module and stylesheet
    GET  /lobby/images/{instance}/{code}.svg   a placeholder tile (`?title=` for initials)
    GET  /lobby/api/games                 GET /v1/lobby/games, brand "demo", lobby key
    GET  /lobby/api/balance?player=ID     GET /v1/players/{id}/balance, admin key
    POST /lobby/api/launch                POST /v1/launch, lobby key
    POST /lobby/api/spin                  one round by the demo provider

The `/lobby/api/...` routes are the page's backend (`backend`): keys stay here.
"""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl

import httpx
from aiohttp import web
from pydantic import BaseModel, ValidationError
from yarl import URL

from core.money import CurrencyTable
from gateway.credentials import instance_secrets
from gateway.demo import DEMO_BRAND
from gateway.demo_lobby.backend import GatewayApi, local_base_url, new_client
from gateway.demo_lobby.bodies import DEMO_PLAYER_IDS, LaunchBody, SpinBody, check_game_key
from gateway.demo_lobby.provider import DemoProvider, DemoRefusal
from gateway.demo_lobby.tiles import tile_svg
from gateway.keys import CLOCK, SETTINGS
from gateway.responses import error_response, json_response
from gateway.settings import Settings

__all__ = ["DEMO_LOBBY", "DemoLobby", "add_demo_lobby_routes"]

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "lobby"
ASSETS = {"lobby.js": "text/javascript", "lobby.css": "text/css"}
"""The only files under `/lobby/static/`; anything else is a 404."""
PAGES = {"lobby": "index.html", "play": "play.html"}
BODY_BYTES_MAX = 4_096
TITLE_CHARS_MAX = 200
TILE_MAX_AGE_S = 86_400
GAMEGATE_PROTOCOL = "gamegate"
RETURN_PATH = "/lobby"
"""Where a game sends the player back: the lobby, at the address the browser used."""

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' https: data:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'self'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",  # a game page's URL carries its session token
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
TILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": f"public, max-age={TILE_MAX_AGE_S}",
}

_B = TypeVar("_B", bound=BaseModel)
ExpectHandler = Callable[[web.Request], Awaitable[None]]


class DemoLobby:
    """What the routes share: the HTTP client to the gateway and the demo provider,
    built when the application starts (the settings' secrets are read then)."""

    def __init__(self, base_url: str | None, rng: random.Random | None) -> None:
        self._base_url = base_url.rstrip("/") if base_url else None
        self._rng = rng
        self._client: httpx.AsyncClient | None = None
        self._provider: DemoProvider | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "the demo lobby starts with the application"
        return self._client

    @property
    def provider(self) -> DemoProvider:
        assert self._provider is not None, "the demo lobby starts with the application"
        return self._provider

    def base_url(self, request: web.Request) -> str:
        return self._base_url or local_base_url(request)

    def api(self, request: web.Request) -> GatewayApi:
        return GatewayApi(self.client, self.base_url(request))

    async def running(self, app: web.Application) -> AsyncIterator[None]:
        """A cleanup context: the client and provider for the application's lifetime."""
        settings = app[SETTINGS]
        self._provider = DemoProvider(
            _gamegate_keys(settings),
            currencies=CurrencyTable(settings.currencies_extra),
            clock_s=app[CLOCK].seconds,
            rng=self._rng,
        )
        self._client = new_client()
        try:
            yield
        finally:
            await self._client.aclose()
            self._client = None


DEMO_LOBBY = web.AppKey("demo_lobby", DemoLobby)


def _gamegate_keys(settings: Settings) -> dict[str, bytes]:
    """The HMAC key of every enabled instance that speaks the gamegate protocol."""
    return {
        name: instance_secrets(settings, name)["hmac_key"]
        for name, provider in settings.providers.items()
        if provider.enabled and provider.protocol == GAMEGATE_PROTOCOL
    }


def add_demo_lobby_routes(
    app: web.Application,
    *,
    expect_handler: ExpectHandler | None = None,
    base_url: str | None = None,
    rng: random.Random | None = None,
) -> None:
    """Mount the lobby page and its backend; call it for demo mode only.

    `app` must carry `SETTINGS` and `CLOCK` by the time it starts (`create_app` sets
    both). `base_url` is where the backend reaches the gateway's API; None: the address
    each page request arrived on. `rng` makes the demo provider's draws reproducible.
    `expect_handler` is the gateway's (`gateway.routes.fallback.expect_continue`, passed
    in: `gateway.routes` imports this module).
    """
    lobby = DemoLobby(base_url, rng)
    app[DEMO_LOBBY] = lobby
    app.cleanup_ctx.append(lobby.running)
    expect = expect_handler
    app.router.add_routes(
        [
            web.get("/lobby", _page("lobby"), name="demo-lobby", expect_handler=expect),
            web.get("/lobby/play", _page("play"), expect_handler=expect),
            web.get("/lobby/static/{name}", _asset, expect_handler=expect),
            web.get("/lobby/images/{instance}/{code:.+}.svg", _tile, expect_handler=expect),
            web.get("/lobby/api/games", _games, expect_handler=expect),
            web.get("/lobby/api/balance", _balance, expect_handler=expect),
            web.post("/lobby/api/launch", _launch, expect_handler=expect),
            web.post("/lobby/api/spin", _spin, expect_handler=expect),
        ]
    )


# -- pages and assets -------------------------------------------------------------


def _page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / PAGES[name], headers=PAGE_HEADERS)

    return page


async def _asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    content_type = ASSETS.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    headers = {**PAGE_HEADERS, "Content-Type": f"{content_type}; charset=utf-8"}
    return web.FileResponse(STATIC_DIR / name, headers=headers)


async def _tile(request: web.Request) -> web.Response:
    instance, code = request.match_info["instance"], request.match_info["code"]
    try:
        check_game_key(f"{instance}:{code}")
    except ValueError:
        raise web.HTTPNotFound() from None
    title = request.query.get("title", "")[:TITLE_CHARS_MAX] or code
    return web.Response(
        text=tile_svg(instance, code, title),
        content_type="image/svg+xml",
        headers=TILE_HEADERS,
    )


# -- the page's API -----------------------------------------------------------------


async def _games(request: web.Request) -> web.Response:
    """The lobby query as the page sent it, for the demo brand only."""
    query = parse_qsl(request.query_string, keep_blank_values=True)
    query = [(name, value) for name, value in query if name != "brand"] + [("brand", DEMO_BRAND)]
    api = request.app[DEMO_LOBBY].api(request)
    return await api.games(query, request.headers.get("If-None-Match"))


async def _balance(request: web.Request) -> web.Response:
    player = request.query.get("player", "")
    if player not in DEMO_PLAYER_IDS:
        return error_response(400, "invalid_request", "player: not a demo player")
    return await request.app[DEMO_LOBBY].api(request).balance(player)


def _refusals(
    handler: Callable[[web.Request], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A `DemoRefusal` becomes the gateway's JSON error with its code and status."""

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except DemoRefusal as refusal:
            return error_response(refusal.status, refusal.code, refusal.message)

    return answer


@_refusals
async def _launch(request: web.Request) -> web.Response:
    """Real play where the demo provider can play it (a gamegate instance), else fun play."""
    body = await _parse(request, LaunchBody)
    lobby = request.app[DEMO_LOBBY]
    instance = body.game.partition(":")[0]
    mode = "real" if body.mode == "real" and lobby.provider.plays_real(instance) else "demo"
    launch: dict[str, str] = {
        "game": body.game,
        "device": body.device,
        "language": "en",
        "return_url": str(request.url.origin().join(URL(RETURN_PATH))),
        "mode": mode,
        "brand": DEMO_BRAND,
    }
    if mode == "real":
        launch["player_id"] = body.player
    if body.market is not None:
        launch["market"] = body.market
    return await lobby.api(request).launch(launch)


@_refusals
async def _spin(request: web.Request) -> web.Response:
    body = await _parse(request, SpinBody)
    lobby = request.app[DEMO_LOBBY]
    if body.mode == "demo":
        return json_response(lobby.provider.play_fun(body.stake).json())
    if body.token is None:
        raise DemoRefusal("invalid_request", "token: required for real play", status=400)
    instance = body.game.partition(":")[0]
    result = await lobby.provider.play_real(
        lobby.client, lobby.base_url(request), instance, body.token, body.stake
    )
    return json_response(result.json())


async def _parse(request: web.Request, model: type[_B]) -> _B:
    """JSON only (a cross-site form cannot send it without the page's consent), small."""
    if request.content_type != "application/json":
        raise DemoRefusal("unsupported_media_type", "send application/json", status=415)
    raw = await request.content.read(BODY_BYTES_MAX + 1)
    if len(raw) > BODY_BYTES_MAX:
        message = f"body is larger than {BODY_BYTES_MAX} bytes"
        raise DemoRefusal("payload_too_large", message, status=413)
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False)[:3]
        message = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
            for problem in problems
        )
        raise DemoRefusal("invalid_request", message, status=400) from None
