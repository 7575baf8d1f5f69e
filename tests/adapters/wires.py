"""The seven provider protocols as their providers send a bet, in one table.

Each `Wire` builds and signs a valid bet the way its provider does, says where the bet's
credentials are (so a test can spoil them), how to write a lone surrogate into its body,
and how its answers read (`answer`: HTTP status and the protocol's code), with the lists
of its refusals and of its answer to a bug. Used by the tests that feed adapters hostile
bytes and by those that plant a bug under them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import orjson
from multidict import CIMultiDict

from adapters.providers import betby, betsoft, evolution, gamegate, hub88, pragmatic, softswiss
from adapters.providers.base import AdapterContext, ProviderAdapter, ProviderRequest
from adapters.providers.betby_wire import claims_json, envelope, sign_claims
from adapters.providers.betsoft_wire import parse_query
from adapters.providers.betsoft_wire import request_hash as betsoft_hash
from adapters.providers.gamegate_wire import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    new_nonce,
    sign_request,
)
from adapters.providers.hub88_wire import SIGNATURE_HEADER as SIGNATURE_HEADER_HUB88
from adapters.providers.hub88_wire import load_private_key
from adapters.providers.hub88_wire import sign as hub88_sign
from adapters.providers.pragmatic_wire import request_hash as pragmatic_hash
from adapters.providers.softswiss_wire import sign as softswiss_sign
from adapters.stores.sqlite_store import SqliteWalletStore
from core.service import WalletService
from tests.adapters.direct_transport import adapter_context
from tests.conftest import FakeClock, MakePlayer, MakeSession

Mangle = Callable[[str], str]
"""What a test does to one credential's valid value."""

BALANCE_MINOR = 10_000


class Wire(Protocol):
    """One protocol as its provider sends a bet, and how it answers."""

    @property
    def instance(self) -> str:
        """The instance name, also the protocol's name."""
        ...

    @property
    def player_id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def credentials(self) -> tuple[str, ...]:
        """Where hostile text can go: headers, parameters, the token."""
        ...

    @property
    def refusals(self) -> frozenset[str]:
        """The protocol's bad-signature and invalid-request answers, as `answer` writes them."""
        ...

    @property
    def internal_error(self) -> str | None:
        """Its answer to a bug, its own generic internal error; None: the gateway's 500."""
        ...

    def __init__(self, clock: FakeClock) -> None: ...
    def build(self, context: AdapterContext) -> ProviderAdapter: ...
    def secrets(self) -> dict[str, bytes]: ...
    async def setup(self, make_player: MakePlayer, make_session: MakeSession) -> None: ...
    def payload(self) -> bytes:
        """The valid bet's signed bytes (a body, JWT claims or a query string)."""
        ...

    def request(
        self,
        payload: bytes | None = None,
        *,
        mangle: Mapping[str, Mangle] | None = None,
        wire_body: bytes | None = None,
    ) -> ProviderRequest:
        """The bet, signed over `payload` (default the valid one); `mangle` edits credentials
        after signing, `wire_body` replaces the bytes sent after signing."""
        ...

    def with_lone_surrogate(self, payload: bytes, code: int) -> bytes:
        """`payload` with a lone surrogate in the player id, written the protocol's way."""
        ...

    def answer(self, response: Any) -> str: ...


def _headers(values: Mapping[str, str], mangle: Mapping[str, Mangle] | None) -> CIMultiDict[str]:
    mangle = mangle or {}
    return CIMultiDict({name: mangle.get(name, str)(value) for name, value in values.items()})


def _pairs_text(pairs: list[tuple[str, str]], mangle: Mapping[str, Mangle] | None) -> str:
    """A query or form string; mangled values percent-encoded byte for byte (surrogates too)."""
    mangle = mangle or {}
    return "&".join(
        f"{name}={quote(mangle.get(name, str)(value), safe='', errors='surrogateescape')}"
        for name, value in pairs
    )


def _json_lone_surrogate(payload: bytes, player: str, code: int) -> bytes:
    quoted = orjson.dumps(player)
    assert quoted in payload
    return payload.replace(quoted, quoted[:-1] + b"\\u%04x" % code + b'"', 1)


def _form_lone_surrogate(payload: bytes, field: bytes, code: int) -> bytes:
    assert field in payload
    escaped = quote(chr(code), safe="", errors="surrogatepass").encode()
    return payload.replace(field, field + escaped, 1)


class _JsonBody:
    """A protocol whose body is JSON naming the player: the surrogate goes in the name."""

    player_id: str

    def with_lone_surrogate(self, payload: bytes, code: int) -> bytes:
        return _json_lone_surrogate(payload, self.player_id, code)


class _JsonCode(_JsonBody):
    """... and whose answer names its outcome in `code` (absent: ok)."""

    def answer(self, response: Any) -> str:
        return f"{response.status} {orjson.loads(response.body).get('code', 'ok')}"


def _request(
    path: str,
    body: bytes,
    headers: CIMultiDict[str] | None = None,
    *,
    method: str = "POST",
    query_string: str = "",
    query: Mapping[str, str] | None = None,
) -> ProviderRequest:
    return ProviderRequest(
        method, path, query_string, query or {}, headers or CIMultiDict(), body, "127.0.0.1"
    )


class GamegateWire(_JsonCode):
    instance = "gamegate"
    player_id = "p1"
    currency = "EUR"
    credentials = (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
    refusals = frozenset({"401 bad_signature", "400 invalid_request"})
    internal_error = None

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.key = b"gamegate-hostile-input-key"

    def build(self, context: AdapterContext) -> ProviderAdapter:
        return gamegate.GamegateAdapter(context)

    def secrets(self) -> dict[str, bytes]:
        return {"hmac_key": self.key}

    async def setup(self, make_player: MakePlayer, make_session: MakeSession) -> None:
        await make_player(self.player_id, real=BALANCE_MINOR)
        await make_session("tok-1", self.player_id, provider=self.instance)

    def payload(self) -> bytes:
        return orjson.dumps(
            {"session_token": "tok-1", "player_id": self.player_id, "transaction_id": "bet-1",
             "round_id": "r1", "game_id": "g1", "currency": "EUR", "amount": 250}
        )  # fmt: skip

    def request(
        self,
        payload: bytes | None = None,
        *,
        mangle: Mapping[str, Mangle] | None = None,
        wire_body: bytes | None = None,
    ) -> ProviderRequest:
        body = self.payload() if payload is None else payload
        signed = sign_request(
            self.key, body, operation="bet", timestamp=int(self.clock.seconds()), nonce=new_nonce()
        )
        return _request("bet", body if wire_body is None else wire_body, _headers(signed, mangle))


@functools.cache
def _hub88_secrets() -> dict[str, bytes]:
    return hub88.demo_secrets()


class Hub88Wire(_JsonBody):
    instance = "hub88"
    player_id = "p1"
    currency = "EUR"
    credentials = (SIGNATURE_HEADER_HUB88,)
    refusals = frozenset(
        {"200 RS_ERROR_INVALID_SIGNATURE", "200 RS_ERROR_WRONG_SYNTAX", "200 RS_ERROR_WRONG_TYPES"}
    )
    internal_error = "200 RS_ERROR_UNKNOWN"

    def __init__(self, clock: FakeClock) -> None:
        self.private_key = load_private_key(_hub88_secrets()["provider_private_key"])

    def build(self, context: AdapterContext) -> ProviderAdapter:
        return hub88.Hub88Adapter(context)

    def secrets(self) -> dict[str, bytes]:
        return _hub88_secrets()

    async def setup(self, make_player: MakePlayer, make_session: MakeSession) -> None:
        await make_player(self.player_id, real=BALANCE_MINOR)
        await make_session("tok-1", self.player_id, provider=self.instance, game_id="g1")

    def payload(self) -> bytes:
        return orjson.dumps(
            {"user": self.player_id, "transaction_uuid": "bet-1", "token": "tok-1", "round": "r1",
             "request_uuid": "req-1", "game_code": "g1", "currency": "EUR", "amount": 100_000}
        )  # fmt: skip

    def request(
        self,
        payload: bytes | None = None,
        *,
        mangle: Mapping[str, Mangle] | None = None,
        wire_body: bytes | None = None,
    ) -> ProviderRequest:
        body = self.payload() if payload is None else payload
        headers = _headers({SIGNATURE_HEADER_HUB88: hub88_sign(self.private_key, body)}, mangle)
        return _request("transaction/bet", body if wire_body is None else wire_body, headers)

    def answer(self, response: Any) -> str:
        return f"{response.status} {orjson.loads(response.body)['status']}"


class PragmaticWire:
    instance = "pragmatic"
    player_id = "p1"
    currency = "EUR"
    credentials = ("hash", "timestamp", "token")
    refusals = frozenset({"200 5", "200 7"})
    internal_error = "200 120"
    secret = b"pragmatic-hostile-input-key"

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def build(self, context: AdapterContext) -> ProviderAdapter:
        return pragmatic.PragmaticAdapter(context)

    def secrets(self) -> dict[str, bytes]:
        return {"secret_key": self.secret}

    async def setup(self, make_player: MakePlayer, make_session: MakeSession) -> None:
        await make_player(self.player_id, real=BALANCE_MINOR)
        await make_session("tok", self.player_id, provider=self.instance)

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = [
            ("userId", self.player_id), ("gameId", "g1"), ("roundId", "r1"), ("amount", "1.00"),
            ("reference", "b1"), ("token", "tok"),
            ("timestamp", str(int(self.clock.seconds() * 1000))),
        ]  # fmt: skip
        return [*pairs, ("hash", pragmatic_hash(dict(pairs), self.secret))]

    def payload(self) -> bytes:
        return _pairs_text(self._pairs(), None).encode()

    def request(
        self,
        payload: bytes | None = None,
        *,
        mangle: Mapping[str, Mangle] | None = None,
        wire_body: bytes | None = None,
    ) -> ProviderRequest:
        body = _pairs_text(self._pairs(), mangle).encode() if payload is None else payload
        return _request("bet.html", body if wire_body is None else wire_body)

    def with_lone_surrogate(self, payload: bytes, code: int) -> bytes:
        return _form_lone_surrogate(payload, b"userId=p1", code)

    def answer(self, response: Any) -> str:
        return f"{response.status} {orjson.loads(response.body)['error']}"


class EvolutionWire(_JsonBody):
    instance = "evolution"
    player_id = "u-42"
    currency = "EUR"
    credentials = ("authToken",)
    refusals = frozenset({"200 INVALID_TOKEN_ID", "200 INVALID_PARAMETER"})
    internal_error = "200 UNKNOWN_ERROR"
    token = "evolution-hostile-input-token"

    def __init__(self, clock: FakeClock) -> None:
        pass

    def build(self, context: AdapterContext) -> ProviderAdapter:
        return evolution.EvolutionAdapter(context)

    def secrets(self) -> dict[str, bytes]:
        return {"auth_token": self.token.encode()}

    async def setup(self, make_player: MakePlayer, make_session: MakeSession) -> None:
        await make_player(self.player_id, real=BALANCE_MINOR)
        await make_session("sid-1", self.player_id, provider=self.instance)

    def payload(self) -> bytes:
        return (
            b'{"sid":"sid-1","userId":"u-42","uuid":"req-1","currency":"EUR","game":{"id":"r-1",'
            b'"details":{"table":{"id":"tbl-1"}}},"transaction":{"id":"tx-1","refId":"ref-1",'
            b'"amount":5.0}}'
        )

    def request(
        self,
        payload: bytes | None = None,
        *,
        mangle: Mapping[str, Mangle] | None = None,
        wire_body: bytes | None = None,
    ) -> ProviderRequest:
        token = (mangle or {}).get("authToken", str)(self.token)
        body = self.payload() if payload is None else payload
        return _request(
            "debit",
            body if wire_body is None else wire_body,
            query_string=_pairs_text([("authToken", token)], None),
            query={"authToken": token},  # as yarl hands it over: surrogates and all
        )

    def answer(self, response: Any) -> str:
        return f"{response.status} {json.loads(response.body)['status']}"


class SoftswissWire(_JsonCode):
    instance = "softswiss"
    player_id = "42"
    currency = "EUR"
    credentials = ("X-REQUEST-SIGN",)
    refusals = frozenset({"403 403", "400 400"})
    internal_error = "500 500"
    key = b"softswiss-hostile-input-key"

    def __init__(self, clock: FakeClock) -> None:
        pass

    def build(self, context: AdapterContext) -> ProviderAdapter:
        return softswiss.SoftswissAdapter(context)

    def secrets(self) -> dict[str, bytes]:
        return {"auth_token": self.key}

    async def setup(self, make_player: MakePlayer, make_session: MakeSession) -> None:
        await make_player(self.player_id, real=BALANCE_MINOR)
        await make_session("sess-1", self.player_id, provider=self.instance)

    def payload(self) -> bytes:
        return orjson.dumps(
            {"user_id": self.player_id, "session_id": "sess-1", "currency": "EUR", "game": "g",
             "game_id": "r-1", "finished": False,
             "actions": [{"action": "bet", "amount": 100, "action_id": "a-1"}]}
        )  # fmt: skip

    def request(
        self,
        payload: bytes | None = None,
        *,
        mangle: Mapping[str, Mangle] | None = None,
        wire_body: bytes | None = None,
    ) -> ProviderRequest:
        body = self.payload() if payload is None else payload
        headers = _headers({"X-REQUEST-SIGN": softswiss_sign(self.key, body)}, mangle)
        return _request("play", body if wire_body is None else wire_body, headers)


@functools.cache
def _betby_secrets() -> dict[str, bytes]:
    return betby.demo_secrets()


class BetbyWire(_JsonCode):
    instance = "betby"
    player_id = "p-7"
    currency = "USD"
    credentials = ("payload",)
    """The JWT in the body is the credential."""
    refusals = frozenset({"400 2004"})
    internal_error = None

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def build(self, context: AdapterContext) -> ProviderAdapter:
        return betby.BetbyAdapter(context)

    def secrets(self) -> dict[str, bytes]:
        return _betby_secrets()

    async def setup(self, make_player: MakePlayer, make_session: MakeSession) -> None:
        await make_player(self.player_id, currency="USD", real=BALANCE_MINOR)
        await make_session("s-9", self.player_id, provider=self.instance, currency="USD")

    def payload(self) -> bytes:
        make = {"amount": 100, "currency": "USD", "player_id": self.player_id, "session_id": "s-9",
                "transaction": {"id": "m-1", "amount": 100, "currency": "USD"}}  # fmt: skip
        return claims_json(make, now_s=self.clock.seconds())

    def request(
        self,
        payload: bytes | None = None,
        *,
        mangle: Mapping[str, Mangle] | None = None,
        wire_body: bytes | None = None,
    ) -> ProviderRequest:
        claims = self.payload() if payload is None else payload
        token = sign_claims(claims, _betby_secrets()["provider_private_key"])
        token = (mangle or {}).get("payload", str)(token)
        body = json.dumps({"payload": token}).encode() if mangle else envelope(token)
        headers = CIMultiDict({"Content-Type": "application/json"})
        return _request("bet/make", body if wire_body is None else wire_body, headers)


class BetsoftWire:
    instance = "betsoft"
    player_id = "42"
    currency = "EUR"
    credentials = ("hash", "userId", "gameSessionId")
    refusals = frozenset({"200 500", "200 301", "200 400"})
    """Bad hash, bad request, invalid token (`gameSessionId` is not signed)."""
    internal_error = "200 399"
    passkey = b"betsoft-hostile-input-key"

    def __init__(self, clock: FakeClock) -> None:
        pass

    def build(self, context: AdapterContext) -> ProviderAdapter:
        return betsoft.BetsoftAdapter(context)

    def secrets(self) -> dict[str, bytes]:
        return {"passkey": self.passkey}

    async def setup(self, make_player: MakePlayer, make_session: MakeSession) -> None:
        await make_player(self.player_id, real=BALANCE_MINOR)
        await make_session("sess-42", self.player_id, provider=self.instance)

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = [
            ("userId", self.player_id), ("bet", "100|b1"), ("isRoundFinished", "false"),
            ("roundId", "77"), ("gameId", "807"), ("gameSessionId", "sess-42"),
        ]  # fmt: skip
        return [*pairs, ("hash", betsoft_hash("betResult", dict(pairs), self.passkey))]

    def payload(self) -> bytes:
        return _pairs_text(self._pairs(), None).encode()

    def request(
        self,
        payload: bytes | None = None,
        *,
        mangle: Mapping[str, Mangle] | None = None,
        wire_body: bytes | None = None,
    ) -> ProviderRequest:
        if payload is None:
            payload = _pairs_text(self._pairs(), mangle).encode()
        query_string = (payload if wire_body is None else wire_body).decode(
            "utf-8", "surrogateescape"
        )  # the raw request line as aiohttp's pure-Python parser hands it over
        try:
            query = parse_query(query_string)
        except Exception:  # noqa: BLE001 -- what the gateway's yarl makes of it does not matter
            query = {}
        return _request("betResult", b"", method="GET", query_string=query_string, query=query)

    def with_lone_surrogate(self, payload: bytes, code: int) -> bytes:
        return _form_lone_surrogate(payload, b"userId=42", code)

    def answer(self, response: Any) -> str:
        body = response.body.decode()
        code = body.partition("<CODE>")[2].partition("</CODE>")[0] or "OK"
        return f"{response.status} {code}"


WIRES: dict[str, type[Wire]] = {
    wire.instance: wire
    for wire in (
        GamegateWire, Hub88Wire, PragmaticWire, EvolutionWire, SoftswissWire, BetbyWire,
        BetsoftWire,
    )
}  # fmt: skip


def build_adapter(
    wire: Wire, service: WalletService, clock: FakeClock, data_dir: Path
) -> ProviderAdapter:
    """The wire's adapter on `service`, with the wire's secrets and default options."""
    return wire.build(adapter_context(wire.instance, service, clock, data_dir, wire.secrets()))


async def total_minor(store: SqliteWalletStore, wire: Wire) -> int:
    """The wire's player's balance, real and bonus."""
    return (await store.balance(wire.player_id, wire.currency)).total_minor
