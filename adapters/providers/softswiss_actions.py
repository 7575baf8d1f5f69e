"""SoftSwiss calls: what each verified `/play`, `/rollback` and `/freespins` does.

Kept apart from `softswiss`, which checks the signature, dispatches and maps refusals,
because this is where the protocol's rules live: a `/play` becomes one atomic batch of
canonical commands checked against our session, and a `/rollback` reverses by action id.
The rules are listed in `softswiss`'s docstring.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from adapters.providers.base import AdapterContext
from adapters.providers.softswiss_wire import (
    Envelope,
    PlayAction,
    RollbackCall,
    parse_object,
    parse_play,
    parse_rollback,
)
from core.errors import CurrencyMismatch, GatewayError, SessionInvalid
from core.model import CloseRound, Credit, CreditKind, Debit, Rollback, TxOutcome
from core.wallet.records import SessionRecord

__all__ = ["Calls", "Reply", "Scope"]

_log = structlog.get_logger("gamegate.provider.softswiss")


@dataclass(slots=True)
class Scope:
    """What one request has proved so far; refusals use it for labels and the balance."""

    operation: str
    player_id: str | None = None
    currency: str | None = None
    """Set once the session proved the player and the currency: a balance may be shown."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer (always HTTP 200): its body and its outcome label."""

    body: dict[str, Any]
    outcome: str = "ok"


class Calls:
    """Each call of one instance, from its verified body to its answer."""

    def __init__(
        self, context: AdapterContext, *, actions_max: int, free_round_fields: tuple[str, ...]
    ) -> None:
        self._context = context
        self._service = context.service
        self._provider = context.instance
        self._actions_max = actions_max
        self._free_round_fields = free_round_fields

    async def play(self, body: bytes, scope: Scope) -> Reply:
        call = parse_play(
            body,
            self._context.currencies,
            actions_max=self._actions_max,
            free_round_fields=self._free_round_fields,
        )
        scope.operation = call.operation
        session = await self._session(call.envelope, scope)
        envelope = call.envelope
        if not call.actions:
            return await self._balance_only(envelope, session)
        game = envelope.game or session.game_id
        commands: list[Debit | Credit | CloseRound] = [
            self._money(envelope, action, game) for action in call.actions
        ]
        if envelope.finished:
            commands.append(self._close(envelope, game))
        outcomes = await self._service.execute(commands, session_token=envelope.session_id)
        ids = [action.action_id for action in call.actions]
        return self._success(envelope, ids, outcomes)

    async def rollback(self, body: bytes, scope: Scope) -> Reply:
        call: RollbackCall = parse_rollback(
            body, self._context.currencies, actions_max=self._actions_max
        )
        envelope = call.envelope
        session = await self._session(envelope, scope)
        commands: list[Rollback | CloseRound] = [
            Rollback(
                provider=self._provider,
                tx_id=action.action_id,
                player_id=envelope.user_id,
                ref_tx_id=action.original_action_id,
                round_id=envelope.round_id,
            )
            for action in call.actions
        ]
        if envelope.finished:
            commands.append(self._close(envelope, envelope.game or session.game_id))
        outcomes = await self._service.execute(commands, session_token=None)
        ids = [action.action_id for action in call.actions]
        return self._success(envelope, ids, outcomes)

    async def freespins(self, body: bytes, scope: Scope) -> Reply:
        """A free-spin issue finished: acknowledge with the balance; the wins came via /play."""
        data = parse_object(body)
        _log.info(
            "softswiss_freespins_finished",
            instance=self._provider,
            issue_id=str(data.get("issue_id"))[:64],
            status=str(data.get("status"))[:32],
        )
        reply: dict[str, Any] = {}
        session_id = data.get("session_id")
        if isinstance(session_id, str) and session_id:
            try:
                session = await self._service.session(
                    self._provider, session_id, allow_expired=True
                )
                scope.player_id = session.player_id
                balance = await self._service.balance(session.player_id, session.currency)
                reply["balance"] = balance.total_minor
            except GatewayError:
                pass  # an acknowledgement moves no money; the balance is a courtesy
        return Reply(reply)

    async def _balance_only(self, envelope: Envelope, session: SessionRecord) -> Reply:
        if envelope.finished:
            balance = await self._service.close_round(
                self._close(envelope, envelope.game or session.game_id)
            )
        else:
            balance = await self._service.balance(envelope.user_id, envelope.currency.code)
        body: dict[str, Any] = {"balance": balance.total_minor}
        if envelope.round_id is not None:
            body["game_id"] = envelope.round_id
        return Reply(body)

    # -- canonical commands ----------------------------------------------------

    async def _session(self, envelope: Envelope, scope: Scope) -> SessionRecord:
        """Our session, for this player and currency; expired is fine here (bets re-check)."""
        session = await self._service.session(
            self._provider, envelope.session_id, allow_expired=True
        )
        if session.player_id != envelope.user_id:
            raise SessionInvalid("session belongs to another player")
        scope.player_id = envelope.user_id
        if session.currency != envelope.currency.code:
            raise CurrencyMismatch(f"player's wallet is in {session.currency}")
        scope.currency = session.currency
        return session

    def _money(self, envelope: Envelope, action: PlayAction, game: str) -> Debit | Credit:
        assert envelope.round_id is not None, "parse_play requires a round with actions"
        if action.kind == "bet":
            return Debit(
                provider=self._provider,
                tx_id=action.action_id,
                player_id=envelope.user_id,
                currency=envelope.currency.code,
                amount_minor=action.amount_minor,
                round_id=envelope.round_id,
                game_id=game,
            )
        return Credit(
            provider=self._provider,
            tx_id=action.action_id,
            player_id=envelope.user_id,
            currency=envelope.currency.code,
            amount_minor=action.amount_minor,
            round_id=envelope.round_id,
            game_id=game,
            credit_kind=CreditKind.PROMO if envelope.free_round else CreditKind.WIN,
            requires_bet=not envelope.free_round,
        )

    def _close(self, envelope: Envelope, game: str) -> CloseRound:
        assert envelope.round_id is not None, "parsers require a round with finished"
        return CloseRound(self._provider, envelope.user_id, envelope.round_id, game)

    def _success(
        self, envelope: Envelope, action_ids: Sequence[str], outcomes: Sequence[TxOutcome]
    ) -> Reply:
        processed_at = _iso_utc(self._context.clock_s())
        money = outcomes[: len(action_ids)]
        body: dict[str, Any] = {"balance": outcomes[-1].balance.total_minor}
        if envelope.round_id is not None:
            body["game_id"] = envelope.round_id
        body["transactions"] = [
            {"action_id": action_id, "tx_id": outcome.transaction_id, "processed_at": processed_at}
            for action_id, outcome in zip(action_ids, money, strict=True)
        ]
        replay = all(outcome.replay for outcome in money)
        return Reply(body, "replay" if replay else "ok")


def _iso_utc(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
