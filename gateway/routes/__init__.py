"""The route table: ops endpoints, the operator API and provider callbacks."""

from __future__ import annotations

from aiohttp import web

from gateway.routes.health import healthz, metrics, readyz
from gateway.routes.operator import add_operator_routes
from gateway.routes.providers import provider_callback

__all__ = ["add_routes"]


def add_routes(app: web.Application) -> None:
    app.router.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics),
            web.route("*", "/providers/{instance}/{tail:.*}", provider_callback),
        ]
    )
    add_operator_routes(app)
