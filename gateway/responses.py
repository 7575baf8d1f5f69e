"""JSON responses (orjson) and the one error body shape of the gateway's own APIs."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from aiohttp import web

__all__ = ["error_response", "json_response"]


def json_response(
    data: object, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def error_response(
    status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    """`{"error": {"code": ..., "message": ...}}`: `code` is stable, `message` is for people."""
    return json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )
