"""Provider callbacks: `/providers/{instance}/{tail}`, passed untouched to the adapter.

The adapter verifies, executes and renders in its own protocol; this handler only
builds the `ProviderRequest`, picks up the metrics labels from the response, and turns
an adapter exception (a bug: adapters answer every expected outcome) into a logged 500.

A body whose `Content-Encoding` cannot be undone reaches the adapter as the bytes
received: no protocol's signature or syntax accepts them, so the caller gets its own
protocol's refusal instead of a gateway error it cannot parse.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from adapters.providers.base import ProviderRequest, ProviderResponse
from core.errors import InvalidRequest
from gateway.body import UnsupportedEncoding, read_body
from gateway.keys import ADAPTERS, REQUEST_INFO, SETTINGS
from gateway.responses import error_response

__all__ = ["provider_callback"]

_log = structlog.get_logger("gamegate.providers")


async def provider_callback(request: web.Request) -> web.StreamResponse:
    instance = request.match_info["instance"]
    adapter = request.app[ADAPTERS].get(instance)
    if adapter is None:
        return error_response(404, "unknown_provider", "no provider instance of that name")
    info = request[REQUEST_INFO]
    info.provider = instance
    query_string = request.raw_path.partition("?")[2]
    provider_request = ProviderRequest(
        method=request.method,
        path=request.match_info["tail"],
        query_string=query_string,
        query=_first_values(request) if query_string else {},
        headers=request.headers,
        body=await _body(request),
        remote=request.remote,
    )
    try:
        response = await adapter.handle(provider_request)
    except Exception:  # noqa: BLE001 -- an adapter bug: log it with its traceback, answer 500
        _log.exception("provider adapter raised", provider=instance)
        info.outcome = "internal_error"
        return error_response(500, "internal_error", "internal error")
    info.operation = response.operation
    info.outcome = response.outcome
    info.player_id = response.player_id
    return _to_http(response)


async def _body(request: web.Request) -> bytes:
    try:
        return await read_body(request, request.app[SETTINGS].server.request_body_bytes_max)
    except (UnsupportedEncoding, InvalidRequest):
        return await request.read()  # the encoded bytes, already read and kept by aiohttp


def _first_values(request: web.Request) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in request.query.items():
        values.setdefault(name, value)
    return values


def _to_http(response: ProviderResponse) -> web.Response:
    headers = dict(response.headers)
    headers["Content-Type"] = response.content_type
    return web.Response(status=response.status, body=response.body, headers=headers)
