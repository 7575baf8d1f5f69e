"""Reports from the reporting store (`core.reporting`).

    GET /v1/reports/ggr?from=YYYY-MM-DD&to=YYYY-MM-DD&by=day,brand,...   admin, viewer
    GET /v1/reports/open-rounds?older_than_s=N&provider=ID                admin, viewer

Days are UTC and inclusive, at most `GGR_DAYS_MAX` of them (`gateway.ggr_query`); an
answer holds at most `GGR_ROWS_MAX` rows, and a report that would hold more is refused
whole (a GGR figure cut short would be a wrong figure): ask for fewer days or dimensions,
or use `gamegate report ggr`, which has no row bound. Open rounds are a follow-up list,
the oldest first per provider: cut at `OPEN_ROUNDS_ROWS_MAX` and marked `truncated`.
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from core.errors import InvalidRequest, StorageUnavailable
from gateway.ggr_query import ggr_query
from gateway.ggr_views import ggr_answer
from gateway.keys import CLOCK, REPORTING, SERVICE
from gateway.open_rounds import open_rounds_answer, open_rounds_query
from gateway.responses import json_response
from gateway.routes._guard import ExpectHandler, operator_handler

__all__ = ["GGR_ROWS_MAX", "OPEN_ROUNDS_ROWS_MAX", "add_report_routes"]

GGR_ROWS_MAX = 10_000
"""About 3 MB of JSON: a year by day x brand x market x provider x currency for a
small operator; more is for the CLI's CSV."""
OPEN_ROUNDS_ROWS_MAX = 10_000
"""About 5 MB of JSON; `gamegate report open-rounds` lists more."""


def add_report_routes(app: web.Application, *, expect_handler: ExpectHandler) -> None:
    app.router.add_routes(
        [
            web.get("/v1/reports/ggr", ggr_report, expect_handler=expect_handler),
            web.get("/v1/reports/open-rounds", open_rounds_report, expect_handler=expect_handler),
        ]
    )


@operator_handler(write=False)
async def ggr_report(request: web.Request) -> web.Response:
    """GGR and NGR grouped by `by`; 503 while the reporting store is not open."""
    query = request.query
    asked = ggr_query(query.get("from"), query.get("to"), query.get("by"))
    store = request.app.get(REPORTING)
    if store is None:
        raise StorageUnavailable("the reporting store is not open")
    rows = await store.ggr(asked)
    if len(rows) > GGR_ROWS_MAX:
        raise InvalidRequest(
            f"the report has {len(rows)} rows, more than {GGR_ROWS_MAX}: ask for fewer days "
            "or dimensions, or use gamegate report ggr"
        )
    return json_response(ggr_answer(asked, rows, request.app[SERVICE].currencies))


@operator_handler(write=False)
async def open_rounds_report(request: web.Request) -> web.Response:
    """Stale open rounds; 503 while the reporting store is not open."""
    now_us = request.app[CLOCK].micros()
    older_than_s, asked = open_rounds_query(
        request.query.get("older_than_s"),
        request.query.get("provider"),
        now_us,
        OPEN_ROUNDS_ROWS_MAX,
    )
    store = request.app.get(REPORTING)
    if store is None:
        raise StorageUnavailable("the reporting store is not open")
    rounds = await store.open_rounds(dataclasses.replace(asked, rows_max=asked.rows_max + 1))
    currencies = request.app[SERVICE].currencies
    return json_response(open_rounds_answer(older_than_s, asked, rounds, now_us, currencies))
