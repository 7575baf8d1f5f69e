"""Betsoft adapter: the F6 wire vector bit-exactly, parsing and mapping edge cases through
`handle` with the real SQLite store, and the whole conformance script in-process."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from multidict import CIMultiDict
from structlog.testing import capture_logs

from adapters.conformance.betsoft import (
    CASES,
    F6_HASH,
    F6_HASH_INPUT,
    F6_PASSKEY,
    F6_QUERY,
    parse_answer,
)
from adapters.conformance.kit import render_results
from adapters.providers.base import ProviderRequest, ProviderResponse
from adapters.providers.betsoft import OPERATIONS, BetsoftAdapter, demo_secrets
from adapters.providers.betsoft_wire import format_time, hash_input, request_hash, signed_query
from adapters.stores.sqlite_store import SqliteWalletStore
from core.model import PlayerStatus
from core.money import CurrencyTable
from core.service import WalletService
from core.wallet.records import PlayerRecord
from tests.adapters.direct_transport import adapter_context, run_in_process
from tests.conftest import FakeClock, MakePlayer, MakeSession

INSTANCE = "betsoft"
SESSION = "sess-42"
F6_RESPONSE = re.compile(
    rb"<EXTSYSTEM><REQUEST><USERID>42</USERID><BET>100\|9001</BET><WIN></WIN>"
    rb"<ISROUNDFINISHED>false</ISROUNDFINISHED><ROUNDID>77</ROUNDID><GAMEID>807</GAMEID>"
    rb"<HASH>e9275b07e2a9579ca8b70e1325b452a4</HASH></REQUEST><TIME>(?P<time>[^<]+)</TIME>"
    rb"<RESPONSE><RESULT>OK</RESULT><EXTSYSTEMTRANSACTIONID>(?P<tx>[0-9]+)"
    rb"</EXTSYSTEMTRANSACTIONID><BALANCE>9900</BALANCE></RESPONSE></EXTSYSTEM>"
)
"""The documented F6 answer; `<TIME>` and the gateway id are ours."""


def _adapter(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    *,
    passkey: bytes = F6_PASSKEY,
    options: Mapping[str, Any] | None = None,
) -> BetsoftAdapter:
    return BetsoftAdapter(
        adapter_context(INSTANCE, service, clock, tmp_path, {"passkey": passkey}, options or {})
    )


def _request(path: str, query_string: str, *, method: str = "GET") -> ProviderRequest:
    query = dict(parse_qsl(query_string, keep_blank_values=True))
    return ProviderRequest(method, path, query_string, query, CIMultiDict(), b"", "127.0.0.1")


def _signed(operation: str, *params: tuple[str, str]) -> ProviderRequest:
    return _request(operation, signed_query(operation, list(params), F6_PASSKEY))


def _bet_result(
    *,
    bet: str | None = None,
    win: str | None = None,
    finished: bool = False,
    round_id: str = "77",
    user_id: str = "42",
    session: str | None = SESSION,
) -> ProviderRequest:
    params = [("userId", user_id)]
    params += [(name, value) for name, value in (("bet", bet), ("win", win)) if value is not None]
    params += [("isRoundFinished", str(finished).lower()), ("roundId", round_id)]
    params.append(("gameId", "807"))
    if session is not None:
        params.append(("gameSessionId", session))
    return _signed("betResult", *params)


def _fields(response: ProviderResponse) -> dict[str, str]:
    return dict(parse_answer(response.body).fields)


def _code(response: ProviderResponse) -> str:
    fields = _fields(response)
    assert fields["RESULT"] == "ERROR"
    return fields["CODE"]


async def _total(store: SqliteWalletStore, player_id: str = "42") -> int:
    return (await store.balance(player_id, "EUR")).total_minor


@pytest.fixture
async def adapter(
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    make_player: MakePlayer,
    make_session: MakeSession,
) -> BetsoftAdapter:
    """The F6 vector's world: player "42" with 10000 cents and a session for bets."""
    await make_player("42", real=10_000)
    await make_session(SESSION, "42", provider=INSTANCE)
    return _adapter(service, clock, tmp_path)


# -- wire vector -------------------------------------------------------------------


def test_the_f6_vector_hash_input_produces_the_documented_md5() -> None:
    params = dict(parse_qsl(F6_QUERY, keep_blank_values=True))

    assert hash_input("betResult", params) == F6_HASH_INPUT == "42100|9001false77807"
    assert request_hash("betResult", params, F6_PASSKEY) == F6_HASH
    assert params["hash"] == F6_HASH


async def test_the_f6_vector_bytes_answer_the_documented_xml_and_balance(
    service: WalletService,
    store: SqliteWalletStore,
    clock: FakeClock,
    tmp_path: Path,
    make_player: MakePlayer,
) -> None:
    await make_player("42", real=10_000)
    adapter = _adapter(service, clock, tmp_path, options={"game_session_token": False})

    response = await adapter.handle(_request("betResult", F6_QUERY))

    assert (response.status, response.content_type) == (200, "application/xml")
    match = F6_RESPONSE.fullmatch(response.body)
    assert match is not None, response.body
    assert match["time"].decode() == format_time(clock.seconds())
    assert (response.operation, response.outcome, response.player_id) == ("bet", "ok", "42")
    assert await _total(store) == 9900


async def test_the_f6_vector_needs_a_game_session_by_default_outside_the_hash(
    adapter: BetsoftAdapter, store: SqliteWalletStore
) -> None:
    refused = await adapter.handle(_request("betResult", F6_QUERY))
    accepted = await adapter.handle(_request("betResult", f"{F6_QUERY}&gameSessionId={SESSION}"))

    assert _code(refused) == "400"
    assert refused.outcome == "session_invalid"
    assert _fields(accepted)["BALANCE"] == "9900"
    assert b"<GAMESESSIONID>sess-42</GAMESESSIONID><HASH>" in accepted.body
    assert await _total(store) == 9900


async def test_a_repeated_f6_bet_answers_the_same_transaction_id_and_debits_once(
    adapter: BetsoftAdapter, store: SqliteWalletStore
) -> None:
    query = f"{F6_QUERY}&gameSessionId={SESSION}"
    first = await adapter.handle(_request("betResult", query))
    again = await adapter.handle(_request("betResult", query))

    assert again.outcome == "replay"
    assert _fields(again) == _fields(first)
    assert await _total(store) == 9900


async def test_a_wrong_or_missing_hash_is_code_500_logged_without_the_passkey(
    adapter: BetsoftAdapter, store: SqliteWalletStore
) -> None:
    wrong = F6_QUERY.replace("bet=100", "bet=1")
    missing = F6_QUERY.partition("&hash=")[0]

    with capture_logs() as logs:
        responses = [await adapter.handle(_request("betResult", q)) for q in (wrong, missing)]

    assert [_code(response) for response in responses] == ["500", "500"]
    assert [response.status for response in responses] == [200, 200]
    assert [(r.outcome, r.player_id) for r in responses] == [("bad_signature", None)] * 2
    assert [(log["event"], log["instance"], log["reason"]) for log in logs] == [
        ("betsoft_hash_refused", INSTANCE, "mismatch"),
        ("betsoft_hash_refused", INSTANCE, "missing"),
    ]
    assert all("passkey1" not in repr(log) for log in logs)
    assert await _total(store) == 10000


# -- parsing and mapping -------------------------------------------------------------


@pytest.mark.parametrize(
    "bet",
    ["1.5|b1", "-1|b1", "+1|b1", "|b1", "1e2|b1", " 1|b1", "\u0661|b1", "100", "100|",
     "9223372036854775808|b1", "1" * 30 + "|b1", "1|" + "x" * 129, "1|b\x01"],
)  # fmt: skip
async def test_a_malformed_bet_is_code_301_and_moves_nothing(
    adapter: BetsoftAdapter, store: SqliteWalletStore, bet: str
) -> None:
    response = await adapter.handle(_bet_result(bet=bet))

    assert _code(response) == "301"
    assert response.outcome in ("invalid_amount", "invalid_request")
    assert await _total(store) == 10000


async def test_the_largest_amount_is_parsed_and_refused_only_for_lack_of_funds(
    adapter: BetsoftAdapter, store: SqliteWalletStore
) -> None:
    response = await adapter.handle(_bet_result(bet=f"{2**63 - 1}|b-max"))

    assert _code(response) == "300"
    assert await _total(store) == 10000


async def test_a_bet_and_win_are_one_batch_and_a_refused_bet_applies_neither(
    adapter: BetsoftAdapter, store: SqliteWalletStore
) -> None:
    refused = await adapter.handle(_bet_result(bet="20000|b1", win="50000|w1", finished=True))
    applied = await adapter.handle(_bet_result(bet="100|b2", win="300|w2", round_id="78"))

    assert (_code(refused), refused.operation) == ("300", "bet_win")
    assert _fields(applied)["BALANCE"] == "10200"
    assert await _total(store) == 10200


async def test_bet_and_win_ids_are_namespaced_so_one_id_may_name_both(
    adapter: BetsoftAdapter, store: SqliteWalletStore
) -> None:
    response = await adapter.handle(_bet_result(bet="100|9001", win="250|9001", finished=True))

    assert _fields(response)["RESULT"] == "OK"
    assert await _total(store) == 10150
    refund = await adapter.handle(
        _signed("refundBet", ("userId", "42"), ("casinoTransactionId", "9001"))
    )
    assert _code(refund) == "301"
    assert refund.outcome == "already_settled"


async def test_a_refund_for_another_players_bet_is_301_and_moves_nothing(
    adapter: BetsoftAdapter, store: SqliteWalletStore, make_player: MakePlayer
) -> None:
    await make_player("43", real=500)
    await adapter.handle(_bet_result(bet="100|b1"))

    refund = await adapter.handle(
        _signed("refundBet", ("userId", "43"), ("casinoTransactionId", "b1"))
    )

    assert _code(refund) == "301"
    assert (await _total(store), await _total(store, "43")) == (9900, 500)


async def test_a_blocked_player_cannot_bet_but_is_paid(
    adapter: BetsoftAdapter, store: SqliteWalletStore, make_session: MakeSession
) -> None:
    await adapter.handle(_bet_result(bet="100|b1"))
    await store.create_player(
        PlayerRecord(
            "blocked", "demo", "MT", "EUR", datetime.date(1990, 1, 1), status=PlayerStatus.SUSPENDED
        )
    )
    await make_session("sess-b", "blocked", provider=INSTANCE)

    refused = await adapter.handle(
        _bet_result(bet="1|b-blocked", user_id="blocked", session="sess-b", round_id="r-b")
    )
    paid = await adapter.handle(_bet_result(win="500|w1", finished=True))

    assert (_code(refused), refused.outcome) == ("301", "account_suspended")
    assert _fields(paid)["BALANCE"] == "10400"


async def test_authenticate_and_get_balance_answer_the_documented_fields(
    adapter: BetsoftAdapter, clock: FakeClock
) -> None:
    auth = await adapter.handle(_signed("authenticate", ("token", SESSION)))
    balance = await adapter.handle(_signed("getBalance", ("userId", "42"), ("bankId", "271")))
    clock.advance(3601)
    expired = await adapter.handle(_signed("authenticate", ("token", SESSION)))
    unknown = await adapter.handle(_signed("getBalance", ("userId", "nobody")))

    assert _fields(auth) == {
        "RESULT": "OK", "USERID": "42", "USERNAME": "42", "CURRENCY": "EUR", "BALANCE": "10000"
    }  # fmt: skip
    assert b"<REQUEST><TOKEN>sess-42</TOKEN><HASH>" in auth.body
    assert _fields(balance) == {"RESULT": "OK", "BALANCE": "10000"}
    assert (balance.operation, balance.player_id) == ("balance", "42")
    assert (_code(expired), expired.outcome) == ("400", "session_expired")
    assert (_code(unknown), unknown.outcome) == ("310", "player_not_found")


async def test_echoed_values_are_escaped_and_invalid_xml_characters_replaced(
    adapter: BetsoftAdapter, store: SqliteWalletStore
) -> None:
    round_id = "</ROUNDID><BALANCE>1</BALANCE>&"
    request = _bet_result(bet="100|b1", round_id=round_id)
    query = request.query_string + "&clientType=%0B%3C%2FREQUEST%3E"

    response = await adapter.handle(_request("betResult", query))
    refused = await adapter.handle(_bet_result(bet="100|b2", round_id="r\x0b"))

    echo = dict(parse_answer(response.body).echo)
    assert echo["ROUNDID"] == round_id
    assert echo["CLIENTTYPE"] == "\ufffd</REQUEST>"
    assert _fields(response)["BALANCE"] == "9900"
    assert dict(parse_answer(refused.body).echo)["ROUNDID"] == "r\ufffd"
    assert _code(refused) == "301"
    assert await _total(store) == 9900


@pytest.mark.parametrize(
    "query",
    [
        f"{F6_QUERY}&roundId=78",
        f"{F6_QUERY}&x=%ff",
        F6_QUERY + "&" + "&".join(f"p{i}=1" for i in range(70)),
        F6_QUERY + "&pad=" + "x" * 5000,
    ],
    ids=["repeated", "bad-utf8", "too-many-fields", "too-long"],
)
async def test_an_unreadable_query_is_code_301_and_moves_nothing(
    adapter: BetsoftAdapter, store: SqliteWalletStore, query: str
) -> None:
    response = await adapter.handle(_request("betResult", query))

    assert _code(response) == "301"
    assert await _total(store) == 10000


async def test_unknown_operations_and_methods_keep_the_xml_error_shape(
    adapter: BetsoftAdapter,
) -> None:
    unknown = await adapter.handle(_request("withdraw", F6_QUERY))
    posted = await adapter.handle(_request("betResult", F6_QUERY, method="POST"))

    assert (unknown.status, _code(unknown), unknown.operation) == (404, "301", "unknown")
    assert (posted.status, _code(posted), posted.operation) == (405, "301", "bet_result")


async def test_a_storage_timeout_is_code_399_and_the_retry_debits_once(
    store: SqliteWalletStore, clock: FakeClock, tmp_path: Path, adapter: BetsoftAdapter
) -> None:
    hurried = WalletService(store, CurrencyTable(), clock.micros, store_timeout_s=1e-9)
    impatient = _adapter(hurried, clock, tmp_path)

    with capture_logs() as logs:
        response = await impatient.handle(_bet_result(bet="100|b1"))

    assert (response.status, _code(response), response.outcome) == (
        200, "399", "storage_unavailable"
    )  # fmt: skip
    assert [log["event"] for log in logs] == ["betsoft_retryable_failure"]
    retried = await adapter.handle(_bet_result(bet="100|b1"))
    assert _fields(retried)["BALANCE"] == "9900"
    assert await _total(store) == 9900


async def test_the_win_without_bet_option_pays_a_win_only_call(
    service: WalletService, store: SqliteWalletStore, clock: FakeClock, tmp_path: Path,
    adapter: BetsoftAdapter,
) -> None:  # fmt: skip
    lenient = _adapter(service, clock, tmp_path, options={"win_without_bet": True})

    refused = await adapter.handle(_bet_result(win="500|w1", finished=True))
    paid = await lenient.handle(_bet_result(win="500|w2", finished=True, round_id="78"))

    assert (_code(refused), refused.outcome) == ("301", "reference_not_found")
    assert _fields(paid)["BALANCE"] == "10500"
    assert await _total(store) == 10500


async def test_with_win_without_bet_a_win_still_settles_the_bets_of_its_round(
    service: WalletService, store: SqliteWalletStore, clock: FakeClock, tmp_path: Path,
    adapter: BetsoftAdapter,
) -> None:  # fmt: skip
    lenient = _adapter(service, clock, tmp_path, options={"win_without_bet": True})
    await lenient.handle(_bet_result(bet="100|b1"))
    await lenient.handle(_bet_result(win="300|w1"))

    refund = await lenient.handle(
        _signed("refundBet", ("userId", "42"), ("casinoTransactionId", "b1"))
    )

    assert (_code(refund), refund.outcome) == ("301", "already_settled")
    assert await _total(store) == 10200


@pytest.mark.parametrize(
    "options",
    [
        {"game_session_token": "yes"},
        {"win_without_bet": 1},
        {"query_bytes_max": 100},
        {"query_bytes_max": "4096"},
    ],
)
def test_invalid_options_are_refused_at_construction(
    service: WalletService, clock: FakeClock, tmp_path: Path, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="betsoft option"):
        _adapter(service, clock, tmp_path, options=options)


def test_an_instance_without_a_passkey_is_refused_at_construction(
    service: WalletService, clock: FakeClock, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="passkey"):
        _adapter(service, clock, tmp_path, passkey=b"")


async def test_every_operation_label_is_from_the_fixed_set(adapter: BetsoftAdapter) -> None:
    requests = [
        _signed("authenticate", ("token", SESSION)),
        _signed("getBalance", ("userId", "42")),
        _bet_result(bet="100|b1"),
        _bet_result(win="50|w1"),
        _bet_result(bet="100|b2", win="0|w2", round_id="78"),
        _bet_result(finished=True),
        _signed("refundBet", ("userId", "42"), ("casinoTransactionId", "b1")),
        _request("betResult", "hash=00"),
        _request("nothing", ""),
    ]

    labels = [(await adapter.handle(r)).operation for r in requests]

    assert labels == [
        "authenticate", "balance", "bet", "win", "bet_win", "close_round", "refund",
        "bet_result", "unknown",
    ]  # fmt: skip
    assert set(labels) <= set(OPERATIONS)


def test_demo_secrets_are_fresh_and_give_betsoft_the_same_passkey() -> None:
    first, second = demo_secrets(), demo_secrets()

    assert first["passkey"] == first["provider_passkey"]
    assert len(first["passkey"]) >= 32
    assert first["passkey"] != second["passkey"]


def test_time_is_rendered_with_english_months_in_utc() -> None:
    assert format_time(1_800_000_000.0) == "15 Jan 2027 08:00:00"


# -- conformance ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"game_session_token": False, "win_without_bet": True}],
    ids=["defaults", "lenient"],
)
async def test_the_whole_conformance_script_passes_in_process(
    service: WalletService,
    store: SqliteWalletStore,
    clock: FakeClock,
    tmp_path: Path,
    options: dict[str, Any],
) -> None:
    secrets = demo_secrets()
    adapter = BetsoftAdapter(adapter_context(INSTANCE, service, clock, tmp_path, secrets, options))
    results = await run_in_process(INSTANCE, adapter, store, clock, secrets, CASES, options)

    assert len(results) == len(CASES)
    assert all(result.passed for result in results), render_results(results)
