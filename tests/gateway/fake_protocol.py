"""A tiny provider protocol for the gateway's HTTP tests (not a mock: a real adapter).

Operations, by path: `echo` returns what the adapter received; `auth` authenticates a
session token; `bet` places a debit; `boom` raises (an adapter bug); `slow` sleeps;
`log` logs one line through the module's logger.
"""

from __future__ import annotations

import asyncio
from types import MappingProxyType
from typing import Any, ClassVar

import orjson
import structlog

from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.registry import ProtocolSpec
from core.errors import GatewayError
from core.model import Debit

_log = structlog.get_logger("tests.fake")

FAKE_PROTOCOL = "fake"
SLOW_S = 30.0


class FakeAdapter:
    protocol: ClassVar[str] = FAKE_PROTOCOL

    def __init__(self, context: AdapterContext) -> None:
        if "unsupported" in context.options:
            raise ValueError("option 'unsupported' is not supported")
        self.context = context

    async def handle(self, request: ProviderRequest) -> ProviderResponse:
        if request.path == "echo":
            return _ok("echo", self._echo(request))
        if request.path == "boom":
            hmac_key = self.context.secrets["hmac_key"]  # a local that a traceback could show
            raise RuntimeError(f"adapter bug (key of {len(hmac_key)} bytes)")
        if request.path == "slow":
            await asyncio.sleep(SLOW_S)
        if request.path == "log":
            _log.warning("fake adapter logged")
            return _ok("log", {})
        body: dict[str, Any] = orjson.loads(request.body or b"{}")
        try:
            if request.path == "auth":
                view = await self.context.service.authenticate(self.context.instance, body["token"])
                return _ok("auth", {"player_id": view.player.player_id}, view.player.player_id)
            if request.path == "bet":
                return await self._bet(body)
        except GatewayError as error:
            shown = {"error": error.reason.value}
            return ProviderResponse(
                200, orjson.dumps(shown), operation="bet", outcome=shown["error"]
            )
        return ProviderResponse(404, b"{}", operation="unknown", outcome="invalid_request")

    def _echo(self, request: ProviderRequest) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": request.path,
            "query_string": request.query_string,
            "query": dict(request.query),
            "signature": request.headers.get("x-signature"),
            "body": request.body.decode(),
            "secrets": {name: value.decode() for name, value in self.context.secrets.items()},
            "options": dict(self.context.options),
        }

    async def _bet(self, body: dict[str, Any]) -> ProviderResponse:
        debit = Debit(
            provider=self.context.instance,
            tx_id=body["tx_id"],
            player_id=body["player_id"],
            currency=body["currency"],
            amount_minor=body["amount_minor"],
            round_id=body["round_id"],
            game_id="fake-game",
        )
        outcome = await self.context.service.debit(debit, session_token=body.get("token"))
        shown = {"transaction_id": outcome.transaction_id, "real": outcome.balance.real_minor}
        return _ok("bet", shown, debit.player_id, replay=outcome.replay)


def _ok(
    operation: str, shown: dict[str, Any], player_id: str | None = None, *, replay: bool = False
) -> ProviderResponse:
    return ProviderResponse(
        200,
        orjson.dumps(shown),
        content_type="application/json; charset=utf-8",
        headers={"X-Fake": "1"},
        operation=operation,
        outcome="replay" if replay else "ok",
        player_id=player_id,
    )


def fake_demo_secrets() -> dict[str, bytes]:
    return {"hmac_key": b"generated-hmac-key", "provider_hmac_key": b"generated-hmac-key"}


FAKE_PROTOCOLS = MappingProxyType(
    {FAKE_PROTOCOL: ProtocolSpec(factory=FakeAdapter, demo_secrets=fake_demo_secrets)}
)
