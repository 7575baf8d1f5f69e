"""`gamegate report ggr` over a real (DuckDB) reporting store seeded with `apply`: the
three formats, byte-identical CSV from two real processes, and bad parameters."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from adapters.reporting.open import open_reporting_store
from gateway.cli import main
from gateway.logging import reset_logging
from gateway.reconcile_cli import EXIT_UNREADABLE
from tests.gateway.test_reports_api import DAY1, seeded_events
from tests.reporting.events import DAY0

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    async def seed() -> None:
        store = await open_reporting_store("", tmp_path)
        try:
            await store.apply(seeded_events(), 5, {})
        finally:
            await store.close()

    asyncio.run(seed())
    return tmp_path


def _report(data_dir: Path, *flags: str) -> list[str]:
    return ["report", "ggr", f"--data-dir={data_dir}", f"--from={DAY0}", f"--to={DAY1}", *flags]


def test_json_is_the_apis_answer(
    data_dir: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(_report(data_dir, "--format=json", "--by=day,currency")) == 0
    answer = orjson.loads(capsysbinary.readouterr().out)
    assert answer["by"] == ["day", "currency"]
    assert answer["from"] == str(DAY0)
    rows = [(row["day"], row["currency"], row["ggr"], row["ggr_minor"]) for row in answer["rows"]]
    assert rows == [
        ("2026-12-01", "EUR", "7.00", 700),
        ("2026-12-01", "JPY", "1000", 1_000),
        ("2026-12-02", "JPY", "0", 0),
    ]


def test_the_table_aligns_keys_left_and_figures_right(
    data_dir: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(_report(data_dir, "--by=currency")) == 0
    header, eur, jpy = capsysbinary.readouterr().out.decode().splitlines()
    assert header.split() == [
        "currency", "bets", "rounds", "active_players", "stake_real", "stake_bonus", "win_real",
        "win_bonus", "rollback_real", "rollback_bonus", "ggr", "ngr",
    ]  # fmt: skip
    assert eur.split() == ["EUR", "1", "1", "1", "10.00", "2.00", "5.00", "0.00", "0.00",
                           "0.00", "7.00", "5.00"]  # fmt: skip
    assert jpy.split()[:4] == ["JPY", "2", "2", "1"]
    assert len(header) == len(eur) == len(jpy)
    assert header.index("ggr") + len("ggr") == eur.index("7.00") + len("7.00")


def test_an_empty_range_says_so(data_dir: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    argv = ["report", "ggr", f"--data-dir={data_dir}", "--from=2030-01-01", "--to=2030-01-01"]
    assert main(argv) == 0
    assert capsysbinary.readouterr().out.decode().splitlines()[-1] == "(no rows)"


def test_csv_from_two_processes_is_byte_identical(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GAMEGATE_")}
    argv = [sys.executable, "-m", "gateway", *_report(data_dir, "--format=csv")]
    runs = [
        subprocess.run(argv, cwd=REPO, env=env, capture_output=True, timeout=60, check=False)
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    first, second = (run.stdout for run in runs)
    assert first == second
    lines = first.split(b"\n")
    assert b"\r" not in first
    assert lines[0] == (
        b"day,brand,market,provider,currency,bets,rounds,active_players,"
        b"stake_real,stake_real_minor,stake_bonus,stake_bonus_minor,win_real,win_real_minor,"
        b"win_bonus,win_bonus_minor,rollback_real,rollback_real_minor,"
        b"rollback_bonus,rollback_bonus_minor,ggr,ggr_minor,ngr,ngr_minor"
    )
    assert lines[1] == (
        b"2026-12-01,brand-a,MT,prov-a,EUR,1,1,1,10.00,1000,2.00,200,5.00,500,0.00,0,"
        b"0.00,0,0.00,0,7.00,700,5.00,500"
    )
    assert len(lines) == 5
    assert lines[-1] == b""


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--by=day,player_id"], "by: comma-separated names from"),
        (["--to=2026-11-30"], "to: must not be before from"),
        (["--from=2026-1-1"], "from: a UTC day as YYYY-MM-DD"),
    ],
)
def test_bad_parameters_exit_2_with_one_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(_report(data_dir, *flags)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"gamegate: {message}")
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize(
    "command",
    [
        ["report", "ggr", f"--from={DAY0}", f"--to={DAY1}"],
        ["report", "open-rounds"],
        ["report", "export", "--market=MT", f"--day={DAY0}", "--out=."],
    ],
    ids=["ggr", "open-rounds", "export"],
)
def test_a_store_that_cannot_be_read_exits_1_with_one_line(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], command: list[str]
) -> None:
    (tmp_path / "reporting.duckdb").write_bytes(b"not a DuckDB file" * 512)
    assert main([*command, f"--data-dir={tmp_path}"]) == 1
    captured = capsysbinary.readouterr()
    assert captured.out == b""
    lines = captured.err.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("gamegate: cannot read the reporting store: ")


_HOLD = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
    "sys.stdin.read()"
)


@pytest.fixture
def held_store(data_dir: Path) -> Iterator[int]:
    """The reporting file open in another process (as serve's relay child holds it);
    yields that process's PID."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(data_dir / "reporting.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as holder:  # closes the pipes and waits on leaving
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == b"held\n"
            yield holder.pid
        finally:
            holder.kill()


@pytest.mark.parametrize(
    ("command", "problem", "exit_code"),
    [
        (["report", "ggr", f"--from={DAY0}", f"--to={DAY1}"], "cannot read the reporting store", 1),
        (["report", "open-rounds"], "cannot read the reporting store", 1),
        (
            ["report", "export", "--market=MT", f"--day={DAY0}", "--out=."],
            "cannot read the reporting store",
            1,
        ),
        (
            ["report", "reconcile", "ledger", f"--from={DAY0}", f"--to={DAY1}"],
            "cannot read",
            EXIT_UNREADABLE,
        ),
        (["relay", "--once"], "cannot open the stores", 1),
    ],
    ids=["ggr", "open-rounds", "export", "reconcile", "relay"],
)
def test_a_store_held_by_another_process_is_named_with_what_to_do(
    data_dir: Path,
    held_store: int,
    capsysbinary: pytest.CaptureFixture[bytes],
    command: list[str],
    problem: str,
    exit_code: int,
) -> None:
    try:
        assert main([*command, f"--data-dir={data_dir}"]) == exit_code
    finally:
        reset_logging()  # `relay` configures logging into this test's captured stderr
    [line] = capsysbinary.readouterr().err.decode().splitlines()
    assert line.startswith(f"gamegate: {problem}: the reporting file ")
    assert f"is open in process {held_store};" in line
    assert "/v1/reports/ggr" in line
    assert "reporting.relay = false" in line
