"""The SQLite writer's isolation path: a job the database refuses, or a job that fails
with a bug halfway through its writes, fails alone; the rest of its group commit lands,
and nothing of the failed job stays in the caches or the file."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
import threading
from pathlib import Path

import pytest

from adapters.stores.sqlite_schema import create_schema
from adapters.stores.sqlite_store import SqliteWalletStore
from adapters.stores.sqlite_verify import verify_wallet
from core.errors import StorageUnavailable
from core.model import Debit, Deposit, TxOutcome, WalletCommand
from core.wallet.records import PlayerRecord
from core.wallet.store import DebitGuard, GuardContext, GuardedCommand
from tests.conftest import FakeClock

PLAYERS = ("p1", "p2", "p3")


def _bet(tx_id: str, player_id: str, amount: int = 100) -> Debit:
    return Debit("prov", tx_id, player_id, "EUR", amount, f"r-{tx_id}", "g")


async def _open_funded(path: Path, clock: FakeClock) -> SqliteWalletStore:
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    for player_id in PLAYERS:
        await store.create_player(
            PlayerRecord(player_id, "demo", "MT", "EUR", datetime.date(1990, 1, 1))
        )
        await store.apply([Deposit(f"d-{player_id}", player_id, "EUR", 1_000)])
    return store


async def _in_one_commit(
    store: SqliteWalletStore, *calls: tuple[list[WalletCommand], DebitGuard | None]
) -> list[list[TxOutcome] | BaseException]:
    """Submit every call before the writer takes any, so they share one group commit."""
    commits_before = store.stats().commits_total
    answers = await asyncio.gather(
        *(store.apply(commands, guard=guard) for commands, guard in calls),
        return_exceptions=True,
    )
    assert store.stats().commits_total == commits_before + 1, "not one group commit"
    return answers


async def _real_balances(store: SqliteWalletStore) -> dict[str, int]:
    return {p: (await store.balance(p)).real_minor for p in PLAYERS}


def _wallet_refusing_poison(tmp_path: Path) -> Path:
    """A new wallet file whose database refuses any transaction row `poison`."""
    path = tmp_path / "wallet.db"
    with sqlite3.connect(path, isolation_level=None) as conn:
        create_schema(conn)
        conn.execute(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON txs WHEN NEW.tx_id = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
        )
    return path


async def test_a_row_the_database_refuses_fails_its_job_alone(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = _wallet_refusing_poison(tmp_path)
    store = await _open_funded(path, clock)
    try:
        answers = await _in_one_commit(
            store,
            ([_bet("b1", "p1")], None),
            ([_bet("poison", "p2")], None),
            ([_bet("b3", "p3")], None),
        )
        assert isinstance(answers[1], StorageUnavailable)
        assert not isinstance(answers[0], BaseException)
        assert not isinstance(answers[2], BaseException)
        assert await _real_balances(store) == {"p1": 900, "p2": 1_000, "p3": 900}
        [newest] = await store.transactions("p2", limit=1)
        assert newest.tx_id == "d-p2"
        await store.apply([_bet("b4", "p2")])
        assert (await store.balance("p2")).real_minor == 900
    finally:
        await store.close()
    assert verify_wallet(path).ok


async def test_a_refused_rows_play_figures_go_with_its_savepoint(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The figures a job staged (and put in the writer's cache) are forgotten with its
    rows; the jobs of the same player before and after it in the commit still count."""
    path = _wallet_refusing_poison(tmp_path)
    store = await _open_funded(path, clock)
    try:
        answers = await _in_one_commit(
            store,
            ([_bet("before", "p2", 100)], None),
            ([_bet("poison", "p2", 300)], None),
            ([_bet("after", "p2", 50)], None),
        )
        assert isinstance(answers[1], StorageUnavailable)
        cached = await store.figures("p2")
    finally:
        await store.close()
    assert (cached.day.wagered_minor, cached.day.lost_minor) == (150, 150)
    assert cached.day.deposited_minor == cached.deposited_total_minor == 1_000
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        assert await store.figures("p2") == cached  # as committed
    finally:
        await store.close()


async def test_a_job_that_fails_with_a_bug_after_writing_leaves_nothing_behind(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A guard that breaks on the second debit of a job: the first was already written."""
    path = tmp_path / "wallet.db"
    checked: list[str] = []

    def breaks_on_second_debit(command: GuardedCommand, _context: GuardContext) -> None:
        checked.append(command.tx_id)
        if command.tx_id == "p2-second":
            raise RuntimeError("guard bug")

    store = await _open_funded(path, clock)
    try:
        answers = await _in_one_commit(
            store,
            ([_bet("p1-bet", "p1")], None),
            (
                [_bet("p2-first", "p2"), _bet("p2-second", "p2")],
                DebitGuard(None, breaks_on_second_debit),
            ),
            ([_bet("p3-bet", "p3")], None),
        )
        assert isinstance(answers[1], RuntimeError)
        assert not isinstance(answers[0], BaseException)
        assert not isinstance(answers[2], BaseException)
        assert checked.count("p2-first") == 2  # once in the group, once isolated
        assert await _real_balances(store) == {"p1": 900, "p2": 1_000, "p3": 900}
        assert [r.tx_id for r in await store.transactions("p2", limit=5)] == ["d-p2"]
        await store.apply([_bet("p2-first", "p2", amount=300)])  # the key was never taken
        assert (await store.balance("p2")).real_minor == 700
    finally:
        await store.close()
    report = verify_wallet(path)
    assert report.ok, report.lines()


@pytest.mark.parametrize("refused_at", [0, 1])
async def test_a_refused_command_of_a_batch_job_writes_none_of_the_earlier_ones(
    tmp_path: Path, clock: FakeClock, refused_at: int
) -> None:
    """A job is decided whole before anything is staged: a refusal at any command stages
    only the refusal, in the seq the job was first handed (the log stays dense)."""
    store = await _open_funded(tmp_path / "wallet.db", clock)
    try:
        commands: list[WalletCommand] = [_bet("a", "p1", 400), _bet("b", "p1", 400)]
        commands.insert(refused_at, _bet("too-much", "p1", 5_000))
        answers = await _in_one_commit(store, (commands, None), ([_bet("c", "p2")], None))
        assert isinstance(answers[0], Exception)
        assert await _real_balances(store) == {"p1": 1_000, "p2": 900, "p3": 1_000}
        history = [r.tx_id for r in await store.transactions("p1", limit=5)]
        assert history == ["too-much", "d-p1"]  # the refusal is stored, nothing else
    finally:
        await store.close()
    assert verify_wallet(tmp_path / "wallet.db").ok


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_callers_answered_together_call_again_in_one_group_commit(
    tmp_path: Path, loop_name: str
) -> None:
    """256 callers in lockstep: each round of calls is one commit, under uvloop too. The
    answers of one commit wake all callers in one turn of the loop; a writer that took
    the first call of the next round as soon as the loop released the GIL (uvloop does,
    between callbacks) would commit each round in parts."""
    import uvloop

    rounds = 4

    async def caller(store: SqliteWalletStore, index: int) -> None:
        for round_ in range(rounds):
            await store.apply([_bet(f"b{index}-{round_}", PLAYERS[index % 3], 1)])

    async def lockstep() -> tuple[int, int]:
        store = await _open_funded(tmp_path / "wallet.db", FakeClock())
        try:
            before = store.stats().commits_total
            await asyncio.gather(*(caller(store, index) for index in range(256)))
            return store.stats().commits_total - before, (await store.balance("p1")).real_minor
        finally:
            await store.close()

    factory = uvloop.new_event_loop if loop_name == "uvloop" else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        commits, p1_real = runner.run(lockstep())
    assert commits == rounds
    assert p1_real == 1_000 - 86 * rounds  # p1 is callers 0, 3, ..., 255


async def test_a_read_beside_a_commit_in_progress_is_answered_from_the_last_commit(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A batch's reads are answered before its writes are decided and fsynced: a balance
    asked for while a bet is still being decided comes back, with the balance before it."""
    store = await _open_funded(tmp_path / "wallet.db", clock)
    deciding, release = threading.Event(), threading.Event()

    def held_until_released(command: GuardedCommand, context: GuardContext) -> None:
        deciding.set()
        assert release.wait(timeout=10), "the test never released the bet"

    try:
        bet = asyncio.ensure_future(
            store.apply([_bet("held", "p1")], guard=DebitGuard(None, held_until_released))
        )
        read = asyncio.ensure_future(store.balance("p1"))  # the same turn: one batch
        before = await asyncio.wait_for(read, timeout=5)  # a read after it would hang here
        assert await asyncio.to_thread(deciding.wait, 5), "the bet is being decided"
        assert not bet.done()
        assert before.real_minor == 1_000
        release.set()
        await bet
        assert (await store.balance("p1")).real_minor == 900
    finally:
        release.set()
        await store.close()
