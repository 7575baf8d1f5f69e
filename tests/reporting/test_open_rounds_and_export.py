"""Open rounds (every reporting store), and the daily export: byte for byte the same from
the same data, twice and after a re-relay of the same wallet into a new store."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from core.money import CurrencyTable
from core.reporting.events import EventKind, ReportEvent
from core.reporting.export import export_files
from core.reporting.store import OpenRoundsQuery, ReportingStore
from gateway.cli import main
from tests.reporting.events import DAY0, at_us, event
from tests.reporting.wallets import relay_into, written_wallet

NOW = at_us(DAY0, 10_000)


def _bet(seq: int, round_id: str, second: int, **fields: object) -> ReportEvent:
    return event(seq, EventKind.BET, round_id=round_id, at_us=at_us(DAY0, second),
                 real_delta_minor=-100, bonus_delta_minor=-10, **fields)  # fmt: skip


def _change(seq: int, kind: EventKind, ref_seq: int, second: int) -> ReportEvent:
    return event(seq, kind, ref_seq=ref_seq, at_us=at_us(DAY0, second))


HISTORY = [
    _bet(1, "settled", 10),
    event(2, EventKind.WIN, round_id="settled", at_us=at_us(DAY0, 11)),
    _change(2, EventKind.SETTLED, 1, 11)._replace(part=1),
    _bet(3, "rolled", 20),
    _change(4, EventKind.ROLLED_BACK, 3, 21),
    _bet(5, "open", 30),
    _bet(6, "open", 40),
    _bet(7, "half", 50),
    _bet(8, "half", 60),
    _change(9, EventKind.SETTLED, 7, 61),
    _bet(10, "other", 70, provider="prov-b"),
    _bet(11, "fresh", 9_990),
]


@pytest.mark.parametrize(
    ("older_than_s", "provider", "rounds"),
    [
        (100, "", [("prov-a", "open", 2), ("prov-a", "half", 1), ("prov-b", "other", 1)]),
        (0, "", [("prov-a", "open", 2), ("prov-a", "half", 1), ("prov-a", "fresh", 1),
                 ("prov-b", "other", 1)]),
        (100, "prov-b", [("prov-b", "other", 1)]),
        (9_945, "", [("prov-a", "open", 2)]),  # "half": its open bet is at 60 s
        (20_000, "", []),
        (100, "prov-z", []),
    ],
)  # fmt: skip
async def test_open_rounds_are_bets_without_settlement_or_rollback_past_the_age(
    reporting_store: ReportingStore,
    older_than_s: int,
    provider: str,
    rounds: list[tuple[str, str, int]],
) -> None:
    await reporting_store.apply(HISTORY, 11, {})
    found = await reporting_store.open_rounds(
        OpenRoundsQuery(NOW - older_than_s * 1_000_000, provider)
    )
    expected = rounds
    assert [(r.provider, r.round_id, r.open_bets) for r in found] == expected
    for r in found:
        assert (r.stake_real_minor, r.stake_bonus_minor) == (100 * r.open_bets, 10 * r.open_bets)


async def test_open_rounds_stop_at_rows_max(reporting_store: ReportingStore) -> None:
    await reporting_store.apply(HISTORY, 11, {})
    found = await reporting_store.open_rounds(OpenRoundsQuery(NOW, "", rows_max=2))
    assert [r.round_id for r in found] == ["open", "half"]


def _settle_then_roll_back(bet: int, round_id: str, second: int) -> list[ReportEvent]:
    """A bet, a win that settles it, and the win's rollback, which reopens it."""
    return [
        _bet(bet, round_id, second),
        event(bet + 1, EventKind.WIN, round_id=round_id, at_us=at_us(DAY0, second + 1)),
        _change(bet + 1, EventKind.SETTLED, bet, second + 1)._replace(part=1),
        event(bet + 2, EventKind.ROLLBACK, round_id=round_id, at_us=at_us(DAY0, second + 2)),
        _change(bet + 2, EventKind.ROLLED_BACK, bet + 1, second + 2)._replace(part=1),
        _change(bet + 2, EventKind.REOPENED, bet, second + 2)._replace(part=2),
    ]


REOPENED_HISTORY = [
    *_settle_then_roll_back(1, "reopened", 10),
    *_settle_then_roll_back(4, "paid-again", 20),
    _change(7, EventKind.SETTLED, 4, 23),
    *_settle_then_roll_back(8, "then-rolled-back", 30),
    _change(11, EventKind.ROLLED_BACK, 8, 33),
    *_settle_then_roll_back(12, "reopened-twice", 40),
    _change(15, EventKind.SETTLED, 12, 43),
    event(16, EventKind.ROLLBACK, round_id="reopened-twice", at_us=at_us(DAY0, 44)),
    _change(16, EventKind.REOPENED, 12, 44)._replace(part=2),
]


async def test_a_bet_the_rollback_of_its_win_reopened_is_open_until_settled_again(
    reporting_store: ReportingStore,
) -> None:
    await reporting_store.apply(REOPENED_HISTORY, 16, {})
    found = await reporting_store.open_rounds(OpenRoundsQuery(NOW, ""))
    assert [(r.round_id, r.open_bets, r.stake_real_minor) for r in found] == [
        ("reopened", 1, 100),
        ("reopened-twice", 1, 100),
    ]


async def test_market_day_events_and_day_sums(reporting_store: ReportingStore) -> None:
    await reporting_store.apply([*HISTORY, _bet(12, "se", 5, market="SE")], 12, {})
    events = await reporting_store.market_day_events("MT", DAY0)
    assert [(e.seq, e.part) for e in events] == sorted((e.seq, e.part) for e in HISTORY)
    assert events[0] == HISTORY[0]
    assert [e.seq for e in await reporting_store.market_day_events("SE", DAY0)] == [12]
    (total,) = await reporting_store.day_sums(DAY0, DAY0)
    assert (total.currency, total.real_minor, total.bonus_minor) == ("EUR", -900, -90)


def test_sessions_split_on_idle_gaps_and_games() -> None:
    def game(
        seq: int, second: int, kind: EventKind = EventKind.BET, **fields: object
    ) -> ReportEvent:
        values: dict[str, object] = {"real_delta_minor": -100, **fields}
        return event(seq, kind, at_us=at_us(DAY0, second), **values)

    events = [
        game(1, 0), game(2, 60, EventKind.WIN, real_delta_minor=250), game(3, 1_900),
        game(4, 1_950, game_id="game-2"), game(5, 2_000),
        event(6, EventKind.DEPOSIT, at_us=at_us(DAY0, 2_010), real_delta_minor=1_000),
    ]  # fmt: skip
    _, (_, sessions) = export_files("MT", DAY0, events, CurrencyTable())
    header, *rows = [line.split(",") for line in sessions.splitlines()]
    got = [(r[header.index("session_id")], r[header.index("bets")], r[header.index("result")])
           for r in rows]  # fmt: skip
    assert got == [("1", "1", "-1.50"), ("3", "2", "2.00"), ("4", "1", "1.00")]


def test_the_export_is_the_same_bytes_twice_and_after_a_re_relay(tmp_path: Path) -> None:
    wallet = written_wallet(tmp_path / "data")
    relay_into(wallet, tmp_path / "data")
    relay_into(wallet, tmp_path / "again")  # the same wallet, relayed afresh
    outputs = []
    for data, out in (("data", "one"), ("data", "two"), ("again", "three")):
        argv = ["report", "export", f"--data-dir={tmp_path / data}", "--market=MT",
                "--day=2027-01-15", f"--out={tmp_path / out}"]  # fmt: skip
        assert main(argv) == 0
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / out).iterdir())})
    assert outputs[0] == outputs[1] == outputs[2]
    files = outputs[0]
    assert sorted(files) == ["MT-2027-01-15-sessions.csv", "MT-2027-01-15-transactions.csv"]
    transactions = files["MT-2027-01-15-transactions.csv"].decode().splitlines()
    assert transactions[0].startswith("transaction_id,time,player_id,")
    assert len(transactions) > 10
    assert len(files["MT-2027-01-15-sessions.csv"].decode().splitlines()) > 2


def test_nl_gets_the_cdb_names() -> None:
    events = [event(1, EventKind.BET, market="NL", real_delta_minor=-100)]
    (_, transactions), (_, sessions) = export_files("NL", DAY0, events, CurrencyTable())
    header, row = transactions.splitlines()
    assert header.startswith("Transaction_ID,Transaction_Datetime,Player_Profile_ID,")
    assert ",STAKE," in row
    assert sessions.startswith("Game_Session_ID,")


def test_bad_export_parameters_exit_2(tmp_path: Path) -> None:
    base = ["report", "export", f"--data-dir={tmp_path}", f"--out={tmp_path / 'x'}"]
    assert main([*base, "--market=gb", "--day=2027-01-15"]) == 2
    assert main([*base, "--market=GB", "--day=2027-1-15"]) == 2


def test_the_open_rounds_command_lists_them_in_each_format(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    relay_into(written_wallet(tmp_path, start_s=1_600_000_000.0), tmp_path)  # in the past
    base = ["report", "open-rounds", f"--data-dir={tmp_path}", "--older-than-s=0"]
    assert main([*base, "--format=json"]) == 0
    answer = orjson.loads(capsysbinary.readouterr().out)
    assert answer["rows"]
    assert {row["provider"] for row in answer["rows"]} == {"prov"}
    assert main([*base, "--format=csv", "--provider=prov"]) == 0
    header, *rows = capsysbinary.readouterr().out.decode().splitlines()
    assert header.startswith("provider,round_id,player_id,")
    assert len(rows) == len(answer["rows"])
    assert main([*base, "--provider=nobody"]) == 0
    assert capsysbinary.readouterr().out.decode().endswith("(no rows)\n")
    assert main([*base[:-1], "--older-than-s=-5"]) == 2
