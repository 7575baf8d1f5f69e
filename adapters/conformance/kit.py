"""The conformance kit: scripted provider traffic against a wallet that claims a protocol.

A protocol's script is a list of `Case`s (`adapters/conformance/<protocol>.py`). Each
case makes its own fresh player through the operator API, sends signed callbacks the
way the provider would, and checks the answers with `ctx.check(...)`. The same cases
run in the test suite against the in-process gateway and, through
`gamegate conformance <instance> --url URL`, against any running wallet.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from adapters.conformance.games import import_path, single_game_feed

__all__ = [
    "Case",
    "CaseResult",
    "ConformanceFailure",
    "PlayerFixture",
    "ScriptContext",
    "Secrets",
    "Transport",
    "WireRequest",
    "WireResponse",
    "new_id",
    "render_results",
    "run_cases",
    "secrets_of",
]

EXCHANGES_KEPT_MAX = 20
"""Exchanges kept per case for the failure report (the last ones matter most)."""


@dataclass(frozen=True, slots=True)
class WireRequest:
    """A callback as the provider sends it, relative to the instance mount point."""

    method: str
    path: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    query_string: str = ""


@dataclass(frozen=True, slots=True)
class WireResponse:
    status: int
    headers: Mapping[str, str]
    """Header names lower-cased."""
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Transport(Protocol):
    """Where requests go: a running gateway over HTTP, or the in-process test client."""

    async def send(self, instance: str, request: WireRequest) -> WireResponse:
        """Send a provider callback to `/providers/{instance}/{request.path}`."""
        ...

    async def operator(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, key: str = ""
    ) -> WireResponse:
        """Call the operator API (`/v1/...`) with JSON and the operator's API key."""
        ...

    async def elapse(self, seconds: float) -> None:
        """Let `seconds` of wallet time pass (sleep for a real gateway, a clock jump in tests)."""
        ...


class ConformanceFailure(AssertionError):
    """A check of a conformance case failed."""


@dataclass(frozen=True, slots=True)
class PlayerFixture:
    """A fresh player made for one case, with an open game session at the instance."""

    player_id: str
    currency: str
    session_token: str
    game_id: str


@dataclass(slots=True)
class ScriptContext:
    """What a case works with: the instance, its provider-side secrets, the transport."""

    instance: str
    secrets: Mapping[str, bytes]
    """Provider-side secrets (`provider_*` names) plus any public keys of the gateway."""
    options: Mapping[str, Any]
    transport: Transport
    operator_key: str
    exchanges: list[tuple[WireRequest, WireResponse]] = field(default_factory=list)
    games_imported: set[str] = field(default_factory=set)
    """Game codes this run has put in the instance's catalogue."""

    async def send(self, request: WireRequest) -> WireResponse:
        response = await self.transport.send(self.instance, request)
        self.exchanges.append((request, response))
        del self.exchanges[:-EXCHANGES_KEPT_MAX]
        return response

    async def new_player(
        self,
        *,
        currency: str = "EUR",
        real: str = "100.00",
        bonus: str | None = None,
        game_id: str = "conformance-game",
        session_ttl_s: int | None = None,
    ) -> PlayerFixture:
        """Create a player, fund it and open a session for this instance."""
        player_id = f"cf-{uuid.uuid4().hex[:16]}"
        await self._operator(
            "POST",
            "/v1/players",
            {
                "player_id": player_id,
                "brand": "demo",
                "jurisdiction": "MT",
                "currency": currency,
                "date_of_birth": "1990-01-01",
            },
        )
        await self._operator("POST", f"/v1/players/{player_id}/deposits", {"amount": real})
        if bonus is not None:
            await self._operator("POST", f"/v1/players/{player_id}/bonus-grants", {"amount": bonus})
        if game_id not in self.games_imported:
            await self._operator("POST", import_path(self.instance), single_game_feed(game_id))
            self.games_imported.add(game_id)
        session_body: dict[str, Any] = {
            "player_id": player_id,
            "game_id": game_id,
            "provider": self.instance,
        }
        if session_ttl_s is not None:
            session_body["ttl_s"] = session_ttl_s
        session = await self._operator("POST", "/v1/sessions", session_body)
        return PlayerFixture(player_id, currency, str(session["token"]), game_id)

    async def balance_minor(self, player: PlayerFixture) -> tuple[int, int]:
        """The player's (real, bonus) balance in minor units, from the operator API."""
        body = await self._operator("GET", f"/v1/players/{player.player_id}/balance", None)
        return int(body["real_minor"]), int(body["bonus_minor"])

    async def expect_wallet(
        self, player: PlayerFixture, real: int, bonus: int = 0, *, what: str = "wallet"
    ) -> None:
        """Check the player's (real, bonus) balance in minor units, from the operator API."""
        got = await self.balance_minor(player)
        self.check(
            got == (real, bonus), f"{what}: expected (real, bonus) {(real, bonus)}, got {got}"
        )

    async def expect_wallet_total(
        self, player: PlayerFixture, total: int, what: str = "wallet"
    ) -> None:
        """Check real + bonus in minor units, for protocols that show one balance."""
        real, bonus = await self.balance_minor(player)
        self.check(real + bonus == total, f"{what}: expected total {total}, got {real} + {bonus}")

    async def send_copies(self, request: WireRequest, copies: int) -> list[WireResponse]:
        """Send `copies` identical requests at once: a duplicate race must apply once."""
        return list(await asyncio.gather(*(self.send(request) for _ in range(copies))))

    async def elapse(self, seconds: float) -> None:
        """Let time pass, e.g. past a session's expiry (`new_player(session_ttl_s=1)`)."""
        await self.transport.elapse(seconds)

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise ConformanceFailure(message)

    async def _operator(
        self, method: str, path: str, body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        response = await self.transport.operator(method, path, body, key=self.operator_key)
        if response.status >= 300:
            raise ConformanceFailure(
                f"operator API {method} {path} answered {response.status}: {response.body[:300]!r}"
            )
        parsed = response.json()
        assert isinstance(parsed, dict)
        return parsed


Secrets = ScriptContext | Mapping[str, bytes]
"""What a request builder signs with: a case's context, or bare secrets (the load generator)."""


def secrets_of(source: Secrets) -> Mapping[str, bytes]:
    return source.secrets if isinstance(source, ScriptContext) else source


def new_id(prefix: str) -> str:
    """A globally unique transaction or round id: providers' ids are unique per instance."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def operator_request(
    method: str, body: Mapping[str, Any] | None, key: str
) -> tuple[dict[str, str], bytes | None]:
    """Headers and body of an operator API call as every transport sends it: the bearer
    key, a fresh `Idempotency-Key` on POST, and a JSON body when there is one."""
    headers = {"Authorization": f"Bearer {key}"}
    if method == "POST":
        headers["Idempotency-Key"] = f"conformance-{uuid.uuid4().hex}"
    content = None if body is None else orjson.dumps(body)
    if content is not None:
        headers["Content-Type"] = "application/json"
    return headers, content


CaseFn = Callable[[ScriptContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Case:
    """One scripted scenario; `name` says what the wallet must do."""

    name: str
    run: CaseFn


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    passed: bool
    message: str
    duration_s: float
    exchanges: tuple[tuple[WireRequest, WireResponse], ...]


async def run_cases(
    cases: Sequence[Case], make_context: Callable[[], ScriptContext]
) -> list[CaseResult]:
    """Run each case in a fresh context; a failure (or an exception) fails that case only."""
    results: list[CaseResult] = []
    for case in cases:
        ctx = make_context()
        started = time.perf_counter()
        try:
            await case.run(ctx)
        except ConformanceFailure as failure:
            results.append(_result(case, ctx, started, passed=False, message=str(failure)))
        except Exception as exc:  # noqa: BLE001 -- a crashing case is a failed case
            results.append(
                _result(case, ctx, started, passed=False, message=f"{type(exc).__name__}: {exc}")
            )
        else:
            results.append(_result(case, ctx, started, passed=True, message=""))
    return results


def _result(
    case: Case, ctx: ScriptContext, started: float, *, passed: bool, message: str
) -> CaseResult:
    return CaseResult(
        name=case.name,
        passed=passed,
        message=message,
        duration_s=time.perf_counter() - started,
        exchanges=tuple(ctx.exchanges),
    )


def render_results(results: Sequence[CaseResult], *, body_chars_max: int = 600) -> str:
    """A pass/fail table, then the request and response of each failure."""
    width = max((len(r.name) for r in results), default=10)
    lines = [f"{'case'.ljust(width)}  result  ms", f"{'-' * width}  ------  ----"]
    for r in results:
        verdict = "PASS" if r.passed else "FAIL"
        lines.append(f"{r.name.ljust(width)}  {verdict:6}  {r.duration_s * 1000:.0f}")
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    for r in results:
        if r.passed:
            continue
        lines.append("")
        lines.append(f"FAIL {r.name}: {r.message}")
        for request, response in r.exchanges[-3:]:
            query = f"?{request.query_string}" if request.query_string else ""
            lines.append(f"  > {request.method} {request.path}{query}")
            lines.append(f"  > {request.body[:body_chars_max].decode(errors='replace')}")
            lines.append(
                f"  < {response.status} {response.body[:body_chars_max].decode(errors='replace')}"
            )
    return "\n".join(lines)
