"""The `pragmatic` adapter: F2 wire vectors, parsing and mapping edges, the conformance script."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from adapters.conformance.kit import render_results
from adapters.conformance.pragmatic import (
    CASES,
    F2_BET_BODY,
    F2_BET_HASH,
    F2_BET_HASH_INPUT,
    F2_REFUND_BODY,
    F2_REFUND_HASH,
    F2_SECRET,
)
from adapters.providers.base import ProviderRequest, ProviderResponse
from adapters.providers.pragmatic import PragmaticAdapter, demo_secrets
from adapters.providers.pragmatic_wire import (
    PARAMS_MAX,
    ErrorCode,
    error_code,
    hash_input,
    parse_form,
    request_hash,
    signed_form,
)
from adapters.stores.sqlite_store import SqliteWalletStore
from core.errors import GatewayError, StorageUnavailable
from core.service import WalletService
from tests.adapters.direct_transport import adapter_context, run_in_process
from tests.conftest import FakeClock, MakePlayer, MakeSession

INSTANCE = "pragmatic"
SECRET = b"testKey"
F2_TIME_S = 1482429190.374
"""The F2 vector's `timestamp`, as our clock, so the default replay window accepts it."""


def _adapter(
    service: WalletService, clock: FakeClock, tmp_path: Path, **options: Any
) -> PragmaticAdapter:
    return PragmaticAdapter(
        adapter_context(INSTANCE, service, clock, tmp_path, {"secret_key": SECRET}, options)
    )


@pytest.fixture
def adapter(service: WalletService, clock: FakeClock, tmp_path: Path) -> PragmaticAdapter:
    return _adapter(service, clock, tmp_path)


def _request(path: str, body: bytes, *, method: str = "POST") -> ProviderRequest:
    return ProviderRequest(
        method=method,
        path=path,
        query_string="",
        query={},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=body,
        remote="127.0.0.1",
    )


def _signed(*params: tuple[str, str]) -> bytes:
    return signed_form([("providerId", "PragmaticPlay"), *params], SECRET)


def _bet_body(
    reference: str,
    amount: str,
    *,
    round_id: str = "r1",
    player: str = "p1",
    token: str = "tok",  # noqa: S107 -- a test session token
) -> bytes:
    return _signed(
        ("userId", player), ("gameId", "g1"), ("roundId", round_id), ("amount", amount),
        ("reference", reference), ("token", token),
    )  # fmt: skip


def _result_body(reference: str, amount: str, *, round_id: str = "r1", **extra: str) -> bytes:
    return _signed(
        ("userId", "p1"), ("gameId", "g1"), ("roundId", round_id), ("amount", amount),
        ("reference", reference), *extra.items(),
    )  # fmt: skip


def _json(response: ProviderResponse) -> dict[str, Any]:
    assert response.status == 200
    assert response.content_type == "application/json"
    body = json.loads(response.body, parse_float=Decimal)
    assert isinstance(body, dict)
    return body


async def _total_minor(store: SqliteWalletStore, player_id: str = "p1") -> int:
    balance = await store.balance(player_id, "EUR")
    return balance.real_minor + balance.bonus_minor


@pytest.fixture
async def player(make_player: MakePlayer, make_session: MakeSession) -> str:
    """`p1` with 100.00 EUR and the live session `tok`."""
    await make_player("p1", real=10_000)
    await make_session("tok", "p1", provider=INSTANCE)
    return "p1"


class TestF2Vector:
    def test_the_documented_hash_input_and_hashes_are_reproduced_bit_exactly(self) -> None:
        params = parse_form(F2_BET_BODY)
        assert hash_input(params) + F2_SECRET.decode() == F2_BET_HASH_INPUT
        assert hashlib.md5(F2_BET_HASH_INPUT.encode(), usedforsecurity=False).hexdigest() == (
            "abe424d2b3909e74dc0c77f1829bb8b1"
        )
        assert request_hash(params, F2_SECRET) == F2_BET_HASH == params["hash"]
        refund = parse_form(F2_REFUND_BODY)
        assert request_hash(refund, F2_SECRET) == F2_REFUND_HASH == refund["hash"]

    def test_the_hash_input_is_sorted_decoded_and_leaves_out_blank_values_and_the_hash(
        self,
    ) -> None:
        params = parse_form(b"b=2&empty=&note=a%20b+c&a=%E2%82%AC&hash=x&Z=1%2B1")
        assert hash_input(params) == "Z=1+1&a=€&b=2&note=a b c"
        expected = hashlib.md5(("Z=1+1&a=€&b=2&note=a b c" + "k").encode(), usedforsecurity=False)
        assert request_hash(params, b"k") == expected.hexdigest()

    def test_the_simulator_signs_the_vector_parameters_into_the_documented_bytes(self) -> None:
        pairs = [(k, v) for k, v in parse_form(F2_BET_BODY).items() if k != "hash"]
        assert signed_form(pairs, F2_SECRET) == F2_BET_BODY

    async def test_the_vector_bet_and_refund_get_the_documented_answers(
        self,
        service: WalletService,
        store: SqliteWalletStore,
        clock: FakeClock,
        tmp_path: Path,
        make_player: MakePlayer,
        make_session: MakeSession,
    ) -> None:
        clock.now_s = F2_TIME_S
        await make_player("421", real=10_000)
        await make_session("sess-abc", "421", provider=INSTANCE)
        adapter = _adapter(service, clock, tmp_path)

        bet = await adapter.handle(_request("bet.html", F2_BET_BODY))
        tx_id = _json(bet)["transactionId"]
        assert tx_id
        assert bet.body == (
            b'{"transactionId":"' + tx_id.encode() + b'","currency":"EUR","cash":99.00,'
            b'"bonus":0.00,"usedPromo":0,"error":0,"description":"Success"}'
        )
        assert (bet.operation, bet.outcome, bet.player_id) == ("bet", "ok", "421")
        assert await _total_minor(store, "421") == 9_900

        refund = await adapter.handle(_request("refund.html", F2_REFUND_BODY))
        refund_id = _json(refund)["transactionId"]
        assert refund_id
        assert refund_id != tx_id
        assert refund.body == (
            b'{"transactionId":"' + refund_id.encode() + b'","error":0,"description":"Success"}'
        )
        assert await _total_minor(store, "421") == 10_000

    async def test_the_vector_bet_is_refused_when_its_timestamp_is_outside_the_window(
        self,
        service: WalletService,
        store: SqliteWalletStore,
        clock: FakeClock,
        tmp_path: Path,
        make_player: MakePlayer,
        make_session: MakeSession,
    ) -> None:
        await make_player("421", real=10_000)
        await make_session("sess-abc", "421", provider=INSTANCE)
        with capture_logs() as logs:
            bet = await _adapter(service, clock, tmp_path).handle(_request("bet", F2_BET_BODY))
        assert _json(bet)["error"] == ErrorCode.INVALID_HASH
        assert bet.outcome == "replayed_request"
        assert [log["reason"] for log in logs] == ["replayed_request"]
        assert await _total_minor(store, "421") == 10_000

        no_window = _adapter(service, clock, tmp_path, timestamp_window_s=0)
        assert _json(await no_window.handle(_request("bet", F2_BET_BODY)))["error"] == 0
        assert await _total_minor(store, "421") == 9_900


class TestAuthenticity:
    async def test_a_wrong_hash_is_error_5_logged_without_the_secret_and_moves_nothing(
        self, adapter: PragmaticAdapter, store: SqliteWalletStore, player: str
    ) -> None:
        body = _bet_body("b1", "1.00").rpartition(b"&hash=")[0] + b"&hash=" + b"f" * 32
        with capture_logs() as logs:
            response = await adapter.handle(_request("bet.html", body))
        assert _json(response) == {"error": 5, "description": "Invalid hash code"}
        assert response.outcome == "bad_signature"
        assert len(logs) == 1
        assert logs[0]["event"] == "pragmatic_request_refused"
        assert logs[0]["instance"] == INSTANCE
        assert logs[0]["reason"] == "bad_signature"
        assert SECRET.decode() not in repr(logs)
        assert await _total_minor(store) == 10_000

    async def test_a_value_changed_after_signing_is_error_5(
        self, adapter: PragmaticAdapter, store: SqliteWalletStore, player: str
    ) -> None:
        body = _bet_body("b1", "1.00").replace(b"amount=1.00", b"amount=1.0")
        assert _json(await adapter.handle(_request("bet.html", body)))["error"] == 5
        assert await _total_minor(store) == 10_000

    @pytest.mark.parametrize(
        ("body", "what"),
        [
            (_bet_body("b1", "1.00") + b"&amount=50.00", "a repeated parameter"),
            (b"userId=p1&amount=\xff&hash=00", "bytes that are not UTF-8"),
            (b"userId=p1&note=%ff&hash=00", "a percent escape that is not UTF-8"),
            (b"&".join([b"a%d=1" % i for i in range(PARAMS_MAX + 1)]), "too many parameters"),
            (b"note=" + b"x" * 20_000, "a body over the size limit"),
        ],
    )
    async def test_a_malformed_form_is_error_7_and_moves_nothing(
        self,
        adapter: PragmaticAdapter,
        store: SqliteWalletStore,
        player: str,
        body: bytes,
        what: str,
    ) -> None:
        response = await adapter.handle(_request("bet.html", body))
        assert _json(response)["error"] == ErrorCode.BAD_PARAMETERS, what
        assert await _total_minor(store) == 10_000

    async def test_a_get_request_is_refused(
        self, adapter: PragmaticAdapter, store: SqliteWalletStore, player: str
    ) -> None:
        response = await adapter.handle(_request("bet.html", _bet_body("b1", "1.00"), method="GET"))
        assert _json(response)["error"] == ErrorCode.BAD_PARAMETERS
        assert await _total_minor(store) == 10_000

    async def test_a_configured_provider_id_must_match(
        self,
        service: WalletService,
        store: SqliteWalletStore,
        clock: FakeClock,
        tmp_path: Path,
        player: str,
    ) -> None:
        adapter = _adapter(service, clock, tmp_path, provider_id="OtherStudio")
        response = await adapter.handle(_request("bet.html", _bet_body("b1", "1.00")))
        assert _json(response)["error"] == ErrorCode.BAD_PARAMETERS
        assert await _total_minor(store) == 10_000
        matching = _adapter(service, clock, tmp_path, provider_id="PragmaticPlay")
        response = await matching.handle(_request("bet.html", _bet_body("b1", "1.00")))
        assert _json(response)["error"] == 0
        assert await _total_minor(store) == 9_900


class TestAmountsAndCurrencies:
    @pytest.mark.parametrize(
        "amount", ["1.005", "-1.00", "1e2", "0x10", "1.", ".5", "١", "1.00\n", "+1.00"]
    )
    async def test_an_inexact_or_malformed_amount_is_error_7(
        self, adapter: PragmaticAdapter, store: SqliteWalletStore, player: str, amount: str
    ) -> None:
        response = await adapter.handle(_request("bet.html", _bet_body("b1", amount)))
        body = _json(response)
        assert body["error"] == ErrorCode.BAD_PARAMETERS
        assert body["cash"] == Decimal("100.00")
        assert await _total_minor(store) == 10_000

    async def test_balances_are_rendered_exactly_in_the_currency_s_decimals(
        self,
        adapter: PragmaticAdapter,
        store: SqliteWalletStore,
        make_player: MakePlayer,
        make_session: MakeSession,
    ) -> None:
        await make_player("k", currency="KWD", real=100_000)
        await make_session("tk", "k", provider=INSTANCE, currency="KWD")
        await make_player("j", currency="JPY", real=5_000)
        await make_session("tj", "j", provider=INSTANCE, currency="JPY")

        kwd = await adapter.handle(_request("bet", _bet_body("k1", "1.5", player="k", token="tk")))
        assert b'"currency":"KWD","cash":98.500,"bonus":0.000,' in kwd.body
        jpy = await adapter.handle(
            _request("bet", _bet_body("j1", "100", round_id="rj", player="j", token="tj"))
        )
        assert b'"currency":"JPY","cash":4900,"bonus":0,' in jpy.body
        inexact = await adapter.handle(
            _request("bet", _bet_body("j2", "1.5", round_id="rj", player="j", token="tj"))
        )
        assert _json(inexact)["error"] == ErrorCode.BAD_PARAMETERS
        assert (await store.balance("j", "JPY")).real_minor == 4_900

    async def test_a_bet_paid_partly_with_bonus_money_reports_used_promo(
        self,
        adapter: PragmaticAdapter,
        make_player: MakePlayer,
        make_session: MakeSession,
    ) -> None:
        await make_player("p1", real=100, bonus=500)
        await make_session("tok", "p1", provider=INSTANCE)
        response = await adapter.handle(_request("bet.html", _bet_body("b1", "3.00")))
        assert b'"cash":0.00,"bonus":3.00,"usedPromo":2.00,' in response.body

    async def test_a_currency_other_than_the_wallet_s_is_error_7(
        self, adapter: PragmaticAdapter, store: SqliteWalletStore, player: str
    ) -> None:
        for currency in ("USD", "ZZZ"):
            body = _signed(
                ("userId", "p1"), ("amount", "1.00"), ("reference", f"pw-{currency}"),
                ("currency", currency), ("campaignId", "c"), ("campaignType", "T"),
            )  # fmt: skip
            response = await adapter.handle(_request("promoWin.html", body))
            assert _json(response)["error"] == ErrorCode.BAD_PARAMETERS
        assert await _total_minor(store) == 10_000


class TestRoundsAndOptions:
    async def test_a_result_before_its_bet_stores_no_refusal(
        self, adapter: PragmaticAdapter, store: SqliteWalletStore, player: str
    ) -> None:
        result = _request("result.html", _result_body("w1", "2.00"))
        assert _json(await adapter.handle(result))["error"] == ErrorCode.INTERNAL_RETRY
        assert await store.transactions("p1", limit=10) != []  # the seed deposit only
        assert all(tx.tx_id != "result:w1" for tx in await store.transactions("p1", limit=10))
        await adapter.handle(_request("bet.html", _bet_body("b1", "1.00")))
        assert _json(await adapter.handle(result))["error"] == 0
        assert await _total_minor(store) == 10_100

    async def test_bonus_win_pays_only_in_credit_mode(
        self,
        service: WalletService,
        store: SqliteWalletStore,
        clock: FakeClock,
        tmp_path: Path,
        player: str,
    ) -> None:
        def bonus_win(reference: str) -> ProviderRequest:
            body = _signed(
                ("userId", "p1"), ("gameId", "g1"), ("roundId", "r9"), ("amount", "7.00"),
                ("reference", reference), ("bonusCode", "frb"),
            )  # fmt: skip
            return _request("bonusWin.html", body)

        informational = _adapter(service, clock, tmp_path)
        assert _json(await informational.handle(bonus_win("bw1")))["error"] == 0
        assert await _total_minor(store) == 10_000
        crediting = _adapter(service, clock, tmp_path, bonus_win_mode="credit")
        assert _json(await crediting.handle(bonus_win("bw2")))["error"] == 0
        assert _json(await crediting.handle(bonus_win("bw2")))["error"] == 0
        assert await _total_minor(store) == 10_700

    async def test_promo_win_amount_on_a_result_is_credited_once_in_credit_mode(
        self,
        service: WalletService,
        store: SqliteWalletStore,
        clock: FakeClock,
        tmp_path: Path,
        player: str,
    ) -> None:
        adapter = _adapter(service, clock, tmp_path, result_promo_win_amount="credit")
        await adapter.handle(_request("bet.html", _bet_body("b1", "1.00")))
        result = _request(
            "result.html", _result_body("w1", "1.00", promoWinAmount="5.00", promoWinReference="p")
        )
        body = _json(await adapter.handle(result))
        assert body["error"] == 0
        assert body["cash"] + body["bonus"] == Decimal("105.00")
        assert _json(await adapter.handle(result))["transactionId"] == body["transactionId"]
        assert await _total_minor(store) == 10_500

    async def test_results_can_leave_rounds_open_for_later_bets(
        self,
        service: WalletService,
        store: SqliteWalletStore,
        clock: FakeClock,
        tmp_path: Path,
        player: str,
    ) -> None:
        adapter = _adapter(service, clock, tmp_path, result_closes_round=False)
        await adapter.handle(_request("bet.html", _bet_body("b1", "1.00")))
        await adapter.handle(_request("result.html", _result_body("w1", "0")))
        later = await adapter.handle(_request("bet.html", _bet_body("b2", "1.00")))
        assert _json(later)["error"] == 0
        assert await _total_minor(store) == 9_800

    @pytest.mark.parametrize(
        "options",
        [
            {"bonus_win_mode": "both"},
            {"result_promo_win_amount": True},
            {"result_closes_round": "yes"},
            {"timestamp_window_s": -1},
            {"body_bytes_max": 10},
            {"provider_id": ""},
        ],
    )
    def test_an_invalid_option_stops_startup_naming_it(
        self, service: WalletService, clock: FakeClock, tmp_path: Path, options: dict[str, Any]
    ) -> None:
        with pytest.raises(ValueError, match=next(iter(options))):
            _adapter(service, clock, tmp_path, **options)


class TestErrorMapping:
    def test_every_refusal_has_a_non_zero_code_and_retryable_ones_are_retried(self) -> None:
        def subclasses(cls: type[GatewayError]) -> list[type[GatewayError]]:
            return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

        for cls in subclasses(GatewayError):
            code = error_code(cls("x"), "bet")
            assert code is not ErrorCode.SUCCESS, cls
            if cls.retryable:
                assert code is ErrorCode.INTERNAL_RETRY
                assert error_code(cls("x"), "endRound") is ErrorCode.END_ROUND_RETRY

    async def test_an_unavailable_store_is_100_for_bets_and_130_for_end_round(
        self,
        adapter: PragmaticAdapter,
        store: SqliteWalletStore,
        tmp_path: Path,
        player: str,
    ) -> None:
        await store.close()
        bet = await adapter.handle(_request("bet.html", _bet_body("b1", "1.00")))
        assert _json(bet) == {"error": 100, "description": "Internal server error"}
        assert bet.outcome == StorageUnavailable.reason.value
        end = _signed(("userId", "p1"), ("gameId", "g1"), ("roundId", "r1"))
        assert _json(await adapter.handle(_request("endRound.html", end)))["error"] == 130
        reopened = await SqliteWalletStore.open(tmp_path / "wallet.db")
        try:
            assert (await reopened.balance("p1", "EUR")).real_minor == 10_000
        finally:
            await reopened.close()

    async def test_a_refused_bet_answers_with_the_current_balance(
        self, adapter: PragmaticAdapter, store: SqliteWalletStore, player: str
    ) -> None:
        await adapter.handle(_request("bet.html", _bet_body("b1", "1.00")))
        await adapter.handle(_request("result.html", _result_body("w1", "0")))
        late = _json(await adapter.handle(_request("bet.html", _bet_body("b2", "1.00"))))
        assert late == {
            "currency": "EUR",
            "cash": Decimal("99.00"),
            "bonus": Decimal("0.00"),
            "error": ErrorCode.BET_NOT_ALLOWED,
            "description": "Bet is not allowed",
        }
        assert await _total_minor(store) == 9_900


async def test_the_conformance_script_passes_in_process(
    service: WalletService, store: SqliteWalletStore, clock: FakeClock, tmp_path: Path
) -> None:
    secrets = demo_secrets()
    adapter = PragmaticAdapter(adapter_context(INSTANCE, service, clock, tmp_path, secrets, {}))
    results = await run_in_process(INSTANCE, adapter, store, clock, secrets, CASES)
    assert all(result.passed for result in results), render_results(results)
    assert len(results) == len(CASES)
