"""A pure, in-memory reference wallet, re-derived from ARCHITECTURE.md "The wallet".

Deliberately independent of `core.wallet.engine`: the stateful test drives the real
store and this model with the same commands and demands identical answers. Where the
architecture leaves a choice open, the model follows the choice documented in
`core.model` / `core.errors` (noted at each place), never the engine's code.

Model refusals are exception *classes* from `core.errors`; the model never raises them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.errors import (
    AlreadyRolledBack,
    AlreadySettled,
    ConflictingReplay,
    CurrencyMismatch,
    GatewayError,
    InsufficientFunds,
    InvalidRequest,
    PlayerInDebt,
    PlayerNotFound,
    ReferenceNotFound,
    RoundClosed,
)
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
    WalletCommand,
    Withdrawal,
)

__all__ = ["Expected", "Model", "ModelOutcome", "ModelRefusal", "ModelTx"]

Key = tuple[str, str]
TxRef = str | int
"""A known gateway transaction id, or the index of a command earlier in the same batch."""


class _Refused(Exception):
    def __init__(self, error: type[GatewayError], *, replay: bool = False) -> None:
        super().__init__(error.__name__)
        self.error = error
        self.replay = replay


@dataclass
class MPlayer:
    currency: str
    order: FundingOrder
    real: int = 0
    bonus: int = 0


@dataclass
class ModelTx:
    """What the model remembers under one idempotency key."""

    command: MoneyCommand | None
    """None for a tombstone (a rollback arrived before this key's original)."""
    player: str
    status: str  # applied | settled | rolled_back | refused | tombstone
    real: int = 0
    bonus: int = 0
    error: type[GatewayError] | None = None
    tombstone_rollback: bool = False
    transaction_id: TxRef | None = None


@dataclass
class MRound:
    player: str
    currency: str
    closed: bool = False
    stake_real: int = 0
    stake_bonus: int = 0
    win_real: int = 0
    win_bonus: int = 0
    bet_count: int = 0
    bets: list[Key] = field(default_factory=list)
    settled_by_round: set[Key] = field(default_factory=set)
    """Bets a credit without a bet reference settled: they can no longer be rolled back."""


@dataclass(frozen=True)
class ModelOutcome:
    replay: bool
    tombstone: bool
    real_delta: int
    bonus_delta: int
    balance: tuple[int, int]
    transaction_id: TxRef | None
    """Expected id for a replay or close (""); None for a new record (any fresh id)."""


@dataclass(frozen=True)
class ModelRefusal:
    error: type[GatewayError]
    replay: bool
    balance: tuple[int, int] | None


Expected = list[ModelOutcome] | ModelRefusal

_BONUS_WHEN_UNSTAKED = frozenset({CreditKind.BONUS_WIN})
"""A credit with no stake to follow is cash, except bonus wins (free-round winnings):
the architecture is silent; this is the product's documented choice."""

_UNSTORED = (ConflictingReplay, PlayerNotFound, InvalidRequest, ReferenceNotFound)
"""Refusals not kept under the key: a conflict must leave the key's owner untouched, a
malformed request was never a wallet answer, and a win whose bet is not there yet may
still be paid once the bet arrives."""


@dataclass
class Model:
    players: dict[str, MPlayer] = field(default_factory=dict)
    txs: dict[Key, ModelTx] = field(default_factory=dict)
    rounds: dict[Key, MRound] = field(default_factory=dict)
    reversed_win: set[str] = field(default_factory=set)
    """Players who had a win reversed: the only ones allowed a negative balance."""

    def balance(self, player_id: str) -> tuple[int, int]:
        player = self.players[player_id]
        return player.real, player.bonus

    # -- a batch: all or nothing -----------------------------------------------------

    def apply(self, commands: Sequence[WalletCommand]) -> Expected:
        trial = copy.deepcopy(self)
        outcomes: list[ModelOutcome] = []
        for index, command in enumerate(commands):
            try:
                outcomes.append(trial._one(command, index))
            except _Refused as refused:
                self._store_refusal(command, refused)
                return ModelRefusal(
                    refused.error, refused.replay, self.balance(commands[0].player_id)
                )
        self.__dict__.update(trial.__dict__)
        return outcomes

    def learn_ids(self, commands: Sequence[WalletCommand], ids: Sequence[str]) -> None:
        """Replace in-batch placeholders with the ids the store gave."""
        for record in self.txs.values():
            if isinstance(record.transaction_id, int):
                record.transaction_id = ids[record.transaction_id]

    def _store_refusal(self, command: WalletCommand, refused: _Refused) -> None:
        if isinstance(command, CloseRound) or refused.replay:
            return
        if issubclass(refused.error, _UNSTORED):
            return
        key = (command.provider, command.tx_id)
        if key not in self.txs:
            self.txs[key] = ModelTx(command, command.player_id, "refused", error=refused.error)

    def _one(self, command: WalletCommand, index: int) -> ModelOutcome:
        if isinstance(command, CloseRound):
            return self._close(command)
        replayed = self._replay(command)
        if replayed is not None:
            return replayed
        if isinstance(command, Debit):
            return self._debit(command, index)
        if isinstance(command, Credit):
            return self._credit(command, index)
        if isinstance(command, Rollback):
            return self._rollback(command, index)
        return self._cashier(command, index)

    def _replay(self, command: MoneyCommand) -> ModelOutcome | None:
        record = self.txs.get((command.provider, command.tx_id))
        if record is None:
            return None
        if record.status == "tombstone":
            raise _Refused(AlreadyRolledBack)
        if record.command != command:
            raise _Refused(ConflictingReplay)
        if record.error is not None:
            raise _Refused(record.error, replay=True)
        return ModelOutcome(
            replay=True,
            tombstone=record.tombstone_rollback,
            real_delta=record.real,
            bonus_delta=record.bonus,
            balance=self.balance(record.player),
            transaction_id=record.transaction_id,
        )

    def _new(
        self, command: MoneyCommand, index: int, real: int = 0, bonus: int = 0
    ) -> ModelOutcome:
        player = self.players[command.player_id]
        player.real += real
        player.bonus += bonus
        self.txs[(command.provider, command.tx_id)] = ModelTx(
            command, command.player_id, "applied", real, bonus, transaction_id=index
        )
        return ModelOutcome(False, False, real, bonus, (player.real, player.bonus), None)

    def _player(self, player_id: str, currency: str) -> MPlayer:
        player = self.players.get(player_id)
        if player is None:
            raise _Refused(PlayerNotFound)
        if player.currency != currency:
            raise _Refused(CurrencyMismatch)
        return player

    def _round(self, command: Debit | Credit) -> MRound:
        """The command's round, created (not yet stored) if new; refused if not its own."""
        found = self.rounds.get((command.provider, command.round_id))
        if found is None:
            return MRound(command.player_id, command.currency)
        if found.player != command.player_id:
            raise _Refused(InvalidRequest)
        if found.currency != command.currency:
            raise _Refused(CurrencyMismatch)
        return found

    # -- bets and wins ---------------------------------------------------------------

    def _debit(self, command: Debit, index: int) -> ModelOutcome:
        player = self._player(command.player_id, command.currency)
        round_ = self._round(command)
        if round_.closed:
            raise _Refused(RoundClosed)
        if player.real < 0 or player.bonus < 0:
            raise _Refused(PlayerInDebt)
        if command.amount_minor > player.real + player.bonus:
            raise _Refused(InsufficientFunds)
        if player.order is FundingOrder.REAL_FIRST:
            real = min(command.amount_minor, player.real)
            bonus = command.amount_minor - real
        else:
            bonus = min(command.amount_minor, player.bonus)
            real = command.amount_minor - bonus
        key = (command.provider, command.tx_id)
        round_.stake_real += real
        round_.stake_bonus += bonus
        round_.bet_count += 1
        round_.bets.append(key)
        round_.closed = command.close_round
        self.rounds[(command.provider, command.round_id)] = round_
        return self._new(command, index, -real, -bonus)

    def _settled_bet(self, command: Credit) -> ModelTx | None:
        """The bet a credit names, checked; None when it names none (or may miss it)."""
        if command.ref_tx_id is None:
            return None
        bet = self.txs.get((command.provider, command.ref_tx_id))
        if bet is not None and bet.status == "tombstone":
            raise _Refused(AlreadyRolledBack)
        if bet is None or bet.status == "refused" or not isinstance(bet.command, Debit):
            if command.requires_bet:
                raise _Refused(ReferenceNotFound)
            return None
        if bet.status == "rolled_back":
            raise _Refused(AlreadyRolledBack)
        if bet.player != command.player_id:
            raise _Refused(ReferenceNotFound)
        if command.credit_kind in (CreditKind.WIN, CreditKind.REFUND) and self._is_settled(bet):
            raise _Refused(AlreadySettled)  # a bet is paid once; jackpots may come on top
        return bet

    def _is_settled(self, bet: ModelTx) -> bool:
        """Settled by a win that named it, or by a round-level win that came after it."""
        assert isinstance(bet.command, Debit)
        round_ = self.rounds[(bet.command.provider, bet.command.round_id)]
        key = (bet.command.provider, bet.command.tx_id)
        return bet.status == "settled" or key in round_.settled_by_round

    def _credit(self, command: Credit, index: int) -> ModelOutcome:
        self._player(command.player_id, command.currency)
        bet = self._settled_bet(command)
        round_ = self._round(command)
        round_level = bet is None and command.requires_bet
        if round_level and command.ref_tx_id is None and round_.bet_count == 0:
            raise _Refused(ReferenceNotFound)
        if bet is not None:
            stake_real, stake_bonus = -bet.real, -bet.bonus
        else:
            stake_real, stake_bonus = round_.stake_real, round_.stake_bonus
        real, bonus = _split_win(command, stake_real, stake_bonus)
        round_.win_real += real
        round_.win_bonus += bonus
        round_.closed = round_.closed or command.close_round
        if round_level:
            round_.settled_by_round.update(round_.bets)
        if bet is not None:
            bet.status = "settled"
        self.rounds[(command.provider, command.round_id)] = round_
        return self._new(command, index, real, bonus)

    # -- rollbacks -------------------------------------------------------------------

    def _rollback(self, command: Rollback, index: int) -> ModelOutcome:
        original = self.txs.get((command.provider, command.ref_tx_id))
        if original is None or original.status == "refused":
            return self._tombstone(command, original, index)
        if original.player != command.player_id:
            raise _Refused(ReferenceNotFound)
        if original.status in ("rolled_back", "tombstone"):
            raise _Refused(AlreadyRolledBack)
        target = original.command
        if not isinstance(target, Debit | Credit):
            raise _Refused(InvalidRequest)
        round_ = self.rounds[(target.provider, target.round_id)]
        key = (command.provider, command.ref_tx_id)
        if isinstance(target, Debit) and (
            original.status == "settled" or key in round_.settled_by_round
        ):
            raise _Refused(AlreadySettled)
        real, bonus = -original.real, -original.bonus
        if isinstance(target, Debit):  # a reversed bet no longer counts in its round
            round_.stake_real -= real
            round_.stake_bonus -= bonus
            round_.bet_count -= 1
        else:
            round_.win_real += real
            round_.win_bonus += bonus
            self.reversed_win.add(command.player_id)
            self._reopen_bet(target)
        round_.closed = round_.closed or command.close_round
        original.status = "rolled_back"
        return self._new(command, index, real, bonus)

    def _reopen_bet(self, reversed_credit: Credit) -> None:
        if reversed_credit.ref_tx_id is None:
            return
        bet = self.txs.get((reversed_credit.provider, reversed_credit.ref_tx_id))
        if bet is not None and bet.status == "settled":
            bet.status = "applied"

    def _tombstone(self, command: Rollback, original: ModelTx | None, index: int) -> ModelOutcome:
        """Nothing to reverse: answer, and take the original's key if it is free."""
        self.txs[(command.provider, command.tx_id)] = ModelTx(
            command, command.player_id, "applied", tombstone_rollback=True, transaction_id=index
        )
        if original is None:
            self.txs[(command.provider, command.ref_tx_id)] = ModelTx(
                None, command.player_id, "tombstone"
            )
        return ModelOutcome(False, True, 0, 0, self.balance(command.player_id), None)

    # -- cashier and rounds ------------------------------------------------------------

    def _cashier(self, command: Deposit | Withdrawal | BonusGrant, index: int) -> ModelOutcome:
        player = self._player(command.player_id, command.currency)
        if isinstance(command, Deposit):
            return self._new(command, index, command.amount_minor, 0)
        if isinstance(command, BonusGrant):
            return self._new(command, index, 0, command.amount_minor)
        if command.amount_minor > player.real:  # bonus funds cannot be withdrawn
            raise _Refused(InsufficientFunds)
        return self._new(command, index, -command.amount_minor, 0)

    def _close(self, command: CloseRound) -> ModelOutcome:
        player = self.players.get(command.player_id)
        if player is None:
            raise _Refused(PlayerNotFound)
        key = (command.provider, command.round_id)
        found = self.rounds.get(key)
        if found is not None and found.player != command.player_id:
            raise _Refused(InvalidRequest)
        if found is None:
            found = self.rounds[key] = MRound(command.player_id, player.currency)
        found.closed = True
        return ModelOutcome(False, False, 0, 0, (player.real, player.bonus), "")


def _split_win(command: Credit, stake_real: int, stake_bonus: int) -> tuple[int, int]:
    """In proportion to the stake split; the rounding remainder goes to real."""
    total = stake_real + stake_bonus
    if total <= 0:
        if command.credit_kind in _BONUS_WHEN_UNSTAKED:
            return 0, command.amount_minor
        return command.amount_minor, 0
    bonus = command.amount_minor * stake_bonus // total
    return command.amount_minor - bonus, bonus
