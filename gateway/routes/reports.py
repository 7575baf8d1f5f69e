"""Reports from the reporting store (`core.reporting`).

    GET /v1/reports/ggr?from=YYYY-MM-DD&to=YYYY-MM-DD&by=day,brand,...   admin, viewer

Days are UTC and inclusive, at most `GGR_DAYS_MAX` of them (`gateway.ggr_query`); an
answer holds at most `GGR_ROWS_MAX` rows, and a report that would hold more is refused
whole (a GGR figure cut short would be a wrong figure): ask for fewer days or dimensions,
or use `gamegate report ggr`, which has no row bound.
"""

from __future__ import annotations

from aiohttp import web

from core.errors import InvalidRequest, StorageUnavailable
from gateway.ggr_query import ggr_query
from gateway.ggr_views import ggr_answer
from gateway.keys import REPORTING, SERVICE
from gateway.responses import json_response
from gateway.routes._guard import ExpectHandler, operator_handler

__all__ = ["GGR_ROWS_MAX", "add_report_routes"]

GGR_ROWS_MAX = 10_000
"""About 3 MB of JSON: a year by day x brand x market x provider x currency for a
small operator; more is for the CLI's CSV."""


def add_report_routes(app: web.Application, *, expect_handler: ExpectHandler) -> None:
    app.router.add_routes([web.get("/v1/reports/ggr", ggr_report, expect_handler=expect_handler)])


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
