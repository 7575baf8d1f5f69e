"""The route table: ops endpoints, the operator API and provider callbacks."""

from __future__ import annotations

from aiohttp import web

from gateway.routes.fallback import expect_continue, fallback_route
from gateway.routes.health import healthz, metrics, readyz
from gateway.routes.operator import add_operator_routes
from gateway.routes.providers import provider_callback

__all__ = ["add_routes"]


def add_routes(app: web.Application) -> None:
    """Every route takes `expect_continue`; the fallback comes last (it matches any path)."""
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
    add_operator_routes(app, expect_handler=expect_continue)
    app.router.add_routes([fallback_route()])
