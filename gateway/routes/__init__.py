"""The route table: ops endpoints, the operator and lobby APIs and provider callbacks."""

from __future__ import annotations

from aiohttp import web

from gateway.demo_lobby import add_demo_lobby_routes
from gateway.routes.accounts import add_account_routes
from gateway.routes.brands import add_brand_routes
from gateway.routes.catalogue import import_feed, sync_feed, sync_history
from gateway.routes.fallback import expect_continue, fallback_route
from gateway.routes.health import healthz, metrics, readyz
from gateway.routes.jurisdictions import add_jurisdiction_routes
from gateway.routes.launch import launch
from gateway.routes.lobby import game_detail, list_games
from gateway.routes.operator import add_operator_routes
from gateway.routes.providers import provider_callback
from gateway.routes.reports import add_report_routes

__all__ = ["add_routes"]


def add_routes(app: web.Application, *, demo_lobby: bool = False) -> None:
    """Every route takes `expect_continue`; the fallback comes last (it matches any path).

    `demo_lobby` mounts the demo lobby page (demo mode only)."""
    expect = expect_continue
    app.router.add_routes(
        [
            web.get("/healthz", healthz, expect_handler=expect),
            web.get("/readyz", readyz, expect_handler=expect),
            web.get("/metrics", metrics, expect_handler=expect),
            web.route(
                "*", "/providers/{instance}/{tail:.*}", provider_callback, expect_handler=expect
            ),
        ]
    )
    add_operator_routes(app, expect_handler=expect)
    add_account_routes(app, expect_handler=expect)
    instance = "/v1/catalogue/instances/{instance}"
    app.router.add_routes(
        [
            web.get("/v1/lobby/games", list_games, expect_handler=expect),
            web.get("/v1/lobby/games/{key:.+}", game_detail, expect_handler=expect),
            web.post("/v1/launch", launch, expect_handler=expect),
            web.post(f"{instance}/sync", sync_feed, expect_handler=expect),
            web.post(f"{instance}/import", import_feed, expect_handler=expect),
            web.get("/v1/catalogue/syncs", sync_history, expect_handler=expect),
        ]
    )
    add_brand_routes(app, expect_handler=expect)
    add_jurisdiction_routes(app, expect_handler=expect)
    add_report_routes(app, expect_handler=expect)
    if demo_lobby:
        add_demo_lobby_routes(app, expect_handler=expect)
    app.router.add_routes([fallback_route()])
