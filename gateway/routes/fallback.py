"""What every route shares: the `Expect` handling, and a last route for every other path.

aiohttp answers `Expect` before any middleware runs, and its answer to a value other than
`100-continue` is a 417 whose body repeats the header (and a 500 when that header holds a
byte that is not UTF-8). Every route here takes `expect_continue` instead: `100-continue`
as aiohttp does it, any other expectation ignored (RFC 9110 10.1.1 allows a server to
ignore what it does not know). aiohttp's own 404 and 405 routes cannot take a handler,
so `no_route` is the last route: it answers both, inside the middleware, as JSON.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractResource

from gateway.keys import REQUEST_INFO

__all__ = ["FALLBACK_ROUTE_NAME", "expect_continue", "fallback_route", "no_route"]

FALLBACK_ROUTE_NAME = "no-route"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


async def expect_continue(request: web.Request) -> None:
    """`Expect: 100-continue` on HTTP/1.1: tell the client to send its body. Others: nothing."""
    expect = request.headers.get("Expect", "")
    if request.version >= (1, 1) and expect.strip().lower() == "100-continue":
        await request.writer.write(_CONTINUE)
        request.writer.output_size = 0  # as aiohttp: the answer proper has not begun


async def no_route(request: web.Request) -> web.StreamResponse:
    """404, or 405 with `Allow` when another route serves this path with other methods."""
    request[REQUEST_INFO].route = "unmatched"
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.name == FALLBACK_ROUTE_NAME:
            continue
        allowed |= await _methods(resource, request)
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


async def _methods(resource: AbstractResource, request: web.Request) -> set[str]:
    match, methods = await resource.resolve(request)
    return set() if match is not None else set(methods)


def fallback_route() -> web.RouteDef:
    return web.route(
        "*", "/{path:.*}", no_route, name=FALLBACK_ROUTE_NAME, expect_handler=expect_continue
    )
