"""The real SQLite wallet answers every command exactly as the reference model does.

A Hypothesis state machine sends random deposits, withdrawals, bonus grants, bets (some
over balance), wins (by reference and round-level), rollbacks (of anything, including
ids never seen), exact and conflicting replays, round closes and batches to both, and
after every step compares the answers and checks the ledger's invariants in the file.
It also closes and reopens the store at random, so what no snapshot covered yet is read
back from the log.

Reproduce a failure with the `HYPOTHESIS_SEED=<n>` printed with it; soak with
`WALLET_MODEL_EXAMPLES` and `WALLET_MODEL_STEPS` (or the blob that
`print_blob` prints, via `@reproduce_failure`). `synchronous=FULL` is kept: an fsync
costs ~0.3 ms here, and durability itself is the crash test's subject.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import shutil
import sqlite3
import tempfile
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from adapters.stores.sqlite_ledger import DEFAULT_CACHE_LIMITS, CacheLimits
from adapters.stores.sqlite_schema import SNAPSHOT_SEQ_KEY, meta_int
from adapters.stores.sqlite_store import SqliteWalletStore
from adapters.stores.sqlite_verify import verify_wallet
from core.errors import GatewayError
from core.model import (
    BonusGrant,
    CloseRound,
    Credit,
    CreditKind,
    Debit,
    Deposit,
    FundingOrder,
    MoneyCommand,
    Rollback,
    TxOutcome,
    WalletCommand,
    Withdrawal,
)
from core.wallet.records import PlayerRecord
from tests.property.wallet_model import Expected, Model, ModelOutcome, ModelRefusal, MPlayer

EXAMPLES = int(os.environ.get("WALLET_MODEL_EXAMPLES", "80"))
STEPS_PER_EXAMPLE = int(os.environ.get("WALLET_MODEL_STEPS", "60"))
"""Raise both for a soak run (e.g. 2000 x 100 = 200k steps, about 12 minutes here)."""
STEPS_MIN = min(2_000, EXAMPLES * STEPS_PER_EXAMPLE * 3 // 4)
"""Steps the run must really execute (examples x steps, less early stops)."""

SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS_PER_EXAMPLE,
    deadline=None,
    derandomize=False,
    print_blob=True,
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

PLAYERS = {
    "ann": ("EUR", FundingOrder.REAL_FIRST),
    "bob": ("EUR", FundingOrder.BONUS_FIRST),
    "kei": ("JPY", FundingOrder.REAL_FIRST),
}
PROVIDERS = ("pa", "pb")
_BIRTH = datetime.date(1990, 1, 1)
ROUNDS_PER_PLAYER = 3
AMOUNT_MAX = 3_000
SNAPSHOT_TXS_MIN = 5
"""Snapshot balances and chain heads every few transactions, so refusals, batches and
replays run across bulk writes of `accounts` and `player_heads` (which `verify` and the
invariants check)."""
SMALL_CACHES = CacheLimits(txs=6, rounds=3, sessions=2, players=1)
"""The writer forgets almost everything between batches, so decisions run on state read
back from the file (transactions, rounds, players, balances, chain heads)."""


class _Stats:
    steps = 0
    calls = 0
    restarts = 0
    answers: Counter[str] = Counter()
    """How often each answer came back (an error class name, or `ok`/`replay`)."""


class WalletMachine(RuleBasedStateMachine):
    """One example: a fresh wallet file, its own event loop, and the model beside it."""

    cache_limits = DEFAULT_CACHE_LIMITS

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="wallet-model-"))
        self.loop = asyncio.new_event_loop()
        self.path = self.directory / "wallet.db"
        self.store = self.loop.run_until_complete(
            SqliteWalletStore.open(
                self.path, snapshot_txs_min=SNAPSHOT_TXS_MIN, cache_limits=self.cache_limits
            )
        )
        self.model = Model()
        self.sent: list[MoneyCommand] = []
        self.next_id = 0
        self.next_round = 0
        self.started = False
        for player_id, (currency, order) in PLAYERS.items():
            record = PlayerRecord(player_id, "demo", "MT", currency, _BIRTH, funding_order=order)
            self.loop.run_until_complete(self.store.create_player(record))
            self.model.players[player_id] = MPlayer(currency, order)
        uri = f"file:{urllib.parse.quote(str(self.path))}?mode=ro"
        self.reader = sqlite3.connect(uri, uri=True, isolation_level=None)

    def teardown(self) -> None:
        try:
            self.reader.close()
            self.loop.run_until_complete(self.store.close())
            report = verify_wallet(self.path)
            assert report.ok, "\n".join(report.lines())
        finally:
            self.loop.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- sending -------------------------------------------------------------------

    def _fresh_id(self) -> str:
        self.next_id += 1
        return f"t{self.next_id}"

    def _send(self, commands: Sequence[WalletCommand]) -> None:
        _Stats.calls += 1
        expected = self.model.apply(commands)
        try:
            got: list[TxOutcome] | GatewayError = self.loop.run_until_complete(
                self.store.apply(commands)
            )
        except GatewayError as error:
            got = error
        _compare(commands, expected, got)
        _Stats.answers.update(
            [type(got).__name__] if isinstance(got, GatewayError) else _answer_kinds(got)
        )
        if isinstance(got, list):
            self.model.learn_ids(commands, [o.transaction_id for o in got])
        self.sent.extend(c for c in commands if not isinstance(c, CloseRound))

    # -- command builders ------------------------------------------------------------

    def _player(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(PLAYERS)), label="player")

    def _round(self, data: st.DataObject, player: str) -> str:
        shared = data.draw(st.integers(0, 9), label="shared round?") == 0
        if shared:  # a round id another player may own: refused as invalid
            return "shared"
        return f"{player}-r{data.draw(st.integers(0, ROUNDS_PER_PLAYER - 1), label='round')}"

    def _amount(self, data: st.DataObject, low: int = 1) -> int:
        return data.draw(st.integers(low, AMOUNT_MAX), label="amount")

    def _stake(self, data: st.DataObject, player: str) -> int:
        """Any amount, or one aimed at the edges: all funds, just over, or real plus bonus."""
        real, bonus = self.model.balance(player)
        aim = data.draw(st.integers(0, 3), label="stake aim")
        if aim == 0 or real + bonus <= 0:
            return self._amount(data)
        if aim == 1:
            return real + bonus + data.draw(st.integers(0, 1), label="over by")
        return max(1, real) + data.draw(st.integers(0, max(0, bonus)), label="into bonus")

    def _cashier(self, data: st.DataObject) -> MoneyCommand:
        player = self._player(data)
        currency = PLAYERS[player][0]
        kind = data.draw(st.sampled_from(["deposit", "withdrawal", "bonus"]), label="cashier")
        tx_id, amount = self._fresh_id(), self._amount(data)
        if kind == "deposit":
            return Deposit(tx_id, player, currency, amount)
        if kind == "withdrawal":
            return Withdrawal(tx_id, player, currency, amount)
        return BonusGrant(tx_id, player, currency, amount)

    def _bet(self, data: st.DataObject) -> Debit:
        player = self._player(data)
        return Debit(
            data.draw(st.sampled_from(PROVIDERS), label="provider"),
            self._fresh_id(),
            player,
            PLAYERS[player][0],
            self._stake(data, player),
            self._round(data, player),
            "g1",
            close_round=data.draw(st.integers(0, 7), label="closes?") == 0,
        )

    def _sent_bet(self, data: st.DataObject) -> Debit | None:
        """Mostly a bet that was applied (and maybe settled); sometimes any bet sent."""
        bets = [c for c in self.sent if isinstance(c, Debit)]
        live = [b for b in bets if self._status(b) in ("applied", "settled")]
        any_bet = data.draw(st.integers(0, 4), label="any bet?") == 0
        pool = bets if any_bet or not live else live
        return data.draw(st.sampled_from(pool), label="bet") if pool else None

    def _status(self, command: MoneyCommand) -> str:
        found = self.model.txs.get((command.provider, command.tx_id))
        return "" if found is None or found.command != command else found.status

    def _win_by_ref(self, data: st.DataObject) -> Credit | None:
        bet = self._sent_bet(data)
        if bet is None:
            return None
        player = bet.player_id
        if data.draw(st.integers(0, 9), label="other player?") == 0:
            player = self._player(data)
        return Credit(
            bet.provider, self._fresh_id(), player, PLAYERS[player][0],
            self._amount(data, low=0), bet.round_id, "g1",
            data.draw(st.sampled_from([CreditKind.WIN, CreditKind.WIN, CreditKind.JACKPOT])),
            ref_tx_id=bet.tx_id,
            close_round=data.draw(st.booleans(), label="closes?"),
        )  # fmt: skip

    def _win_by_round(self, data: st.DataObject) -> Credit:
        """A win for a whole round: mostly one that saw bets, sometimes any."""
        bet = self._sent_bet(data) if data.draw(st.booleans(), label="round of a bet?") else None
        if bet is not None:
            provider, player, round_id = bet.provider, bet.player_id, bet.round_id
        else:
            player = self._player(data)
            provider = data.draw(st.sampled_from(PROVIDERS), label="provider")
            round_id = self._round(data, player)
        return Credit(
            provider, self._fresh_id(), player, PLAYERS[player][0], self._amount(data, low=0),
            round_id, "g1", close_round=data.draw(st.booleans(), label="closes?"),
        )  # fmt: skip

    def _rollback(self, data: st.DataObject) -> Rollback | None:
        """Mostly of a bet or win; sometimes of anything sent (cashier, rollbacks)."""
        games = [
            c for c in self.sent if isinstance(c, Debit | Credit) and self._status(c) != "refused"
        ]
        any_target = data.draw(st.integers(0, 3), label="any?") == 0
        pool: list[MoneyCommand] = list(self.sent if any_target or not games else games)
        if not pool:
            return None
        target = data.draw(st.sampled_from(pool), label="target")
        player = target.player_id
        if data.draw(st.integers(0, 9), label="other player?") == 0:
            player = self._player(data)
        return Rollback(target.provider, self._fresh_id(), player, target.tx_id)

    def _close(self, data: st.DataObject) -> CloseRound:
        player = self._player(data)
        provider = data.draw(st.sampled_from(PROVIDERS), label="provider")
        return CloseRound(provider, player, self._round(data, player))

    def _any(self, data: st.DataObject) -> WalletCommand:
        """One command of any kind, for batches."""
        choice = data.draw(st.integers(0, 5), label="batch command")
        built: WalletCommand | None
        if choice == 0:
            built = self._cashier(data)
        elif choice == 1:
            built = self._win_by_ref(data)
        elif choice == 2:
            built = self._win_by_round(data)
        elif choice == 3:
            built = self._rollback(data)
        elif choice == 4:
            built = self._close(data)
        else:
            built = None
        return built if built is not None else self._bet(data)

    # -- rules ------------------------------------------------------------------------

    @initialize(real=st.integers(0, 5_000), bonus=st.integers(0, 2_000))
    def fund_everyone(self, real: int, bonus: int) -> None:
        """Start with money (the broke wallet is reached by betting it away)."""
        for player_id, (currency, _) in PLAYERS.items():
            commands: list[WalletCommand] = []
            if real:
                commands.append(Deposit(self._fresh_id(), player_id, currency, real))
            if bonus:
                commands.append(BonusGrant(self._fresh_id(), player_id, currency, bonus))
            if commands:
                self._send(commands)

    @rule(data=st.data())
    def cashier(self, data: st.DataObject) -> None:
        self._send([self._cashier(data)])

    @rule(data=st.data())
    def bet(self, data: st.DataObject) -> None:
        self._send([self._bet(data)])

    @rule(data=st.data())
    def win_by_reference(self, data: st.DataObject) -> None:
        self._send([self._win_by_ref(data) or self._bet(data)])

    @rule(data=st.data())
    def win_by_round(self, data: st.DataObject) -> None:
        self._send([self._win_by_round(data)])

    @rule(data=st.data(), kind=st.sampled_from([CreditKind.PROMO, CreditKind.JACKPOT]))
    def promo_without_bet(self, data: st.DataObject, kind: CreditKind) -> None:
        player = self._player(data)
        self.next_round += 1
        self._send([
            Credit(
                "pa", self._fresh_id(), player, PLAYERS[player][0], self._amount(data),
                f"promo-{self.next_round}", "g1", kind, requires_bet=False,
            )
        ])  # fmt: skip

    @rule(data=st.data())
    def rollback(self, data: st.DataObject) -> None:
        self._send([self._rollback(data) or self._bet(data)])

    @rule(data=st.data())
    def reverse_a_spent_win(self, data: st.DataObject) -> None:
        """Withdraw everything, then reverse a win: the player is left owing (debt)."""
        wins = [
            c
            for c in self.sent
            if isinstance(c, Credit) and c.amount_minor > 0 and self._status(c) == "applied"
        ]
        if not wins:
            return self._send([self._bet(data)])
        won = data.draw(st.sampled_from(wins), label="win")
        real, _ = self.model.balance(won.player_id)
        if real > 0:
            self._send([Withdrawal(self._fresh_id(), won.player_id, won.currency, real)])
        self._send([Rollback(won.provider, self._fresh_id(), won.player_id, won.tx_id)])
        return None

    @rule(data=st.data())
    def rollback_before_bet(self, data: st.DataObject) -> None:
        late = self._bet(data)
        self._send([Rollback(late.provider, self._fresh_id(), late.player_id, late.tx_id)])
        self._send([late])

    @rule(data=st.data())
    def exact_replay(self, data: st.DataObject) -> None:
        if not self.sent:
            return self._send([self._bet(data)])
        self._send([data.draw(st.sampled_from(self.sent), label="replayed")])
        return None

    @rule(data=st.data())
    def conflicting_replay(self, data: st.DataObject) -> None:
        if not self.sent:
            return self._send([self._bet(data)])
        self._send([_changed(data.draw(st.sampled_from(self.sent), label="changed"))])
        return None

    @rule(data=st.data())
    def close_round(self, data: st.DataObject) -> None:
        self._send([self._close(data)])

    @rule(snapshot_txs_min=st.sampled_from([SNAPSHOT_TXS_MIN, 1_000]))
    def restart(self, snapshot_txs_min: int) -> None:
        """Close and reopen the store: what no snapshot covered is read back from the log."""
        self.loop.run_until_complete(self.store.close())
        self.store = self.loop.run_until_complete(
            SqliteWalletStore.open(
                self.path, snapshot_txs_min=snapshot_txs_min, cache_limits=self.cache_limits
            )
        )
        _Stats.restarts += 1

    @rule(data=st.data(), size=st.integers(2, 3))
    def batch(self, data: st.DataObject, size: int) -> None:
        commands = [self._any(data) for _ in range(size)]
        replay_inside = data.draw(st.booleans(), label="replay inside?")
        if self.sent and replay_inside:
            commands[data.draw(st.integers(0, size - 1))] = data.draw(st.sampled_from(self.sent))
        self._send(commands)

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def ledger_is_balanced_and_matches_the_model(self) -> None:
        _Stats.steps += self.started  # the first check runs before any step
        self.started = True
        rows = self.reader.execute(
            "SELECT currency, SUM(amount_minor) FROM entries GROUP BY currency"
        ).fetchall()
        assert all(total == 0 for _, total in rows), f"entries do not sum to zero: {rows}"
        through_seq = meta_int(self.reader, SNAPSHOT_SEQ_KEY)
        assert through_seq is not None
        stored = _accounts(self.reader)
        snapshotted = _entry_sums(self.reader, through_seq=through_seq)
        assert {k: v for k, v in stored.items() if v} == {k: v for k, v in snapshotted.items() if v}
        summed = _entry_sums(self.reader)
        for player_id in PLAYERS:
            real, bonus = self.model.balance(player_id)
            currency = PLAYERS[player_id][0]
            assert summed.get((f"player:{player_id}:real", currency), 0) == real
            assert summed.get((f"player:{player_id}:bonus", currency), 0) == bonus
            balance = self.loop.run_until_complete(self.store.balance(player_id, currency))
            assert (balance.real_minor, balance.bonus_minor) == (real, bonus)
            if real < 0 or bonus < 0:
                assert player_id in self.model.reversed_win, f"{player_id} negative without debt"

    @invariant()
    def each_players_history_is_exactly_their_rows_of_the_log(self) -> None:
        for player_id in PLAYERS:
            logged = [
                seq
                for (seq,) in self.reader.execute(
                    "SELECT seq FROM txs WHERE player_id = ? ORDER BY seq DESC", (player_id,)
                )
            ]
            history = self.loop.run_until_complete(self.store.transactions(player_id, limit=1_000))
            assert [record.seq for record in history] == logged, player_id


def _accounts(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute("SELECT account, currency, balance_minor FROM accounts").fetchall()
    return {(account, currency): balance for account, currency, balance in rows}


def _entry_sums(
    conn: sqlite3.Connection, through_seq: int = 2**63 - 1
) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        "SELECT account, currency, SUM(amount_minor) FROM entries WHERE seq <= ? "
        "GROUP BY account, currency",
        (through_seq,),
    ).fetchall()
    return {(account, currency): total for account, currency, total in rows}


def _changed(command: MoneyCommand) -> MoneyCommand:
    """The same key with another payload."""
    if isinstance(command, Rollback):
        return Rollback(
            command.provider, command.tx_id, command.player_id, command.ref_tx_id,
            close_round=not command.close_round,
        )  # fmt: skip
    changes: dict[str, Any] = {"amount_minor": command.amount_minor + 1}
    return type(command)(**{**_fields(command), **changes})


def _fields(command: MoneyCommand) -> dict[str, Any]:
    return {name: getattr(command, name) for name in command.__dataclass_fields__}


def _compare(commands: Sequence[WalletCommand], expected: Expected, got: Any) -> None:
    where = f"commands {list(commands)}"
    if isinstance(expected, ModelRefusal):
        assert isinstance(got, GatewayError), f"{where}: expected {expected}, got {got}"
        assert type(got) is expected.error, f"{where}: expected {expected}, got {got!r}"
        assert got.replay == expected.replay, f"{where}: replay flag of {got!r}"
        found = None if got.balance is None else _pair(got.balance)
        assert found == expected.balance, f"{where}: balance with refusal {found}"
        return
    assert isinstance(got, list), f"{where}: expected {expected}, got {got!r}"
    assert len(got) == len(expected)
    for index, (model, outcome) in enumerate(zip(expected, got, strict=True)):
        _compare_outcome(where, model, outcome, [o.transaction_id for o in got[:index]])


def _compare_outcome(
    where: str, model: ModelOutcome, outcome: TxOutcome, earlier_ids: list[str]
) -> None:
    found = ModelOutcome(
        replay=outcome.replay,
        tombstone=outcome.tombstone,
        real_delta=outcome.real_delta_minor,
        bonus_delta=outcome.bonus_delta_minor,
        balance=_pair(outcome.balance),
        transaction_id=model.transaction_id,
    )
    assert found == model, f"{where}: expected {model}, got {outcome}"
    if isinstance(model.transaction_id, int):
        assert outcome.transaction_id == earlier_ids[model.transaction_id], where
    elif model.transaction_id is not None:
        assert outcome.transaction_id == model.transaction_id, where
    else:
        assert outcome.transaction_id, f"{where}: a new record needs an id"
        assert outcome.transaction_id not in earlier_ids, f"{where}: id reused"


def _answer_kinds(outcomes: list[TxOutcome]) -> list[str]:
    return ["tombstone" if o.tombstone else "replay" if o.replay else "ok" for o in outcomes]


def _pair(balance: Any) -> tuple[int, int]:
    return balance.real_minor, balance.bonus_minor


class SmallCachesWalletMachine(WalletMachine):
    cache_limits = SMALL_CACHES


@pytest.mark.slow
@pytest.mark.timeout(900)  # a failure shrinks for minutes; the seed is printed up front
@pytest.mark.parametrize(
    "machine", [WalletMachine, SmallCachesWalletMachine], ids=["caches", "small-caches"]
)
def test_the_sqlite_wallet_answers_exactly_like_the_reference_model(
    machine: type[WalletMachine],
) -> None:
    run_model(machine, SETTINGS, steps_min=STEPS_MIN)


def run_model(
    machine: type[RuleBasedStateMachine], run_settings: settings, *, steps_min: int
) -> None:
    """Run `machine` under a printed seed (`HYPOTHESIS_SEED` to choose it), report what
    it exercised, and fail if fewer than `steps_min` steps ran. Any store's model test."""
    chosen = os.environ.get("HYPOTHESIS_SEED")
    run_seed = int(chosen) if chosen else random.getrandbits(64)
    print(f"wallet model: HYPOTHESIS_SEED={run_seed}")
    _Stats.steps = _Stats.calls = _Stats.restarts = 0
    _Stats.answers.clear()
    try:
        run_state_machine_as_test(seed(run_seed)(machine), settings=run_settings)
    except BaseException as exc:
        exc.add_note(f"reproduce with HYPOTHESIS_SEED={run_seed}")
        raise
    print(
        f"wallet model: {_Stats.steps} steps, {_Stats.calls} store calls, "
        f"{_Stats.restarts} restarts, seed {run_seed}"
    )
    print(f"wallet model answers: {dict(_Stats.answers.most_common())}")
    assert _Stats.steps >= steps_min, f"only {_Stats.steps} steps ran"
