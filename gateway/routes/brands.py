"""Brand overlays: what a brand switches off, pins, groups and renames, and who did it.

Writes need an admin key; each is one audited change (the key's name, the time, the
part of the overlay before and after), after which the lobby serves the new overlay.
Reads (the overlay, its audit trail) are open to viewer keys too.
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field, StringConstraints

from core.catalogue.overlay import (
    CATEGORY_PATTERN,
    TITLE_LENGTH_MAX,
    BrandOverlay,
    CategoryGames,
    GameSwitch,
    GameTitle,
    OverlayChange,
    PinnedOrder,
    ProviderSwitch,
)
from core.catalogue.store import AuditEntry
from core.errors import InvalidRequest
from gateway.keys import CATALOGUE, CLOCK, REQUEST_INFO
from gateway.responses import json_response
from gateway.routes._guard import ExpectHandler, operator_handler
from gateway.routes.bodies import StrictBody, parse_body
from gateway.routes.query import game_key, query_whole_number
from gateway.views import iso_utc

__all__ = ["add_brand_routes"]

AUDIT_PAGE_DEFAULT = 50
AUDIT_PAGE_MAX = 500
_GAME_KEY_LENGTH_MAX = 130

GameKeyText = Annotated[str, StringConstraints(min_length=3, max_length=_GAME_KEY_LENGTH_MAX)]


class GameSettingBody(StrictBody):
    """One of the two, or both: `enabled`, and `title` (null: back to the provider's)."""

    enabled: bool | None = Field(default=None, strict=True)
    title: Annotated[str, StringConstraints(max_length=TITLE_LENGTH_MAX)] | None = None


class SwitchBody(StrictBody):
    enabled: bool = Field(strict=True)


class GameListBody(StrictBody):
    games: list[GameKeyText] = Field(max_length=1_000)


def _brand(request: web.Request) -> str:
    brand = request.match_info["brand"]
    if not 1 <= len(brand) <= 64 or not brand.isascii() or not brand.isprintable():
        raise InvalidRequest("brand: 1-64 printable ASCII characters")
    return brand


def overlay_json(overlay: BrandOverlay | None, brand: str) -> dict[str, Any]:
    overlay = overlay or BrandOverlay(brand)
    return {
        "brand": brand,
        "disabled_providers": sorted(overlay.disabled_instances),
        "disabled_games": sorted(str(key) for key in overlay.disabled_games),
        "pinned": [str(key) for key in overlay.pinned],
        "categories": {
            name: [str(key) for key in keys] for name, keys in sorted(overlay.categories.items())
        },
        "titles": {str(key): title for key, title in sorted(overlay.titles.items())},
    }


def _audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "brand": entry.brand,
        "at": iso_utc(entry.at_us),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
    }


async def _apply(request: web.Request, brand: str, changes: list[OverlayChange]) -> web.Response:
    live = request.app[CATALOGUE]
    actor = request[REQUEST_INFO].actor or "unknown"
    entries = []
    for change in changes:
        entry = await live.change_overlay(
            brand, change, actor=actor, at_us=request.app[CLOCK].micros()
        )
        entries.append(_audit_json(entry))
    request[REQUEST_INFO].outcome = "ok"
    shown = overlay_json(live.index.overlay(brand), brand)
    return json_response({"overlay": shown, "changes": entries})


@operator_handler(write=True)
async def set_game(request: web.Request) -> web.Response:
    brand = _brand(request)
    key = game_key(request.match_info["key"], "key")
    body = await parse_body(request, GameSettingBody)
    changes: list[OverlayChange] = []
    if body.enabled is not None:
        changes.append(GameSwitch(key, body.enabled))
    if "title" in body.model_fields_set:
        changes.append(GameTitle(key, body.title))
    if not changes:
        raise InvalidRequest("body: give enabled, title or both")
    return await _apply(request, brand, changes)


@operator_handler(write=True)
async def set_provider(request: web.Request) -> web.Response:
    instance = request.match_info["instance"]
    if instance not in request.app[CATALOGUE].index.instances:
        raise InvalidRequest(f"provider: no games of {instance[:64]!r} in the catalogue")
    body = await parse_body(request, SwitchBody)
    return await _apply(request, _brand(request), [ProviderSwitch(instance, body.enabled)])


@operator_handler(write=True)
async def set_pinned(request: web.Request) -> web.Response:
    body = await parse_body(request, GameListBody)
    games = tuple(game_key(text, "games") for text in body.games)
    return await _apply(request, _brand(request), [PinnedOrder(games)])


@operator_handler(write=True)
async def set_category(request: web.Request) -> web.Response:
    category = request.match_info["category"]
    if not CATEGORY_PATTERN.match(category):
        raise InvalidRequest("category: 1-32 of a-z, 0-9, '_', '-'")
    body = await parse_body(request, GameListBody)
    games = tuple(game_key(text, "games") for text in body.games)
    return await _apply(request, _brand(request), [CategoryGames(category, games)])


@operator_handler(write=False)
async def get_overlay(request: web.Request) -> web.Response:
    brand = _brand(request)
    index = request.app[CATALOGUE].index
    return json_response({"version": index.version, **overlay_json(index.overlay(brand), brand)})


@operator_handler(write=False)
async def get_audit(request: web.Request) -> web.Response:
    """Newest first; pass `next_before` as `before` for the next page."""
    brand = _brand(request)
    limit = query_whole_number(request, "limit", AUDIT_PAGE_MAX) or AUDIT_PAGE_DEFAULT
    before = query_whole_number(request, "before", 2**63 - 1)
    store = request.app[CATALOGUE].store
    entries = await store.audit(brand, limit=limit + 1, before_seq=before)
    page = entries[:limit]
    shown = {
        "items": [_audit_json(entry) for entry in page],
        "next_before": page[-1].seq if len(entries) > limit else None,
    }
    return json_response(shown)


def add_brand_routes(app: web.Application, *, expect_handler: ExpectHandler) -> None:
    brand = "/v1/brands/{brand}"
    expect = expect_handler
    app.router.add_routes(
        [
            web.get(f"{brand}/overlay", get_overlay, expect_handler=expect),
            web.get(f"{brand}/audit", get_audit, expect_handler=expect),
            web.put(f"{brand}/games/{{key:.+}}", set_game, expect_handler=expect),
            web.put(f"{brand}/providers/{{instance}}", set_provider, expect_handler=expect),
            web.put(f"{brand}/pinned", set_pinned, expect_handler=expect),
            web.put(f"{brand}/categories/{{category}}", set_category, expect_handler=expect),
        ]
    )
