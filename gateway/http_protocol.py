"""aiohttp's per-connection handler, with the gateway's answer to bytes it cannot parse.

aiohttp answers a malformed request head (a NUL in a header, a bad method, a line too
long) itself, before any middleware runs: a text body that repeats the offending header
line, an `Authorization` key included, and a traceback on stderr. Here that answer is the
gateway's JSON error with a fixed message per kind of fault, the connection is closed (the
parser cannot find the next request's start), and the log gets the ordinary request line.
"""

from __future__ import annotations

from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from gateway.logging import log_request
from gateway.responses import error_response

__all__ = ["MALFORMED_HTTP", "GatewayRequestHandler", "make_request_handler"]

MALFORMED_HTTP = "malformed_http"
"""The outcome (log line) and error code of a request whose head could not be parsed."""

_FAULTS: tuple[tuple[type[Exception], str], ...] = (
    (http_exceptions.LineTooLong, "a request line or header is too long"),
    (http_exceptions.BadHttpMethod, "the request line is not HTTP"),
    (http_exceptions.InvalidURLError, "the request target is not a valid URL"),
    (http_exceptions.InvalidHeader, "a header name or value has bytes HTTP does not allow"),
    (http_exceptions.BadStatusLine, "the request line is not HTTP"),
    (http_exceptions.TransferEncodingError, "the chunked body is malformed"),
    (http_exceptions.ContentLengthError, "the body does not match its Content-Length"),
    (http_exceptions.BadHttpMessage, "the request is not well-formed HTTP/1.1"),
)
"""Most specific first; the message never quotes what was received."""


class GatewayRequestHandler(RequestHandler):
    """`RequestHandler` whose own error answers are the gateway's JSON errors."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: an answer has begun, nothing to add
            raise ConnectionError("an answer was being written when the request failed")
        if status >= 500:
            # Our middleware answers every handler error itself; what reaches here is
            # aiohttp's own (a handler timeout, 504): no body text from the exception.
            code, text = "internal_error", "internal error"
        else:
            code, text = MALFORMED_HTTP, _fault_text(exc)
        response = error_response(status, code, text)
        response.force_close()
        _log_refusal(request, status, code, exc)
        return response


def _fault_text(exc: BaseException | None) -> str:
    for kind, text in _FAULTS:
        if isinstance(exc, kind):
            return text
    return "the request is not well-formed HTTP/1.1"


def _log_refusal(
    request: BaseRequest, status: int, outcome: str, exc: BaseException | None
) -> None:
    """The request line the middleware would have written, had the request reached it."""
    log_request(
        {
            "request_id": None,
            "method": None,
            "route": None,
            "provider": None,
            "operation": None,
            "outcome": outcome,
            "status": status,
            "latency_ms": 0.0,
            "player_id": None,
            "error_type": None if exc is None else type(exc).__name__,
        }
    )


def make_request_handler(server: web.Server) -> GatewayRequestHandler:
    """The protocol of one new connection, made as `web.Server.__call__` makes aiohttp's
    own (same options: keep-alive, parser limits, `auto_decompress`), but of our class.
    `tests/gateway/test_malformed_http.py` fails if aiohttp changes how it keeps them."""
    return GatewayRequestHandler(server, loop=server._loop, **server._kwargs)
