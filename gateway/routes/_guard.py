"""Operator API handlers: a valid API key with a role that allows the call, and errors.

Every operator handler is wrapped by `operator_handler(write=...)`: without a valid
`Authorization: Bearer <key>` the answer is 401, with a read-only key a write is 403,
and a `GatewayError` raised by the handler becomes its JSON error (`gateway.errors`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from core.errors import GatewayError
from gateway.errors import HTTP_STATUS_BY_ERROR, gateway_error_response
from gateway.keys import OPERATOR_KEYS, REQUEST_INFO
from gateway.responses import error_response

__all__ = ["ExpectHandler", "Handler", "operator_handler"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ExpectHandler = Callable[[web.Request], Awaitable[None]]
"""aiohttp's `Expect: 100-continue` hook (every route takes `expect_continue`)."""

_BEARER = "bearer "


def _bearer_key(request: web.Request) -> str | None:
    """The key, or None when absent or not printable ASCII (a byte that is not UTF-8
    arrives as a surrogate: no key can match it, and it must not reach `encode`)."""
    header = request.headers.get("Authorization", "")
    if header[: len(_BEARER)].lower() != _BEARER:
        return None
    key = header[len(_BEARER) :].strip()
    return key if key and key.isascii() and key.isprintable() else None


def _refusal(request: web.Request, *, write: bool, lobby: bool) -> web.Response | None:
    key = _bearer_key(request)
    holder = None if key is None else request.app[OPERATOR_KEYS].holder(key)
    if holder is None:
        request[REQUEST_INFO].outcome = "unauthorized"
        return error_response(
            401,
            "unauthorized",
            "a valid operator API key is required (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": 'Bearer realm="gamegate"'},
        )
    if not holder.role.allows(write=write, lobby=lobby):
        request[REQUEST_INFO].outcome = "forbidden"
        return error_response(403, "forbidden", f"role {holder.role.value!r} may not do this")
    request[REQUEST_INFO].actor = holder.name
    return None


def operator_handler(
    *,
    write: bool,
    lobby: bool = False,
    statuses: dict[type[GatewayError], int] = HTTP_STATUS_BY_ERROR,
) -> Callable[[Handler], Handler]:
    """Authorize, run, and turn refusals into JSON errors with their stable codes.

    `lobby` opens the handler to lobby keys too (the lobby API: catalogue and launch);
    `statuses` is the handler's table of HTTP statuses (`gateway.errors`)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            refusal = _refusal(request, write=write, lobby=lobby)
            if refusal is not None:
                return refusal
            try:
                return await handler(request)
            except GatewayError as error:
                request[REQUEST_INFO].outcome = error.reason.value
                return gateway_error_response(error, statuses)

        return guarded

    return wrap
