"""Betby adapter: the F5 wire vector with its exact claims and answers, token security (alg
confusion, expiry, replay), parsing and mapping edge cases through `handle` with the real
SQLite store, and the whole conformance script."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from multidict import CIMultiDict
from structlog.testing import capture_logs

from adapters.conformance.betby import (
    CASES,
    forge_hs256,
    forge_tampered,
    forge_unsigned,
)
from adapters.conformance.kit import render_results
from adapters.providers.base import AdapterContext, NonceCache, ProviderRequest, ProviderResponse
from adapters.providers.betby import OPERATIONS, BetbyAdapter, demo_secrets
from adapters.providers.betby_wire import claims_json, envelope, sign_claims
from adapters.stores.sqlite_store import SqliteWalletStore
from core.model import PlayerStatus
from core.service import WalletService
from core.wallet.records import PlayerRecord
from tests.adapters.direct_transport import adapter_context, memory_nonce_cache, run_in_process
from tests.adapters.failing_nonces import BuggyNonceCache, UnavailableNonceCache
from tests.conftest import FakeClock, MakePlayer, MakeSession

INSTANCE = "betby"
BET = "1265023428769484821"
"""The F5 vector's make `transaction.id`."""

F5_MAKE_CLAIMS = (
    b'{"payload":{"amount":100,"currency":"USD","player_id":"p-7","session_id":"s-9",'
    b'"transaction":{"id":"1265023428769484821","betslip_id":"1659603658884648961",'
    b'"player_id":"1659299365132570624","operator_id":"op-1","operator_brand_id":"br-1",'
    b'"ext_player_id":"p-7","timestamp":1538654560.2354896,"amount":100,"currency":"USD",'
    b'"operation":"bet"},"betslip":{"id":"1659603658884648961","type":"single","sum":100,'
    b'"k":"2.5","bets":[{"id":"b1","event_id":"e1","odds":"2.5"}]}}}'
)
F5_MAKE_ANSWER = (
    b'{"id":"1265023428769484821","ext_transaction_id":"1265023428769484821",'
    b'"parent_transaction_id":null,"user_id":"p-7","operation":"bet","amount":100,'
    b'"currency":"USD","balance":9900}'
)
F5_WIN_CLAIMS = (
    b'{"payload":{"bet_transaction_id":"1265023428769484821","amount":250,"currency":"USD",'
    b'"is_cashout":false,"transaction":{"id":"w-1","parent_transaction_id":'
    b'"1265023428769484821","operation":"win","amount":250,"currency":"USD"}}}'
)
F5_WIN_ANSWER = (
    b'{"id":"w-1","ext_transaction_id":"w-1","parent_transaction_id":"1265023428769484821",'
    b'"user_id":"p-7","operation":"win","amount":250,"currency":"USD","balance":10150}'
)


# -- helpers -------------------------------------------------------------------------


def _pem_pair(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> tuple[bytes, bytes]:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def _rsa_secrets() -> dict[str, bytes]:
    private, public = _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return {"provider_private_key": private, "provider_public_key": public}


def _context(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: Mapping[str, bytes],
    options: Mapping[str, Any] | None = None,
    nonces: NonceCache | None = None,
) -> AdapterContext:
    def nonce_cache(*, window_s: float) -> NonceCache:
        return memory_nonce_cache(window_s=window_s) if nonces is None else nonces

    return adapter_context(INSTANCE, service, clock, tmp_path, secrets, options, nonce_cache)


class Betby:
    """The provider side of one adapter: signs claims with its key and sends them."""

    def __init__(self, adapter: BetbyAdapter, private_key: bytes, clock: FakeClock) -> None:
        self.adapter = adapter
        self.private_key = private_key
        self.clock = clock

    async def send_token(self, path: str, token: str) -> ProviderResponse:
        return await self.send_body(path, envelope(token))

    async def send_body(self, path: str, body: bytes, method: str = "POST") -> ProviderResponse:
        headers = CIMultiDict({"Content-Type": "application/json"})
        return await self.adapter.handle(ProviderRequest(method, path, "", {}, headers, body))

    async def send_claims(
        self, path: str, claims: bytes, *, algorithm: str = "ES256"
    ) -> ProviderResponse:
        return await self.send_token(
            path, sign_claims(claims, self.private_key, algorithm=algorithm)
        )

    async def call(self, path: str, request: Mapping[str, Any], **claims: Any) -> ProviderResponse:
        """`request` under `payload`, issued now; `claims` override `iat`/`exp`/`jti`."""
        raw = orjson.loads(claims_json(request, now_s=self.clock.seconds())) | claims
        return await self.send_claims(path, orjson.dumps(raw))

    def claims(self, request: Mapping[str, Any]) -> bytes:
        return claims_json(request, now_s=self.clock.seconds())


def _make(transaction_id: str = "m-1", amount: int = 100, **fields: Any) -> dict[str, Any]:
    """A make for the F5 world's player `p-7` (USD) with session `s-9`."""
    request: dict[str, Any] = {
        "amount": amount,
        "currency": "USD",
        "player_id": "p-7",
        "session_id": "s-9",
        "transaction": {"id": transaction_id, "amount": amount, "currency": "USD"},
    }
    return request | fields


def _settle(
    operation: str,
    transaction_id: str,
    amount: int | None = None,
    bet: str | int = "m-1",
    **fields: Any,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "bet_transaction_id": bet,
        "currency": "USD",
        "transaction": {"id": transaction_id, "operation": operation},
    }
    if amount is not None:
        request["amount"] = amount
    return request | fields


def _json(response: ProviderResponse) -> Any:
    return orjson.loads(response.body)


def _refusal(response: ProviderResponse) -> tuple[int, int]:
    body = _json(response)
    assert isinstance(body["message"], str)
    assert body["message"]
    return response.status, body["code"]


async def _total(store: SqliteWalletStore, player_id: str = "p-7") -> int:
    return (await store.balance(player_id, "USD")).total_minor


@pytest.fixture
def secrets() -> dict[str, bytes]:
    return demo_secrets()


@pytest.fixture
async def betby(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    make_player: MakePlayer,
    make_session: MakeSession,
) -> Betby:
    """The F5 vector's world: player `p-7` with 100.00 USD and session `s-9`."""
    await make_player("p-7", currency="USD", real=10_000)
    await make_session("s-9", "p-7", provider=INSTANCE, currency="USD")
    adapter = BetbyAdapter(_context(service, clock, tmp_path, secrets))
    return Betby(adapter, secrets["provider_private_key"], clock)


# -- the F5 wire vector ------------------------------------------------------------------


def test_the_f5_claims_travel_byte_for_byte_inside_the_signed_token(
    secrets: dict[str, bytes],
) -> None:
    token = sign_claims(F5_MAKE_CLAIMS, secrets["provider_private_key"])
    header, claims, signature = token.split(".")

    assert base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)) == F5_MAKE_CLAIMS
    assert orjson.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"] == (
        "ES256"
    )
    assert len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))) == 64
    assert orjson.loads(envelope(token)) == {"payload": token}


async def test_the_f5_make_and_win_answer_the_documented_bytes(
    betby: Betby, store: SqliteWalletStore
) -> None:
    make = await betby.send_claims("bet/make", F5_MAKE_CLAIMS)

    assert (make.status, make.body) == (200, F5_MAKE_ANSWER)
    assert (make.operation, make.outcome, make.player_id) == ("make", "ok", "p-7")
    assert make.content_type == "application/json"
    assert await _total(store) == 9_900

    win = await betby.send_claims("bet/win", F5_WIN_CLAIMS)

    assert (win.status, win.body) == (200, F5_WIN_ANSWER)
    assert (win.operation, win.outcome, win.player_id) == ("win", "ok", "p-7")
    assert await _total(store) == 10_150


async def test_a_repeated_f5_win_answers_the_same_bytes_and_pays_once(
    betby: Betby, store: SqliteWalletStore
) -> None:
    await betby.send_claims("bet/make", F5_MAKE_CLAIMS)
    await betby.send_claims("bet/win", F5_WIN_CLAIMS)

    again = await betby.send_claims("bet/win", F5_WIN_CLAIMS)

    assert (again.status, again.body, again.outcome) == (200, F5_WIN_ANSWER, "replay")
    assert await _total(store) == 10_150


async def test_a_rollback_after_the_f5_win_restores_9900_and_reopens_the_bet(
    betby: Betby, store: SqliteWalletStore
) -> None:
    await betby.send_claims("bet/make", F5_MAKE_CLAIMS)
    await betby.send_claims("bet/win", F5_WIN_CLAIMS)

    rollback = await betby.call("bet/rollback", _settle("rollback", "rb-1", bet=BET))

    assert rollback.status == 200
    assert _json(rollback) == {
        "id": "rb-1",
        "ext_transaction_id": "rb-1",
        "parent_transaction_id": BET,
        "user_id": "p-7",
        "operation": "rollback",
        "amount": 250,
        "currency": "USD",
        "balance": 9_900,
    }
    assert await _total(store) == 9_900
    lost = await betby.call("bet/lost", _settle("lost", "l-1", bet=BET))
    assert (lost.status, _json(lost)["balance"], _json(lost)["amount"]) == (200, 9_900, 0)
    resettled = await betby.call("bet/win", _settle("win", "w-2", 400, bet=BET))
    assert (_refusal(resettled), await _total(store)) == ((400, 2004), 9_900)


async def test_an_f5_make_over_the_balance_is_the_documented_2001(
    betby: Betby, store: SqliteWalletStore
) -> None:
    response = await betby.call("bet/make", _make(amount=10_001))

    assert (response.status, response.body) == (400, b'{"code":2001,"message":"Not enough money"}')
    assert response.outcome == "insufficient_funds"
    assert await _total(store) == 10_000


async def test_an_f5_win_for_an_unknown_bet_is_2003(betby: Betby, store: SqliteWalletStore) -> None:
    response = await betby.send_claims("bet/win", F5_WIN_CLAIMS)

    assert _refusal(response) == (400, 2003)
    assert response.outcome == "reference_not_found"
    assert await _total(store) == 10_000


async def test_an_f5_discard_of_an_unknown_make_answers_empty_and_blocks_the_late_make(
    betby: Betby, store: SqliteWalletStore
) -> None:
    discard = {"ext_player_id": "p-7", "transaction_id": BET, "reason": "timeout"}

    response = await betby.call("bet/discard", discard)

    assert (response.status, response.body, response.operation) == (200, b"{}", "discard")
    late = await betby.send_claims("bet/make", F5_MAKE_CLAIMS)
    assert _refusal(late) == (400, 2004)
    assert late.outcome == "already_rolled_back"
    assert await _total(store) == 10_000


# -- token security -------------------------------------------------------------------------


async def test_a_token_signed_by_another_key_is_refused_and_logged_without_secrets(
    betby: Betby, store: SqliteWalletStore, secrets: dict[str, bytes]
) -> None:
    other, _ = _pem_pair(ec.generate_private_key(ec.SECP256R1()))
    token = sign_claims(betby.claims(_make()), other)

    with capture_logs() as logs:
        response = await betby.send_token("bet/make", token)

    assert _refusal(response) == (400, 2004)
    assert response.outcome == "bad_signature"
    assert [(log["event"], log["instance"], log["reason"]) for log in logs] == [
        ("betby_token_refused", INSTANCE, "token signature does not match")
    ]
    for secret in (token, secrets["provider_public_key"].decode()[30:90]):
        assert secret not in repr(logs)
    assert await _total(store) == 10_000


async def test_alg_none_and_hs256_keyed_with_the_public_key_are_refused(
    betby: Betby, store: SqliteWalletStore, secrets: dict[str, bytes]
) -> None:
    claims = betby.claims(_make())

    with capture_logs() as logs:
        unsigned = await betby.send_token("bet/make", forge_unsigned(claims))
        confused = await betby.send_token(
            "bet/make", forge_hs256(claims, secrets["provider_public_key"])
        )

    assert [_refusal(unsigned), _refusal(confused)] == [(400, 2004), (400, 2004)]
    assert [log["reason"] for log in logs] == ["token algorithm is not allowed"] * 2
    assert await _total(store) == 10_000


async def test_tampered_claims_with_a_valid_signature_of_other_claims_are_refused(
    betby: Betby, store: SqliteWalletStore
) -> None:
    claims = betby.claims(_make(amount=5_000))
    token = sign_claims(claims, betby.private_key)

    response = await betby.send_token(
        "bet/make", forge_tampered(token, claims.replace(b"5000", b"1"))
    )

    assert _refusal(response) == (400, 2004)
    assert await _total(store) == 10_000


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"payload": 7}', b'{"payload": ""}', b'{"payload": "a.b.c"}'],
)
async def test_a_body_without_a_usable_token_is_refused(
    betby: Betby, store: SqliteWalletStore, body: bytes
) -> None:
    response = await betby.send_body("bet/make", body)

    assert _refusal(response) == (400, 2004)
    assert await _total(store) == 10_000


async def test_an_rs256_instance_accepts_rs256_and_refuses_ec_and_hmac_tokens(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    store: SqliteWalletStore,
    betby: Betby,
) -> None:
    secrets = _rsa_secrets()
    adapter = BetbyAdapter(_context(service, clock, tmp_path, secrets, {"key_type": "RS256"}))
    rs256 = Betby(adapter, secrets["provider_private_key"], clock)

    ec_key, _ = _pem_pair(ec.generate_private_key(ec.SECP256R1()))
    ec_token = sign_claims(rs256.claims(_make("m-1")), ec_key, algorithm="ES256")
    ec_signed = await rs256.send_token("bet/make", ec_token)
    hmac_signed = await rs256.send_token(
        "bet/make", forge_hs256(rs256.claims(_make("m-2")), secrets["provider_public_key"])
    )
    accepted = await rs256.send_claims("bet/make", rs256.claims(_make("m-3")), algorithm="RS256")

    assert [_refusal(ec_signed), _refusal(hmac_signed)] == [(400, 2004), (400, 2004)]
    assert (accepted.status, _json(accepted)["balance"]) == (200, 9_900)
    assert await _total(store) == 9_900


async def test_an_es256_instance_refuses_an_rs256_token(
    betby: Betby, store: SqliteWalletStore
) -> None:
    private = _rsa_secrets()["provider_private_key"]
    token = sign_claims(betby.claims(_make()), private, algorithm="RS256")

    assert _refusal(await betby.send_token("bet/make", token)) == (400, 2004)
    assert await _total(store) == 10_000


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": -301},  # older than max_token_age_s
        {"iat": 31},  # issued in the future beyond the clock skew
        {"iat": 0, "exp": -30},  # expired (with the skew)
        {"iat": 0, "nbf": 31},  # not valid yet
        {"iat": "now"},  # not unix seconds
        {"iat": True},
    ],
)
async def test_stale_future_expired_or_malformed_token_times_are_refused(
    betby: Betby, store: SqliteWalletStore, claims: dict[str, Any]
) -> None:
    now_s = int(betby.clock.seconds())
    shifted = {
        name: value + now_s if type(value) is int else value for name, value in claims.items()
    }

    response = await betby.call("bet/make", _make(), **shifted)

    assert _refusal(response) == (400, 2004)
    assert response.outcome in ("replayed_request", "bad_signature")
    assert await _total(store) == 10_000


@pytest.mark.parametrize(
    "claims", [{"iat": -300}, {"iat": 30}, {"iat": 0, "exp": -29}, {"iat": 1.5, "exp": 60.25}]
)
async def test_token_times_inside_the_limits_are_accepted(
    betby: Betby, store: SqliteWalletStore, claims: dict[str, Any]
) -> None:
    now_s = int(betby.clock.seconds())
    shifted = {name: value + now_s for name, value in claims.items()}

    response = await betby.call("bet/make", _make(), **shifted)

    assert response.status == 200
    assert await _total(store) == 9_900


async def test_a_token_without_times_is_accepted_unless_iat_is_required(
    betby: Betby,
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    store: SqliteWalletStore,
) -> None:
    claims = orjson.dumps({"payload": _make("m-1")})
    strict = BetbyAdapter(_context(service, clock, tmp_path, secrets, {"require_iat": True}))

    refused = await Betby(strict, betby.private_key, clock).send_claims("bet/make", claims)
    accepted = await betby.send_claims("bet/make", claims)

    assert _refusal(refused) == (400, 2004)
    assert accepted.status == 200
    assert await _total(store) == 9_900


async def test_a_reused_jti_is_refused_even_for_another_request(
    betby: Betby, store: SqliteWalletStore
) -> None:
    first = await betby.call("bet/make", _make("m-1"), jti="jti-1")
    second = await betby.call("bet/make", _make("m-2"), jti="jti-1")

    assert first.status == 200
    assert _refusal(second) == (400, 2004)
    assert second.outcome == "replayed_request"
    assert await _total(store) == 9_900


async def test_with_jti_checks_off_an_identical_retry_replays_its_stored_answer(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    store: SqliteWalletStore,
    betby: Betby,
) -> None:
    options = {"reject_reused_jti": False}
    lenient = Betby(
        BetbyAdapter(_context(service, clock, tmp_path, secrets, options)), betby.private_key, clock
    )
    token = sign_claims(betby.claims(_make()), betby.private_key)

    first = await lenient.send_token("bet/make", token)
    again = await lenient.send_token("bet/make", token)

    assert (first.body, again.body, again.outcome) == (first.body, first.body, "replay")
    assert await _total(store) == 9_900


# -- parsing and mapping ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code", "outcome"),
    [
        ({"amount": 1.5}, 2004, "invalid_amount"),
        ({"amount": 100.0}, 2004, "invalid_amount"),
        ({"amount": "100"}, 2004, "invalid_amount"),
        ({"amount": -100}, 2004, "invalid_amount"),
        ({"amount": True}, 2004, "invalid_amount"),
        ({"amount": 0}, 2004, "invalid_amount"),
        ({"amount": 2**63}, 2004, "invalid_amount"),
        ({"amount": 200}, 2004, "invalid_request"),  # transaction.amount says 100
        ({"currency": "EUR"}, 2004, "invalid_request"),  # transaction.currency says USD
        (
            {"currency": "EUR", "transaction": {"id": "m-1", "currency": "EUR"}},
            2002,
            "currency_mismatch",
        ),
        ({"currency": "XXX", "transaction": {"id": "m-1"}}, 2002, "unknown_currency"),
        ({"session_id": "nope"}, 1007, "session_invalid"),
        ({"session_id": None}, 2004, "invalid_request"),
        ({"transaction": None}, 2004, "invalid_request"),
        ({"transaction": {"id": "m-1", "operation": "win"}}, 2004, "invalid_request"),
        ({"transaction": {"id": "m-1", "ext_player_id": "p-8"}}, 2004, "invalid_request"),
        ({"transaction": {"id": ""}}, 2004, "invalid_request"),
        ({"transaction": {"id": "x" * 129}}, 2004, "invalid_request"),
        ({"player_id": "nobody"}, 2004, "player_not_found"),
        ({"bonus_type": "freebet_freemoney", "bonus_id": "bn-1"}, 2004, "invalid_request"),
    ],
)
async def test_malformed_or_unacceptable_makes_are_refused_and_move_nothing(
    betby: Betby, store: SqliteWalletStore, fields: dict[str, Any], code: int, outcome: str
) -> None:
    response = await betby.call("bet/make", _make() | fields)

    assert _refusal(response) == (400, code)
    assert response.outcome == outcome
    assert await _total(store) == 10_000


async def test_a_bonus_make_says_why_it_is_refused(betby: Betby) -> None:
    response = await betby.call("bet/make", _make(bonus_type="comboboost"))

    assert _json(response)["message"] == (
        "Bad request: bonus bets are not supported (bonus_type comboboost)"
    )


async def test_numeric_ids_and_unknown_fields_are_accepted(
    betby: Betby, store: SqliteWalletStore
) -> None:
    request = _make(transaction={"id": 42, "amount": 100, "novel": [1]}, potential_win=250)

    response = await betby.call("bet/make", request | {"surprise": {"a": None}})

    assert (response.status, _json(response)["id"]) == (200, "42")
    win = await betby.call("bet/win", _settle("win", "w-1", 50, bet=42))
    assert (win.status, _json(win)["parent_transaction_id"]) == (200, "42")
    assert await _total(store) == 9_950


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (PlayerStatus.SUSPENDED, 1005, "account_suspended"),
        (PlayerStatus.CLOSED, 1005, "account_closed"),
        (PlayerStatus.SELF_EXCLUDED, 1006, "self_excluded"),
    ],
)
async def test_players_who_may_not_bet_get_their_codes(
    betby: Betby,
    store: SqliteWalletStore,
    make_session: MakeSession,
    status: PlayerStatus,
    code: int,
    outcome: str,
) -> None:
    player = PlayerRecord("p-x", "demo", "MT", "USD", datetime.date(1990, 1, 1), status=status)
    await store.create_player(player)
    await make_session("s-x", "p-x", provider=INSTANCE, currency="USD")

    response = await betby.call("bet/make", _make(player_id="p-x", session_id="s-x"))

    assert (_refusal(response), response.outcome) == ((400, code), outcome)


async def test_an_expired_session_refuses_makes_but_settlements_need_none(
    betby: Betby, store: SqliteWalletStore
) -> None:
    await betby.call("bet/make", _make("m-1"))
    betby.clock.advance(3_601)

    refused = await betby.call("bet/make", _make("m-2"))
    paid = await betby.call("bet/win", _settle("win", "w-1", 300))

    assert (_refusal(refused), refused.outcome) == ((400, 1007), "session_expired")
    assert (paid.status, _json(paid)["balance"]) == (200, 10_200)
    assert await _total(store) == 10_200


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (_settle("win", "w-1"), 2004),  # a win needs its amount
        (_settle("win", "w-1", 250, currency="EUR"), 2002),
        (_settle("win", "w-1", 250, currency="XXX"), 2002),
        (_settle("win", "w-1", 250, ext_player_id="p-8"), 2004),
        (_settle("win", "w-1", -1), 2004),
        (_settle("lost", "l-1", transaction={"id": "l-1", "operation": "win"}), 2004),
        (_settle("win", "w-1", 250, bet="m-unknown"), 2003),
        (_settle("refund", "rf-1", 99), 2004),  # a refund returns the whole stake
    ],
)
async def test_unacceptable_settlements_are_refused_and_move_nothing(
    betby: Betby, store: SqliteWalletStore, request_: dict[str, Any], code: int
) -> None:
    await betby.call("bet/make", _make())
    path = f"bet/{request_['transaction']['operation']}"

    response = await betby.call(path, request_)

    assert _refusal(response) == (400, code)
    assert await _total(store) == 9_900


async def test_a_refund_without_an_amount_returns_the_stake(
    betby: Betby, store: SqliteWalletStore
) -> None:
    await betby.call("bet/make", _make(amount=300))

    response = await betby.call("bet/refund", _settle("refund", "rf-1", reason="void"))

    assert (response.status, _json(response)["amount"], _json(response)["balance"]) == (
        200,
        300,
        10_000,
    )
    assert await _total(store) == 10_000


async def test_a_discard_of_another_players_bet_is_refused(
    betby: Betby, store: SqliteWalletStore, make_player: MakePlayer
) -> None:
    await make_player("p-8", currency="USD", real=10)
    await betby.call("bet/make", _make())

    discard = {"ext_player_id": "p-8", "transaction_id": "m-1"}
    response = await betby.call("bet/discard", discard)

    assert _refusal(response) == (400, 2003)
    assert await _total(store) == 9_900


async def test_commit_and_settlement_answer_empty_and_settlement_closes_the_bet(
    betby: Betby, store: SqliteWalletStore
) -> None:
    await betby.call("bet/make", _make())
    commit = await betby.call("bet/commit", {"bet_transaction_id": "m-1"})
    await betby.call("bet/win", _settle("win", "w-1", 300))

    settlement = await betby.call("bet/settlement", {"bet_transaction_id": "m-1", "status": "won"})
    again = await betby.call("bet/settlement", {"bet_transaction_id": "m-1", "status": "won"})
    rollback = await betby.call("bet/rollback", _settle("rollback", "rb-1"))

    assert [(r.status, r.body) for r in (commit, settlement, again)] == [(200, b"{}")] * 3
    assert (settlement.operation, settlement.player_id, again.outcome) == (
        "settlement",
        "p-7",
        "replay",
    )
    assert (_refusal(rollback), rollback.outcome) == ((400, 2004), "round_closed")
    assert await _total(store) == 10_200


async def test_a_settlement_of_an_open_bet_is_accepted_and_logged(
    betby: Betby, store: SqliteWalletStore
) -> None:
    await betby.call("bet/make", _make())

    with capture_logs() as logs:
        response = await betby.call(
            "bet/settlement", {"bet_transaction_id": "m-1", "status": "won"}
        )

    assert (response.status, response.body) == (200, b"{}")
    assert [log["event"] for log in logs] == ["betby_settlement_of_open_bet"]
    assert await _total(store) == 9_900


async def test_ping_answers_the_wallet_clock_and_other_routes_are_refused(betby: Betby) -> None:
    ping = await betby.send_body("ping", b"", method="GET")
    unknown = await betby.call("bet/cashout", {"x": 1})
    get_make = await betby.send_body("bet/make", b"", method="GET")

    assert (ping.status, _json(ping), ping.operation) == (200, {"timestamp": 1_800_000_000}, "ping")
    assert (unknown.status, _json(unknown)["code"], unknown.operation) == (404, 2004, "unknown")
    assert _refusal(get_make) == (400, 2004)
    assert {ping.operation, unknown.operation, get_make.operation} <= set(OPERATIONS)


async def test_a_body_above_the_size_limit_is_refused_before_verification(betby: Betby) -> None:
    response = await betby.send_body("bet/make", b" " * (256 * 1024 + 1))

    assert _refusal(response) == (400, 2004)


# -- failures and configuration ----------------------------------------------------------------


async def test_an_unavailable_store_is_a_retryable_500_with_code_5000(
    betby: Betby, store: SqliteWalletStore
) -> None:
    await store.close()

    response = await betby.call("bet/make", _make())

    assert (response.status, _json(response)["code"]) == (500, 5000)
    assert response.outcome == "storage_unavailable"


async def test_a_nonce_store_that_cannot_answer_is_the_retryable_500_never_a_success(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    store: SqliteWalletStore,
    betby: Betby,
) -> None:
    context = _context(service, clock, tmp_path, secrets, nonces=UnavailableNonceCache())
    broken = Betby(BetbyAdapter(context), betby.private_key, clock)

    response = await broken.call("bet/make", _make())

    assert (response.status, _json(response)["code"]) == (500, 5000)
    assert await _total(store) == 10_000


async def test_a_bug_is_left_to_the_gateway_never_answered_as_the_retry_code(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    store: SqliteWalletStore,
    betby: Betby,
) -> None:
    context = _context(service, clock, tmp_path, secrets, nonces=BuggyNonceCache())
    buggy = Betby(BetbyAdapter(context), betby.private_key, clock)

    with pytest.raises(RuntimeError, match="a bug"):
        await buggy.call("bet/make", _make())
    assert await _total(store) == 10_000


@pytest.mark.parametrize(
    ("options", "window_s"),
    [({}, 2 * (300 + 30)), ({"max_token_age_s": 60, "clock_skew_s": 0}, 120), (
        {"reject_reused_jti": False}, None)],
)  # fmt: skip
def test_token_ids_are_remembered_for_twice_the_span_a_token_passes(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    options: dict[str, Any],
    window_s: int | None,
) -> None:
    windows: list[float] = []

    def factory(*, window_s: float) -> NonceCache:
        windows.append(window_s)
        return memory_nonce_cache(window_s=window_s)

    BetbyAdapter(adapter_context(INSTANCE, service, clock, tmp_path, secrets, options, factory))
    assert windows == ([] if window_s is None else [window_s])


def test_demo_secrets_are_a_fresh_p256_pair_the_adapter_reads() -> None:
    first, second = demo_secrets(), demo_secrets()
    private = serialization.load_pem_private_key(first["provider_private_key"], password=None)
    public = serialization.load_pem_public_key(first["provider_public_key"])

    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert private.curve.name == "secp256r1"
    assert private.public_key().public_numbers() == public.public_numbers()
    assert first["provider_public_key"] != second["provider_public_key"]


@pytest.mark.parametrize(
    ("options", "secrets_"),
    [
        ({"algorithms": ["HS256"]}, demo_secrets()),
        ({"algorithms": ["none"]}, demo_secrets()),
        ({"algorithms": ["ES256", "HS256"]}, demo_secrets()),
        ({"algorithms": "ES256"}, demo_secrets()),
        ({"algorithms": ["RS256"]}, demo_secrets()),  # nothing fits key_type ES256
        ({"key_type": "HS256"}, demo_secrets()),
        ({"key_type": "RS256"}, demo_secrets()),  # an EC key for RS256
        ({}, _rsa_secrets()),  # an RSA key for ES256
        ({"max_token_age_s": 0}, demo_secrets()),
        ({"clock_skew_s": "30"}, demo_secrets()),
        ({"require_iat": 1}, demo_secrets()),
        ({"game_id": ""}, demo_secrets()),
        ({}, {}),
    ],
)
def test_bad_configuration_fails_at_construction(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    options: dict[str, Any],
    secrets_: dict[str, bytes],
) -> None:
    with pytest.raises(ValueError, match=r"betby|provider_public_key|key"):
        BetbyAdapter(_context(service, clock, tmp_path, secrets_, options))


# -- conformance -----------------------------------------------------------------------------


async def test_the_whole_conformance_script_passes_in_process(
    service: WalletService, store: SqliteWalletStore, clock: FakeClock, tmp_path: Path
) -> None:
    secrets = demo_secrets()
    adapter = BetbyAdapter(_context(service, clock, tmp_path, secrets))
    results = await run_in_process(INSTANCE, adapter, store, clock, secrets, CASES)

    assert len(results) == len(CASES) >= 20
    assert all(result.passed for result in results), render_results(results)


async def test_the_conformance_script_passes_against_an_rs256_instance(
    service: WalletService, store: SqliteWalletStore, clock: FakeClock, tmp_path: Path
) -> None:
    secrets = _rsa_secrets()
    options = {"key_type": "RS256"}
    adapter = BetbyAdapter(_context(service, clock, tmp_path, secrets, options))
    cases = [case for case in CASES if "token" in case.name or "F5 make and win" in case.name]

    results = await run_in_process(INSTANCE, adapter, store, clock, secrets, cases, options)

    assert len(results) >= 4
    assert all(result.passed for result in results), render_results(results)
