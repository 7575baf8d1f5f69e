"""The request pipeline around every handler, outermost first.

1. `observe`: request id in and out, one canonical JSON log line, metrics, and the last
   line of defence (an unexpected exception is logged with its traceback and is a 500).
2. `limit_body`: refuse a declared body above the cap before reading it (aiohttp's
   `client_max_size` enforces the same cap on chunked bodies while reading).
3. `limit_time`: a last-resort time limit per request.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway.keys import REQUEST_INFO
from gateway.metrics import Metrics
from gateway.request_info import RequestInfo
from gateway.responses import error_response
from gateway.settings import ServerSettings

__all__ = ["REQUEST_ID_HEADER", "build_middlewares"]

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STATUS_CLIENT_CLOSED = 499
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
_HTTP_ERROR_CODES = {413: "payload_too_large"}
"""The same code whether the declared length or the bytes read exceeded the cap."""

_log = structlog.get_logger("gamegate.http")


def build_middlewares(server: ServerSettings, metrics: Metrics) -> list[Middleware]:
    return [_observe(metrics), _limit_body(server.request_body_bytes_max), _limit_time(server)]


def _request_id(request: web.Request) -> str:
    """The caller's id when it is a sane token, else a fresh one."""
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex


def _observe(metrics: Metrics) -> Middleware:
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        info = RequestInfo(request_id=_request_id(request))
        resource = request.match_info.route.resource
        if resource is not None:
            info.route = resource.canonical
        request[REQUEST_INFO] = info
        started_s = time.perf_counter()
        metrics.requests_in_flight.inc()
        try:
            with structlog.contextvars.bound_contextvars(request_id=info.request_id):
                response = await _respond(request, handler, info)
        except asyncio.CancelledError:
            _report(request, info, _STATUS_CLIENT_CLOSED, started_s, metrics)
            raise
        finally:
            metrics.requests_in_flight.dec()
        response.headers[REQUEST_ID_HEADER] = info.request_id
        _report(request, info, response.status, started_s, metrics)
        return response

    return observe


async def _respond(request: web.Request, handler: Handler, info: RequestInfo) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return _http_error(exc, info)
    except Exception:  # noqa: BLE001 -- a bug must answer 500, not drop the connection; logged
        _log.exception("unhandled error", route=info.route, provider=info.provider)
        info.outcome = "internal_error"
        return error_response(500, "internal_error", "internal error")


def _http_error(exc: web.HTTPException, info: RequestInfo) -> web.Response:
    """aiohttp's own refusals (no route, wrong method, body too large) as JSON errors."""
    code = _HTTP_ERROR_CODES.get(exc.status)
    if code is None:
        try:
            code = HTTPStatus(exc.status).phrase.lower().replace(" ", "_")
        except ValueError:
            code = "error"
    info.outcome = code
    headers = {name: exc.headers[name] for name in _KEPT_HEADERS if name in exc.headers}
    return error_response(exc.status, code, exc.reason, headers=headers)


def _report(
    request: web.Request, info: RequestInfo, status: int, started_s: float, metrics: Metrics
) -> None:
    """The canonical log line and the metrics of one request."""
    latency_s = time.perf_counter() - started_s
    outcome = info.outcome or ("ok" if status < 400 else "error")
    if info.provider is not None:
        metrics.observe_provider(info.provider, info.operation or "unknown", outcome, latency_s)
    elif info.route.startswith("/v1/"):
        metrics.observe_operator(info.route, status)
    _log.info(
        "request",
        request_id=info.request_id,
        method=request.method,
        route=info.route,
        provider=info.provider,
        operation=info.operation,
        outcome=outcome,
        status=status,
        latency_ms=round(latency_s * 1_000, 3),
        player_id=info.player_id,
    )


def _limit_body(body_bytes_max: int) -> Middleware:
    @web.middleware
    async def limit_body(request: web.Request, handler: Handler) -> web.StreamResponse:
        declared = request.content_length
        if declared is not None and declared > body_bytes_max:
            request[REQUEST_INFO].outcome = "payload_too_large"
            return error_response(
                413, "payload_too_large", f"request body is larger than {body_bytes_max} bytes"
            )
        return await handler(request)

    return limit_body


def _limit_time(server: ServerSettings) -> Middleware:
    timeout_s = server.request_timeout_s

    @web.middleware
    async def limit_time(request: web.Request, handler: Handler) -> web.StreamResponse:
        deadline = asyncio.timeout(timeout_s)
        try:
            async with deadline:
                return await handler(request)
        except TimeoutError:
            if not deadline.expired():
                raise
            request[REQUEST_INFO].outcome = "timeout"
            return error_response(
                503,
                "timeout",
                f"request took longer than {timeout_s} s",
                headers={"Retry-After": "1"},
            )

    return limit_time
