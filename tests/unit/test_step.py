"""`run_step`, the wallet's atomic step, against a dict-backed view: what it decides and
what it hands the store to write.

The view here is the smallest `StepView` there is; `persist` is the smallest store (it
writes `StepWrites` into the dicts). Seqs come from a Redis-like allocator that hands
out increasing seqs with gaps, so nothing passes by assuming `seq + 1`.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from core.errors import (
    AlreadyRolledBack,
    ConflictingReplay,
    GatewayError,
    InsufficientFunds,
    InvalidRequest,
    PlayerBlocked,
    PlayerNotFound,
    Reason,
    ReferenceNotFound,
    RoundClosed,
    SessionInvalid,
    StakeAboveLimit,
)
from core.model import (
    Balance,
    CloseRound,
    Credit,
    Debit,
    Deposit,
    PlayerStatus,
    Rollback,
    TxKind,
    TxStatus,
    WalletCommand,
    Withdrawal,
)
from core.wallet.figures import NO_FIGURES, PlayFigures
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord
from core.wallet.step import StepResult, StepWrites, run_step
from core.wallet.store import DebitGuard, GuardContext, GuardedCommand

P = "prov"
NOW_US = 1_800_000_000_000_000
_BIRTH = datetime.date(1990, 1, 1)


@dataclass
class DictView:
    """A `StepView` over dicts; `persist` writes a step's writes into them."""

    players: dict[str, PlayerRecord] = field(default_factory=dict)
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    money: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    txs: dict[tuple[str, str], TxRecord] = field(default_factory=dict)
    rounds: dict[tuple[str, str], RoundRecord] = field(default_factory=dict)
    played: dict[str, PlayFigures] = field(default_factory=dict)

    def player(self, player_id: str) -> PlayerRecord | None:
        return self.players.get(player_id)

    def session(self, token: str) -> SessionRecord | None:
        return self.sessions.get(token)

    def balances(self, player_id: str, currency: str) -> tuple[int, int]:
        return self.money.get((player_id, currency), (0, 0))

    def tx(self, provider: str, tx_id: str) -> TxRecord | None:
        return self.txs.get((provider, tx_id))

    def round(self, provider: str, round_id: str) -> RoundRecord | None:
        return self.rounds.get((provider, round_id))

    def figures(self, player_id: str) -> PlayFigures:
        return self.played.get(player_id, NO_FIGURES)

    def persist(self, writes: StepWrites) -> None:
        for record in [*writes.records, *writes.updates]:
            self.txs[(record.provider, record.tx_id)] = record
        for round_ in writes.rounds:
            self.rounds[(round_.provider, round_.round_id)] = round_
        self.money.update(writes.balances)
        self.played.update(writes.figures)


class GappedSeqs:
    """Increasing seqs with gaps, as the Redis store hands them out; remembers each."""

    def __init__(self, start: int = 100, step: int = 7) -> None:
        self.handed: list[int] = []
        self._next = start
        self._step = step

    def __call__(self) -> int:
        seq = self._next
        self._next += self._step
        self.handed.append(seq)
        return seq


def funded(
    real: int = 1_000, bonus: int = 0, status: PlayerStatus = PlayerStatus.ACTIVE
) -> DictView:
    """p1 in EUR with `real`/`bonus`; p2 also exists, unfunded."""
    view = DictView()
    view.players["p1"] = PlayerRecord("p1", "demo", "MT", "EUR", _BIRTH, status=status)
    view.players["p2"] = PlayerRecord("p2", "demo", "MT", "EUR", _BIRTH)
    view.money[("p1", "EUR")] = (real, bonus)
    view.sessions["tok"] = SessionRecord("tok", "p1", P, "g1", "EUR", NOW_US + 10**9, NOW_US)
    return view


def bet(tx_id: str, amount: int = 100, round_id: str = "r1", player: str = "p1") -> Debit:
    return Debit(P, tx_id, player, "EUR", amount, round_id, "g1")


def win(tx_id: str, amount: int, ref: str | None = None, round_id: str = "r1") -> Credit:
    return Credit(P, tx_id, "p1", "EUR", amount, round_id, "g1", ref_tx_id=ref)


def step(
    view: DictView,
    commands: Sequence[WalletCommand],
    *,
    seqs: Callable[[], int] | None = None,
    refusal: GatewayError | None = None,
    guard: DebitGuard | None = None,
) -> StepResult:
    return run_step(
        commands,
        view,
        refusal=refusal,
        guard=guard,
        new_seq=seqs or GappedSeqs(),
        now_us=NOW_US,
    )


def applied(view: DictView, commands: Sequence[WalletCommand], seqs: GappedSeqs) -> StepResult:
    """Run and persist a job that must be accepted."""
    result = step(view, commands, seqs=seqs)
    assert result.refusal is None, result.refusal
    view.persist(result.writes)
    return result


def no_writes(writes: StepWrites) -> bool:
    return writes == StepWrites()


@dataclass
class GuardSpy:
    """A debit guard whose check raises `error` (None: admits) and records its calls."""

    error: GatewayError | None = None
    token: str | None = None
    calls: list[tuple[str, str | None, str]] = field(default_factory=list)
    """(player, session token, tx id) per check."""
    contexts: list[GuardContext] = field(default_factory=list)

    @property
    def guard(self) -> DebitGuard:
        return DebitGuard(self.token, self._check)

    def _check(self, command: GuardedCommand, context: GuardContext) -> None:
        session = context.session
        self.calls.append(
            (context.player.player_id, None if session is None else session.token, command.tx_id)
        )
        self.contexts.append(context)
        if self.error is not None:
            raise self.error


# -- one job, several commands: decided whole, written whole -----------------------------


@pytest.mark.parametrize(
    ("commands", "refused_tx", "error"),
    [
        ([bet("a"), bet("b"), bet("big", 5_000)], "big", InsufficientFunds),
        ([bet("a"), win("w", 50, ref="a"), bet("big", 5_000)], "big", InsufficientFunds),
        ([bet("a"), Rollback(P, "rb", "p1", "x"), bet("x")], "x", AlreadyRolledBack),
        ([bet("a", round_id="r9"), CloseRound(P, "p1", "r9"), bet("c", round_id="r9")], "c",
         RoundClosed),
    ],
    ids=["overdraw", "after a settled bet", "after its own tombstone", "after its round closed"],
)  # fmt: skip
def test_a_refusal_at_command_k_discards_what_the_commands_before_k_planned(
    commands: list[WalletCommand], refused_tx: str, error: type[GatewayError]
) -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    result = step(view, commands, seqs=seqs)
    assert isinstance(result.refusal, error)
    assert result.outcomes is None
    [stored] = result.writes.records  # the refusal, and nothing the earlier commands planned
    assert (stored.tx_id, stored.status, stored.reason) == (
        refused_tx, TxStatus.REFUSED, error.reason)  # fmt: skip
    assert stored.seq == seqs.handed[0], (
        "the first seq the job was handed: a dense store stays dense"
    )
    assert (result.writes.updates, result.writes.entries, result.writes.rounds) == ([], [], [])
    assert result.writes.balances == {}
    assert result.refusal.balance == Balance("EUR", 1_000, 0), "as before the job"


def test_later_commands_of_a_job_see_what_earlier_ones_planned() -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    result = applied(view, [bet("a", 300), win("w", 500, ref="a"), bet("a", 300)], seqs)
    assert result.outcomes is not None
    first, paid, replayed = result.outcomes
    assert first.balance == Balance("EUR", 700, 0)
    assert paid.balance == Balance("EUR", 1_200, 0)
    assert replayed.replay
    assert replayed.transaction_id == first.transaction_id
    assert replayed.balance == Balance("EUR", 1_200, 0), "a replay answers with the balance now"
    writes = result.writes
    assert [(r.tx_id, r.status) for r in writes.records] == [
        ("a", TxStatus.SETTLED), ("w", TxStatus.APPLIED)]  # fmt: skip
    assert writes.updates == [], "a bet the job created is written once, in its last status"
    assert [seq for seq, _ in writes.entries] == [seqs.handed[0]] * 2 + [seqs.handed[1]] * 2
    assert writes.balances == {("p1", "EUR"): (1_200, 0)}
    [round_] = writes.rounds
    assert (round_.stake_real_minor, round_.win_real_minor, round_.bet_count) == (300, 500, 1)


def test_an_existing_record_changed_twice_in_a_job_is_one_update() -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    applied(view, [bet("a", 300)], seqs)
    result = applied(view, [win("w", 500, ref="a"), Rollback(P, "rb", "p1", "w")], seqs)
    [update] = result.writes.updates
    assert (update.tx_id, update.status) == ("a", TxStatus.APPLIED), "settled, then reopened"
    assert result.writes.balances == {("p1", "EUR"): (700, 0)}


# -- which refusals are stored ---------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    name: str
    commands: list[WalletCommand]
    error: type[GatewayError]
    stored: bool
    refusal: GatewayError | None = None
    guard: DebitGuard | None = None
    before: list[WalletCommand] = field(default_factory=list)
    """Accepted first, so the refused job meets their records."""


REFUSALS = [
    Refused("insufficient funds", [bet("b", 5_000)], InsufficientFunds, stored=True),
    Refused("round closed", [bet("b", round_id="done")], RoundClosed, stored=True,
            before=[CloseRound(P, "p1", "done")]),
    Refused("pre-decided verdict", [bet("b")], PlayerBlocked, stored=True,
            refusal=PlayerBlocked("blocked")),
    Refused("guard verdict", [bet("b")], StakeAboveLimit, stored=True,
            guard=GuardSpy(StakeAboveLimit("cap")).guard),
    Refused("conflict", [bet("b", 200)], ConflictingReplay, stored=False, before=[bet("b")]),
    Refused("late original of a tombstone", [bet("b")], AlreadyRolledBack, stored=False,
            before=[Rollback(P, "rb", "p1", "b")]),
    Refused("unknown player", [bet("b", player="nobody")], PlayerNotFound, stored=False),
    Refused("unknown session", [bet("b")], SessionInvalid, stored=False,
            guard=GuardSpy(token="forged").guard),
    Refused("unknown bet", [win("w", 10, ref="nope")], ReferenceNotFound, stored=False),
    Refused("someone else's round", [CloseRound(P, "p2", "r1")], InvalidRequest, stored=False,
            before=[bet("b")]),
    Refused("refused rollback of a player without a wallet", [Rollback(P, "rb", "nobody", "b")],
            PlayerNotFound, stored=False),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS, ids=[case.name for case in REFUSALS])
def test_a_refusal_is_stored_only_when_it_answers_for_the_transaction(case: Refused) -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    for command in case.before:
        applied(view, [command], seqs)
    result = step(view, case.commands, seqs=seqs, refusal=case.refusal, guard=case.guard)
    assert isinstance(result.refusal, case.error)
    assert result.outcomes is None
    if not case.stored:
        assert no_writes(result.writes)
        return
    [record] = result.writes.records
    command = case.commands[0]
    assert isinstance(command, Debit)
    assert record == TxRecord(
        seqs.handed[-1], P, command.tx_id, TxKind.DEBIT, "p1", "EUR", command.amount_minor,
        0, 0, command.round_id, None, command.fingerprint(), TxStatus.REFUSED,
        case.error.reason, NOW_US, "",
    )  # fmt: skip
    assert result.refusal.balance == Balance("EUR", 1_000, 0)
    view.persist(result.writes)
    again = step(view, case.commands, seqs=seqs, refusal=case.refusal, guard=case.guard)
    assert isinstance(again.refusal, case.error)
    assert again.refusal.replay, "the retry gets the stored answer"
    assert no_writes(again.writes)


def test_a_refused_rollback_is_stored_in_the_players_currency() -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    applied(view, [bet("b"), win("w", 0, ref="b")], seqs)
    result = step(view, [Rollback(P, "rb", "p1", "b")], seqs=seqs)
    [record] = result.writes.records
    assert (record.currency, record.reason) == ("EUR", Reason.ALREADY_SETTLED)


# -- the debit guard -------------------------------------------------------------------


def test_replays_do_not_meet_the_guard_or_the_pre_decided_refusal() -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    applied(view, [bet("b")], seqs)
    spy = GuardSpy(StakeAboveLimit("cap"), token="tok")
    result = step(view, [bet("b")], seqs=seqs, guard=spy.guard, refusal=PlayerBlocked("blocked"))
    assert result.refusal is None
    assert result.outcomes is not None
    assert result.outcomes[0].replay
    assert spy.calls == []
    assert no_writes(result.writes)


def test_the_guard_sees_the_session_and_every_new_debit_and_never_a_credit() -> None:
    view = funded(real=1_000)
    spy = GuardSpy(token="tok")
    result = step(view, [bet("a"), win("w", 10, ref="a"), bet("b")], guard=spy.guard)
    assert result.refusal is None
    assert spy.calls == [("p1", "tok", "a"), ("p1", "tok", "b")]


def test_another_providers_session_is_unknown_here() -> None:
    view = funded(real=1_000)
    view.sessions["tok"] = dataclasses.replace(view.sessions["tok"], provider="other")
    result = step(view, [bet("b")], guard=GuardSpy(token="tok").guard)
    assert isinstance(result.refusal, SessionInvalid)


def test_the_pre_decided_refusal_spares_the_credits_of_a_job_without_a_new_debit() -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    applied(view, [bet("a")], seqs)
    result = step(view, [bet("a"), win("w", 40, ref="a")], seqs=seqs, refusal=PlayerBlocked())
    assert result.refusal is None
    assert result.outcomes is not None
    assert result.outcomes[1].balance == Balance("EUR", 940, 0)


def test_a_blocked_player_is_the_guards_call_not_the_steps() -> None:
    view = funded(real=1_000, status=PlayerStatus.SUSPENDED)
    assert step(view, [bet("b")]).refusal is None


# -- seqs, rounds, the single-command job ------------------------------------------------


def test_each_new_record_takes_the_next_seq_handed_out_in_order() -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs(start=1_000, step=13)
    result = applied(view, [Deposit("d", "p1", "EUR", 5), Rollback(P, "rb", "p1", "later")], seqs)
    records = result.writes.records
    assert [r.seq for r in records] == seqs.handed == [1_000, 1_013, 1_026]
    assert [(r.tx_id, r.status) for r in records] == [
        ("d", TxStatus.APPLIED),
        ("rb", TxStatus.APPLIED),
        ("later", TxStatus.TOMBSTONE),
    ]
    assert result.outcomes is not None
    assert result.outcomes[1].tombstone


def test_a_replay_takes_no_seq() -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    applied(view, [bet("b")], seqs)
    step(view, [bet("b")], seqs=seqs)
    assert len(seqs.handed) == 1


def test_closing_a_round_never_seen_opens_it_closed() -> None:
    view = funded(real=1_000)
    result = applied(view, [CloseRound(P, "p1", "r7", "g7")], GappedSeqs())
    [round_] = result.writes.rounds
    assert (round_.round_id, round_.closed, round_.currency, round_.game_id) == (
        "r7", True, "EUR", "g7")  # fmt: skip
    assert result.outcomes is not None
    assert result.outcomes[0].balance == Balance("EUR", 1_000, 0)
    again = step(view, [CloseRound(P, "p1", "r7")])
    assert no_writes(again.writes), "closing a closed round writes nothing"


def test_a_single_command_job_hands_over_its_plan_as_the_writes() -> None:
    view = funded(real=60, bonus=100)
    seqs = GappedSeqs()
    result = applied(view, [bet("b", 100)], seqs)
    writes = result.writes
    [record] = writes.records
    assert (record.seq, record.real_delta_minor, record.bonus_delta_minor) == (
        seqs.handed[0], -60, -40)  # fmt: skip
    assert sorted(leg.amount_minor for _, leg in writes.entries) == [-60, -40, 100]
    assert writes.balances == {("p1", "EUR"): (0, 60)}
    assert result.outcomes is not None
    assert result.outcomes[0].balance == Balance("EUR", 0, 60)


# -- play figures and what the guard sees ------------------------------------------------


def _day_totals(view: DictView) -> tuple[int, int, int]:
    day = view.figures("p1").day
    return day.deposited_minor, day.wagered_minor, day.lost_minor


@pytest.mark.parametrize(
    ("jobs", "totals"),
    [
        ([[bet("a", 100)]], (0, 100, 100)),
        ([[bet("a", 100), win("w", 30, ref="a")]], (0, 100, 70)),
        ([[bet("a", 100)], [Rollback(P, "rb", "p1", "a")]], (0, 0, 0)),
        ([[bet("a", 100), win("w", 250, ref="a")], [Rollback(P, "rbw", "p1", "w")]], (0, 100, 100)),
        ([[Deposit("d", "p1", "EUR", 500)], [Withdrawal("wd", "p1", "EUR", 200)]], (500, 0, 0)),
        ([[bet("a", 100)], [bet("a", 100)]], (0, 100, 100)),  # a replay counts once
        ([[Rollback(P, "rb", "p1", "never")]], (0, 0, 0)),  # a tombstone moves nothing
    ],
    ids=["bet", "bet and win", "bet rolled back", "win rolled back", "cashier", "replay",
         "tombstone"],
)  # fmt: skip
def test_the_step_keeps_the_players_figures(
    jobs: list[list[WalletCommand]], totals: tuple[int, int, int]
) -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    for job in jobs:
        applied(view, job, seqs)
    assert _day_totals(view) == totals


def test_a_refused_job_leaves_the_figures_as_they_were() -> None:
    view = funded(real=1_000)
    seqs = GappedSeqs()
    applied(view, [bet("a", 100)], seqs)
    result = step(view, [bet("b", 100), bet("big", 5_000)], seqs=seqs)
    assert isinstance(result.refusal, InsufficientFunds)
    assert result.writes.figures == {}


def test_the_guard_sees_the_jobs_earlier_bets_and_the_cycles_cost() -> None:
    view = funded(real=1_000)
    view.sessions["tok"] = SessionRecord(
        "tok", "p1", P, "g1", "EUR", NOW_US + 10**9, NOW_US, vertical="slots"
    )
    spy = GuardSpy(token="tok")
    result = step(view, [bet("a", 100), bet("b", 40), bet("c", 10, round_id="r2")], guard=spy.guard)
    assert result.refusal is None
    first, second, third = spy.contexts
    assert (first.opens_cycle, first.round_stake_minor, first.figures.day.wagered_minor) == (
        True,
        0,
        0,
    )
    assert (second.opens_cycle, second.round_stake_minor, second.figures.day.wagered_minor) == (
        False, 100, 100)  # fmt: skip
    assert (third.opens_cycle, third.figures.cycle_start_us("slots")) == (True, NOW_US)
    assert result.writes.figures["p1"].day.wagered_minor == 150


def test_deposits_and_withdrawals_pass_the_guard_too() -> None:
    view = funded(real=1_000)
    spy = GuardSpy(error=PlayerBlocked())
    result = step(view, [Deposit("d", "p1", "EUR", 5)], guard=spy.guard)
    assert isinstance(result.refusal, PlayerBlocked)
    assert spy.calls == [("p1", None, "d")]
    spy = GuardSpy()
    step(view, [Withdrawal("w", "p1", "EUR", 5)], guard=spy.guard)
    assert spy.calls == [("p1", None, "w")]
