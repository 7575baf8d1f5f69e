"""SoftSwiss adapter: the F4 wire vectors bit-exactly, parsing and mapping edge cases
through `handle` with the real SQLite store, and the whole conformance script."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict
from structlog.testing import capture_logs

from adapters.conformance.kit import Case, CaseResult, render_results
from adapters.conformance.softswiss import (
    CASES,
    F4_BET_BODY,
    F4_BET_SIGNATURE,
    F4_KEY,
    F4_ROLLBACK_BODY,
    F4_ROLLBACK_SIGNATURE,
)
from adapters.providers.base import ProviderRequest, ProviderResponse
from adapters.providers.softswiss import OPERATIONS, SoftswissAdapter, demo_secrets
from adapters.providers.softswiss_wire import sign
from adapters.stores.sqlite_store import SqliteWalletStore
from core.model import PlayerStatus
from core.money import CurrencyTable
from core.service import WalletService
from core.wallet.records import PlayerRecord
from tests.adapters.direct_transport import adapter_context, run_in_process
from tests.conftest import FakeClock, MakePlayer, MakeSession

INSTANCE = "softswiss"
R1 = "round-1"
"""The F4 vector's round."""


def _adapter(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    *,
    key: bytes = F4_KEY,
    options: Mapping[str, Any] | None = None,
) -> SoftswissAdapter:
    return SoftswissAdapter(
        adapter_context(INSTANCE, service, clock, tmp_path, {"auth_token": key}, options or {})
    )


def _request(
    path: str,
    body: bytes,
    *,
    key: bytes = F4_KEY,
    signature: str | None = None,
    method: str = "POST",
) -> ProviderRequest:
    headers: CIMultiDict[str] = CIMultiDict({"Content-Type": "application/json"})
    value = sign(key, body) if signature is None else signature
    if value:
        headers["X-REQUEST-SIGN"] = value
    return ProviderRequest(method, path, "", {}, headers, body, "127.0.0.1")


def _json(response: ProviderResponse) -> dict[str, Any]:
    parsed = orjson.loads(response.body)
    assert isinstance(parsed, dict)
    return parsed


def _play(actions: list[dict[str, Any]], *, round_id: str = "r-1", **fields: Any) -> bytes:
    body: dict[str, Any] = {
        "user_id": "42",
        "session_id": "sess-1",
        "currency": "EUR",
        "game": "acme:fruit",
        "game_id": round_id,
        "finished": False,
        "actions": actions,
    }
    body.update(fields)
    return orjson.dumps(body)


async def _total(store: SqliteWalletStore, player_id: str = "42", currency: str = "EUR") -> int:
    return (await store.balance(player_id, currency)).total_minor


@pytest.fixture
async def adapter(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    make_player: MakePlayer,
    make_session: MakeSession,
) -> SoftswissAdapter:
    """The F4 vector's world: player "42" with 100.00 EUR and session "sess-1"."""
    await make_player("42", real=10_000)
    await make_session("sess-1", "42", provider=INSTANCE)
    return _adapter(service, clock, tmp_path)


# -- wire vectors ------------------------------------------------------------------


def test_the_f4_vector_bodies_produce_the_documented_hmacs() -> None:
    assert len(F4_BET_BODY) == 172
    assert sign(F4_KEY, F4_BET_BODY) == F4_BET_SIGNATURE
    assert sign(F4_KEY, F4_ROLLBACK_BODY) == F4_ROLLBACK_SIGNATURE


async def test_the_f4_bet_and_rollback_vectors_answer_the_documented_shapes(
    adapter: SoftswissAdapter, store: SqliteWalletStore, clock: FakeClock
) -> None:
    response = await adapter.handle(_request("play", F4_BET_BODY, signature=F4_BET_SIGNATURE))

    assert response.status == 200
    body = _json(response)
    assert list(body) == ["balance", "game_id", "transactions"]
    assert body["balance"] == 9900
    assert body["game_id"] == "round-1"
    [tx] = body["transactions"]
    assert tx["action_id"] == "a-1"
    assert isinstance(tx["tx_id"], str)
    assert tx["tx_id"]
    processed = datetime.datetime.fromisoformat(tx["processed_at"])
    assert processed.timestamp() == pytest.approx(clock.seconds(), abs=0.001)
    assert (response.operation, response.outcome, response.player_id) == ("bet", "ok", "42")
    assert await _total(store) == 9900

    response = await adapter.handle(
        _request("rollback", F4_ROLLBACK_BODY, signature=F4_ROLLBACK_SIGNATURE)
    )

    assert response.status == 200
    body = _json(response)
    assert body["balance"] == 10000
    assert body["game_id"] == "round-1"
    assert [t["action_id"] for t in body["transactions"]] == ["rb-1"]
    assert body["transactions"][0]["tx_id"] != tx["tx_id"]
    assert response.operation == "rollback"
    assert await _total(store) == 10000


async def test_a_replayed_f4_bet_answers_the_original_tx_id_and_debits_once(
    adapter: SoftswissAdapter, store: SqliteWalletStore
) -> None:
    first = _json(await adapter.handle(_request("play", F4_BET_BODY)))
    response = await adapter.handle(_request("play", F4_BET_BODY))

    assert response.status == 200
    assert response.outcome == "replay"
    assert _json(response)["transactions"][0]["tx_id"] == first["transactions"][0]["tx_id"]
    assert await _total(store) == 9900


async def test_a_wrong_or_missing_signature_is_the_documented_403_and_is_logged(
    adapter: SoftswissAdapter, store: SqliteWalletStore
) -> None:
    with capture_logs() as logs:
        wrong = await adapter.handle(_request("play", F4_BET_BODY, key=b"other"))
        missing = await adapter.handle(_request("play", F4_BET_BODY, signature=""))

    for response in (wrong, missing):
        assert response.status == 403
        assert orjson.loads(response.body) == {"code": 403, "message": "Forbidden", "balance": None}
        assert response.outcome == "bad_signature"
    assert [(log["event"], log["instance"], log["reason"]) for log in logs] == [
        ("softswiss_signature_refused", INSTANCE, "mismatch"),
        ("softswiss_signature_refused", INSTANCE, "missing"),
    ]
    assert all(F4_KEY.decode() not in repr(log) for log in logs)
    assert await _total(store) == 10000


async def test_a_bet_above_the_balance_is_code_100_with_the_balance_and_http_412(
    adapter: SoftswissAdapter, store: SqliteWalletStore
) -> None:
    await adapter.handle(_request("play", F4_BET_BODY))

    response = await adapter.handle(
        _request("play", _play([{"action": "bet", "amount": 9901, "action_id": "a-2"}]))
    )

    assert response.status == 412
    assert _json(response) == {
        "code": 100,
        "message": "Player has not enough funds",
        "balance": 9900,
    }
    assert response.outcome == "insufficient_funds"
    assert await _total(store) == 9900


# -- parsing and mapping -------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [b"1.5", b"100.0", b"1E2", b'"100"', b"-1", b"true", b"null", b"NaN", b"Infinity",
     b"9223372036854775808", b"1" * 5000],
)  # fmt: skip
async def test_an_amount_that_is_not_a_non_negative_integer_is_a_400_and_moves_nothing(
    adapter: SoftswissAdapter, store: SqliteWalletStore, amount: bytes
) -> None:
    body = F4_BET_BODY.replace(b'"amount":100', b'"amount":' + amount)

    response = await adapter.handle(_request("play", body))

    assert response.status == 400
    assert _json(response)["code"] == 400
    assert await _total(store) == 10000


async def test_a_bet_refused_in_a_batch_leaves_its_win_unapplied(
    adapter: SoftswissAdapter, store: SqliteWalletStore
) -> None:
    body = _play(
        [
            {"action": "bet", "amount": 20_000, "action_id": "b-1"},
            {"action": "win", "amount": 50_000, "action_id": "w-1"},
        ],
        finished=True,
    )

    response = await adapter.handle(_request("play", body))

    assert _json(response)["code"] == 100
    assert response.operation == "bet_win"
    assert await _total(store) == 10000
    win_alone = _play([{"action": "win", "amount": 50_000, "action_id": "w-1"}])
    assert _json(await adapter.handle(_request("play", win_alone)))["code"] == 404
    assert await _total(store) == 10000


async def test_repeated_action_ids_in_one_request_are_a_400(
    adapter: SoftswissAdapter, store: SqliteWalletStore
) -> None:
    body = _play(
        [
            {"action": "bet", "amount": 100, "action_id": "x"},
            {"action": "win", "amount": 100, "action_id": "x"},
        ]
    )
    rollback = _play(
        [{"action": "rollback", "action_id": "same", "original_action_id": "same"}],
        finished=True,
    )

    assert _json(await adapter.handle(_request("play", body)))["code"] == 400
    assert _json(await adapter.handle(_request("rollback", rollback)))["code"] == 400
    assert await _total(store) == 10000


async def test_a_player_whose_account_is_blocked_cannot_bet_but_is_paid(
    adapter: SoftswissAdapter,
    store: SqliteWalletStore,
    make_player: MakePlayer,
    make_session: MakeSession,
) -> None:
    await adapter.handle(_request("play", F4_BET_BODY))
    await store.create_player(
        PlayerRecord(
            "blocked", "demo", "MT", "EUR", datetime.date(1990, 1, 1), status=PlayerStatus.SUSPENDED
        )
    )
    await make_session("sess-b", "blocked", provider=INSTANCE)
    body = _play(
        [{"action": "bet", "amount": 1, "action_id": "b-blocked"}],
        user_id="blocked",
        session_id="sess-b",
    )

    response = await adapter.handle(_request("play", body))

    assert response.status == 412
    assert _json(response) == {"code": 110, "message": "Player is disabled", "balance": 0}
    win = _play([{"action": "win", "amount": 500, "action_id": "w-42"}], round_id="round-1")
    assert _json(await adapter.handle(_request("play", win)))["balance"] == 10400


async def test_the_balance_is_real_plus_bonus_subunits(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    make_player: MakePlayer,
    make_session: MakeSession,
) -> None:
    await make_player("p-kwd", currency="KWD", real=5_000, bonus=3_001)
    await make_session("sess-kwd", "p-kwd", provider=INSTANCE, currency="KWD")
    adapter = _adapter(service, clock, tmp_path)
    body = orjson.dumps({"user_id": "p-kwd", "session_id": "sess-kwd", "currency": "KWD"})

    response = await adapter.handle(_request("play", body))

    assert response.status == 200
    assert _json(response) == {"balance": 8001}
    assert (response.operation, response.outcome) == ("balance", "ok")


async def test_the_business_error_http_status_is_an_option(
    service: WalletService, clock: FakeClock, tmp_path: Path, adapter: SoftswissAdapter
) -> None:
    lenient = _adapter(service, clock, tmp_path, options={"business_error_http_status": 400})
    body = _play([{"action": "bet", "amount": 10_001, "action_id": "big"}])

    response = await lenient.handle(_request("play", body))

    assert response.status == 400
    assert _json(response)["code"] == 100


@pytest.mark.parametrize(
    "options",
    [
        {"business_error_http_status": 200},
        {"business_error_http_status": "412"},
        {"actions_max": 0},
        {"free_round_fields": "issue_id"},
    ],
)
def test_invalid_options_are_refused_at_construction(
    service: WalletService, clock: FakeClock, tmp_path: Path, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="softswiss option"):
        _adapter(service, clock, tmp_path, options=options)


def test_an_instance_without_an_auth_token_is_refused_at_construction(
    service: WalletService, clock: FakeClock, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="auth_token"):
        _adapter(service, clock, tmp_path, key=b"")


async def test_oversized_bodies_wrong_methods_and_unknown_paths_are_refused(
    adapter: SoftswissAdapter, store: SqliteWalletStore
) -> None:
    huge = F4_BET_BODY[:-2] + b',"padding":"' + b"x" * 70_000 + b'"}'

    too_big = await adapter.handle(_request("play", huge))
    wrong_method = await adapter.handle(_request("play", F4_BET_BODY, method="GET"))
    unknown = await adapter.handle(_request("withdraw", F4_BET_BODY))

    assert (too_big.status, _json(too_big)["code"]) == (400, 400)
    assert (wrong_method.status, _json(wrong_method)["code"]) == (404, 404)
    assert (unknown.status, unknown.operation) == (404, "unknown")
    assert await _total(store) == 10000


async def test_a_storage_timeout_is_a_retryable_503_and_the_retry_debits_once(
    store: SqliteWalletStore,
    clock: FakeClock,
    tmp_path: Path,
    adapter: SoftswissAdapter,
) -> None:
    hurried = WalletService(store, CurrencyTable(), clock.micros, store_timeout_s=1e-9)
    impatient = _adapter(hurried, clock, tmp_path)

    response = await impatient.handle(_request("play", F4_BET_BODY))

    assert response.status == 503
    assert _json(response) == {"code": 503, "message": "Service unavailable", "balance": None}
    assert response.outcome == "storage_unavailable"
    retried = await adapter.handle(_request("play", F4_BET_BODY))
    assert retried.status == 200
    assert await _total(store) == 9900


async def test_every_operation_label_is_from_the_fixed_set(
    adapter: SoftswissAdapter,
) -> None:
    requests = [
        _request("play", F4_BET_BODY),
        _request("play", _play([{"action": "win", "amount": 1, "action_id": "w"}], round_id=R1)),
        _request("play", _play([], finished=True)),
        _request("rollback", F4_ROLLBACK_BODY),
        _request("freespins", b'{"session_id":"sess-1","issue_id":"i-1","status":"played"}'),
        _request("play", b"{}", key=b"wrong"),
    ]  # fmt: skip

    labels = [(await adapter.handle(r)).operation for r in requests]

    assert labels == ["bet", "win", "close_round", "rollback", "freespins", "play"]
    assert set(labels) <= set(OPERATIONS)


def test_demo_secrets_are_fresh_and_give_the_provider_the_same_token() -> None:
    first, second = demo_secrets(), demo_secrets()

    assert first["auth_token"] == first["provider_auth_token"]
    assert len(first["auth_token"]) >= 32
    assert first["auth_token"] != second["auth_token"]


# -- conformance ----------------------------------------------------------------------

CORE_GAP_CASE = "a win after the round's bet was rolled back is refused"
"""Fails until `core.wallet.engine` stops counting a rolled-back bet as the round's bet."""


async def _run_script(
    service: WalletService,
    store: SqliteWalletStore,
    clock: FakeClock,
    tmp_path: Path,
    cases: list[Case],
) -> list[CaseResult]:
    secrets = demo_secrets()
    adapter = SoftswissAdapter(adapter_context(INSTANCE, service, clock, tmp_path, secrets, {}))
    return await run_in_process(INSTANCE, adapter, store, clock, secrets, cases)


async def test_the_whole_conformance_script_passes_in_process(
    service: WalletService, store: SqliteWalletStore, clock: FakeClock, tmp_path: Path
) -> None:
    cases = [case for case in CASES if case.name != CORE_GAP_CASE]
    assert len(cases) == len(CASES) - 1

    results = await _run_script(service, store, clock, tmp_path, cases)

    assert all(result.passed for result in results), render_results(results)


async def test_a_win_after_the_rounds_only_bet_was_rolled_back_is_refused(
    service: WalletService, store: SqliteWalletStore, clock: FakeClock, tmp_path: Path
) -> None:
    cases = [case for case in CASES if case.name == CORE_GAP_CASE]

    results = await _run_script(service, store, clock, tmp_path, cases)

    assert [result.passed for result in results] == [True], render_results(results)
