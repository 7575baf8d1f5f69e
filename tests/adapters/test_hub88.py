"""The Hub88 wallet protocol through the adapter: real RSA-signed bytes, real SQLite store."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict
from structlog.testing import capture_logs

from adapters.conformance.hub88 import CASES, VECTOR_BET_BODY, VECTOR_BET_RESPONSE
from adapters.conformance.kit import render_results
from adapters.providers.base import ProviderRequest, ProviderResponse
from adapters.providers.hub88 import Hub88Adapter, demo_secrets
from adapters.providers.hub88_wire import (
    SIGNATURE_HEADER,
    load_private_key,
    load_public_key,
    sign,
    verify,
)
from adapters.stores.sqlite_store import SqliteWalletStore
from core.model import PlayerStatus
from core.service import WalletService
from core.wallet.records import PlayerRecord
from tests.adapters.direct_transport import adapter_context, run_in_process
from tests.conftest import FakeClock, MakePlayer, MakeSession

INSTANCE = "hub88"
VECTOR_USER = "john12345"
VECTOR_TOKEN = "55b7518e-b89e-11e7-81be-58404eea6d16"


@pytest.fixture(scope="module")
def secrets() -> dict[str, bytes]:
    return demo_secrets()


SIGNED = {"sign_responses": True}


def make_adapter(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: Mapping[str, bytes],
    options: Mapping[str, Any] | None = None,
) -> Hub88Adapter:
    """Signing its answers unless `options` say otherwise: most tests here check them."""
    chosen = SIGNED if options is None else options
    return Hub88Adapter(adapter_context(INSTANCE, service, clock, tmp_path, secrets, chosen))


class Hub88:
    """The provider side: signs bodies with Hub88's private key and sends them."""

    def __init__(self, adapter: Hub88Adapter, secrets: Mapping[str, bytes]) -> None:
        self.adapter = adapter
        self.private_key = load_private_key(secrets["provider_private_key"])
        self.gateway_key = load_public_key(secrets["gateway_public_key"])

    async def send(
        self,
        path: str,
        body: bytes,
        *,
        signature: str | None = None,
        method: str = "POST",
        signed: bool = True,
    ) -> ProviderResponse:
        headers = {"Content-Type": "application/json"}
        if signed:
            headers[SIGNATURE_HEADER] = (
                sign(self.private_key, body) if signature is None else signature
            )
        return await self.adapter.handle(
            ProviderRequest(
                method=method,
                path=path,
                query_string="",
                query={},
                headers=CIMultiDict(headers),
                body=body,
                remote="127.0.0.1",
            )
        )

    async def call(self, path: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        response = await self.send(path, orjson.dumps(fields))
        assert response.status == 200
        answer = orjson.loads(response.body)
        assert isinstance(answer, dict)
        return answer

    def signed_by_gateway(self, response: ProviderResponse) -> bool:
        return verify(self.gateway_key, response.body, response.headers.get(SIGNATURE_HEADER))


def bet(**fields: Any) -> dict[str, Any]:
    return {
        "user": "p1", "transaction_uuid": "bet-1", "supplier_transaction_id": "s-1",
        "token": "tok-1", "round": "r1", "round_closed": False, "request_uuid": "req-1",
        "is_free": False, "game_code": "g1", "currency": "EUR", "bet": "zero",
        "amount": 100000, "meta": {},
    } | fields  # fmt: skip


def win(**fields: Any) -> dict[str, Any]:
    return bet(transaction_uuid="win-1", reference_transaction_uuid="bet-1", amount=250000) | fields


def rollback(**fields: Any) -> dict[str, Any]:
    return {
        "user": "p1", "transaction_uuid": "rb-1", "reference_transaction_uuid": "bet-1",
        "token": "tok-1", "round": "r1", "round_closed": False, "request_uuid": "req-9",
        "game_code": "g1", "meta": {},
    } | fields  # fmt: skip


@pytest.fixture
def adapter(
    service: WalletService, clock: FakeClock, tmp_path: Path, secrets: dict[str, bytes]
) -> Hub88Adapter:
    return make_adapter(service, clock, tmp_path, secrets)


@pytest.fixture
async def hub88(
    adapter: Hub88Adapter,
    secrets: dict[str, bytes],
    make_player: MakePlayer,
    make_session: MakeSession,
) -> Hub88:
    await make_player("p1", real=10_000)
    await make_session("tok-1", "p1", provider=INSTANCE, game_id="g1")
    return Hub88(adapter, secrets)


async def total(store: SqliteWalletStore, player_id: str = "p1", currency: str = "EUR") -> int:
    return (await store.balance(player_id, currency)).total_minor


# -- the F1 wire vector ------------------------------------------------------------------


@pytest.fixture
async def vector(
    adapter: Hub88Adapter,
    secrets: dict[str, bytes],
    make_player: MakePlayer,
    make_session: MakeSession,
) -> Hub88:
    await make_player(VECTOR_USER, real=1_000)  # 10.00 EUR
    await make_session(VECTOR_TOKEN, VECTOR_USER, provider=INSTANCE, game_id="clt_dragonrising")
    return Hub88(adapter, secrets)


async def test_the_f1_bet_is_answered_with_the_documented_bytes_and_balance(
    vector: Hub88, store: SqliteWalletStore
) -> None:
    response = await vector.send("transaction/bet", VECTOR_BET_BODY)
    assert (response.status, response.body) == (200, VECTOR_BET_RESPONSE)
    assert response.content_type == "application/json"
    assert vector.signed_by_gateway(response)
    assert (response.operation, response.outcome, response.player_id) == ("bet", "ok", VECTOR_USER)
    assert await total(store, VECTOR_USER) == 900


async def test_the_f1_bet_sent_again_gets_identical_bytes_and_debits_once(
    vector: Hub88, store: SqliteWalletStore
) -> None:
    first = await vector.send("transaction/bet", VECTOR_BET_BODY)
    again = await vector.send("transaction/bet", VECTOR_BET_BODY)
    assert again.body == first.body == VECTOR_BET_RESPONSE
    assert again.outcome == "replay"
    assert await total(store, VECTOR_USER) == 900


async def test_the_f1_transaction_with_another_amount_is_a_duplicate(
    vector: Hub88, store: SqliteWalletStore
) -> None:
    await vector.send("transaction/bet", VECTOR_BET_BODY)
    other = VECTOR_BET_BODY.replace(b'"amount":100000', b'"amount":200000')
    answer = orjson.loads((await vector.send("transaction/bet", other)).body)
    assert (answer["status"], answer["balance"]) == ("RS_ERROR_DUPLICATE_TRANSACTION", 900000)
    assert await total(store, VECTOR_USER) == 900


async def test_the_f1_body_altered_by_one_byte_fails_the_old_signature(
    vector: Hub88, store: SqliteWalletStore
) -> None:
    signature = sign(vector.private_key, VECTOR_BET_BODY)
    altered = VECTOR_BET_BODY.replace(b'"amount":100000', b'"amount":100001')
    assert len(altered) == len(VECTOR_BET_BODY)
    response = await vector.send("transaction/bet", altered, signature=signature)
    assert response.status == 200
    assert orjson.loads(response.body) == {
        "status": "RS_ERROR_INVALID_SIGNATURE",
        "request_uuid": "583c985f-fee6-4c0e-bbf5-308aad6265af",
    }
    assert response.outcome == "bad_signature"
    assert vector.signed_by_gateway(response)
    assert await total(store, VECTOR_USER) == 1_000


async def test_the_f1_unknown_references_are_does_not_exist_for_wins_and_ok_for_rollbacks(
    vector: Hub88, store: SqliteWalletStore
) -> None:
    fields = orjson.loads(VECTOR_BET_BODY)
    orphan = fields | {"transaction_uuid": "w-1", "reference_transaction_uuid": "nope"}
    answer = await vector.call("transaction/win", orphan)
    assert (answer["status"], answer["balance"]) == ("RS_ERROR_TRANSACTION_DOES_NOT_EXIST", 1000000)
    undo = fields | {"transaction_uuid": "rb-1", "reference_transaction_uuid": "nope"}
    answer = await vector.call("transaction/rollback", undo)
    assert (answer["status"], answer["balance"]) == ("RS_OK", 1000000)
    assert await total(store, VECTOR_USER) == 1_000


def test_signatures_are_deterministic_and_cover_exactly_the_body(secrets: dict[str, bytes]) -> None:
    private = load_private_key(secrets["provider_private_key"])
    public = load_public_key(secrets["provider_public_key"])
    signature = sign(private, VECTOR_BET_BODY)
    assert signature == sign(private, VECTOR_BET_BODY)
    assert verify(public, VECTOR_BET_BODY, signature)
    assert not verify(public, VECTOR_BET_BODY + b" ", signature)
    assert not verify(public, VECTOR_BET_BODY, signature[:-4] + "AAA=")


# -- amounts, types and syntax ------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        (1, "0.00001 EUR is finer than a cent"),
        (99_999, "0.99999 EUR"),
        (-100_000, "negative"),
        ("100000", "a string"),
        (True, "a boolean"),
        (2**63, "beyond int64"),
    ],
)
async def test_an_inexact_or_mistyped_amount_is_wrong_types_and_moves_nothing(
    hub88: Hub88, store: SqliteWalletStore, amount: object, why: str
) -> None:
    answer = await hub88.call("transaction/bet", bet(amount=amount))
    assert answer["status"] == "RS_ERROR_WRONG_TYPES", why
    assert answer["request_uuid"] == "req-1"
    assert await total(store) == 10_000


@pytest.mark.parametrize("raw", [b"100000.0", b"1e5", b"1" + b"0" * 30, b"null"])
async def test_a_raw_json_amount_that_is_no_int64_is_wrong_types(
    hub88: Hub88, store: SqliteWalletStore, raw: bytes
) -> None:
    body = orjson.dumps(bet()).replace(b'"amount":100000', b'"amount":' + raw)
    answer = orjson.loads((await hub88.send("transaction/bet", body)).body)
    assert answer["status"] == "RS_ERROR_WRONG_TYPES"
    assert await total(store) == 10_000


@pytest.mark.parametrize("currency", ["XYZ", "eur", "schmeckles", "USD"])
async def test_an_unknown_or_other_currency_is_wrong_currency(
    hub88: Hub88, store: SqliteWalletStore, currency: str
) -> None:
    answer = await hub88.call("transaction/bet", bet(currency=currency))
    assert answer["status"] == "RS_ERROR_WRONG_CURRENCY"
    assert await total(store) == 10_000


async def test_a_win_in_another_currency_is_wrong_currency_with_the_balance(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    await hub88.call("transaction/bet", bet())
    answer = await hub88.call("transaction/win", win(currency="USD"))
    assert (answer["status"], answer["currency"], answer["balance"]) == (
        "RS_ERROR_WRONG_CURRENCY", "EUR", 9_900_000,
    )  # fmt: skip
    assert await total(store) == 9_900


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'"bet"', b'{"amount": NaN}', b"\xff\xfe", b"[" * 30_000 + b"]" * 30_000],
)
async def test_a_body_that_is_not_a_json_object_is_wrong_syntax(
    adapter: Hub88Adapter, secrets: dict[str, bytes], body: bytes
) -> None:
    response = await Hub88(adapter, secrets).send("transaction/bet", body)
    assert (response.status, orjson.loads(response.body)) == (
        200,
        {"status": "RS_ERROR_WRONG_SYNTAX"},
    )


async def test_a_missing_field_is_wrong_syntax_and_echoes_what_it_can(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    fields = bet()
    del fields["transaction_uuid"]
    answer = await hub88.call("transaction/bet", fields)
    assert answer == {
        "user": "p1", "status": "RS_ERROR_WRONG_SYNTAX", "request_uuid": "req-1",
    }  # fmt: skip
    assert await total(store) == 10_000


async def test_unknown_fields_and_null_flags_do_not_break_parsing(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    fields = bet(round_closed=None, is_free=None, added_in_2030={"x": [1, 2.5]}, is_aggregated=True)
    answer = await hub88.call("transaction/bet", fields)
    assert (answer["status"], answer["balance"]) == ("RS_OK", 9_900_000)
    assert await total(store) == 9_900


async def test_a_get_or_an_unknown_path_is_wrong_syntax_after_the_signature(hub88: Hub88) -> None:
    body = orjson.dumps(bet())
    get = await hub88.send("transaction/bet", body, method="GET")
    unknown = await hub88.send("transaction/refund", body)
    for response in (get, unknown):
        assert orjson.loads(response.body)["status"] == "RS_ERROR_WRONG_SYNTAX"
    assert unknown.operation == "unknown"
    unsigned = await hub88.send("transaction/refund", body, signed=False)
    assert orjson.loads(unsigned.body)["status"] == "RS_ERROR_INVALID_SIGNATURE"


# -- signatures --------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["", "   ", "not base64!", "QUJD", "A" * 344, "éé"], ids=repr)
async def test_a_missing_or_malformed_signature_is_refused_and_logged_without_secrets(
    hub88: Hub88, store: SqliteWalletStore, secrets: dict[str, bytes], signature: str
) -> None:
    with capture_logs() as logs:
        response = await hub88.send("transaction/bet", orjson.dumps(bet()), signature=signature)
    answer = orjson.loads(response.body)
    assert (response.status, answer["status"]) == (200, "RS_ERROR_INVALID_SIGNATURE")
    assert "balance" not in answer
    assert "user" not in answer
    [event] = [e for e in logs if e["event"] == "hub88_request_refused"]
    assert (event["instance"], event["operation"]) == (INSTANCE, "bet")
    assert "X-Hub88-Signature" in event["reason"]
    assert not any(secret.decode() in repr(logs) for secret in secrets.values())
    assert await total(store) == 10_000


async def test_a_request_signed_with_another_key_is_refused(
    hub88: Hub88, store: SqliteWalletStore, secrets: dict[str, bytes]
) -> None:
    body = orjson.dumps(bet())
    forged = sign(load_private_key(secrets["gateway_private_key"]), body)
    response = await hub88.send("transaction/bet", body, signature=forged)
    assert orjson.loads(response.body)["status"] == "RS_ERROR_INVALID_SIGNATURE"
    assert await total(store) == 10_000


async def test_whitespace_key_order_and_unicode_are_verified_over_the_raw_bytes(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    body = (
        '{ "meta":{"n":"ünïcødé ✓ \\u00e9"},\n\t"amount" : 100000 , "currency":"EUR",'
        ' "bet":"zéro 🎰", "game_code":"g1", "is_free":false, "request_uuid":"req-u",'
        ' "round":"r-u", "round_closed":false, "token":"tok-1", "transaction_uuid":"bet-u",'
        ' "user":"p1" }\r\n'
    ).encode()
    response = await hub88.send("transaction/bet", body)
    assert orjson.loads(response.body)["status"] == "RS_OK"
    reserialized = orjson.dumps(orjson.loads(body))
    refused = await hub88.send(
        "transaction/bet", reserialized, signature=sign(hub88.private_key, body)
    )
    assert orjson.loads(refused.body)["status"] == "RS_ERROR_INVALID_SIGNATURE"
    assert await total(store) == 9_900


async def test_a_body_above_the_size_limit_is_refused_before_verification(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    fields = bet(meta={"padding": "x" * 70_000})
    answer = await hub88.call("transaction/bet", fields)
    assert answer == {"status": "RS_ERROR_INVALID_SIGNATURE"}
    assert await total(store) == 10_000


# -- sessions, users and balances ---------------------------------------------------------


async def test_info_returns_the_user_profile_and_balance_the_total(
    hub88: Hub88, make_player: MakePlayer, make_session: MakeSession
) -> None:
    info = await hub88.call("user/info", {"user": "p1", "request_uuid": "req-i"})
    assert info == {
        "user": "p1", "status": "RS_OK", "request_uuid": "req-i",
        "sub_partner_id": "demo", "birth_date": "1990-01-01",
    }  # fmt: skip
    await make_player("p2", real=1_000, bonus=250)
    await make_session("tok-2", "p2", provider=INSTANCE)
    fields = {"user": "p2", "token": "tok-2", "request_uuid": "req-b", "game_code": "g1"}
    balance = await hub88.call("user/balance", fields)
    assert balance == {
        "user": "p2", "status": "RS_OK", "request_uuid": "req-b", "currency": "EUR",
        "balance": 1_250_000,
    }  # fmt: skip


async def test_info_for_an_unknown_or_blocked_user_is_refused(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    unknown = await hub88.call("user/info", {"user": "ghost", "request_uuid": "r"})
    assert unknown["status"] == "RS_ERROR_INVALID_TOKEN"
    blocked = PlayerRecord(
        player_id="p9", brand="demo", jurisdiction="MT", currency="EUR",
        date_of_birth=datetime.date(1990, 1, 1), status=PlayerStatus.SUSPENDED,
    )  # fmt: skip
    await store.create_player(blocked)
    answer = await hub88.call("user/info", {"user": "p9", "request_uuid": "r"})
    assert answer["status"] == "RS_ERROR_USER_DISABLED"


async def test_a_balance_with_an_unknown_or_foreign_token_is_invalid_token(
    hub88: Hub88, make_player: MakePlayer, make_session: MakeSession
) -> None:
    await make_player("p2")
    await make_session("tok-2", "p2", provider=INSTANCE)
    await make_session("tok-other", "p1", provider="another-instance")
    for token in ("nope", "tok-2", "tok-other"):
        fields = {"user": "p1", "token": token, "request_uuid": "r", "game_code": "g1"}
        answer = await hub88.call("user/balance", fields)
        assert answer["status"] == "RS_ERROR_INVALID_TOKEN", token


async def test_a_bet_with_an_unknown_token_is_refused_with_the_balance(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    answer = await hub88.call("transaction/bet", bet(token="nope"))
    assert (answer["status"], answer["balance"]) == ("RS_ERROR_INVALID_TOKEN", 10_000_000)
    assert await total(store) == 10_000


async def test_an_expired_token_refuses_bets_but_pays_wins_rollbacks_and_reads_balance(
    hub88: Hub88, store: SqliteWalletStore, clock: FakeClock
) -> None:
    await hub88.call("transaction/bet", bet())
    await hub88.call("transaction/bet", bet(transaction_uuid="bet-2"))
    clock.advance(3_601)
    late = await hub88.call("transaction/bet", bet(transaction_uuid="bet-3"))
    assert (late["status"], late["balance"]) == ("RS_ERROR_TOKEN_EXPIRED", 9_800_000)
    assert (await hub88.call("transaction/win", win(token="garbage")))["status"] == "RS_OK"
    undo = rollback(reference_transaction_uuid="bet-2")
    assert (await hub88.call("transaction/rollback", undo))["balance"] == 10_150_000
    fields = {"user": "p1", "token": "tok-1", "request_uuid": "r", "game_code": "g1"}
    assert (await hub88.call("user/balance", fields))["status"] == "RS_OK"
    assert await total(store) == 10_150


async def test_insufficient_funds_still_returns_the_balance(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    response = await hub88.send("transaction/bet", orjson.dumps(bet(amount=10_000_000_000)))
    answer = orjson.loads(response.body)
    assert (answer["status"], answer["currency"], answer["balance"]) == (
        "RS_ERROR_NOT_ENOUGH_MONEY", "EUR", 10_000_000,
    )  # fmt: skip
    assert (response.outcome, response.player_id) == ("insufficient_funds", "p1")
    assert await total(store) == 10_000


async def test_a_crypto_balance_finer_than_the_wire_is_floored_never_overstated(
    adapter: Hub88Adapter,
    secrets: dict[str, bytes],
    make_player: MakePlayer,
    make_session: MakeSession,
    store: SqliteWalletStore,
) -> None:
    await make_player("b1", currency="BTC", real=123_456_789)  # 1.23456789 BTC
    await make_session("tok-b", "b1", provider=INSTANCE, currency="BTC")
    hub88 = Hub88(adapter, secrets)
    fields = {"user": "b1", "token": "tok-b", "request_uuid": "r", "game_code": "g1"}
    assert (await hub88.call("user/balance", fields))["balance"] == 123_456
    answer = await hub88.call(
        "transaction/bet", bet(user="b1", token="tok-b", currency="BTC", amount=1)
    )
    assert (answer["status"], answer["balance"]) == ("RS_OK", 123_455)
    assert await total(store, "b1", "BTC") == 123_455_789


# -- money flows ------------------------------------------------------------------------------


async def test_bet_then_win_move_the_balance_and_label_the_response(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    assert (await hub88.call("transaction/bet", bet()))["balance"] == 9_900_000
    response = await hub88.send("transaction/win", orjson.dumps(win(round_closed=True)))
    assert orjson.loads(response.body)["balance"] == 10_150_000
    assert (response.operation, response.outcome, response.player_id) == ("win", "ok", "p1")
    assert await total(store) == 10_150


async def test_a_win_without_a_reference_is_wrong_syntax_and_an_unknown_one_does_not_exist(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    fields = win()
    del fields["reference_transaction_uuid"]
    assert (await hub88.call("transaction/win", fields))["status"] == "RS_ERROR_WRONG_SYNTAX"
    orphan = await hub88.call("transaction/win", win(reference_transaction_uuid="nope"))
    assert orphan["status"] == "RS_ERROR_TRANSACTION_DOES_NOT_EXIST"
    assert await total(store) == 10_000


async def test_a_supplier_promo_win_needs_no_bet_but_a_known_token_of_the_user(
    hub88: Hub88, store: SqliteWalletStore, clock: FakeClock
) -> None:
    promo = win(is_supplier_promo=True, is_free=True, round="promo-r")
    del promo["reference_transaction_uuid"]
    refused = await hub88.call("transaction/win", promo | {"token": "nope"})
    assert refused["status"] == "RS_ERROR_INVALID_TOKEN"
    clock.advance(7_200)  # an expired token is still a known one
    assert (await hub88.call("transaction/win", promo))["balance"] == 10_250_000
    assert await total(store) == 10_250


async def test_a_supplier_promo_bet_passes_an_expired_token_but_not_an_unknown_one(
    hub88: Hub88, store: SqliteWalletStore, clock: FakeClock
) -> None:
    clock.advance(7_200)
    promo = bet(is_supplier_promo=True, is_free=True)
    refused = await hub88.call("transaction/bet", promo | {"token": "nope"})
    assert refused["status"] == "RS_ERROR_INVALID_TOKEN"
    answer = await hub88.call("transaction/bet", promo | {"transaction_uuid": "bet-2"})
    assert (answer["status"], answer["balance"]) == ("RS_OK", 10_000_000)
    plain = await hub88.call("transaction/bet", bet(transaction_uuid="bet-3"))
    assert plain["status"] == "RS_ERROR_TOKEN_EXPIRED"
    assert await total(store) == 10_000


async def test_a_rollback_before_its_bet_is_ok_and_the_late_bet_is_rolled_back(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    first = await hub88.call("transaction/rollback", rollback())
    assert (first["status"], first["balance"]) == ("RS_OK", 10_000_000)
    late = await hub88.call("transaction/bet", bet())
    assert (late["status"], late["balance"]) == ("RS_ERROR_TRANSACTION_ROLLED_BACK", 10_000_000)
    assert await total(store) == 10_000


async def test_a_rollback_of_a_settled_bet_is_refused_and_moves_nothing(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    await hub88.call("transaction/bet", bet())
    await hub88.call("transaction/win", win())
    answer = await hub88.call("transaction/rollback", rollback())
    assert (answer["status"], answer["balance"]) == ("RS_ERROR_UNKNOWN", 10_150_000)
    assert await total(store) == 10_150


async def test_a_rollback_naming_itself_is_wrong_syntax(hub88: Hub88) -> None:
    answer = await hub88.call("transaction/rollback", rollback(reference_transaction_uuid="rb-1"))
    assert answer["status"] == "RS_ERROR_WRONG_SYNTAX"


async def test_a_transaction_uuid_reused_for_another_kind_is_a_duplicate(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    await hub88.call("transaction/bet", bet())
    reused = await hub88.call("transaction/win", win(transaction_uuid="bet-1"))
    assert reused["status"] == "RS_ERROR_DUPLICATE_TRANSACTION"
    assert await total(store) == 9_900


async def test_a_free_bet_is_recorded_without_charge_and_its_win_is_paid(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    assert (await hub88.call("transaction/bet", bet(is_free=True)))["balance"] == 10_000_000
    assert (await hub88.call("transaction/win", win()))["balance"] == 10_250_000
    assert await total(store) == 10_250


# -- options, failures and configuration ---------------------------------------------------


@pytest.mark.parametrize(
    ("options", "free", "balance"),
    [
        ({}, False, 9_900_000),  # the default: answers unsigned
        ({}, True, 10_000_000),  # a free bet costs nothing by default
        ({"sign_responses": False, "charge_free_bets": True}, True, 9_900_000),
    ],
)
async def test_answers_go_unsigned_without_the_gateway_key_and_free_bets_charge_by_option(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    make_player: MakePlayer,
    make_session: MakeSession,
    options: dict[str, Any],
    free: bool,
    balance: int,
) -> None:
    secrets = dict(demo_secrets())
    del secrets["gateway_private_key"]  # not needed when nothing is signed
    hub88 = Hub88(make_adapter(service, clock, tmp_path, secrets, options), secrets)
    await make_player("p1", real=10_000)
    await make_session("tok-1", "p1", provider=INSTANCE, game_id="g1")
    response = await hub88.send("transaction/bet", orjson.dumps(bet(is_free=free)))
    answer = orjson.loads(response.body)
    assert (answer["status"], answer["balance"]) == ("RS_OK", balance)
    assert SIGNATURE_HEADER not in response.headers


async def test_an_unavailable_store_is_rs_error_unknown_on_http_200_never_ok(
    hub88: Hub88, store: SqliteWalletStore
) -> None:
    await store.close()
    with capture_logs() as logs:
        response = await hub88.send("transaction/bet", orjson.dumps(bet()))
    assert (response.status, response.outcome) == (200, "storage_unavailable")
    assert orjson.loads(response.body) == {
        "user": "p1", "status": "RS_ERROR_UNKNOWN", "request_uuid": "req-1",
    }  # fmt: skip
    assert hub88.signed_by_gateway(response)
    assert any(e["event"] == "hub88_retryable_failure" for e in logs)


def test_demo_secrets_are_fresh_matching_rsa_key_pairs() -> None:
    first, second = demo_secrets(), demo_secrets()
    assert set(first) == {
        "provider_public_key", "provider_private_key", "gateway_private_key",
        "gateway_public_key",
    }  # fmt: skip
    assert first["provider_private_key"] != second["provider_private_key"]
    for side in ("provider", "gateway"):
        signature = sign(load_private_key(first[f"{side}_private_key"]), b"{}")
        assert verify(load_public_key(first[f"{side}_public_key"]), b"{}", signature)


@pytest.mark.parametrize(
    ("options", "drop"),
    [
        ({}, "provider_public_key"),
        ({"sign_responses": True}, "gateway_private_key"),
        ({"sign_responses": "yes"}, ""),
        ({"charge_free_bets": 1}, ""),
        ({"body_bytes_max": 10}, ""),
    ],
)
def test_bad_configuration_fails_at_construction(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    secrets: dict[str, bytes],
    options: dict[str, Any],
    drop: str,
) -> None:
    incomplete = {name: value for name, value in secrets.items() if name != drop}
    with pytest.raises(ValueError, match=r"hub88|needs secret"):
        make_adapter(service, clock, tmp_path, incomplete, options)


def test_a_non_rsa_key_is_refused_at_construction(
    service: WalletService, clock: FakeClock, tmp_path: Path, secrets: dict[str, bytes]
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="RSA"):
        make_adapter(service, clock, tmp_path, {**secrets, "provider_public_key": ec_public})


# -- the conformance script ------------------------------------------------------------------


async def test_the_whole_conformance_script_passes_in_process(
    adapter: Hub88Adapter,
    secrets: dict[str, bytes],
    store: SqliteWalletStore,
    clock: FakeClock,
) -> None:
    results = await run_in_process(INSTANCE, adapter, store, clock, secrets, CASES)
    assert all(result.passed for result in results), render_results(results)
    assert len(results) == len(CASES) >= 20
