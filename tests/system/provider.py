"""A game provider and an operator against a live `gamegate serve`, for the system tests.

The provider speaks the gateway's own protocol (`adapters.providers.gamegate_wire`):
each callback signed with the demo key, a fresh nonce and the current time, its answer's
signature checked. Every request goes on a connection of its own, so with several
workers any of them may answer it; the answering worker is read from its header.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from adapters.conformance.games import import_path, single_game_feed
from adapters.providers.gamegate_wire import new_nonce, sign_request, verify_response
from gateway.worker import WORKER_HEADER
from tests.system.served import OPERATOR_KEY

__all__ = ["Answer", "Operator", "Provider", "provider_key"]

INSTANCE = "gamegate"
REQUEST_TIMEOUT_S = 30.0


def provider_key(data_dir: Path) -> bytes:
    """The provider's half of the demo `gamegate` instance's key (demo mode writes it)."""
    return (data_dir / "secrets" / INSTANCE / "provider_hmac_key").read_bytes().strip()


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]
    worker: str | None


def _session(connections_max: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections_max, force_close=True)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


class Provider:
    """Signed callbacks to `/providers/gamegate/<operation>`; one connection each."""

    def __init__(self, url: str, key: bytes, *, connections_max: int = 32) -> None:
        self._url = url
        self._key = key
        self._http = _session(connections_max)

    async def close(self) -> None:
        await self._http.close()

    async def call(self, operation: str, fields: dict[str, Any]) -> Answer:
        """One callback; raises `aiohttp.ClientError` (or `TimeoutError`) when no answer
        came back, as when a worker is killed with the connection open."""
        body = orjson.dumps(fields)
        nonce = new_nonce()
        headers = sign_request(
            self._key, body, operation=operation, timestamp=int(time.time()), nonce=nonce
        )
        url = f"{self._url}/providers/{INSTANCE}/{operation}"
        async with self._http.post(url, data=body, headers=headers) as response:
            raw = await response.read()
            assert verify_response(self._key, response.headers, raw, request_nonce=nonce), raw
            shown: dict[str, Any] = orjson.loads(raw)
            return Answer(response.status, shown, response.headers.get(WORKER_HEADER))


class Operator:
    """The operator API with the test's admin key."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._http = _session(8)
        self._headers = {"Authorization": f"Bearer {OPERATOR_KEY}"}

    async def close(self) -> None:
        await self._http.close()

    async def call(
        self, method: str, path: str, body: Any = None, *, idempotency_key: str | None = None
    ) -> Answer:
        headers = dict(self._headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        async with self._http.request(
            method, f"{self._url}{path}", json=body, headers=headers
        ) as response:
            shown: dict[str, Any] = await response.json()
            return Answer(response.status, shown, response.headers.get(WORKER_HEADER))

    async def funded_player(self, player_id: str, amount: str) -> str:
        """A new EUR player of the demo brand with `amount` deposited; its session token
        for the `gamegate` instance."""
        player = {"player_id": player_id, "brand": "demo", "jurisdiction": "MT",
                  "currency": "EUR", "date_of_birth": "1990-01-01"}  # fmt: skip
        created = await self.call("POST", "/v1/players", player)
        assert created.status == 201, created
        deposit = await self.call(
            "POST", f"/v1/players/{player_id}/deposits", {"amount": amount},
            idempotency_key=f"fund-{player_id}",
        )  # fmt: skip
        assert deposit.status == 201, deposit
        imported = await self.call("POST", import_path(INSTANCE), single_game_feed("demo-slot"))
        assert imported.status == 200, imported
        session = {"player_id": player_id, "game_id": "demo-slot", "provider": INSTANCE}
        opened = await self.call("POST", "/v1/sessions", session)
        assert opened.status == 201, opened
        token: str = opened.body["token"]
        return token

    async def real_minor(self, player_id: str) -> int:
        balance = await self.call("GET", f"/v1/players/{player_id}/balance")
        assert balance.status == 200, balance
        real: int = balance.body["real_minor"]
        return real

    async def transactions(self, player_id: str) -> list[dict[str, Any]]:
        """Every transaction of the player, newest first."""
        found: list[dict[str, Any]] = []
        before = None
        while True:
            query = f"?limit=500{'' if before is None else f'&before={before}'}"
            page = await self.call("GET", f"/v1/players/{player_id}/transactions{query}")
            assert page.status == 200, page
            found += page.body["items"]
            before = page.body["next_before"]
            if before is None:
                return found
