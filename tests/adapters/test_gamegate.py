"""The gamegate protocol end to end through the adapter: real signed bytes, real SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict

from adapters.providers.base import AdapterContext, NonceCache, ProviderRequest, ProviderResponse
from adapters.providers.gamegate import GamegateAdapter, demo_secrets
from adapters.providers.gamegate_wire import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    new_nonce,
    request_signature,
    response_signature,
    sign_request,
    verify_response,
)
from adapters.providers.nonces import MemoryNonceCache
from adapters.stores.sqlite_store import SqliteWalletStore
from core.money import CurrencyTable
from core.service import WalletService
from core.wallet.records import SessionRecord
from tests.adapters.direct_transport import adapter_context, memory_nonce_cache
from tests.adapters.failing_nonces import BuggyNonceCache, UnavailableNonceCache
from tests.conftest import FakeClock, MakePlayer, MakeSession

INSTANCE = "gg"


class Provider:
    """The provider side: signs requests with its copy of the key and sends them."""

    def __init__(self, adapter: GamegateAdapter, key: bytes, clock: FakeClock) -> None:
        self.adapter = adapter
        self.key = key
        self.clock = clock
        self.last_nonce = ""

    def headers(self, operation: str, body: bytes) -> dict[str, str]:
        self.last_nonce = new_nonce()
        return sign_request(
            self.key,
            body,
            operation=operation,
            timestamp=int(self.clock.seconds()),
            nonce=self.last_nonce,
        )

    async def send(
        self,
        operation: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        method: str = "POST",
    ) -> ProviderResponse:
        return await self.adapter.handle(
            ProviderRequest(
                method=method,
                path=operation,
                query_string="",
                query={},
                headers=CIMultiDict(self.headers(operation, body) if headers is None else headers),
                body=body,
            )
        )

    async def call(self, operation: str, **fields: Any) -> tuple[int, dict[str, Any]]:
        response = await self.send(operation, orjson.dumps(fields))
        return response.status, orjson.loads(response.body)

    async def bet(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        bet: dict[str, Any] = {
            "session_token": "tok-1",
            "player_id": "p1",
            "transaction_id": "bet-1",
            "round_id": "r1",
            "game_id": "g1",
            "currency": "EUR",
            "amount": 250,
        }
        return await self.call("bet", **(bet | fields))

    async def win(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        win: dict[str, Any] = {
            "player_id": "p1",
            "transaction_id": "win-1",
            "bet_transaction_id": "bet-1",
            "round_id": "r1",
            "game_id": "g1",
            "currency": "EUR",
            "amount": 1_000,
        }
        return await self.call("win", **(win | fields))

    async def rollback(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        rollback = {
            "player_id": "p1",
            "transaction_id": "rb-1",
            "reference_transaction_id": "bet-1",
        }
        return await self.call("rollback", **(rollback | fields))


@pytest.fixture
def secrets() -> dict[str, bytes]:
    return demo_secrets()


@pytest.fixture
def adapter(
    service: WalletService, clock: FakeClock, tmp_path: Path, secrets: dict[str, bytes]
) -> GamegateAdapter:
    return GamegateAdapter(adapter_context(INSTANCE, service, clock, tmp_path, secrets, {}))


@pytest.fixture
async def provider(
    adapter: GamegateAdapter,
    secrets: dict[str, bytes],
    clock: FakeClock,
    make_player: MakePlayer,
    make_session: MakeSession,
) -> Provider:
    """Player p1 with 10.00 EUR real and an open session `tok-1` at the instance."""
    await make_player("p1", real=1_000)
    await make_session("tok-1", "p1", provider=INSTANCE)
    return Provider(adapter, secrets["provider_hmac_key"], clock)


async def real_balance(store: SqliteWalletStore, player_id: str = "p1") -> int:
    return (await store.balance(player_id, "EUR")).real_minor


BET_BODY = orjson.dumps(
    {
        "session_token": "tok-1",
        "player_id": "p1",
        "transaction_id": "bet-1",
        "round_id": "r1",
        "game_id": "g1",
        "currency": "EUR",
        "amount": 250,
    }
)


# -- the happy path ---------------------------------------------------------------


async def test_authenticate_bet_win_and_balance_move_money_as_expected(
    provider: Provider, store: SqliteWalletStore
) -> None:
    status, auth = await provider.call("authenticate", session_token="tok-1")
    assert (status, auth["status"], auth["player_id"], auth["currency"]) == (200, "ok", "p1", "EUR")
    assert auth["balance"] == {"currency": "EUR", "real": 1_000, "bonus": 0, "total": 1_000}

    status, bet = await provider.bet()
    assert (status, bet["status"], bet["transaction_id"], bet["replay"]) == (
        200,
        "ok",
        "bet-1",
        False,
    )
    assert bet["balance"]["total"] == 750

    status, win = await provider.win(round_closed=True)
    assert (status, win["status"], win["balance"]["real"]) == (200, "ok", 1_750)
    assert win["wallet_transaction_id"] != bet["wallet_transaction_id"]

    status, balance = await provider.call("balance", player_id="p1", currency="EUR")
    assert (status, balance["balance"]["total"]) == (200, 1_750)
    assert await real_balance(store) == 1_750


async def test_authenticate_answers_the_sessions_reality_check_interval(
    provider: Provider, store: SqliteWalletStore, clock: FakeClock
) -> None:
    """Seconds the player chose at launch, or null for none (`tok-1` asked for none)."""
    now_us = clock.micros()
    checked = SessionRecord("tok-rc", "p1", INSTANCE, "g1", "EUR", now_us + 10**9, now_us,
                            reality_check_s=1_800)  # fmt: skip
    await store.create_session(checked)
    _, auth = await provider.call("authenticate", session_token="tok-rc")
    assert (auth["status"], auth["game_id"], auth["reality_check_s"]) == ("ok", "g1", 1_800)
    _, plain = await provider.call("authenticate", session_token="tok-1")
    assert (plain["status"], plain["reality_check_s"]) == ("ok", None)


async def test_responses_carry_the_metrics_labels_and_the_player_for_logs(
    provider: Provider,
) -> None:
    accepted = await provider.send("bet", BET_BODY)
    replayed = await provider.send("bet", BET_BODY)
    malformed = await provider.send("win", orjson.dumps({"player_id": "p1"}))
    refused = await provider.send("win", orjson.dumps(orjson.loads(BET_BODY) | {"amount": 9}))
    assert (accepted.operation, accepted.outcome, accepted.player_id) == ("bet", "ok", "p1")
    assert (replayed.operation, replayed.outcome) == ("bet", "replay")
    assert (malformed.operation, malformed.outcome) == ("win", "invalid_request")
    assert (refused.outcome, refused.player_id) == ("conflicting_replay", "p1")


async def test_a_response_is_signed_over_its_bytes_and_the_request_nonce(
    provider: Provider,
) -> None:
    response = await provider.send("bet", BET_BODY)
    nonce = provider.last_nonce
    key = provider.key
    assert response.headers[NONCE_HEADER] == nonce
    assert verify_response(key, response.headers, response.body, request_nonce=nonce)
    assert verify_response(key, response.headers, response.body, now_s=provider.clock.seconds())
    lowered = {name.lower(): value for name, value in response.headers.items()}
    assert verify_response(key, lowered, response.body)
    assert not verify_response(key, response.headers, response.body + b" ")
    assert not verify_response(key, response.headers, response.body, request_nonce=new_nonce())
    assert not verify_response(b"other key", response.headers, response.body)
    assert not verify_response(key, response.headers, response.body, now_s=1_900_000_000)


async def test_refusals_are_signed_too(provider: Provider) -> None:
    response = await provider.send("bet", BET_BODY, {TIMESTAMP_HEADER: "1"})
    assert response.status == 401
    assert NONCE_HEADER not in response.headers
    assert verify_response(provider.key, response.headers, response.body, request_nonce="")


async def test_the_documented_signing_test_vector_holds() -> None:
    key = b"gamegate-test-vector-key"
    body = (
        b'{"session_token":"tok-1","player_id":"p1","transaction_id":"bet-1",'
        b'"round_id":"r1","game_id":"g1","currency":"EUR","amount":250}'
    )
    headers = sign_request(
        key, body, operation="bet", timestamp=1_800_000_000, nonce="5f2b9c1e8a7d4e60"
    )
    assert headers[SIGNATURE_HEADER] == (
        "888c5969d9d7a74743ee1d323ce7a59dd7007e292295fc24852f41e44dacc548"
    )
    answer = (
        b'{"status":"ok","transaction_id":"bet-1","wallet_transaction_id":"7","replay":false,'
        b'"balance":{"currency":"EUR","real":750,"bonus":0,"total":750}}'
    )
    assert response_signature(key, answer, timestamp="1800000001", nonce="5f2b9c1e8a7d4e60") == (
        "5c135ee6612c0c807d3ab5f87a0723eee178fef646930ea632192ade8663ed5e"
    )


async def test_unusual_whitespace_key_order_and_unicode_still_verify(
    provider: Provider, store: SqliteWalletStore
) -> None:
    body = (
        '{ "amount" :\t250 ,\n "currency":"EUR", "game_id":"g1", "round_id":"r\\u00e9-☃",'
        ' "transaction_id":"bet-ü", "player_id":"p1", "session_token":"tok-1",'
        ' "note":"extra field, ignored" }\r\n'
    ).encode()
    response = await provider.send("bet", body)
    answer = orjson.loads(response.body)
    assert (response.status, answer["status"], answer["transaction_id"]) == (200, "ok", "bet-ü")
    assert await real_balance(store) == 750


# -- idempotency -------------------------------------------------------------------


async def test_a_replayed_bet_debits_once_and_returns_the_same_transaction(
    provider: Provider, store: SqliteWalletStore
) -> None:
    _, first = await provider.bet()
    _, again = await provider.bet()
    assert again["status"] == "ok"
    assert again["replay"] is True
    assert again["wallet_transaction_id"] == first["wallet_transaction_id"]
    assert await real_balance(store) == 750


async def test_the_same_transaction_id_with_another_amount_is_a_conflict(
    provider: Provider, store: SqliteWalletStore
) -> None:
    await provider.bet()
    status, answer = await provider.bet(amount=300)
    assert (status, answer["status"], answer["code"]) == (200, "error", "conflicting_replay")
    assert answer["balance"]["real"] == 750
    assert await real_balance(store) == 750


async def test_a_transaction_id_names_one_movement_across_operation_kinds(
    provider: Provider, store: SqliteWalletStore
) -> None:
    await provider.bet()
    _, answer = await provider.win(transaction_id="bet-1", bet_transaction_id=None)
    assert answer["code"] == "conflicting_replay"
    assert await real_balance(store) == 750


async def test_insufficient_funds_is_refused_with_the_balance(
    provider: Provider, store: SqliteWalletStore
) -> None:
    status, answer = await provider.bet(amount=1_001)
    assert (status, answer["code"], answer["retryable"]) == (200, "insufficient_funds", False)
    assert answer["balance"] == {"currency": "EUR", "real": 1_000, "bonus": 0, "total": 1_000}
    _, again = await provider.bet(amount=1_001)
    assert (again["code"], again["replay"]) == ("insufficient_funds", True)
    assert await real_balance(store) == 1_000


# -- authenticity ------------------------------------------------------------------


def signed(provider: Provider, operation: str, body: bytes, **changes: str) -> dict[str, str]:
    headers = provider.headers(operation, body)
    headers.update(changes)
    return headers


async def assert_refused_401(
    provider: Provider, store: SqliteWalletStore, headers: dict[str, str], code: str
) -> None:
    response = await provider.send("bet", BET_BODY, headers)
    answer = orjson.loads(response.body)
    assert (response.status, answer["status"], answer["code"]) == (401, "error", code)
    assert await real_balance(store) == 1_000


async def test_a_request_signed_with_another_key_is_refused(
    provider: Provider, store: SqliteWalletStore
) -> None:
    headers = sign_request(
        b"wrong", BET_BODY, operation="bet", timestamp=1_800_000_000, nonce=new_nonce()
    )
    await assert_refused_401(provider, store, headers, "bad_signature")


@pytest.mark.parametrize("header", [TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER])
async def test_a_request_missing_a_signing_header_is_refused(
    provider: Provider, store: SqliteWalletStore, header: str
) -> None:
    headers = signed(provider, "bet", BET_BODY)
    del headers[header]
    await assert_refused_401(provider, store, headers, "bad_signature")


@pytest.mark.parametrize(
    ("header", "value"),
    [(TIMESTAMP_HEADER, "1.8e9"), (TIMESTAMP_HEADER, "-1"), (NONCE_HEADER, "short"),
     (NONCE_HEADER, "has.a.dot.inside"), (SIGNATURE_HEADER, "")],
)  # fmt: skip
async def test_malformed_signing_headers_are_refused(
    provider: Provider, store: SqliteWalletStore, header: str, value: str
) -> None:
    await assert_refused_401(
        provider, store, signed(provider, "bet", BET_BODY, **{header: value}), "bad_signature"
    )


async def test_one_flipped_body_byte_breaks_the_signature(
    provider: Provider, store: SqliteWalletStore
) -> None:
    headers = signed(provider, "bet", BET_BODY)
    tampered = BET_BODY.replace(b'"amount":250', b'"amount":150')
    response = await provider.send("bet", tampered, headers)
    assert (response.status, orjson.loads(response.body)["code"]) == (401, "bad_signature")
    assert await real_balance(store) == 1_000


async def test_a_body_signed_for_one_operation_is_refused_by_another(
    provider: Provider, store: SqliteWalletStore
) -> None:
    headers = signed(provider, "bet", BET_BODY)
    response = await provider.send("win", BET_BODY, headers)
    assert (response.status, orjson.loads(response.body)["code"]) == (401, "bad_signature")
    assert await real_balance(store) == 1_000


async def test_an_uppercase_signature_is_accepted(provider: Provider) -> None:
    headers = signed(provider, "bet", BET_BODY)
    headers[SIGNATURE_HEADER] = headers[SIGNATURE_HEADER].upper()
    assert (await provider.send("bet", BET_BODY, headers)).status == 200


@pytest.mark.parametrize("offset_s", [-301, 301])
async def test_a_timestamp_outside_the_clock_skew_window_is_refused(
    provider: Provider, store: SqliteWalletStore, offset_s: int
) -> None:
    nonce = new_nonce()
    timestamp = int(provider.clock.seconds()) + offset_s
    headers = sign_request(
        provider.key, BET_BODY, operation="bet", timestamp=timestamp, nonce=nonce
    )
    await assert_refused_401(provider, store, headers, "replayed_request")


async def test_a_timestamp_inside_the_window_is_accepted(provider: Provider) -> None:
    timestamp = int(provider.clock.seconds()) - 299
    headers = sign_request(
        provider.key, BET_BODY, operation="bet", timestamp=timestamp, nonce=new_nonce()
    )
    assert (await provider.send("bet", BET_BODY, headers)).status == 200


async def test_a_reused_nonce_is_refused_even_with_a_valid_signature(
    provider: Provider, store: SqliteWalletStore
) -> None:
    headers = signed(provider, "bet", BET_BODY)
    assert (await provider.send("bet", BET_BODY, headers)).status == 200
    second = orjson.dumps(orjson.loads(BET_BODY) | {"transaction_id": "bet-2"})
    again = sign_request(
        provider.key, second, operation="bet", timestamp=int(provider.clock.seconds()),
        nonce=headers[NONCE_HEADER],
    )  # fmt: skip
    response = await provider.send("bet", second, again)
    assert (response.status, orjson.loads(response.body)["code"]) == (401, "replayed_request")
    assert await real_balance(store) == 750


# -- malformed requests -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"session_token": "tok-1", ', "invalid_request"),
        (b"[]", "invalid_request"),
        (b'{"player_id": "p1"}', "invalid_request"),
        (BET_BODY.replace(b'"amount":250', b'"amount":2.5'), "invalid_amount"),
        (BET_BODY.replace(b'"amount":250', b'"amount":250.0'), "invalid_amount"),
        (BET_BODY.replace(b'"amount":250', b'"amount":true'), "invalid_amount"),
        (BET_BODY.replace(b'"amount":250', b'"amount":"250"'), "invalid_amount"),
        (BET_BODY.replace(b'"amount":250', b'"amount":-250'), "invalid_amount"),
        (BET_BODY.replace(b'"amount":250', b'"amount":9223372036854775808'), "invalid_amount"),
        (BET_BODY.replace(b'"EUR"', b'"XXX"'), "unknown_currency"),
        (BET_BODY.replace(b'"EUR"', b'"eur"'), "unknown_currency"),
        (BET_BODY.replace(b'"tok-1"', b"1"), "invalid_request"),
    ],
)
async def test_malformed_bets_are_refused_with_400_and_change_nothing(
    provider: Provider, store: SqliteWalletStore, body: bytes, code: str
) -> None:
    response = await provider.send("bet", body)
    answer = orjson.loads(response.body)
    assert (response.status, answer["status"], answer["code"]) == (400, "error", code)
    assert await real_balance(store) == 1_000


async def test_an_unknown_operation_and_a_get_are_refused(provider: Provider) -> None:
    timestamp, nonce = str(int(provider.clock.seconds())), new_nonce()
    signature = request_signature(
        provider.key, b"{}", timestamp=timestamp, nonce=nonce, operation="withdraw"
    )
    headers = {TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce, SIGNATURE_HEADER: signature}
    unknown = await provider.send("withdraw", b"{}", headers)
    get = await provider.send("balance", orjson.dumps({"player_id": "p1"}), method="GET")
    assert (unknown.status, unknown.operation) == (400, "unknown")
    assert (get.status, orjson.loads(get.body)["code"]) == (400, "invalid_request")


async def test_a_body_above_the_size_limit_is_refused_before_verification(
    provider: Provider,
) -> None:
    response = await provider.send("bet", b" " * (256 * 1024 + 1), {})
    assert (response.status, orjson.loads(response.body)["code"]) == (400, "invalid_request")


async def test_a_balance_in_another_currency_is_a_mismatch(provider: Provider) -> None:
    status, answer = await provider.call("balance", player_id="p1", currency="USD")
    assert (status, answer["code"], answer["balance"]["total"]) == (200, "currency_mismatch", 1_000)


async def test_an_unknown_session_or_player_is_refused(provider: Provider) -> None:
    _, auth = await provider.call("authenticate", session_token="nope")
    _, balance = await provider.call("balance", player_id="nobody")
    assert (auth["code"], balance["code"]) == ("session_invalid", "player_not_found")


# -- wins, rollbacks, rounds ---------------------------------------------------------


async def test_a_win_without_a_bet_is_refused_but_a_promo_win_is_paid(
    provider: Provider, store: SqliteWalletStore
) -> None:
    _, orphan = await provider.win(bet_transaction_id="missing", round_id="r9")
    assert orphan["code"] == "reference_not_found"
    assert await real_balance(store) == 1_000
    _, promo = await provider.win(
        transaction_id="promo-1", bet_transaction_id=None, round_id="r9", kind="promo", amount=500
    )
    assert (promo["status"], promo["balance"]["total"]) == ("ok", 1_500)


async def test_a_rollback_of_a_bet_restores_the_balance(
    provider: Provider, store: SqliteWalletStore
) -> None:
    await provider.bet()
    _, answer = await provider.rollback()
    assert (answer["status"], answer["reference_found"], answer["balance"]["real"]) == (
        "ok",
        True,
        1_000,
    )
    _, again = await provider.rollback()
    assert (again["replay"], again["reference_found"]) == (True, True)
    assert await real_balance(store) == 1_000


async def test_a_rollback_before_its_bet_leaves_a_tombstone_that_refuses_the_bet(
    provider: Provider, store: SqliteWalletStore
) -> None:
    _, rollback = await provider.rollback()
    assert (rollback["status"], rollback["reference_found"]) == ("ok", False)
    _, late = await provider.bet()
    assert (late["status"], late["code"]) == ("error", "already_rolled_back")
    assert await real_balance(store) == 1_000


async def test_a_rollback_after_the_win_settled_the_bet_is_refused(
    provider: Provider, store: SqliteWalletStore
) -> None:
    await provider.bet()
    await provider.win()
    _, answer = await provider.rollback()
    assert answer["code"] == "already_settled"
    assert await real_balance(store) == 1_750


async def test_a_rollback_naming_itself_is_refused(provider: Provider) -> None:
    status, answer = await provider.rollback(reference_transaction_id="rb-1")
    assert (status, answer["code"]) == (400, "invalid_request")


async def test_a_bet_after_the_round_closed_is_refused(
    provider: Provider, store: SqliteWalletStore
) -> None:
    await provider.bet()
    status, closed = await provider.call("close-round", player_id="p1", round_id="r1")
    assert (status, closed["status"], closed["balance"]["real"]) == (200, "ok", 750)
    _, late = await provider.bet(transaction_id="bet-2")
    assert late["code"] == "round_closed"
    assert await real_balance(store) == 750


async def test_a_zero_win_settles_the_loss_and_closes_the_round(
    provider: Provider, store: SqliteWalletStore
) -> None:
    await provider.bet()
    _, loss = await provider.win(amount=0, round_closed=True)
    assert (loss["status"], loss["balance"]["real"]) == ("ok", 750)
    _, late = await provider.bet(transaction_id="bet-2")
    assert late["code"] == "round_closed"
    _, rollback = await provider.rollback()
    assert rollback["code"] == "already_settled"
    assert await real_balance(store) == 750


async def test_an_expired_session_refuses_bets_but_still_pays_wins(
    provider: Provider, store: SqliteWalletStore
) -> None:
    await provider.bet()
    provider.clock.advance(3_601)
    _, refused = await provider.bet(transaction_id="bet-2")
    assert (refused["code"], refused["balance"]["real"]) == ("session_expired", 750)
    _, paid = await provider.win()
    assert (paid["status"], paid["balance"]["real"]) == ("ok", 1_750)
    assert await real_balance(store) == 1_750


# -- batches ---------------------------------------------------------------------------


async def test_a_batch_applies_a_bet_and_its_win_together(
    provider: Provider, store: SqliteWalletStore
) -> None:
    operations = [
        {"op": "bet", "transaction_id": "b1", "round_id": "r1", "game_id": "g1",
         "currency": "EUR", "amount": 300},
        {"op": "win", "transaction_id": "w1", "bet_transaction_id": "b1", "round_id": "r1",
         "game_id": "g1", "currency": "EUR", "amount": 900, "round_closed": True},
    ]  # fmt: skip
    status, answer = await provider.call(
        "batch", session_token="tok-1", player_id="p1", operations=operations
    )
    assert (status, answer["status"], answer["replay"], answer["balance"]["real"]) == (
        200,
        "ok",
        False,
        1_600,
    )
    assert [result["op"] for result in answer["results"]] == ["bet", "win"]
    _, again = await provider.call(
        "batch", session_token="tok-1", player_id="p1", operations=operations
    )
    assert (again["replay"], again["balance"]["real"]) == (True, 1_600)
    assert await real_balance(store) == 1_600


async def test_a_batch_whose_second_operation_fails_applies_nothing(
    provider: Provider, store: SqliteWalletStore
) -> None:
    operations = [
        {"op": "bet", "transaction_id": "b1", "round_id": "r1", "game_id": "g1",
         "currency": "EUR", "amount": 300},
        {"op": "bet", "transaction_id": "b2", "round_id": "r1", "game_id": "g1",
         "currency": "EUR", "amount": 800},
    ]  # fmt: skip
    status, answer = await provider.call(
        "batch", session_token="tok-1", player_id="p1", operations=operations
    )
    assert (status, answer["code"], answer["balance"]["real"]) == (200, "insufficient_funds", 1_000)
    assert await real_balance(store) == 1_000
    _, alone = await provider.bet(transaction_id="b1", amount=300)
    assert (alone["status"], alone["replay"]) == ("ok", False)


async def test_a_batch_with_a_rollback_reports_whether_the_reference_was_found(
    provider: Provider, store: SqliteWalletStore
) -> None:
    await provider.bet()
    operations = [
        {"op": "rollback", "transaction_id": "rb-1", "reference_transaction_id": "bet-1"},
        {"op": "rollback", "transaction_id": "rb-2", "reference_transaction_id": "never"},
    ]
    _, answer = await provider.call("batch", player_id="p1", operations=operations)
    assert [result["reference_found"] for result in answer["results"]] == [True, False]
    assert await real_balance(store) == 1_000


@pytest.mark.parametrize(
    "batch",
    [
        {"player_id": "p1", "operations": []},
        {"player_id": "p1", "operations": [{"op": "withdraw", "transaction_id": "x"}]},
        {"player_id": "p1", "operations": [
            {"op": "bet", "transaction_id": "b1", "round_id": "r1", "game_id": "g1",
             "currency": "EUR", "amount": 1}]},
        {"player_id": "p1", "session_token": "tok-1", "operations": [
            {"op": "rollback", "transaction_id": "x", "reference_transaction_id": "y"},
            {"op": "rollback", "transaction_id": "x", "reference_transaction_id": "z"}]},
    ],
)  # fmt: skip
async def test_malformed_batches_are_refused(
    provider: Provider, store: SqliteWalletStore, batch: dict[str, Any]
) -> None:
    status, answer = await provider.call("batch", **batch)
    assert (status, answer["code"]) == (400, "invalid_request")
    assert await real_balance(store) == 1_000


# -- failure and configuration -----------------------------------------------------------


async def test_an_unavailable_store_is_a_retryable_503(
    provider: Provider, store: SqliteWalletStore
) -> None:
    await store.close()
    response = await provider.send("bet", BET_BODY)
    answer = orjson.loads(response.body)
    assert (response.status, answer["code"], answer["retryable"]) == (
        503,
        "storage_unavailable",
        True,
    )
    assert verify_response(provider.key, response.headers, response.body)


def test_demo_secrets_give_both_sides_the_same_fresh_key() -> None:
    first, second = demo_secrets(), demo_secrets()
    assert first["hmac_key"] == first["provider_hmac_key"]
    assert len(first["hmac_key"]) == 64
    assert int(first["hmac_key"], 16) >= 0
    assert first["hmac_key"] != second["hmac_key"]


@pytest.mark.parametrize(
    ("options", "secrets_"),
    [({"clock_skew_s": 0}, demo_secrets()), ({"clock_skew_s": "300"}, demo_secrets()), ({}, {})],
)
def test_bad_configuration_fails_at_construction(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    options: dict[str, Any],
    secrets_: dict[str, bytes],
) -> None:
    context = AdapterContext(
        instance=INSTANCE, options=options, secrets=secrets_, service=service,
        currencies=CurrencyTable(), clock_s=clock.seconds,
        nonce_cache=memory_nonce_cache, data_dir=tmp_path,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"gamegate|hmac_key"):
        GamegateAdapter(context)


def test_the_request_signature_covers_timestamp_nonce_operation_and_body() -> None:
    base = {"timestamp": "1800000000", "nonce": "abcdefgh", "operation": "bet"}
    reference = request_signature(b"k", b"{}", **base)
    for name, value in [("timestamp", "1800000001"), ("nonce", "abcdefgi"), ("operation", "win")]:
        assert request_signature(b"k", b"{}", **(base | {name: value})) != reference
    assert request_signature(b"k", b"{ }", **base) != reference


def _with_nonces(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    cache: NonceCache,
) -> Provider:
    def factory(*, window_s: float) -> NonceCache:
        return cache

    context = adapter_context(INSTANCE, service, clock, tmp_path, secrets, {}, factory)
    return Provider(GamegateAdapter(context), secrets["provider_hmac_key"], clock)


async def test_a_nonce_store_that_cannot_answer_is_a_signed_retryable_503(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    store: SqliteWalletStore,
    make_player: MakePlayer,
) -> None:
    await make_player("p1", real=1_000)
    provider = _with_nonces(service, clock, tmp_path, secrets, UnavailableNonceCache())
    response = await provider.send("bet", BET_BODY)
    answer = orjson.loads(response.body)
    assert (response.status, answer["code"], answer["retryable"]) == (
        503,
        "storage_unavailable",
        True,
    )
    assert verify_response(provider.key, response.headers, response.body)
    assert await real_balance(store) == 1_000


async def test_a_bug_is_left_to_the_gateway_never_answered_as_a_retryable_503(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    store: SqliteWalletStore,
    make_player: MakePlayer,
) -> None:
    await make_player("p1", real=1_000)
    provider = _with_nonces(service, clock, tmp_path, secrets, BuggyNonceCache())
    with pytest.raises(RuntimeError, match="a bug"):
        await provider.send("bet", BET_BODY)
    assert await real_balance(store) == 1_000


@pytest.mark.parametrize("clock_skew_s", [1, 300, 3600])
def test_nonces_are_remembered_for_twice_the_clock_skew(
    service: WalletService, clock: FakeClock, tmp_path: Path, clock_skew_s: int
) -> None:
    windows: list[float] = []

    def factory(*, window_s: float) -> MemoryNonceCache:
        windows.append(window_s)
        return MemoryNonceCache(window_s=window_s, entries_max=10)

    options = {"clock_skew_s": clock_skew_s}
    context = adapter_context(INSTANCE, service, clock, tmp_path, demo_secrets(), options, factory)
    GamegateAdapter(context)
    assert windows == [2 * clock_skew_s]


async def test_a_request_stamped_at_the_future_edge_stays_refused_while_it_could_pass(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    store: SqliteWalletStore,
    make_player: MakePlayer,
) -> None:
    await make_player("p1", real=1_000)
    context = adapter_context(INSTANCE, service, clock, tmp_path, secrets, {"clock_skew_s": 3600})
    provider = Provider(GamegateAdapter(context), secrets["provider_hmac_key"], clock)
    body = orjson.dumps({"player_id": "p1"})
    headers = sign_request(
        provider.key, body, operation="balance", timestamp=int(clock.seconds()) + 3600,
        nonce=new_nonce(),
    )  # fmt: skip
    assert (await provider.send("balance", body, headers)).status == 200
    start_s = clock.now_s
    for elapsed_s in (918, 3600, 7200):  # the timestamp passes until +7200 s
        clock.now_s = start_s + elapsed_s
        replayed = await provider.send("balance", body, headers)
        assert (replayed.status, orjson.loads(replayed.body)["code"]) == (
            401,
            "replayed_request",
        ), elapsed_s


async def test_a_full_nonce_memory_refuses_as_retryable_and_counts_until_nonces_expire(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    store: SqliteWalletStore,
    make_player: MakePlayer,
) -> None:
    await make_player("p1", real=1_000)
    caches: list[MemoryNonceCache] = []

    def factory(*, window_s: float) -> MemoryNonceCache:
        caches.append(MemoryNonceCache(window_s=window_s, entries_max=2))
        return caches[-1]

    context = adapter_context(INSTANCE, service, clock, tmp_path, secrets, {}, factory)
    provider = Provider(GamegateAdapter(context), secrets["provider_hmac_key"], clock)
    body = orjson.dumps({"player_id": "p1"})
    assert [(await provider.send("balance", body)).status for _ in range(2)] == [200, 200]

    refused = await provider.send("balance", body)
    answer = orjson.loads(refused.body)
    assert (refused.status, answer["code"], answer["retryable"]) == (
        503, "storage_unavailable", True,
    )  # fmt: skip
    assert verify_response(provider.key, refused.headers, refused.body)
    assert (caches[0].entries, caches[0].full_refusals_total) == (2, 1)

    clock.advance(2 * 300 + 1)  # both nonces' timestamps can no longer pass
    assert (await provider.send("balance", body)).status == 200
    assert (caches[0].entries, caches[0].full_refusals_total) == (1, 1)
    assert await real_balance(store) == 1_000
