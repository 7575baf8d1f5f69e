"""The Evolution One Wallet adapter: the F3 wire vector, parsing and mapping edge cases,
session rotation, and the whole conformance script, all against the real SQLite store."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import pytest
from multidict import CIMultiDict
from structlog.testing import capture_logs

from adapters.conformance.evolution import CASES
from adapters.conformance.kit import render_results
from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.evolution import EvolutionAdapter, demo_secrets
from adapters.providers.evolution_wire import parse_amount
from adapters.stores.sqlite_store import SqliteWalletStore
from core.catalogue.game import Game
from core.errors import InvalidAmount, StakeAboveLimit
from core.model import Debit, PlayerStatus
from core.money import Currency, CurrencyTable
from core.service import WalletService
from core.wallet.records import PlayerRecord
from core.wallet.store import GuardContext
from tests.adapters.direct_transport import memory_nonce_cache, run_in_process
from tests.conftest import FakeClock, MakePlayer, MakeSession

TOKEN = "s3cr3tV4lu3"
F3_DEBIT = (
    b'{"sid":"sid-1","userId":"u-42","uuid":"req-0001","currency":"EUR","game":{"id":"round-77",'
    b'"type":"blackjack","details":{"table":{"id":"tbl-1","vid":"v-1"}}},'
    b'"transaction":{"id":"tx-1","refId":"ref-1","amount":5.0}}'
)
F3_CREDIT = (
    b'{"sid":"sid-1","userId":"u-42","uuid":"req-0002","currency":"EUR","game":{"id":"round-77",'
    b'"type":"blackjack","details":{"table":{"id":"tbl-1","vid":"v-1"}}},'
    b'"transaction":{"id":"tx-2","refId":"ref-1","amount":10.0}}'
)


def make_adapter(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    options: Mapping[str, Any] | None = None,
    secrets: Mapping[str, bytes] | None = None,
) -> EvolutionAdapter:
    return EvolutionAdapter(
        AdapterContext(
            instance="evolution",
            options=options or {},
            secrets=secrets or {"auth_token": TOKEN.encode()},
            service=service,
            currencies=CurrencyTable(),
            clock_s=clock.seconds,
            nonce_cache=memory_nonce_cache,
            data_dir=tmp_path,
        )
    )


@pytest.fixture
def adapter(service: WalletService, clock: FakeClock, tmp_path: Path) -> EvolutionAdapter:
    return make_adapter(service, clock, tmp_path)


def request(
    operation: str,
    body: bytes | Mapping[str, Any],
    *,
    token: str | None = TOKEN,
    method: str = "POST",
) -> ProviderRequest:
    query_string = urlencode({"authToken": token}) if token is not None else ""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return ProviderRequest(
        method=method,
        path=operation,
        query_string=query_string,
        query=dict(parse_qsl(query_string)),
        headers=CIMultiDict({"Content-Type": "application/json"}),
        body=raw,
        remote="127.0.0.1",
    )


def answer(response: ProviderResponse) -> dict[str, Any]:
    parsed = json.loads(response.body, parse_float=Decimal)
    assert isinstance(parsed, dict)
    return parsed


def money(
    user: str = "u-42",
    sid: str = "sid-1",
    *,
    ref: str = "ref-1",
    tx: str = "tx-1",
    amount: Any = 5,
    currency: str = "EUR",
    uuid: str = "req-x",
) -> dict[str, Any]:
    """A debit/credit/cancel body (orjson writes ints and strings exactly; no floats here)."""
    return {
        "sid": sid,
        "userId": user,
        "uuid": uuid,
        "currency": currency,
        "game": {"id": "round-77", "type": "blackjack", "details": {"table": {"id": "tbl-1"}}},
        "transaction": {"id": tx, "refId": ref, "amount": amount},
    }


async def real_minor(store: SqliteWalletStore, player_id: str = "u-42") -> int:
    return (await store.balance(player_id, "EUR")).real_minor


@pytest.fixture
async def u42(make_player: MakePlayer, make_session: MakeSession) -> PlayerRecord:
    """The F3 vector's player: 100.00 EUR and the session `sid-1`."""
    player = await make_player("u-42", real=10_000)
    await make_session("sid-1", "u-42", provider="evolution", game_id="tbl-1")
    return player


class TestWireVectorF3:
    async def test_the_documented_debit_and_credit_bytes_give_the_documented_answers(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        debit = await adapter.handle(request("debit", F3_DEBIT))
        assert debit.status == 200
        assert (
            debit.body == b'{"status":"OK","balance":95.000000,"bonus":0.000000,"uuid":"req-0001"}'
        )
        assert (debit.operation, debit.outcome, debit.player_id) == ("debit", "ok", "u-42")
        credit = await adapter.handle(request("credit", F3_CREDIT))
        assert credit.body == (
            b'{"status":"OK","balance":105.000000,"bonus":0.000000,"uuid":"req-0002"}'
        )
        assert await real_minor(store) == 10_500

    async def test_the_f3_checks_hold_and_nothing_moves_after_the_win(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        await adapter.handle(request("debit", F3_DEBIT))
        await adapter.handle(request("credit", F3_CREDIT))
        again = await adapter.handle(request("credit", F3_CREDIT))
        assert answer(again)["status"] == "OK"
        assert again.outcome == "replay"
        unknown = answer(await adapter.handle(request("credit", money(ref="ref-x", tx="tx-3"))))
        assert (unknown["status"], unknown["balance"]) == ("BET_DOES_NOT_EXIST", Decimal("105"))
        cancel = answer(await adapter.handle(request("cancel", money(tx="tx-4"))))
        assert cancel["status"] == "BET_ALREADY_SETTLED"
        wrong = await adapter.handle(request("credit", money(tx="tx-5"), token="nope"))
        assert answer(wrong)["status"] == "INVALID_TOKEN_ID"
        assert await real_minor(store) == 10_500

    async def test_a_zero_credit_is_a_loss_that_settles_the_bet(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        await adapter.handle(request("debit", F3_DEBIT))
        lost = answer(await adapter.handle(request("credit", money(tx="tx-2", amount=0))))
        assert (lost["status"], lost["balance"]) == ("OK", Decimal("95"))
        cancel = answer(await adapter.handle(request("cancel", money(tx="tx-3"))))
        assert cancel["status"] == "BET_ALREADY_SETTLED"
        assert await real_minor(store) == 9_500

    async def test_mismatched_sid_and_user_is_invalid_sid_with_nothing_moved(
        self,
        adapter: EvolutionAdapter,
        u42: PlayerRecord,
        make_player: MakePlayer,
        store: SqliteWalletStore,
    ) -> None:
        await make_player("u-43", real=10_000)
        for operation in ("debit", "credit", "cancel", "balance"):
            response = await adapter.handle(request(operation, money(user="u-43", ref="r-9")))
            assert answer(response)["status"] == "INVALID_SID", operation
        assert await real_minor(store) == 10_000
        assert await real_minor(store, "u-43") == 10_000


class TestAuthToken:
    async def test_a_wrong_token_is_refused_before_the_body_is_read(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        with capture_logs() as logs:
            response = await adapter.handle(request("debit", b"{not json", token="s3cr3tV4lu4"))
        assert response.status == 200
        assert answer(response) == {
            "status": "INVALID_TOKEN_ID",
            "balance": Decimal("0"),
            "bonus": Decimal("0"),
        }
        assert response.outcome == "bad_signature"
        [event] = [e for e in logs if e["event"] == "provider_auth_refused"]
        assert (event["instance"], event["reason"]) == ("evolution", "wrong_token")
        assert TOKEN not in repr(logs)
        assert await real_minor(store) == 10_000

    async def test_a_missing_token_is_refused_with_the_configured_http_status(
        self, service: WalletService, clock: FakeClock, tmp_path: Path, u42: PlayerRecord
    ) -> None:
        adapter = make_adapter(service, clock, tmp_path, {"auth_error_http_status": 401})
        with capture_logs() as logs:
            response = await adapter.handle(request("debit", F3_DEBIT, token=None))
        assert (response.status, answer(response)["status"]) == (401, "INVALID_TOKEN_ID")
        assert [e["reason"] for e in logs if e["event"] == "provider_auth_refused"] == [
            "missing_token"
        ]

    def test_an_instance_without_its_token_secret_does_not_start(
        self, service: WalletService, clock: FakeClock, tmp_path: Path
    ) -> None:
        with pytest.raises(ValueError, match="auth_token"):
            make_adapter(service, clock, tmp_path, secrets={"other": b"x"})

    def test_demo_secrets_are_fresh_and_hold_both_halves(self) -> None:
        first, second = demo_secrets(), demo_secrets()
        assert first["auth_token"] == first["provider_auth_token"]
        assert first["auth_token"] != second["auth_token"]


class TestAmounts:
    @pytest.mark.parametrize(
        "amount",
        [
            b"1.005",
            b"0.0000001",
            b"-1",
            b"-0.01",
            b"1e400",
            b"1E-400",
            b"true",
            b"null",
            b'"5.0.0"',
            b'" 5"',
            b"99999999999999999999999999999999999999999",
            b"1.0000000000000000000000000001",
        ],
    )
    async def test_an_inexact_or_invalid_amount_is_refused_and_moves_nothing(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore, amount: bytes
    ) -> None:
        body = F3_DEBIT.replace(b'"amount":5.0', b'"amount":' + amount)
        refused = answer(await adapter.handle(request("debit", body)))
        assert refused == {
            "status": "INVALID_PARAMETER",
            "balance": Decimal("100"),
            "bonus": Decimal("0"),
            "uuid": "req-0001",
        }
        assert await real_minor(store) == 10_000

    @pytest.mark.parametrize("amount", [b"NaN", b"Infinity", b"-Infinity"])
    async def test_non_json_numbers_make_the_whole_body_invalid(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore, amount: bytes
    ) -> None:
        body = F3_DEBIT.replace(b'"amount":5.0', b'"amount":' + amount)
        refused = answer(await adapter.handle(request("debit", body)))
        assert refused["status"] == "INVALID_PARAMETER"
        assert await real_minor(store) == 10_000

    @pytest.mark.parametrize(
        ("amount", "minor"),
        [(b"5", 500), (b"5.00000000", 500), (b'"0.25"', 25), (b"1E+1", 1_000), (b"-0", 0)],
    )
    async def test_exact_amounts_in_any_notation_are_accepted(
        self,
        adapter: EvolutionAdapter,
        u42: PlayerRecord,
        store: SqliteWalletStore,
        amount: bytes,
        minor: int,
    ) -> None:
        body = F3_DEBIT.replace(b'"amount":5.0', b'"amount":' + amount)
        assert answer(await adapter.handle(request("debit", body)))["status"] == "OK"
        assert await real_minor(store) == 10_000 - minor

    def test_the_six_decimal_wire_limit_binds_currencies_with_more_decimals(self) -> None:
        btc = Currency("BTC", 8)
        assert parse_amount(Decimal("0.123456"), btc) == 12_345_600
        with pytest.raises(InvalidAmount):
            parse_amount(Decimal("0.1234567"), btc)

    def test_a_currency_with_fewer_decimals_refuses_what_the_wire_allows(self) -> None:
        with pytest.raises(InvalidAmount):
            parse_amount(Decimal("1.5"), Currency("JPY", 0))
        assert parse_amount(15, Currency("JPY", 0)) == 15

    async def test_balances_keep_every_decimal_of_a_finer_currency(
        self,
        adapter: EvolutionAdapter,
        make_player: MakePlayer,
        make_session: MakeSession,
    ) -> None:
        await make_player("sat", currency="BTC", real=12_345_678)
        await make_session("sid-btc", "sat", provider="evolution", currency="BTC")
        body = {"sid": "sid-btc", "userId": "sat", "uuid": "b", "currency": "BTC"}
        response = await adapter.handle(request("balance", body))
        assert b'"balance":0.12345678,' in response.body

    async def test_unknown_and_foreign_currencies_are_invalid_parameter(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        for currency in ("XYZ", "USD", "eur"):
            response = await adapter.handle(
                request("debit", money(ref=currency, currency=currency))
            )
            assert answer(response)["status"] == "INVALID_PARAMETER", currency
        assert await real_minor(store) == 10_000


class TestParsing:
    @pytest.mark.parametrize(
        "body",
        [
            b"",
            b"[]",
            b'{"sid":"sid-1"}',
            b'{"sid":"sid-1","userId":"u-42","currency":"EUR","game":{"id":"r"}}',
            b'{"sid":"sid-1","userId":"u-42","currency":"EUR","game":{},'
            b'"transaction":{"id":"t","refId":"r","amount":1}}',
            b'{"sid":"sid-1","userId":"u-42","currency":"EUR","game":{"id":"r"},'
            b'"transaction":{"id":"t","refId":"","amount":1}}',
            b'{"sid":"sid-1","userId":"u-42","uuid":7,"currency":"EUR","game":{"id":"r"},'
            b'"transaction":{"id":"t","refId":"r","amount":1}}',
        ],
    )
    async def test_a_malformed_request_is_invalid_parameter(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore, body: bytes
    ) -> None:
        response = await adapter.handle(request("debit", body))
        assert (response.status, answer(response)["status"]) == (200, "INVALID_PARAMETER")
        assert response.outcome == "invalid_request"
        assert await real_minor(store) == 10_000

    async def test_unknown_fields_key_order_and_whitespace_do_not_matter(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        body = (
            b' {"transaction" : {"amount": 5.0, "refId": "ref-1", "id": "tx-1", "new": [1]},\n'
            b'\t"game": {"details": null, "id": "round-77", "type": "bj \xe2\x98\x83"},'
            b' "uuid": "\\u00e9", "userId": "u-42", "currency": "EUR", "sid": "sid-1",'
            b' "channel": {"type": "M"}} '
        )
        response = await adapter.handle(request("debit", body))
        assert answer(response) == {
            "status": "OK",
            "balance": Decimal("95"),
            "bonus": Decimal("0"),
            "uuid": "\u00e9",
        }
        assert await real_minor(store) == 9_500

    async def test_an_unknown_path_or_method_is_refused_without_touching_the_wallet(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        unknown = await adapter.handle(request("withdraw", F3_DEBIT))
        assert (unknown.status, unknown.operation) == (404, "unknown")
        wrong_method = await adapter.handle(request("debit", F3_DEBIT, method="GET"))
        assert (wrong_method.status, answer(wrong_method)["status"]) == (405, "INVALID_PARAMETER")
        assert await real_minor(store) == 10_000

    async def test_an_oversized_body_is_refused(
        self, adapter: EvolutionAdapter, u42: PlayerRecord
    ) -> None:
        body = F3_DEBIT[:-1] + b',"padding":"' + b"x" * 70_000 + b'"}'
        assert answer(await adapter.handle(request("debit", body)))["status"] == "INVALID_PARAMETER"


class TestSettlement:
    async def test_a_repeated_debit_is_one_debit_answered_with_the_configured_status(
        self,
        service: WalletService,
        clock: FakeClock,
        tmp_path: Path,
        u42: PlayerRecord,
        store: SqliteWalletStore,
    ) -> None:
        options = {"duplicate_debit_status": "BET_ALREADY_EXIST"}
        adapter = make_adapter(service, clock, tmp_path, options)
        assert answer(await adapter.handle(request("debit", F3_DEBIT)))["status"] == "OK"
        again = await adapter.handle(request("debit", F3_DEBIT))
        assert (answer(again)["status"], again.outcome) == ("BET_ALREADY_EXIST", "replay")
        other = await adapter.handle(request("debit", money(tx="tx-9", amount=7)))
        assert answer(other)["status"] == "BET_ALREADY_EXIST"
        same_amount_new_id = await adapter.handle(request("debit", money(tx="tx-10", amount=5)))
        assert (answer(same_amount_new_id)["status"], same_amount_new_id.outcome) == (
            "BET_ALREADY_EXIST",
            "conflicting_replay",
        )
        assert await real_minor(store) == 9_500

    async def test_a_cancel_before_its_debit_is_bet_does_not_exist_and_blocks_the_debit(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        cancel = await adapter.handle(request("cancel", money(tx="c-1")))
        assert answer(cancel)["status"] == "BET_DOES_NOT_EXIST"
        assert cancel.outcome == "reference_not_found"
        retried = await adapter.handle(request("cancel", money(tx="c-1")))
        assert answer(retried)["status"] == "BET_DOES_NOT_EXIST"
        late = answer(await adapter.handle(request("debit", F3_DEBIT)))
        assert (late["status"], late["balance"]) == ("FINAL_ERROR_ACTION_FAILED", Decimal("100"))
        assert await real_minor(store) == 10_000

    async def test_a_cancel_refunds_once_and_a_second_cancel_is_already_settled(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        await adapter.handle(request("debit", F3_DEBIT))
        first = answer(await adapter.handle(request("cancel", money(tx="c-1"))))
        assert (first["status"], first["balance"]) == ("OK", Decimal("100"))
        second = answer(await adapter.handle(request("cancel", money(tx="c-2"))))
        assert second["status"] == "BET_ALREADY_SETTLED"
        assert await real_minor(store) == 10_000

    async def test_a_promo_payout_needs_no_bet_and_lands_as_bonus(
        self, adapter: EvolutionAdapter, u42: PlayerRecord, store: SqliteWalletStore
    ) -> None:
        body = {
            "sid": "sid-1",
            "userId": "u-42",
            "uuid": "p",
            "currency": "EUR",
            "game": None,
            "promoTransaction": {"type": "FreeRoundPlayableSpent", "id": "pr-1", "amount": "2.5"},
        }
        for _ in range(2):
            paid = answer(await adapter.handle(request("promo_payout", body)))
            assert (paid["status"], paid["bonus"]) == ("OK", Decimal("2.5"))
        balance = await store.balance("u-42", "EUR")
        assert (balance.real_minor, balance.bonus_minor) == (10_000, 250)

    async def test_a_compliance_refusal_is_a_final_error(
        self,
        store: SqliteWalletStore,
        clock: FakeClock,
        tmp_path: Path,
        u42: PlayerRecord,
    ) -> None:
        class MaxStake:
            def check(
                self,
                debit: Debit,
                context: GuardContext,
                game: Game | None,
            ) -> None:
                if debit.amount_minor > 100:
                    raise StakeAboveLimit("stake above 1.00")

        service = WalletService(store, CurrencyTable(), clock.micros, debit_policies=[MaxStake()])
        adapter = make_adapter(service, clock, tmp_path)
        refused = answer(await adapter.handle(request("debit", F3_DEBIT)))
        assert (refused["status"], refused["balance"]) == (
            "FINAL_ERROR_ACTION_FAILED",
            Decimal("100"),
        )
        assert await real_minor(store) == 10_000

    async def test_a_blocked_player_gets_invalid_sid(
        self,
        adapter: EvolutionAdapter,
        store: SqliteWalletStore,
        make_session: MakeSession,
    ) -> None:
        blocked = PlayerRecord(
            player_id="u-42",
            brand="demo",
            jurisdiction="MT",
            currency="EUR",
            date_of_birth=datetime.date(1990, 1, 1),
            status=PlayerStatus.SUSPENDED,
        )
        await store.create_player(blocked)
        await make_session("sid-1", "u-42", provider="evolution")
        assert answer(await adapter.handle(request("debit", F3_DEBIT)))["status"] == "INVALID_SID"

    async def test_an_unavailable_store_is_a_retryable_temporary_error(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        closed = await SqliteWalletStore.open(tmp_path / "closed.db", clock_us=clock.micros)
        await closed.close()
        service = WalletService(closed, CurrencyTable(), clock.micros)
        adapter = make_adapter(service, clock, tmp_path)
        for operation, body in (("debit", F3_DEBIT), ("credit", F3_CREDIT), ("check", F3_DEBIT)):
            response = await adapter.handle(request(operation, body))
            assert response.status == 200
            refused = answer(response)
            assert (refused["status"], refused["retransmission"]) == ("TEMPORARY_ERROR", True)
            assert response.outcome == "storage_unavailable"


class TestSessions:
    async def test_check_answers_a_new_sid_for_the_same_player_game_and_expiry(
        self,
        adapter: EvolutionAdapter,
        u42: PlayerRecord,
        store: SqliteWalletStore,
        clock: FakeClock,
    ) -> None:
        before = await store.get_session("sid-1")
        assert before is not None
        body = {"sid": "sid-1", "userId": "u-42", "uuid": "c-1", "channel": {"type": "P"}}
        response = await adapter.handle(request("check", body))
        checked = answer(response)
        assert (checked["status"], checked["uuid"]) == ("OK", "c-1")
        assert set(checked) == {"status", "sid", "uuid"}
        old = await store.get_session("sid-1")
        new = await store.get_session(checked["sid"])
        assert old is not None
        assert new is not None
        assert new.token != old.token
        assert (new.player_id, new.provider, new.game_id, new.currency) == (
            "u-42",
            "evolution",
            "tbl-1",
            "EUR",
        )
        assert new.expires_at_us == before.expires_at_us
        assert old.expires_at_us == clock.micros(), "the old sid ends when the new one starts"

    async def test_check_can_give_the_new_sid_a_full_lifetime(
        self,
        service: WalletService,
        clock: FakeClock,
        tmp_path: Path,
        u42: PlayerRecord,
        store: SqliteWalletStore,
    ) -> None:
        adapter = make_adapter(service, clock, tmp_path, {"check_extends_session": True})
        clock.advance(600)
        checked = answer(await adapter.handle(request("check", {"sid": "sid-1", "userId": "u-42"})))
        new = await store.get_session(checked["sid"])
        assert new is not None
        assert new.expires_at_us == clock.micros() + 3_600_000_000
        assert "uuid" not in checked

    async def test_check_hands_out_a_sid_for_the_same_game_and_device(
        self,
        adapter: EvolutionAdapter,
        make_session: MakeSession,
        u42: PlayerRecord,
        store: SqliteWalletStore,
    ) -> None:
        await make_session("sid-m", "u-42", provider="evolution", game_id="tbl-9", device="mobile")
        checked = answer(await adapter.handle(request("check", {"sid": "sid-m", "userId": "u-42"})))
        new = await store.get_session(checked["sid"])
        assert new is not None
        assert (new.game_id, new.device, new.currency) == ("tbl-9", "mobile", "EUR")

    async def test_after_check_the_old_sid_refuses_bets_but_still_carries_their_credits(
        self,
        adapter: EvolutionAdapter,
        u42: PlayerRecord,
        clock: FakeClock,
        store: SqliteWalletStore,
    ) -> None:
        assert answer(await adapter.handle(request("debit", F3_DEBIT)))["status"] == "OK"
        checked = answer(await adapter.handle(request("check", {"sid": "sid-1", "userId": "u-42"})))
        clock.advance(1)
        late = answer(await adapter.handle(request("debit", money(ref="ref-2", tx="tx-3"))))
        assert late["status"] == "INVALID_SID"
        fresh = money(sid=checked["sid"], ref="ref-3", tx="tx-4")
        assert answer(await adapter.handle(request("debit", fresh)))["status"] == "OK"
        won = answer(await adapter.handle(request("credit", F3_CREDIT)))
        assert (won["status"], won["balance"]) == ("OK", Decimal("100"))
        expired_check = await adapter.handle(request("check", {"sid": "sid-1", "userId": "u-42"}))
        assert answer(expired_check)["status"] == "INVALID_SID"
        assert await real_minor(store) == 10_000

    async def test_balance_shows_real_money_unless_configured_to_add_the_bonus(
        self,
        service: WalletService,
        clock: FakeClock,
        tmp_path: Path,
        make_player: MakePlayer,
        make_session: MakeSession,
    ) -> None:
        await make_player("u-42", real=10_000, bonus=550)
        await make_session("sid-1", "u-42", provider="evolution")
        body = {"sid": "sid-1", "userId": "u-42", "uuid": "b", "currency": "EUR"}
        plain = await make_adapter(service, clock, tmp_path).handle(request("balance", body))
        assert plain.body == b'{"status":"OK","balance":100.000000,"bonus":5.500000,"uuid":"b"}'
        summed = make_adapter(service, clock, tmp_path, {"balance_includes_bonus": True})
        total = await summed.handle(request("balance", body))
        assert answer(total)["balance"] == Decimal("105.5")

    @pytest.mark.parametrize(
        "options",
        [
            {"duplicate_debit_status": "BET_ALREADY_SETTLED"},
            {"auth_error_http_status": 500},
            {"auth_error_http_status": "401"},
            {"balance_includes_bonus": "yes"},
            {"check_extends_session": 1},
            {"body_bytes_max": 10},
        ],
    )
    def test_an_invalid_option_stops_startup_with_its_name(
        self, service: WalletService, clock: FakeClock, tmp_path: Path, options: dict[str, Any]
    ) -> None:
        [name] = options
        with pytest.raises(ValueError, match=name):
            make_adapter(service, clock, tmp_path, options)


class TestConformance:
    @pytest.mark.parametrize(
        "options",
        [{}, {"duplicate_debit_status": "BET_ALREADY_EXIST", "auth_error_http_status": 401}],
    )
    async def test_the_whole_conformance_script_passes(
        self,
        service: WalletService,
        store: SqliteWalletStore,
        clock: FakeClock,
        tmp_path: Path,
        options: dict[str, Any],
    ) -> None:
        secrets = demo_secrets()
        adapter = make_adapter(service, clock, tmp_path, options, secrets)
        results = await run_in_process("evolution", adapter, store, clock, secrets, CASES, options)
        assert len(results) == len(CASES) >= 20
        assert all(r.passed for r in results), render_results(results)
