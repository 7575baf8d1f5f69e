"""The conformance kit's transport to a running gateway (or any wallet) over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from adapters.conformance.kit import WireRequest, WireResponse, operator_request

__all__ = ["HttpTransport"]

DEFAULT_REQUEST_TIMEOUT_S = 10.0
CONNECTIONS_MAX = 32


class HttpTransport:
    """Provider callbacks to `{base_url}/providers/{instance}/...`, operator calls to `/v1/...`.

    `callback_base_url` overrides where callbacks go, for a wallet that mounts its
    protocol somewhere else (the URL the provider would be given).
    """

    def __init__(
        self,
        base_url: str,
        *,
        callback_base_url: str | None = None,
        timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._callback_base_url = (callback_base_url or "").rstrip("/")
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=CONNECTIONS_MAX),
        )

    async def send(self, instance: str, request: WireRequest) -> WireResponse:
        base = self._callback_base_url or f"{self._base_url}/providers/{instance}"
        url = f"{base}/{request.path}"
        if request.query_string:
            url = f"{url}?{request.query_string}"
        response = await self._client.request(
            request.method, url, content=request.body, headers=dict(request.headers)
        )
        return _wire(response)

    async def operator(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, key: str = ""
    ) -> WireResponse:
        headers, content = operator_request(method, body, key)
        response = await self._client.request(
            method, f"{self._base_url}{path}", content=content, headers=headers
        )
        return _wire(response)

    async def elapse(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def aclose(self) -> None:
        await self._client.aclose()


def _wire(response: httpx.Response) -> WireResponse:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return WireResponse(response.status_code, headers, response.content)
