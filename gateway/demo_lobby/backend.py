"""The lobby page's backend for its frontend: the gateway's public API, keys held here.

The page's server side is what an operator's web front end would run: it calls the
gateway's own HTTP API over loopback with the demo lobby key (catalogue and launch) and
the demo operator key (balances), so the browser only ever talks to `/lobby/api/...`
and never sees a key. The gateway's address is the one the page's request arrived on
(the socket's, never the `Host` header: a client must not be able to send our keys
somewhere else), unless one is configured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson
from aiohttp import web

from gateway.demo import DEMO_LOBBY_KEY, DEMO_OPERATOR_KEY
from gateway.responses import error_response

__all__ = ["FORWARDED_HEADERS", "LOOPBACK_TIMEOUT_S", "GatewayApi", "local_base_url", "new_client"]

LOOPBACK_TIMEOUT_S = 5.0
"""Per call to the gateway (connect, each read); below the gateway's own request limit."""
LOOPBACK_CONNECTIONS_MAX = 16
FORWARDED_HEADERS = ("Cache-Control", "ETag", "Vary")
"""What the browser may see of an answer besides its body (caching works end to end)."""


def new_client() -> httpx.AsyncClient:
    """`trust_env=False`: a proxy from the environment must never see the keys."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(LOOPBACK_TIMEOUT_S),
        limits=httpx.Limits(max_connections=LOOPBACK_CONNECTIONS_MAX),
        trust_env=False,
    )


def local_base_url(request: web.Request) -> str:
    """`http://<address>:<port>` of the socket this request came in on."""
    transport = request.transport
    sockname = None if transport is None else transport.get_extra_info("sockname")
    if not isinstance(sockname, tuple) or len(sockname) < 2:
        raise web.HTTPServiceUnavailable(reason="no local address to reach the gateway on")
    host, port = str(sockname[0]), int(sockname[1])
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class GatewayApi:
    """The three public API calls the page needs, answered as the gateway answered them."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base_url = base_url

    async def games(
        self, query: Sequence[tuple[str, str]], if_none_match: str | None
    ) -> web.Response:
        headers = {} if if_none_match is None else {"If-None-Match": if_none_match}
        return await self._forward(
            "GET", "/v1/lobby/games", DEMO_LOBBY_KEY, params=query, headers=headers
        )

    async def balance(self, player_id: str) -> web.Response:
        return await self._forward("GET", f"/v1/players/{player_id}/balance", DEMO_OPERATOR_KEY)

    async def launch(self, body: Mapping[str, Any]) -> web.Response:
        return await self._forward(
            "POST",
            "/v1/launch",
            DEMO_LOBBY_KEY,
            content=orjson.dumps(body),
            headers={"Content-Type": "application/json"},
        )

    async def _forward(
        self,
        method: str,
        path: str,
        key: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        sent = {**(headers or {}), "Authorization": f"Bearer {key}"}
        try:
            answer = await self._client.request(
                method, self._base_url + path, params=list(params), content=content, headers=sent
            )
        except httpx.HTTPError as error:
            return error_response(502, "gateway_unavailable", f"{method} {path}: {error!r}")
        kept = {name: answer.headers[name] for name in FORWARDED_HEADERS if name in answer.headers}
        content_type = answer.headers.get("Content-Type", "application/json")
        return web.Response(
            status=answer.status_code,
            body=answer.content,
            headers={**kept, "Content-Type": content_type},
        )
