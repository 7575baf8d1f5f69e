"""A conformance `Transport` over HTTP into the in-process app (pytest-aiohttp's TestClient).

Every request goes through the whole gateway (middleware, routes, metrics) exactly as
`HttpTransport` sends it to a running one: the body and the query string as bytes, no
header added. Time is the app's injected `FakeClock`, so `elapse()` jumps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import ClientResponse
from yarl import URL

from adapters.conformance.kit import WireRequest, WireResponse, operator_request
from tests.conftest import FakeClock
from tests.gateway.conftest import Client

__all__ = ["AppTransport"]


class AppTransport:
    """Provider callbacks to `/providers/{instance}/...`, operator calls to `/v1/...`."""

    def __init__(self, client: Client, clock: FakeClock) -> None:
        self._client = client
        self._clock = clock

    async def send(self, instance: str, request: WireRequest) -> WireResponse:
        target = f"/providers/{instance}/{request.path}"
        if request.query_string:
            target = f"{target}?{request.query_string}"
        response = await self._client.request(
            request.method,
            URL(target, encoded=True),  # the query string as the provider wrote it
            data=request.body,
            headers=dict(request.headers),
            skip_auto_headers=("Content-Type",),
        )
        return await _wire(response)

    async def operator(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, key: str = ""
    ) -> WireResponse:
        headers, data = operator_request(method, body, key)
        response = await self._client.request(method, path, data=data, headers=headers)
        return await _wire(response)

    async def elapse(self, seconds: float) -> None:
        self._clock.advance(seconds)


async def _wire(response: ClientResponse) -> WireResponse:
    body = await response.read()
    headers = {name.lower(): value for name, value in response.headers.items()}
    return WireResponse(response.status, headers, body)
