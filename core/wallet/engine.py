"""The wallet's rules, pure: given a command and a view of the ledger, plan the change.

`core.wallet.step` calls `plan()` for each new command of a job, inside the store's
atomic step. Nothing here does I/O, so every store (and the tests) get the same rules:

- idempotency: same key + same fingerprint replays the stored outcome (refusals too,
  except those that are not a decision about the transaction: unknown player, session
  or referenced bet, malformed input); same key + different fingerprint is a conflict;
  a tombstone refuses the late original;
- a bet consumes real then bonus (or the reverse, per brand) and never overdraws;
- a win is split back in proportion to the stake split of its bet (or of its round);
- a rollback reverses the exact split of the original; reversing a spent win leaves
  a recorded debt (negative balance) that blocks betting until repaid;
- a rollback before its original leaves a tombstone; a settled bet cannot be rolled back;
  a rollback that moves nothing (tombstone, refusal) is stored in the player's wallet
  currency, and one for a player without a wallet is refused and not stored.
"""

from __future__ import annotations

from collections.abc import Callable
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
    SessionInvalid,
    error_for_reason,
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
    TxKind,
    TxStatus,
    Withdrawal,
)
from core.wallet.records import (
    BONUS_POOL_ACCOUNT,
    CASHIER_ACCOUNT,
    Entry,
    PlayerRecord,
    RoundRecord,
    TxRecord,
    player_account,
    provider_account,
)
from core.wallet.rounds import joined_round, updated_round
from core.wallet.view import LedgerView

__all__ = [
    "TOMBSTONE_DETAIL",
    "LedgerView",
    "Plan",
    "check_replay",
    "plan",
    "plan_close",
    "refusal_record",
]

TOMBSTONE_DETAIL = "tombstone"
_NEVER_STORED = (
    ConflictingReplay,
    PlayerNotFound,
    InvalidRequest,
    ReferenceNotFound,
    SessionInvalid,
)
"""Refusals that are not an answer about the transaction (see `refusal_record`)."""
_BONUS_FIRST_KINDS = frozenset({CreditKind.BONUS_WIN})
"""Credits paid to the bonus account when no stake tells the split (free-round winnings).

Promo prizes (tournaments, prize drops) and jackpots are cash: they go to real funds."""


@dataclass(slots=True)
class Plan:
    """Everything one command writes, in one atomic step."""

    records: list[TxRecord] = field(default_factory=list)
    """New records, each with its own seq; the command's own record first."""
    updates: list[TxRecord] = field(default_factory=list)
    """Existing records replaced under their key (a bet settled or rolled back)."""
    entries: list[tuple[int, Entry]] = field(default_factory=list)
    """Ledger legs, each with the seq of the record it belongs to."""
    rounds: list[RoundRecord] = field(default_factory=list)
    player_id: str = ""
    currency: str = ""
    real_delta_minor: int = 0
    bonus_delta_minor: int = 0

    @property
    def record(self) -> TxRecord:
        return self.records[0]


def check_replay(command: MoneyCommand, view: LedgerView) -> TxRecord | None:
    """The stored record of an identical earlier request, or None for a new one.

    Raises for conflicts, tombstones and stored refusals.
    """
    record = view.tx(command.provider, command.tx_id)
    if record is None:
        return None
    if record.status is TxStatus.TOMBSTONE:
        raise AlreadyRolledBack("transaction was rolled back before it arrived")
    if record.fingerprint != command.fingerprint():
        raise ConflictingReplay("transaction id already used with a different payload")
    if record.status is TxStatus.REFUSED:
        assert record.reason is not None
        raise error_for_reason(record.reason)("stored refusal", replay=True)
    return record


def plan(
    command: MoneyCommand, view: LedgerView, seq: int, now_us: int, new_seq: Callable[[], int]
) -> Plan:
    """Plan a new (non-replayed) command whose record takes `seq`. Raises a
    `GatewayError` to refuse it. A second record (a tombstone) takes `new_seq()`."""
    if isinstance(command, Debit):
        return _plan_debit(command, view, seq, now_us)
    if isinstance(command, Credit):
        return _plan_credit(command, view, seq, now_us)
    if isinstance(command, Rollback):
        return _plan_rollback(command, view, seq, now_us, new_seq)
    return _plan_cashier(command, view, seq, now_us)


def plan_close(
    command: CloseRound, view: LedgerView, now_us: int
) -> tuple[PlayerRecord, RoundRecord | None]:
    """The player of a `CloseRound`, and its round closed (None: it already was).

    A round not seen yet is opened closed, so a late bet into it is refused."""
    player = view.player(command.player_id)
    if player is None:
        raise PlayerNotFound(f"unknown player {command.player_id!r}")
    round_ = joined_round(
        view.round(command.provider, command.round_id), command.provider, command.round_id,
        command.player_id, player.currency, command.game_id, now_us,
    )  # fmt: skip
    return player, None if round_.closed else updated_round(round_, now_us, closed=True)


def refusal_record(
    command: MoneyCommand,
    error: GatewayError,
    view: LedgerView,
    new_seq: Callable[[], int],
    now_us: int,
) -> TxRecord | None:
    """The record that stores a refusal under the command's key, or None to store none.

    Stored, so that a retry gets the same answer: the decisions about this transaction.
    Not stored: conflicts and replays (the key's answer is someone else's); an unknown
    player, session or referenced bet, and malformed input (not a decision about this
    transaction: its bet may still arrive, or the retry be well-formed); a refusal under
    a key that already holds a tombstone or an earlier answer.

    A rollback carries no currency of its own: its refusal is stored in the player's
    wallet currency, so the history can show it like any other record. A player without
    a wallet has no currency to show it in (and no bet to protect): None, and a retry is
    refused the same way again. `new_seq` is called only for a record that is stored.
    """
    if error.replay or isinstance(error, _NEVER_STORED):
        return None
    if view.tx(command.provider, command.tx_id) is not None:
        return None
    currency = ""
    if isinstance(command, Rollback):
        player = view.player(command.player_id)
        if player is None:
            return None
        currency = player.currency
    return _new_record(
        command, new_seq(), now_us, 0, 0, status=TxStatus.REFUSED, reason=error, currency=currency
    )


def _new_record(
    command: MoneyCommand,
    seq: int,
    now_us: int,
    real_delta: int,
    bonus_delta: int,
    *,
    status: TxStatus = TxStatus.APPLIED,
    reason: GatewayError | None = None,
    detail: str = "",
    currency: str = "",
    round_id: str | None = None,
) -> TxRecord:
    """`currency`/`round_id` fill in what a rollback does not carry (from its original)."""
    amount = 0 if isinstance(command, Rollback) else command.amount_minor
    if not isinstance(command, Rollback):
        currency = command.currency
    if isinstance(command, (Debit, Credit, Rollback)) and command.round_id is not None:
        round_id = command.round_id
    ref = command.ref_tx_id if isinstance(command, (Credit, Rollback)) else None
    if isinstance(command, Credit) and not detail:
        detail = command.credit_kind.value
    return TxRecord(  # positional: this runs for every money command
        seq, command.provider, command.tx_id, command.kind, command.player_id, currency,
        amount, real_delta, bonus_delta, round_id, ref, command.fingerprint(), status,
        None if reason is None else reason.reason, now_us, detail,
    )  # fmt: skip


def _player(view: LedgerView, player_id: str, currency: str) -> PlayerRecord:
    player = view.player(player_id)
    if player is None:
        raise PlayerNotFound(f"unknown player {player_id!r}")
    if currency != player.currency:
        raise CurrencyMismatch(f"player's wallet is in {player.currency}, not {currency}")
    return player


def _player_entries(
    seq: int, player_id: str, currency: str, real: int, bonus: int, house: str
) -> list[tuple[int, Entry]]:
    """Legs of record `seq` moving `real`/`bonus` into (positive) or out of (negative)
    the player's accounts."""
    entries: list[tuple[int, Entry]] = []
    if real:
        entries.append((seq, Entry(player_account(player_id, "real"), currency, real)))
    if bonus:
        entries.append((seq, Entry(player_account(player_id, "bonus"), currency, bonus)))
    if real or bonus:
        entries.append((seq, Entry(house, currency, -(real + bonus))))
    return entries


def _split_stake(amount: int, real: int, bonus: int, order: FundingOrder) -> tuple[int, int]:
    """How much of a stake comes from real and from bonus funds, or `InsufficientFunds`."""
    if real < 0 or bonus < 0:
        raise PlayerInDebt("a reversed win left a debt; betting is blocked until repaid")
    if amount > real + bonus:
        raise InsufficientFunds("insufficient funds")
    if order is FundingOrder.REAL_FIRST:
        from_real = min(amount, real)
        return from_real, amount - from_real
    from_bonus = min(amount, bonus)
    return amount - from_bonus, from_bonus


def _split_win(amount: int, stake_real: int, stake_bonus: int, kind: CreditKind) -> tuple[int, int]:
    """Split a win back in proportion to its stake split; the rounding remainder is real."""
    total = stake_real + stake_bonus
    if total <= 0:
        return (0, amount) if kind in _BONUS_FIRST_KINDS else (amount, 0)
    bonus = amount * stake_bonus // total
    return amount - bonus, bonus


def _round_for(command: Debit | Credit, view: LedgerView, now_us: int) -> RoundRecord:
    return joined_round(
        view.round(command.provider, command.round_id), command.provider, command.round_id,
        command.player_id, command.currency, command.game_id, now_us,
    )  # fmt: skip


_STATUS_AT = TxRecord._fields.index("status")


def _with_status(r: TxRecord, status: TxStatus) -> TxRecord:
    """The same record in another state (a bet settled, reopened or rolled back)."""
    return TxRecord._make((*r[:_STATUS_AT], status, *r[_STATUS_AT + 1 :]))


def _plan_debit(command: Debit, view: LedgerView, seq: int, now_us: int) -> Plan:
    player = _player(view, command.player_id, command.currency)
    round_ = _round_for(command, view, now_us)
    if round_.closed:
        raise RoundClosed("round is closed")
    real, bonus = view.balances(command.player_id, command.currency)
    from_real, from_bonus = _split_stake(command.amount_minor, real, bonus, player.funding_order)
    round_ = updated_round(
        round_,
        now_us,
        closed=command.close_round,
        stake=(from_real, from_bonus),
        bets=1,
    )
    record = _new_record(command, seq, now_us, -from_real, -from_bonus)
    return Plan(
        records=[record],
        entries=_player_entries(
            seq, command.player_id, command.currency, -from_real, -from_bonus,
            provider_account(command.provider),
        ),
        rounds=[round_],
        player_id=command.player_id,
        currency=command.currency,
        real_delta_minor=-from_real,
        bonus_delta_minor=-from_bonus,
    )  # fmt: skip


def _referenced_bet(command: Credit, view: LedgerView) -> TxRecord | None:
    """The bet a credit settles, checked; None for a credit with no reference."""
    if command.ref_tx_id is None:
        return None
    bet = view.tx(command.provider, command.ref_tx_id)
    if bet is None or bet.status is TxStatus.REFUSED or bet.kind is not TxKind.DEBIT:
        if command.requires_bet:
            raise ReferenceNotFound("the referenced bet does not exist")
        return None
    if bet.status in (TxStatus.ROLLED_BACK, TxStatus.TOMBSTONE):
        raise AlreadyRolledBack("the referenced bet was rolled back")
    if bet.player_id != command.player_id:
        raise ReferenceNotFound("the referenced bet belongs to another player")
    if command.credit_kind in (CreditKind.WIN, CreditKind.REFUND) and _is_settled(bet, view):
        raise AlreadySettled("the referenced bet is already settled")
    return bet


def _is_settled(bet: TxRecord, view: LedgerView) -> bool:
    """Settled by a credit that named it, or by a round-level credit that came after it."""
    if bet.status is TxStatus.SETTLED:
        return True
    round_ = view.round(bet.provider, bet.round_id or "")
    return round_ is not None and bet.seq < round_.settled_before_seq


def _plan_credit(command: Credit, view: LedgerView, seq: int, now_us: int) -> Plan:
    _player(view, command.player_id, command.currency)
    bet = _referenced_bet(command, view)
    round_ = _round_for(command, view, now_us)
    if bet is None and command.requires_bet and command.ref_tx_id is None and round_.bet_count == 0:
        raise ReferenceNotFound("no bet in this round")
    if bet is not None:
        stake_real, stake_bonus = -bet.real_delta_minor, -bet.bonus_delta_minor
    else:
        stake_real, stake_bonus = round_.stake_real_minor, round_.stake_bonus_minor
    to_real, to_bonus = _split_win(
        command.amount_minor, stake_real, stake_bonus, command.credit_kind
    )
    settles_round = bet is None and command.requires_bet
    round_ = updated_round(
        round_,
        now_us,
        closed=round_.closed or command.close_round,
        win=(to_real, to_bonus),
        settled_before_seq=seq if settles_round else round_.settled_before_seq,
    )
    updates = [] if bet is None else [_with_status(bet, TxStatus.SETTLED)]
    return Plan(
        records=[_new_record(command, seq, now_us, to_real, to_bonus)],
        updates=updates,
        entries=_player_entries(
            seq, command.player_id, command.currency, to_real, to_bonus,
            provider_account(command.provider),
        ),
        rounds=[round_],
        player_id=command.player_id,
        currency=command.currency,
        real_delta_minor=to_real,
        bonus_delta_minor=to_bonus,
    )  # fmt: skip


def _plan_rollback(
    command: Rollback, view: LedgerView, seq: int, now_us: int, new_seq: Callable[[], int]
) -> Plan:
    assert command.ref_tx_id != command.tx_id, "a rollback needs its own key"
    player = view.player(command.player_id)
    if player is None:  # no wallet: nothing of theirs to reverse, no bet of theirs to come
        raise PlayerNotFound(f"unknown player {command.player_id!r}")
    original = view.tx(command.provider, command.ref_tx_id)
    if original is None or original.status is TxStatus.REFUSED:
        return _plan_tombstone(command, original, player.currency, seq, now_us, new_seq)
    if original.player_id != command.player_id:
        raise ReferenceNotFound("the referenced transaction belongs to another player")
    if original.status in (TxStatus.ROLLED_BACK, TxStatus.TOMBSTONE):
        raise AlreadyRolledBack("the referenced transaction is already rolled back")
    if original.kind not in (TxKind.DEBIT, TxKind.CREDIT):
        raise InvalidRequest("only bets and wins can be rolled back")
    round_ = view.round(command.provider, original.round_id or "")
    assert round_ is not None, "every bet and win has a round"
    if original.kind is TxKind.DEBIT and _is_settled(original, view):
        raise AlreadySettled("the bet is settled and can no longer be rolled back")
    return _plan_reversal(command, original, round_, view, seq, now_us)


def _plan_tombstone(
    command: Rollback,
    original: TxRecord | None,
    currency: str,
    seq: int,
    now_us: int,
    new_seq: Callable[[], int],
) -> Plan:
    """Nothing to reverse: record the rollback and (if the key is free) a tombstone, both
    in the player's wallet `currency`, the one its answer's balance is given in. The
    tombstone's seq comes from the store (`new_seq`), which need not hand out `seq + 1`."""
    records = [_new_record(command, seq, now_us, 0, 0, detail=TOMBSTONE_DETAIL, currency=currency)]
    if original is None:
        records.append(
            TxRecord(
                seq=new_seq(),
                provider=command.provider,
                tx_id=command.ref_tx_id,
                kind=TxKind.DEBIT,
                player_id=command.player_id,
                currency=currency,
                amount_minor=0,
                real_delta_minor=0,
                bonus_delta_minor=0,
                round_id=command.round_id,
                ref_tx_id=command.tx_id,
                fingerprint=b"",
                status=TxStatus.TOMBSTONE,
                reason=None,
                created_at_us=now_us,
                detail=TOMBSTONE_DETAIL,
            )
        )
    return Plan(records=records, player_id=command.player_id, currency=currency)


def _plan_reversal(
    command: Rollback,
    original: TxRecord,
    round_: RoundRecord,
    view: LedgerView,
    seq: int,
    now_us: int,
) -> Plan:
    real, bonus = -original.real_delta_minor, -original.bonus_delta_minor
    is_debit = original.kind is TxKind.DEBIT
    round_ = updated_round(
        round_,
        now_us,
        closed=round_.closed or command.close_round,
        stake=(-real, -bonus) if is_debit else (0, 0),
        win=(0, 0) if is_debit else (real, bonus),
        bets=-1 if is_debit else 0,
    )
    updates = [_with_status(original, TxStatus.ROLLED_BACK)]
    if not is_debit and original.ref_tx_id is not None:
        bet = view.tx(command.provider, original.ref_tx_id)
        if bet is not None and bet.status is TxStatus.SETTLED:
            updates.append(_with_status(bet, TxStatus.APPLIED))
    entries = _player_entries(
        seq, command.player_id, original.currency, real, bonus, provider_account(command.provider)
    )
    return Plan(
        records=[
            _new_record(
                command, seq, now_us, real, bonus,
                currency=original.currency, round_id=original.round_id,
            )
        ],
        updates=updates,
        entries=entries, rounds=[round_], player_id=command.player_id,
        currency=original.currency, real_delta_minor=real, bonus_delta_minor=bonus,
    )  # fmt: skip


def _plan_cashier(
    command: Deposit | Withdrawal | BonusGrant, view: LedgerView, seq: int, now_us: int
) -> Plan:
    _player(view, command.player_id, command.currency)
    amount = command.amount_minor
    if isinstance(command, Deposit):
        real, bonus, house = amount, 0, CASHIER_ACCOUNT
    elif isinstance(command, BonusGrant):
        real, bonus, house = 0, amount, BONUS_POOL_ACCOUNT
    else:
        balance_real, _ = view.balances(command.player_id, command.currency)
        if amount > balance_real:
            raise InsufficientFunds("withdrawal exceeds the real balance")
        real, bonus, house = -amount, 0, CASHIER_ACCOUNT
    return Plan(
        records=[_new_record(command, seq, now_us, real, bonus)],
        entries=_player_entries(seq, command.player_id, command.currency, real, bonus, house),
        player_id=command.player_id,
        currency=command.currency,
        real_delta_minor=real,
        bonus_delta_minor=bonus,
    )
