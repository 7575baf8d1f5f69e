"""A conformance `Transport` that calls adapters and the store directly, without HTTP.

It answers the handful of operator API calls the kit makes (players, deposits, bonus
grants, sessions, balance) in the operator API's JSON shapes, so protocol scripts can
be developed and tested before (and independently of) the HTTP gateway. The full
gateway runs the same scripts over HTTP in `tests/gateway/`.
"""

from __future__ import annotations

import datetime
import re
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
from multidict import CIMultiDict

from adapters.conformance.kit import (
    Case,
    CaseResult,
    ScriptContext,
    WireRequest,
    WireResponse,
    run_cases,
)
from adapters.providers.base import (
    AdapterContext,
    NonceCacheFactory,
    ProviderAdapter,
    ProviderRequest,
)
from adapters.providers.nonces import MemoryNonceCache
from core.errors import GatewayError
from core.model import BonusGrant, Deposit
from core.money import CurrencyTable, minor_from_decimal
from core.service import WalletService
from core.wallet.records import PlayerRecord, SessionRecord
from core.wallet.store import WalletStore
from tests.conftest import FakeClock

__all__ = ["DirectTransport", "adapter_context", "memory_nonce_cache", "run_in_process"]

_PLAYER_MONEY = re.compile(r"^/v1/players/(?P<pid>[^/]+)/(?P<what>deposits|bonus-grants)$")
_BALANCE = re.compile(r"^/v1/players/(?P<pid>[^/]+)/balance$")
_IMPORT = re.compile(r"^/v1/catalogue/instances/[^/]+/import\?partial=true$")


class DirectTransport:
    """Provider callbacks straight into `adapter.handle`; operator calls straight into the store."""

    def __init__(
        self,
        adapters: Mapping[str, ProviderAdapter],
        store: WalletStore,
        clock: FakeClock,
        *,
        session_ttl_s: int = 3600,
    ) -> None:
        self._adapters = adapters
        self._store = store
        self._clock = clock
        self._currencies = CurrencyTable()
        self._session_ttl_s = session_ttl_s
        self._counter = 0

    async def send(self, instance: str, request: WireRequest) -> WireResponse:
        adapter = self._adapters[instance]
        response = await adapter.handle(
            ProviderRequest(
                method=request.method,
                path=request.path,
                query_string=request.query_string,
                query=dict(parse_qsl(request.query_string, keep_blank_values=True)),
                headers=CIMultiDict(request.headers),
                body=request.body,
                remote="127.0.0.1",
            )
        )
        headers = {k.lower(): v for k, v in response.headers.items()}
        headers["content-type"] = response.content_type
        return WireResponse(response.status, headers, response.body)

    async def elapse(self, seconds: float) -> None:
        self._clock.advance(seconds)

    async def operator(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, key: str = ""
    ) -> WireResponse:
        try:
            return _json(200, await self._operator(method, path, body or {}))
        except GatewayError as error:
            return _json(400, {"error": {"code": error.reason.value, "message": error.message}})

    async def _operator(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if method == "POST" and path == "/v1/players":
            await self._store.create_player(
                PlayerRecord(
                    player_id=body["player_id"],
                    brand=body["brand"],
                    jurisdiction=body["jurisdiction"],
                    currency=body["currency"],
                    date_of_birth=datetime.date.fromisoformat(body["date_of_birth"]),
                )
            )
            return {"player_id": body["player_id"]}
        if method == "POST" and path == "/v1/sessions":
            return await self._session(body)
        if method == "POST" and _IMPORT.match(path):
            # No catalogue here: sessions are not checked against one (the HTTP gateway's
            # tests cover that), so an import only has to be accepted.
            return {"added": [game["code"] for game in body["games"]]}
        if (match := _PLAYER_MONEY.match(path)) and method == "POST":
            return await self._money(match["pid"], match["what"], body)
        if (match := _BALANCE.match(path)) and method == "GET":
            balance = await self._store.balance(match["pid"], await self._currency(match["pid"]))
            return {"real_minor": balance.real_minor, "bonus_minor": balance.bonus_minor}
        raise AssertionError(f"DirectTransport does not emulate {method} {path}")

    async def _currency(self, player_id: str) -> str:
        player = await self._store.get_player(player_id)
        assert player is not None
        return player.currency

    async def _money(self, player_id: str, what: str, body: Mapping[str, Any]) -> dict[str, Any]:
        currency = await self._currency(player_id)
        amount = minor_from_decimal(str(body["amount"]), self._currencies.get(currency))
        self._counter += 1
        key = f"direct-{what}-{player_id}-{self._counter}"
        command = (
            Deposit(key, player_id, currency, amount)
            if what == "deposits"
            else BonusGrant(key, player_id, currency, amount)
        )
        [outcome] = await self._store.apply([command])
        return {"transaction_id": outcome.transaction_id}

    async def _session(self, body: Mapping[str, Any]) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        ttl_s = int(body.get("ttl_s", self._session_ttl_s))
        await self._store.create_session(
            SessionRecord(
                token=token,
                player_id=body["player_id"],
                provider=body["provider"],
                game_id=body["game_id"],
                currency=await self._currency(body["player_id"]),
                expires_at_us=self._clock.micros() + ttl_s * 1_000_000,
                created_at_us=self._clock.micros(),
            )
        )
        return {"token": token}


def _json(status: int, body: dict[str, Any]) -> WireResponse:
    return WireResponse(status, {"content-type": "application/json"}, orjson.dumps(body))


def adapter_context(
    instance: str,
    service: WalletService,
    clock: FakeClock,
    data_dir: Path,
    secrets: Mapping[str, bytes],
    options: Mapping[str, Any] | None = None,
    nonce_cache: NonceCacheFactory | None = None,
) -> AdapterContext:
    """The context an adapter test builds its adapter from (fake clock, real service)."""
    return AdapterContext(
        instance=instance,
        options=options or {},
        secrets=secrets,
        service=service,
        currencies=CurrencyTable(),
        clock_s=clock.seconds,
        nonce_cache=nonce_cache or memory_nonce_cache,
        data_dir=data_dir,
    )


def memory_nonce_cache(*, window_s: float) -> MemoryNonceCache:
    """A small in-memory nonce cache with the window the adapter asks for."""
    return MemoryNonceCache(window_s=window_s, entries_max=10_000)


async def run_in_process(
    instance: str,
    adapter: ProviderAdapter,
    store: WalletStore,
    clock: FakeClock,
    secrets: Mapping[str, bytes],
    cases: Sequence[Case],
    options: Mapping[str, Any] | None = None,
) -> list[CaseResult]:
    """Run conformance cases against `adapter` without HTTP, one transport for all cases."""
    transport = DirectTransport({instance: adapter}, store, clock)
    return await run_cases(
        cases, lambda: ScriptContext(instance, secrets, options or {}, transport, "unused")
    )
