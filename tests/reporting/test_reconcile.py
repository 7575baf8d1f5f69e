"""Reconciliation: a provider statement generated from a real wallet reconciles clean,
and every injected difference is found, once, with its kind; the reporting store
against the ledger; the statement parser's refusals; the CLI's output and exit codes.
The wallet is a SQLite file or the session's redis-server, with the same history."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import NamedTuple

import duckdb
import orjson
import pytest

from adapters.reporting.wallet_ledger_reader import provider_txs
from adapters.reporting.wallet_redis_ledger import RedisWalletLedger
from core.money import CurrencyTable, format_minor
from core.reporting.reconcile import (
    BOOKED_STATUSES,
    DifferenceKind,
    LedgerTx,
    SumDifference,
    compare_day_sums,
    compare_statement,
)
from core.reporting.statement import StatementError, parse_statement
from core.reporting.store import DaySum
from core.reporting.wallet_ledger import day_window_us
from gateway.cli import main
from gateway.views import iso_utc
from tests.reporting.wallets import relay_into, written_redis_wallet, written_wallet

CURRENCIES = CurrencyTable()
FIRST, LAST = date(2027, 1, 15), date(2027, 1, 16)
WINDOW = day_window_us(FIRST, LAST)
HEADER = ["tx_id", "type", "amount", "currency", "time", "status"]
Rows = list[list[str]]
BACKENDS = ["sqlite", "redis"]


@pytest.fixture(scope="module")
def wallet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return written_wallet(tmp_path_factory.mktemp("wallet"))


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's redis-server after the same history as `wallet`."""
    return written_redis_wallet(tmp_path_factory.mktemp("redis"))


def _redis_txs(url: str, window_us: tuple[int, int], tx_ids: list[str]) -> list[LedgerTx]:
    async def read() -> list[LedgerTx]:
        ledger = await RedisWalletLedger.open(url)
        try:
            return await ledger.provider_txs("prov", window_us, tx_ids)
        finally:
            await ledger.close()

    return asyncio.run(read())


@pytest.fixture(scope="module", params=BACKENDS)
def ledger(request: pytest.FixtureRequest) -> list[LedgerTx]:
    if request.param == "redis":
        return _redis_txs(request.getfixturevalue("redis_url"), WINDOW, [])
    return provider_txs(request.getfixturevalue("wallet"), "prov", WINDOW, [])


@pytest.fixture(params=BACKENDS)
def read(request: pytest.FixtureRequest) -> Callable[[tuple[int, int], list[str]], list[LedgerTx]]:
    """The provider's transactions as one backend's reader finds them."""
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        return lambda window, tx_ids: _redis_txs(url, window, tx_ids)
    path: Path = request.getfixturevalue("wallet")
    return lambda window, tx_ids: provider_txs(path, "prov", window, tx_ids)


def test_both_wallets_book_the_same_transactions(wallet: Path, redis_url: str) -> None:
    """The same history in both: the same transactions (their times differ: each store
    reads the stepping clock its own number of times)."""

    def booked(txs: list[LedgerTx]) -> list[tuple[object, ...]]:
        return sorted(tx[:-1] for tx in txs)

    on_file = provider_txs(wallet, "prov", WINDOW, [])
    assert booked(_redis_txs(redis_url, WINDOW, [])) == booked(on_file)


def test_ids_outside_the_window_are_read_too(
    read: Callable[[tuple[int, int], list[str]], list[LedgerTx]],
) -> None:
    first_day = day_window_us(FIRST, FIRST)
    later = [tx.tx_id for tx in read(WINDOW, []) if tx.at_us >= first_day[1]][:3]
    assert later, "the history reaches the second day"
    found = read(first_day, later)
    assert {tx.tx_id for tx in found if tx.at_us >= first_day[1]} == set(later)
    assert all(tx.at_us < first_day[1] for tx in found if tx.tx_id not in later)


def _statement_rows(ledger: list[LedgerTx]) -> Rows:
    """The statement a provider agreeing with the wallet would send."""
    money = {tx.currency: CURRENCIES.get(tx.currency) for tx in ledger}
    return [
        [tx.tx_id, tx.type, format_minor(tx.amount_minor, money[tx.currency]), tx.currency,
         _iso(tx.at_us), tx.status]
        for tx in sorted(ledger, key=lambda tx: (tx.at_us, tx.tx_id))
        if tx.status in BOOKED_STATUSES
    ]  # fmt: skip


def _iso(at_us: int) -> str:
    return iso_utc(at_us)


def _csv(rows: Rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER, *rows])
    return out.getvalue().encode()


def _first(rows: Rows, type_: str, status: str = "ok") -> int:
    return next(i for i, row in enumerate(rows) if row[1] == type_ and row[5] == status)


def _set(type_: str, column: int, value: str, status: str = "ok") -> Callable[[Rows], str]:
    def inject(rows: Rows) -> str:
        i = _first(rows, type_, status)
        rows[i][column] = value
        return rows[i][0]

    return inject


def _drop(rows: Rows) -> str:
    return rows.pop(_first(rows, "win"))[0]


def _unknown(rows: Rows) -> str:
    rows.append(["no-such-tx", "bet", "1.00", "EUR", "2027-01-15T10:00:00Z", "ok"])
    return "no-such-tx"


def _twice(rows: Rows) -> str:
    row = rows[_first(rows, "bet")]
    rows.append(list(row))
    return row[0]


def _next_day(rows: Rows) -> str:
    i = _first(rows, "bet")
    rows[i][4] = rows[i][4].replace("2027-01-15", "2027-01-14").replace("2027-01-16", "2027-01-15")
    return rows[i][0]


def _amount_up(rows: Rows) -> str:
    i = _first(rows, "win")
    whole, _, cents = rows[i][2].partition(".")
    rows[i][2] = f"{int(whole) + 1}.{cents}" if cents else str(int(whole) + 1)
    return rows[i][0]


def _refused_listed(ledger: list[LedgerTx]) -> Callable[[Rows], str]:
    def inject(rows: Rows) -> str:
        tx = next(tx for tx in ledger if tx.status == "refused")
        amount = format_minor(tx.amount_minor, CURRENCIES.get(tx.currency))
        rows.append([tx.tx_id, tx.type, amount, tx.currency, _iso(tx.at_us), "ok"])
        return tx.tx_id

    return inject


def test_a_statement_generated_from_the_wallet_reconciles_clean(ledger: list[LedgerTx]) -> None:
    rows = _statement_rows(ledger)
    assert {row[1] for row in rows} == {"bet", "win", "rollback"}
    assert {row[5] for row in rows} == {"ok", "rolled_back"}
    statement = parse_statement(_csv(rows), CURRENCIES)
    assert compare_statement(statement, ledger, WINDOW, CURRENCIES) == []


@pytest.mark.parametrize(
    ("inject", "kind"),
    [
        (_drop, DifferenceKind.MISSING_IN_STATEMENT),
        (_unknown, DifferenceKind.MISSING_IN_LEDGER),
        (_twice, DifferenceKind.DUPLICATE_IN_STATEMENT),
        (_amount_up, DifferenceKind.AMOUNT_MISMATCH),
        (_set("bet", 3, "GBP"), DifferenceKind.CURRENCY_MISMATCH),
        (_set("bet", 1, "win"), DifferenceKind.TYPE_MISMATCH),
        (_set("bet", 5, "rolled_back"), DifferenceKind.STATUS_MISMATCH),  # ledger: settled/ok
        (_set("bet", 5, "ok", status="rolled_back"), DifferenceKind.STATUS_MISMATCH),
        (_set("rollback", 2, "0.01"), DifferenceKind.AMOUNT_MISMATCH),
        (_next_day, DifferenceKind.DAY_MISMATCH),
    ],
)
def test_each_injected_difference_is_found_once_with_its_kind(
    ledger: list[LedgerTx], inject: Callable[[Rows], str], kind: DifferenceKind
) -> None:
    rows = _statement_rows(ledger)
    tx_id = inject(rows)
    statement = parse_statement(_csv(rows), CURRENCIES)
    found = compare_statement(statement, ledger, WINDOW, CURRENCIES)
    assert [(d.kind, d.tx_id) for d in found] == [(kind, tx_id)]


def test_a_refused_transaction_the_statement_books_is_a_status_difference(
    ledger: list[LedgerTx],
) -> None:
    rows = _statement_rows(ledger)
    tx_id = _refused_listed(ledger)(rows)
    statement = parse_statement(_csv(rows), CURRENCIES)
    found = compare_statement(statement, ledger, WINDOW, CURRENCIES)
    assert [(d.kind, d.tx_id, d.ledger) for d in found] == [
        (DifferenceKind.STATUS_MISMATCH, tx_id, "refused")
    ]


def test_every_injection_at_once_is_every_difference(ledger: list[LedgerTx]) -> None:
    rows = _statement_rows(ledger)
    expected = {
        (DifferenceKind.MISSING_IN_STATEMENT, _drop(rows)),
        (DifferenceKind.MISSING_IN_LEDGER, _unknown(rows)),
        (DifferenceKind.CURRENCY_MISMATCH, _set("bet", 3, "GBP")(rows)),
        (DifferenceKind.STATUS_MISMATCH, _set("bet", 5, "rolled_back")(rows)),
    }
    statement = parse_statement(_csv(rows), CURRENCIES)
    found = compare_statement(statement, ledger, WINDOW, CURRENCIES)
    assert {(d.kind, d.tx_id) for d in found} == expected


H = b"tx_id,type,amount,currency,time\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "line 1: no header"),
        (b"tx_id,type,amount,currency\n", "line 1: missing columns ['time']"),
        (b"tx_id,type,amount,currency,time,extra\n", "line 1: unknown columns ['extra']"),
        (H + b"t,bet,1.00,EUR\n", "line 2: 4 fields"),
        (H + b"t,spin,1,EUR,2027-01-15T00:00:00Z\n", "line 2: type"),
        (H + b"t,bet,1.001,EUR,2027-01-15T00:00:00Z\n", "line 2: amount"),
        (H + b"t,bet,-1,EUR,2027-01-15T00:00:00Z\n", "line 2: amount"),
        (H + b"t,bet,1,XXX,2027-01-15T00:00:00Z\n", "line 2: unknown currency"),
        (H + b"t,bet,1,EUR,2027-01-15T00:00:00\n", "line 2: time"),
        (H[:-1] + b",status\nt,bet,1,EUR,2027-01-15T00:00:00Z,void\n", "line 2: status"),
        (H + b",bet,1,EUR,2027-01-15T00:00:00Z\n", "line 2: tx_id"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)  # fmt: skip
def test_the_statement_parser_refuses_what_it_does_not_accept(text: bytes, message: str) -> None:
    with pytest.raises(StatementError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_statement(text, CURRENCIES)


D1, D2 = date(2027, 1, 1), date(2027, 1, 2)


@pytest.mark.parametrize(
    ("store", "ledger", "differences"),
    [
        ([DaySum(D1, "EUR", -5, 2)], [DaySum(D1, "EUR", -5, 2)], []),
        ([], [], []),
        ([DaySum(D1, "EUR", -5, 2)], [DaySum(D1, "EUR", -6, 2)],
         [SumDifference(D1, "EUR", -5, -6, 2, 2)]),
        ([DaySum(D1, "EUR", 0, 1)], [DaySum(D1, "EUR", 0, 0)],
         [SumDifference(D1, "EUR", 0, 0, 1, 0)]),
        ([DaySum(D2, "SEK", 3, 0)], [], [SumDifference(D2, "SEK", 3, 0, 0, 0)]),
        ([], [DaySum(D1, "JPY", 7, 0)], [SumDifference(D1, "JPY", 0, 7, 0, 0)]),
        ([DaySum(D1, "EUR", 1, 0)], [DaySum(D1, "EUR", 1, 0), DaySum(D2, "EUR", 0, 0)], []),
    ],
)  # fmt: skip
def test_day_sums_differ_where_a_day_and_currency_differs(
    store: list[DaySum], ledger: list[DaySum], differences: list[SumDifference]
) -> None:
    assert compare_day_sums(store, ledger) == differences


# -- the CLI ------------------------------------------------------------------


class Relayed(NamedTuple):
    data_dir: Path
    wallet_url: str
    """'' for the SQLite file in `data_dir`."""


@pytest.fixture(scope="module", params=BACKENDS)
def relayed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Relayed:
    """A data directory whose reporting store holds the whole wallet, relayed."""
    directory = tmp_path_factory.mktemp("data")
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        relay_into(url, directory)
        return Relayed(directory, url)
    relay_into(written_wallet(directory), directory)
    return Relayed(directory, "")


@pytest.fixture
def data_dir(relayed: Relayed, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`relayed`'s directory, with the settings naming its wallet."""
    if relayed.wallet_url:
        monkeypatch.setenv("GAMEGATE_WALLET__URL", relayed.wallet_url)
    return relayed.data_dir


def _days() -> list[str]:
    return [f"--from={FIRST}", f"--to={LAST}"]


def test_the_relayed_store_reconciles_with_the_ledger(
    data_dir: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["report", "reconcile", "ledger", f"--data-dir={data_dir}", *_days()]) == 0
    out, err = capsysbinary.readouterr()
    assert out.decode().splitlines()[-1] == "(no rows)"
    assert b"0 of " in err


def test_a_store_that_lost_a_minor_unit_differs_on_its_day(
    relayed: Relayed,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    if relayed.wallet_url:
        monkeypatch.setenv("GAMEGATE_WALLET__URL", relayed.wallet_url)
    relay_into(relayed.wallet_url or written_wallet(tmp_path), tmp_path)
    con = duckdb.connect(str(tmp_path / "reporting.duckdb"))
    ((day, currency),) = con.execute(
        "UPDATE events SET real_delta_minor = real_delta_minor - 1 WHERE seq = "
        "(SELECT min(seq) FROM events WHERE kind = 'bet') AND part = 0 RETURNING day, currency"
    ).fetchall()
    con.close()
    argv = ["report", "reconcile", "ledger", f"--data-dir={tmp_path}", *_days(), "--format=csv"]
    assert main(argv) == 1
    header, row = capsysbinary.readouterr().out.decode().splitlines()
    assert header.split(",")[:2] == ["day", "currency"]
    day_text, cur, store_real, ledger_real, store_bonus, ledger_bonus = row.split(",")
    assert (day_text, cur) == (str(day), currency)
    assert int(store_real) == int(ledger_real) - 1
    assert store_bonus == ledger_bonus


def test_the_statement_command_exits_0_clean_and_1_with_differences(
    relayed: Relayed, data_dir: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    if relayed.wallet_url:
        ledger = _redis_txs(relayed.wallet_url, WINDOW, [])
    else:
        ledger = provider_txs(data_dir / "wallet.db", "prov", WINDOW, [])
    rows = _statement_rows(ledger)
    clean = data_dir / "clean.csv"
    clean.write_bytes(_csv(rows))
    argv = ["report", "reconcile", "statement", f"--data-dir={data_dir}", "--provider=prov",
            *_days()]  # fmt: skip
    assert main([*argv, f"--file={clean}"]) == 0
    capsysbinary.readouterr()
    tx_id = _drop(rows)
    broken = data_dir / "broken.csv"
    broken.write_bytes(_csv(rows))
    assert main([*argv, f"--file={broken}", "--format=json"]) == 1
    answer = orjson.loads(capsysbinary.readouterr().out)
    assert [(r["kind"], r["tx_id"]) for r in answer["rows"]] == [("missing_in_statement", tx_id)]
    assert answer["provider"] == "prov"


def test_a_bad_statement_file_exits_2(data_dir: Path) -> None:
    bad = data_dir / "bad.csv"
    bad.write_bytes(b"tx_id,kind\n")
    argv = ["report", "reconcile", "statement", f"--data-dir={data_dir}", "--provider=prov",
            *_days(), f"--file={bad}"]  # fmt: skip
    assert main(argv) == 2
    assert main([*argv[:-1], f"--file={data_dir / 'absent.csv'}"]) == 2
