"""Betby bet lifecycle: what each verified callback does to a bet, as canonical commands.

Kept apart from `betby`, which verifies the token, dispatches and maps refusals, because
this is where the protocol's state lives: a settlement callback reads its bet's round back
from the wallet to check it, and a rollback chooses which settlement it reverses. The rules
are listed in `betby`'s docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from adapters.providers.base import AdapterContext
from adapters.providers.betby_wire import (
    SettleCall,
    parse_discard,
    parse_make,
    parse_settle,
    parse_settlement,
)
from core.errors import (
    AlreadyRolledBack,
    CurrencyMismatch,
    InvalidAmount,
    InvalidRequest,
    ReferenceNotFound,
    RoundClosed,
)
from core.model import CloseRound, Credit, CreditKind, Debit, Rollback, TxKind, TxOutcome, TxStatus
from core.wallet.records import TxRecord

__all__ = ["BetLifecycle", "Reply", "Scope"]

_log = structlog.get_logger("gamegate.provider.betby")


def _key(kind: str, transaction_id: str) -> str:
    """The idempotency key of one Betby callback: namespaced by kind."""
    return f"{kind}:{transaction_id}"


@dataclass(slots=True)
class Scope:
    """What one request has proved so far, for the labels of its answer."""

    operation: str
    player_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    body: dict[str, Any]
    outcome: str = "ok"
    status: int = 200


@dataclass(frozen=True, slots=True)
class _Bet:
    """A make as stored, with every record of its round (settlements, rollbacks)."""

    make: TxRecord
    records: tuple[TxRecord, ...]
    closed: bool

    def has(self, key: str) -> bool:
        return any(record.tx_id == key for record in self.records)


class BetLifecycle:
    """Each bet callback of one instance, from its verified request object to its answer."""

    def __init__(self, context: AdapterContext, game_id: str) -> None:
        self._service = context.service
        self._provider = context.instance
        self._currencies = context.currencies
        self._game_id = game_id

    async def make(self, request: dict[str, Any], scope: Scope) -> Reply:
        call = parse_make(request)
        scope.player_id = call.player_id
        if call.bonus_type is not None:
            raise InvalidRequest(f"bonus bets are not supported (bonus_type {call.bonus_type})")
        self._currencies.get(call.currency)
        debit = Debit(
            provider=self._provider,
            tx_id=_key("make", call.transaction_id),
            player_id=call.player_id,
            currency=call.currency,
            amount_minor=call.amount_minor,
            round_id=call.transaction_id,
            game_id=self._game_id,
        )
        outcome = await self._service.debit(debit, session_token=call.session_id)
        return _money(call.transaction_id, None, call.player_id, "bet", debit, outcome)

    async def commit(self, request: dict[str, Any], scope: Scope) -> Reply:
        """Betby accepted the bet: the stake was taken at make, nothing moves."""
        return Reply({})

    async def discard(self, request: dict[str, Any], scope: Scope) -> Reply:
        call = parse_discard(request)
        scope.player_id = call.player_id
        release = Rollback(
            provider=self._provider,
            tx_id=_key("discard", call.transaction_id),
            player_id=call.player_id,
            ref_tx_id=_key("make", call.transaction_id),
            round_id=call.transaction_id,
        )
        outcome = await self._service.rollback(release)
        return Reply({}, "replay" if outcome.replay else "ok")

    async def win(self, request: dict[str, Any], scope: Scope) -> Reply:
        call = parse_settle(request, "win")
        if call.amount_minor is None:
            raise InvalidRequest("a win needs its amount")
        return await self._settle(call, scope, "win", call.amount_minor)

    async def lost(self, request: dict[str, Any], scope: Scope) -> Reply:
        return await self._settle(parse_settle(request, "lost"), scope, "lost", 0)

    async def refund(self, request: dict[str, Any], scope: Scope) -> Reply:
        return await self._settle(parse_settle(request, "refund"), scope, "refund", None)

    async def _settle(
        self, call: SettleCall, scope: Scope, kind: str, amount_minor: int | None
    ) -> Reply:
        """Pay (or not) the bet's outcome with a credit that settles the make."""
        bet = await self._bet(call, scope, _key(kind, call.transaction_id))
        if amount_minor is None:  # a refund returns exactly the stake
            amount_minor = bet.make.amount_minor
            if call.amount_minor not in (None, amount_minor):
                raise InvalidAmount(f"a refund returns the stake of {amount_minor}")
        credit = Credit(
            provider=self._provider,
            tx_id=_key(kind, call.transaction_id),
            player_id=bet.make.player_id,
            currency=bet.make.currency,
            amount_minor=amount_minor,
            round_id=call.bet_transaction_id,
            game_id=self._game_id,
            credit_kind=CreditKind.REFUND if kind == "refund" else CreditKind.WIN,
            ref_tx_id=bet.make.tx_id,
        )
        outcome = await self._service.credit(credit)
        parent = call.parent_transaction_id or call.bet_transaction_id
        return _money(call.transaction_id, parent, bet.make.player_id, kind, credit, outcome)

    async def rollback(self, request: dict[str, Any], scope: Scope) -> Reply:
        call = parse_settle(request, "rollback")
        key = _key("rollback", call.transaction_id)
        bet = await self._bet(call, scope, key)
        target = _settlement_to_reverse(bet, key, call.parent_transaction_id)
        reversal = Rollback(
            provider=self._provider,
            tx_id=key,
            player_id=bet.make.player_id,
            ref_tx_id=target.tx_id,
            round_id=call.bet_transaction_id,
        )
        outcome = await self._service.rollback(reversal)
        parent = call.parent_transaction_id or call.bet_transaction_id
        body = _money_body(
            call.transaction_id, parent, bet.make.player_id, "rollback", target.amount_minor,
            target.currency, outcome,
        )  # fmt: skip
        return Reply(body, "replay" if outcome.replay else "ok")

    async def settlement(self, request: dict[str, Any], scope: Scope) -> Reply:
        """The final word on a bet: close its round so no settlement can change any more."""
        call = parse_settlement(request)
        bet = await self._bet_records(call.bet_transaction_id)
        scope.player_id = bet.make.player_id
        if bet.make.status is TxStatus.APPLIED:
            _log.warning(
                "betby_settlement_of_open_bet",
                instance=self._provider,
                bet_transaction_id=call.bet_transaction_id[:64],
                status=call.status[:32],
            )
        close = CloseRound(
            self._provider, bet.make.player_id, call.bet_transaction_id, self._game_id
        )
        await self._service.close_round(close)
        return Reply({}, "replay" if bet.closed else "ok")

    # -- the bet a callback names ------------------------------------------------------

    async def _bet(self, call: SettleCall, scope: Scope, key: str) -> _Bet:
        """The open bet a settlement callback names, checked against what the call says."""
        bet = await self._bet_records(call.bet_transaction_id)
        scope.player_id = bet.make.player_id
        if call.player_id is not None and call.player_id != bet.make.player_id:
            raise InvalidRequest("ext_player_id is not the bet's player")
        if call.currency is not None:
            self._currencies.get(call.currency)
            if call.currency != bet.make.currency:
                raise CurrencyMismatch(f"the bet is in {bet.make.currency}")
        if bet.closed and not bet.has(key):  # a retry of an accepted callback still replays
            raise RoundClosed("the bet is finally settled")
        return bet

    async def _bet_records(self, bet_transaction_id: str) -> _Bet:
        service = self._service
        records = await service.round_transactions(self._provider, bet_transaction_id)
        make_key = _key("make", bet_transaction_id)
        make = next((r for r in records if r.tx_id == make_key), None)
        if make is None or make.status is TxStatus.REFUSED:
            raise ReferenceNotFound("no bet with this bet_transaction_id")
        if make.status is TxStatus.TOMBSTONE:
            raise AlreadyRolledBack("the bet was discarded before it was made")
        round_ = await service.round(self._provider, bet_transaction_id)
        return _Bet(make, tuple(records), closed=round_ is not None and round_.closed)


def _settlement_to_reverse(bet: _Bet, key: str, parent: str | None) -> TxRecord:
    """The credit a rollback reverses: its own earlier choice, the one named, or the live one."""
    by_id = {record.tx_id: record for record in bet.records}
    earlier = by_id.get(key)
    if earlier is not None and earlier.ref_tx_id in by_id:
        return by_id[earlier.ref_tx_id]  # a retry reverses what it reversed before
    if bet.make.status is TxStatus.ROLLED_BACK:
        raise AlreadyRolledBack("the bet was discarded")
    settlements = [
        record
        for record in bet.records
        if record.kind is TxKind.CREDIT
        and record.ref_tx_id == bet.make.tx_id
        and record.status is not TxStatus.REFUSED
    ]
    if parent is not None and _key("make", parent) != bet.make.tx_id:
        named = [r for r in settlements if r.tx_id.partition(":")[2] == parent]
        if not named:
            raise ReferenceNotFound("no settlement with this parent_transaction_id")
        return named[-1]
    live = [record for record in settlements if record.status is TxStatus.APPLIED]
    if not live:
        raise ReferenceNotFound("the bet has no settlement to roll back")
    return live[-1]


def _money(
    transaction_id: str,
    parent: str | None,
    player_id: str,
    operation: str,
    command: Debit | Credit,
    outcome: TxOutcome,
) -> Reply:
    body = _money_body(
        transaction_id, parent, player_id, operation, command.amount_minor, command.currency,
        outcome,
    )  # fmt: skip
    return Reply(body, "replay" if outcome.replay else "ok")


def _money_body(
    transaction_id: str,
    parent: str | None,
    player_id: str,
    operation: str,
    amount_minor: int,
    currency: str,
    outcome: TxOutcome,
) -> dict[str, Any]:
    """Betby's answer to a money callback; `id` is Betby's own transaction id."""
    return {
        "id": transaction_id,
        "ext_transaction_id": transaction_id,
        "parent_transaction_id": parent,
        "user_id": player_id,
        "operation": operation,
        "amount": amount_minor,
        "currency": currency,
        "balance": outcome.balance.total_minor,
    }
