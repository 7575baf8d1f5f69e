"""The wallet's atomic step for one job, pure: decide everything, then hand over the writes.

    class StepView(LedgerView, Protocol):   # core.wallet.view
        def session(self, token: str) -> SessionRecord | None: ...

    def run_step(commands: Sequence[WalletCommand], view: StepView, *,
                 refusal: GatewayError | None, guard: DebitGuard | None,
                 new_seq: Callable[[], int], now_us: int) -> StepResult

A store runs `run_step` inside its atomic step (the SQLite writer's transaction, a Redis
script's version check) against a view of its state, then persists `result.writes` as
one unit and answers `result.outcomes`, or raises `result.refusal` once the writes (a
stored refusal) are durable. The store decides nothing: every rule below is here, once.

For each command of the job, in order:

- `CloseRound`: the player must exist; the round is closed (opened closed if unseen);
- otherwise the replay check (`engine.check_replay`): an identical earlier request
  answers its stored outcome with the balance now; a conflict, a tombstone or a stored
  refusal refuses the job;
- a debit that is not a replay meets the pre-decided `refusal` (raised for the first
  one), then the `guard`: the session by its token (unknown, or another provider's:
  `SessionInvalid`), the player (`PlayerNotFound`), then `guard.check`;
- the command is planned (`engine.plan`).

Nothing is written before the whole job is decided, because a store may be unable to
roll back (Redis): when command k is refused, what commands before k planned is
discarded and only the refusal is written, if `engine.refusal_record` stores it. The
refusal carries the player's balance (wallet currency) as the store holds it.

Commands after the first read the store's view through an overlay holding what the
earlier ones planned. A job of one command (nearly every job) plans against the view
itself and its plan's lists become the writes as they are: no overlay, no copies.

Seqs: each new record takes `new_seq()`, called in record order. SQLite hands out a
dense counter, Redis increasing but gapped seqs; nothing here assumes `seq + 1`. A
refused job's stored refusal takes the first seq the job was handed (its other seqs are
never written), so a dense counter stays dense.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.errors import GatewayError, PlayerNotFound, SessionInvalid
from core.model import (
    Balance,
    CloseRound,
    Credit,
    Debit,
    Deposit,
    Rollback,
    TxOutcome,
    WalletCommand,
    Withdrawal,
)
from core.wallet.engine import (
    TOMBSTONE_DETAIL,
    Plan,
    check_replay,
    plan,
    plan_close,
    refusal_record,
)
from core.wallet.figures import PlayFigures, moved, rolled
from core.wallet.records import Entry, PlayerRecord, RoundRecord, SessionRecord, TxRecord
from core.wallet.store import DebitGuard, GuardContext
from core.wallet.view import StepView

__all__ = ["StepResult", "StepView", "StepWrites", "run_step"]

TxKey = tuple[str, str]


@dataclass(slots=True)
class StepWrites:
    """What one job writes, as one atomic unit (all empty: nothing)."""

    records: list[TxRecord] = field(default_factory=list)
    """New records in seq order: money records, tombstones, a stored refusal."""
    updates: list[TxRecord] = field(default_factory=list)
    """Records that existed before the job, in their new status (settled, rolled back,
    reopened); one per key. A record the job created is in `records` in its last status."""
    entries: list[tuple[int, Entry]] = field(default_factory=list)
    """Ledger legs: (seq of the record they belong to, leg); player and house accounts."""
    rounds: list[RoundRecord] = field(default_factory=list)
    """The final state of each round the job touched; one per key."""
    balances: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    """(player_id, currency) -> (real, bonus) after the job, for the balances it moved.
    House accounts have no cached balance here: they are the sums of their entries."""
    figures: dict[str, PlayFigures] = field(default_factory=dict)
    """player_id -> play figures after the job, for the players whose figures it changed
    (`core.wallet.figures`): stored beside the balances, in the same unit."""


@dataclass(slots=True)
class StepResult:
    """The decision on one job."""

    writes: StepWrites
    """What to persist atomically, whether the job was accepted or refused."""
    outcomes: list[TxOutcome] | None
    """One per command when accepted; None when refused."""
    refusal: GatewayError | None
    """Raise it once `writes` are durable; its `balance` is set when the player exists."""


def run_step(
    commands: Sequence[WalletCommand],
    view: StepView,
    *,
    refusal: GatewayError | None,
    guard: DebitGuard | None,
    new_seq: Callable[[], int],
    now_us: int,
) -> StepResult:
    """Decide one job of `commands` against `view` (see the module docstring)."""
    assert commands, "a job has at least one command"
    job = _Job(refusal, guard, new_seq, now_us)
    if len(commands) == 1:
        command = commands[0]
        try:
            planned, outcome = job.decide(command, view)
        except GatewayError as error:
            return job.refused(command, error, view, command.player_id)
        if planned is None:
            return StepResult(_nothing(), [outcome], None)
        balances = {}
        if planned.real_delta_minor or planned.bonus_delta_minor:
            balance = outcome.balance
            balances[(planned.player_id, planned.currency)] = (
                balance.real_minor,
                balance.bonus_minor,
            )
        writes = StepWrites(
            planned.records, planned.updates, planned.entries, planned.rounds, balances,
            job.figures,
        )  # fmt: skip
        return StepResult(writes, [outcome], None)
    overlay = _Overlay(view)
    outcomes: list[TxOutcome] = []
    for command in commands:
        try:
            planned, outcome = job.decide(command, overlay)
        except GatewayError as error:
            return job.refused(command, error, view, commands[0].player_id)
        if planned is not None:
            overlay.absorb(planned, outcome.balance)
        outcomes.append(outcome)
    writes = overlay.writes()
    writes.figures = job.figures
    return StepResult(writes, outcomes, None)


class _Job:
    """The state of one job's decision: its verdicts, the seqs it was handed, and the
    play figures of the players it moved money for."""

    __slots__ = ("_guard", "_guarded", "_new_seq", "_now_us", "_refusal", "figures",
                 "first_seq")  # fmt: skip

    def __init__(
        self,
        refusal: GatewayError | None,
        guard: DebitGuard | None,
        new_seq: Callable[[], int],
        now_us: int,
    ) -> None:
        self._refusal = refusal
        self._guard = guard
        self._new_seq = new_seq
        self._now_us = now_us
        self._guarded: tuple[PlayerRecord, SessionRecord | None] | None = None
        self.first_seq: int | None = None
        self.figures: dict[str, PlayFigures] = {}
        """player_id -> figures after the job's commands so far (only those it changed)."""

    def decide(self, command: WalletCommand, view: StepView) -> tuple[Plan | None, TxOutcome]:
        """The command's plan (None: nothing to write) and answer; raises to refuse."""
        if isinstance(command, CloseRound):
            return self._close(command, view)
        stored = check_replay(command, view)
        if stored is not None:
            return None, _replayed(stored, view)
        opens_cycle = False
        if isinstance(command, Debit):
            round_ = view.round(command.provider, command.round_id)
            opens_cycle = round_ is None
            if self._refusal is not None or self._guard is not None:
                staked = 0 if round_ is None else round_.stake_real_minor + round_.stake_bonus_minor
                self._check(command, view, opens_cycle, staked)
        elif self._guard is not None and isinstance(command, (Deposit, Withdrawal)):
            self._check(command, view, False, 0)
        seq = self._new_seq()
        if self.first_seq is None:
            self.first_seq = seq
        planned = plan(command, view, seq, self._now_us, self._new_seq)
        currency = planned.currency
        real, bonus = view.balances(planned.player_id, currency)
        real_delta, bonus_delta = planned.real_delta_minor, planned.bonus_delta_minor
        record = planned.records[0]
        outcome = TxOutcome(  # positional: this runs for every money command
            record.transaction_id, Balance(currency, real + real_delta, bonus + bonus_delta),
            real_delta, bonus_delta, False, record.detail == TOMBSTONE_DETAIL,
        )  # fmt: skip
        self._count(command, planned, view, opens_cycle)
        return planned, outcome

    def _figures(self, player_id: str, view: StepView) -> PlayFigures:
        """The player's figures as of now, the job's earlier commands included."""
        found = self.figures.get(player_id)
        return rolled(view.figures(player_id), self._now_us) if found is None else found

    def _count(
        self, command: WalletCommand, planned: Plan, view: StepView, opens_cycle: bool
    ) -> None:
        """Add a planned movement to its player's figures (wallet currency only)."""
        delta = planned.real_delta_minor + planned.bonus_delta_minor
        if not isinstance(command, (Debit, Credit, Rollback, Deposit)) or (
            not delta and not isinstance(command, Debit)
        ):
            return
        player = view.player(planned.player_id)
        if player is None or player.currency != planned.currency:
            return
        now_us = self._now_us
        current = self._figures(player.player_id, view)
        if isinstance(command, Debit):
            session = None if self._guarded is None else self._guarded[1]
            vertical = session.vertical if opens_cycle and session is not None else ""
            after = moved(current, now_us, wagered_minor=-delta, lost_minor=-delta, bet=True,
                          cycle_vertical=vertical)  # fmt: skip
        elif isinstance(command, Deposit):
            after = moved(current, now_us, deposited_minor=delta)
        elif isinstance(command, Rollback) and delta > 0:  # a stake given back
            after = moved(current, now_us, wagered_minor=-delta, lost_minor=-delta)
        else:  # a win, or a win taken back
            after = moved(current, now_us, lost_minor=-delta)
        self.figures[player.player_id] = after

    def refused(
        self, command: WalletCommand, error: GatewayError, view: StepView, player_id: str
    ) -> StepResult:
        """The job refused by `error` at `command`: only the stored refusal is written,
        and the balance attached is `player_id`'s (the job's first command's player).

        `view` is the store's own view: what the job planned before is discarded."""
        writes = _nothing()
        if not isinstance(command, CloseRound):
            record = refusal_record(command, error, view, self._refusal_seq, self._now_us)
            if record is not None:
                writes.records.append(record)
        player = view.player(player_id)
        if player is not None:
            error.balance = Balance(player.currency, *view.balances(player_id, player.currency))
        # Without its traceback: its frames reach the store's whole batch, which would
        # then live on as cyclic garbage for the collector.
        return StepResult(writes, None, error.with_traceback(None))

    def _refusal_seq(self) -> int:
        """The first seq the job was handed (its plans are discarded), or a new one."""
        return self._new_seq() if self.first_seq is None else self.first_seq

    def _check(
        self,
        command: Debit | Deposit | Withdrawal,
        view: StepView,
        opens_cycle: bool,
        round_stake_minor: int,
    ) -> None:
        """A debit's pre-decided refusal, then the guard (at least one of them is set)."""
        if self._refusal is not None and isinstance(command, Debit):
            raise self._refusal
        guard = self._guard
        assert guard is not None
        guarded = self._guarded
        if guarded is None:
            guarded = self._guarded = _guard_context(guard, command, view)
        player, session = guarded
        figures = self._figures(player.player_id, view)
        context = GuardContext(
            player, session, figures, opens_cycle, round_stake_minor, self._now_us
        )
        guard.check(command, context)

    def _close(self, command: CloseRound, view: StepView) -> tuple[Plan | None, TxOutcome]:
        player, closed = plan_close(command, view, self._now_us)
        balance = Balance(player.currency, *view.balances(player.player_id, player.currency))
        planned = None if closed is None else Plan(rounds=[closed])
        return planned, TxOutcome("", balance)


def _nothing() -> StepWrites:
    """Empty writes, built positionally (default factories cost twice as much)."""
    return StepWrites([], [], [], [], {}, {})


def _guard_context(
    guard: DebitGuard, command: Debit | Deposit | Withdrawal, view: StepView
) -> tuple[PlayerRecord, SessionRecord | None]:
    """The player and session a guarded command is checked against (once per job)."""
    session = None
    if guard.session_token is not None:
        session = view.session(guard.session_token)
        if session is None or session.provider != command.provider:
            raise SessionInvalid("unknown session token")
    player = view.player(command.player_id)
    if player is None:
        raise PlayerNotFound(f"unknown player {command.player_id!r}")
    return player, session


def _replayed(record: TxRecord, view: StepView) -> TxOutcome:
    """The stored answer to an identical earlier request, with the balance now."""
    return TxOutcome(
        record.transaction_id,
        Balance(record.currency, *view.balances(record.player_id, record.currency)),
        record.real_delta_minor,
        record.bonus_delta_minor,
        True,
        record.detail == TOMBSTONE_DETAIL,
    )


class _Overlay:
    """The store's view with a job's earlier plans on top, and those plans as writes.

    Only for jobs of several commands. Reads fall through to the store's view for
    whatever the job has not touched; players and sessions the step never changes.
    """

    __slots__ = ("_balances", "_base", "_created", "_entries", "_records", "_rounds", "_txs",
                 "_updates")  # fmt: skip

    def __init__(self, base: StepView) -> None:
        self._base = base
        self._txs: dict[TxKey, TxRecord] = {}
        self._rounds: dict[TxKey, RoundRecord] = {}
        self._balances: dict[tuple[str, str], tuple[int, int]] = {}
        self._records: list[TxRecord] = []
        self._created: dict[TxKey, int] = {}
        """Key of a record the job created -> its index in `_records`."""
        self._updates: dict[TxKey, TxRecord] = {}
        self._entries: list[tuple[int, Entry]] = []

    # -- StepView --------------------------------------------------------------

    def player(self, player_id: str) -> PlayerRecord | None:
        return self._base.player(player_id)

    def session(self, token: str) -> SessionRecord | None:
        return self._base.session(token)

    def figures(self, player_id: str) -> PlayFigures:
        return self._base.figures(player_id)  # the job's own are in `_Job.figures`

    def balances(self, player_id: str, currency: str) -> tuple[int, int]:
        found = self._balances.get((player_id, currency))
        return self._base.balances(player_id, currency) if found is None else found

    def tx(self, provider: str, tx_id: str) -> TxRecord | None:
        found = self._txs.get((provider, tx_id))
        return self._base.tx(provider, tx_id) if found is None else found

    def round(self, provider: str, round_id: str) -> RoundRecord | None:
        found = self._rounds.get((provider, round_id))
        return self._base.round(provider, round_id) if found is None else found

    # -- the job's writes ------------------------------------------------------

    def absorb(self, planned: Plan, balance: Balance) -> None:
        """Put one command's plan on top; `balance` is the player's after it."""
        for record in planned.records:
            key = (record.provider, record.tx_id)
            self._created[key] = len(self._records)
            self._records.append(record)
            self._txs[key] = record
        for updated in planned.updates:
            key = (updated.provider, updated.tx_id)
            index = self._created.get(key)
            if index is None:
                self._updates[key] = updated
            else:
                self._records[index] = updated
            self._txs[key] = updated
        self._entries.extend(planned.entries)
        for round_ in planned.rounds:
            self._rounds[(round_.provider, round_.round_id)] = round_
        if planned.real_delta_minor or planned.bonus_delta_minor:
            key = (planned.player_id, planned.currency)
            self._balances[key] = (balance.real_minor, balance.bonus_minor)

    def writes(self) -> StepWrites:
        return StepWrites(
            self._records,
            list(self._updates.values()),
            self._entries,
            list(self._rounds.values()),
            self._balances,
            {},
        )
