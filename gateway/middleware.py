"""The one middleware around every handler, in this order:

1. the request id in and out, one canonical JSON log line, metrics, the request's
   record for the reporting store (`gateway.request_stream`: the same values as the
   line, taken in the same place), and the last line of defence (an unexpected
   exception is logged with its traceback and is a 500; a client that goes away
   mid-request is logged as 499);
2. the body cap: a declared body above it is refused before it is read (aiohttp's
   `client_max_size` enforces the same cap on chunked bodies while reading);
3. a last-resort time limit per request (one timer for all of them: `core.time_limits`).

One middleware, not three: each layer is a coroutine frame and a call per request on
the event-loop thread, which is the gateway's bottleneck.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections.abc import Callable
from http import HTTPStatus

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from core.time_limits import SharedTimeLimit, TimeLimitExpired
from gateway.keys import REQUEST_INFO
from gateway.logging import REQUEST_ID, log_request
from gateway.metrics import Metrics
from gateway.request_info import RequestInfo
from gateway.responses import error_response
from gateway.settings import ServerSettings

__all__ = ["REQUEST_ID_HEADER", "RecordRequest", "build_middlewares"]

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STATUS_CLIENT_CLOSED = 499
_CLIENT_CLOSED = "client_closed"
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
_HTTP_ERROR_CODES = {
    400: "invalid_request",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
"""413: the same code whether the declared length or the bytes read exceeded the cap."""

_log = structlog.get_logger("gamegate.http")


RecordRequest = Callable[[str, str, str, str, str, str, int, int, str], None]
"""Takes one request's log-line values, in `RequestStream.record`'s order (request id,
method, route, provider, operation, outcome, status, latency in µs, player id); must not
block."""


def build_middlewares(
    server: ServerSettings, metrics: Metrics, record: RecordRequest | None = None
) -> list[Middleware]:
    """`record`: where each request's record goes besides its log line (None: nowhere)."""
    return [_gateway_middleware(server, metrics, _request_id_source(), record)]


def _request_id_source() -> Callable[[], str]:
    """Fresh request ids: 32 hex characters, a random per-source prefix and a counter.

    Unique across processes by the 64 random bits, within one by the counter, and far
    cheaper per request than `uuid4()`. Request ids are for correlation, not secrets.
    """
    prefix = secrets.token_hex(8)
    counter = itertools.count()
    return lambda: f"{prefix}{next(counter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


def _gateway_middleware(
    server: ServerSettings,
    metrics: Metrics,
    fresh_request_id: Callable[[], str],
    record: RecordRequest | None,
) -> Middleware:
    body_bytes_max = server.request_body_bytes_max
    time_limit = SharedTimeLimit(server.request_timeout_s)

    @web.middleware
    async def gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
        offered = request.headers.get(REQUEST_ID_HEADER)
        request_id = offered if offered and _REQUEST_ID.match(offered) else fresh_request_id()
        info = RequestInfo(request_id=request_id)
        resource = request.match_info.route.resource
        if resource is not None:
            info.route = resource.canonical
        request[REQUEST_INFO] = info
        started_s = time.perf_counter()
        metrics.requests_in_flight += 1
        request_id_set = REQUEST_ID.set(request_id)
        try:
            response = await _respond(request, handler, info, body_bytes_max, time_limit)
        except asyncio.CancelledError:
            info.outcome = _CLIENT_CLOSED
            _report(request, info, _STATUS_CLIENT_CLOSED, started_s, metrics, record)
            raise
        finally:
            REQUEST_ID.reset(request_id_set)
            metrics.requests_in_flight -= 1
        response.headers[REQUEST_ID_HEADER] = request_id
        _report(request, info, response.status, started_s, metrics, record)
        return response

    return gateway


async def _respond(
    request: web.Request,
    handler: Handler,
    info: RequestInfo,
    body_bytes_max: int,
    time_limit: SharedTimeLimit,
) -> web.StreamResponse:
    """The handler's response, or the JSON refusal that replaces it."""
    try:
        declared = request.content_length
        if declared is not None and declared > body_bytes_max:
            info.outcome = "payload_too_large"
            return error_response(
                413, "payload_too_large", f"request body is larger than {body_bytes_max} bytes"
            )
        with time_limit.within():
            return await handler(request)
    except TimeLimitExpired:
        info.outcome = "timeout"
        return error_response(
            503,
            "timeout",
            f"request took longer than {time_limit.limit_s} s",
            headers={"Retry-After": "1"},
        )
    except web.HTTPException as exc:
        return _http_error(exc, info)
    except ConnectionError:
        # The client went away while its body was being read: nothing was applied (the
        # body comes before any work), and the answer can no longer be delivered.
        info.outcome = _CLIENT_CLOSED
        return error_response(_STATUS_CLIENT_CLOSED, "client_closed", "client closed request")
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
    request: web.Request,
    info: RequestInfo,
    status: int,
    started_s: float,
    metrics: Metrics,
    record: RecordRequest | None,
) -> None:
    """The canonical log line, the metrics and the record of one request: the only
    place each is made, from the same values (a record cannot disagree with its line)."""
    latency_s = time.perf_counter() - started_s
    latency_us = round(latency_s * 1_000_000)
    outcome = info.outcome or ("ok" if status < 400 else "error")
    method = request.method
    if info.provider is not None:
        metrics.observe_provider(info.provider, info.operation or "unknown", outcome, latency_s)
    elif info.route.startswith("/v1/"):
        metrics.observe_operator(info.route, status)
    if record is not None:
        record(
            info.request_id, method, info.route, info.provider or "", info.operation or "",
            outcome, status, latency_us, info.player_id or "",
        )  # fmt: skip
    log_request(
        {
            "request_id": info.request_id,
            "method": method,
            "route": info.route,
            "provider": info.provider,
            "operation": info.operation,
            "outcome": outcome,
            "status": status,
            "latency_ms": latency_us / 1_000,
            "player_id": info.player_id,
        }
    )
