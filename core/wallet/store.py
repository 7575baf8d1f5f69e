"""The port every wallet store implements; one contract test suite runs against each.

A store owns durability and atomicity. The rules live in `core.wallet.step` (the whole
atomic step for one job) and `core.wallet.engine` (the plan of each command); a store
runs `run_step` inside its atomic step (one SQLite transaction, one Redis script),
persists what it decided, and answers only once that is durable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from core.duration_buckets import BucketCounts
from core.errors import GatewayError
from core.model import Balance, Debit, Deposit, TxOutcome, WalletCommand, Withdrawal
from core.wallet.figures import PlayFigures
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord

__all__ = [
    "DebitCheck",
    "DebitGuard",
    "GuardContext",
    "GuardedCommand",
    "PlayerAuditEntry",
    "PlayerChange",
    "StoreStats",
    "WalletStore",
]

GuardedCommand = Debit | Deposit | Withdrawal
"""The commands a guard sees: bets, and the cashier's deposits and withdrawals."""


class GuardContext(NamedTuple):
    """What a guard decides on, as of the atomic step that will apply the command."""

    player: PlayerRecord
    session: SessionRecord | None
    figures: PlayFigures
    """The player's figures rolled to `now_us`, the job's earlier commands included."""
    opens_cycle: bool
    """A debit whose round the wallet has not seen: the start of a game cycle."""
    round_stake_minor: int
    """A debit's round's stakes before it (real and bonus; 0 when it opens the cycle):
    with the debit, the full cost of the game cycle (a bought feature included)."""
    now_us: int


DebitCheck = Callable[[GuardedCommand, GuardContext], None]
"""Raises a `GatewayError` to refuse. Pure and fast: it runs inside the store's atomic
step (the SQLite writer thread), so the verdict and the movement see one state."""


@dataclass(frozen=True, slots=True)
class DebitGuard:
    """The compliance path for a job's debits, deposits and withdrawals, evaluated by
    the store atomically.

    The store looks up the session (if a token is given; unknown, or at another
    provider, is `SessionInvalid`) and the player (`PlayerNotFound`), then calls
    `check` for every guarded command that is not an identical replay.
    """

    session_token: str | None
    check: DebitCheck


class PlayerAuditEntry(NamedTuple):
    """One change to a player's account, append-only: who, when, why, before and after."""

    seq: int
    """Increasing per store (gaps allowed); the audit trail's order and page cursor."""
    player_id: str
    at_us: int
    actor: str
    """The operator API key's name that made the change."""
    action: str
    """What was changed: `status`, `kyc`, `limit`, `self_exclusion`, `break`, `identity`."""
    why: str
    before: str
    """The changed fields before, as compact JSON (`core.pam.audit_fields`)."""
    after: str


PlayerChange = Callable[[PlayerRecord, int], tuple[PlayerRecord, str, str, str]]
"""Given the stored player and the time now (us), the changed player and the audit
entry's action, before and after; raises a `GatewayError` to refuse (nothing written).
Runs inside the store's atomic step, like a guard."""


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counters a store keeps for free, read at scrape time."""

    commits_total: int
    """Durable transactions (a group commit counts once)."""
    operations_total: int
    """Calls served (writes and reads); with commits, gives operations per commit."""
    queue_depth: int
    """Calls waiting for the store right now."""
    commit_durations: BucketCounts
    """How long each durable commit took: what every money callback waits on at least
    once, and the first sign of a slow disk or a slow Redis."""


class WalletStore(Protocol):
    """Atomic, idempotent, durable-before-acknowledged wallet storage."""

    async def apply(
        self,
        commands: Sequence[WalletCommand],
        *,
        refusal: GatewayError | None = None,
        guard: DebitGuard | None = None,
    ) -> list[TxOutcome]:
        """Apply `commands` in order, all or none, and return one outcome each.

        Identical replays return their stored outcome (`replay=True`); a stored refusal
        is raised again. If one command is refused, nothing is applied, the refusal is
        stored under that command's key (except conflicts) and raised with the current
        balance attached. `refusal` is a verdict reached before the store (session,
        PAM, jurisdiction) about the batch's debits: it is stored and raised for the first
        debit that is not a replay, so a retry of an already accepted bet still gets its
        stored success, and credits in the batch are never refused by it. `guard`
        reaches such a verdict inside the atomic step instead (one round trip, and no
        window between the compliance check and the debit).
        Raises `StorageUnavailable` when durability cannot be confirmed.
        """
        ...

    async def create_player(self, player: PlayerRecord) -> PlayerRecord:
        """Create a player (idempotent for identical data; `ConflictingReplay` otherwise)."""
        ...

    async def get_player(self, player_id: str) -> PlayerRecord | None: ...

    async def change_player(
        self, player_id: str, change: PlayerChange, *, actor: str, why: str
    ) -> PlayerRecord:
        """Apply `change` to the stored player atomically, with its audit entry, durably.
        `PlayerNotFound` if there is none; `change`'s refusal is raised, nothing written.
        A change that returns the player unchanged writes nothing and is not audited."""
        ...

    async def player_audit(
        self, player_id: str, *, limit: int, before_seq: int | None = None
    ) -> list[PlayerAuditEntry]:
        """The player's audit trail, newest first."""
        ...

    async def figures(self, player_id: str) -> PlayFigures:
        """The player's play figures as stored (`NO_FIGURES` if none); roll them to now
        before reading (`core.wallet.figures.rolled`)."""
        ...

    async def balance(self, player_id: str, currency: str | None = None) -> Balance:
        """Balances in `currency`, or in the player's wallet currency (`PlayerNotFound`
        if there is no such player) -- one round trip either way."""
        ...

    async def create_session(self, session: SessionRecord) -> None: ...

    async def get_session(self, token: str) -> SessionRecord | None: ...

    async def rotate_session(self, old_token: str, new: SessionRecord) -> None:
        """Store `new` and end `old_token` at `new.created_at_us`, atomically.

        Used by protocols whose session check hands out a fresh token: the old one then
        refuses debits (expired) but still carries credits and rollbacks.
        """
        ...

    async def transactions(
        self, player_id: str, *, limit: int, before_seq: int | None = None
    ) -> list[TxRecord]:
        """A player's transaction records, newest first."""
        ...

    async def get_round(self, provider: str, round_id: str) -> RoundRecord | None: ...

    async def round_transactions(self, provider: str, round_id: str) -> list[TxRecord]:
        """Every record of a round, oldest first (for game recall)."""
        ...

    def stats(self) -> StoreStats: ...

    def describe(self) -> str:
        """Which backend and where, for a person (the start-up line):
        `sqlite /srv/gamegate/wallet.db, synchronous=FULL`."""
        ...

    async def ping(self) -> None:
        """Raise `StorageUnavailable` if the store cannot serve requests."""
        ...

    async def close(self) -> None: ...
