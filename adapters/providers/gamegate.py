"""The gateway's own provider protocol, `gamegate`: the reference adapter.

Signed JSON over POST, integer minor units with an explicit currency, one operation
per path (`authenticate`, `balance`, `bet`, `win`, `rollback`, `close-round`, `batch`),
answers as `{"status": "ok", ...}` or `{"status": "error", "code": <Reason>, ...}`.
The wire details live in `gamegate_wire` and `docs/protocols/gamegate.md`.

`authenticate` answers the session's reality-check interval (`reality_check_s`, null
for none), so a game can remind the player without a launch URL placeholder; the other
adapters' protocols have no such field (`gateway.launch_urls`).

Idempotency: each money command is keyed by `(instance, transaction_id)` with the
provider's id used as is, not namespaced by kind. A rollback names what it reverses
by that id alone (bet or win), and a rollback arriving first leaves its tombstone
under that id, so bets, wins and rollbacks must share one namespace: a
`transaction_id` names exactly one money movement in an instance, and reusing it for
another kind is a `conflicting_replay`.

A bug (an exception that is no `core.errors.GatewayError`) gets no answer of ours: the
protocol's 503 says a store could not confirm durability, which a bug is not, so the
gateway logs it and answers its plain 500 (`_fallback`).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from adapters.providers._fallback import unexpected
from adapters.providers._parsing import body_bytes_option, int_option, required_secret
from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.gamegate_wire import (
    CONTENT_TYPE,
    DEFAULT_CLOCK_SKEW_S,
    NONCE_HEADER,
    OPERATIONS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AuthenticateRequest,
    BalanceRequest,
    BatchBet,
    BatchRequest,
    BatchRollback,
    BatchWin,
    BetRequest,
    CloseRoundRequest,
    RollbackRequest,
    WinRequest,
    check_request_signature,
    response_signature,
    wellformed_nonce,
)
from core.errors import (
    BadSignature,
    CurrencyMismatch,
    GatewayError,
    InvalidAmount,
    InvalidRequest,
    ReplayedRequest,
    RequestRejected,
    RetryableError,
    lookup_by_mro,
)
from core.model import Balance, CloseRound, Credit, CreditKind, Debit, Rollback, TxOutcome

__all__ = ["DEFAULT_BODY_BYTES_MAX", "GamegateAdapter", "demo_secrets"]

DEFAULT_BODY_BYTES_MAX = 256 * 1024
"""A batch of 100 operations is about 25 KiB; anything far larger is not ours."""

_HTTP_STATUS: dict[type[GatewayError], int] = {
    GatewayError: 200,  # every business outcome is a 200 with a status in the body
    RequestRejected: 400,
    BadSignature: 401,
    ReplayedRequest: 401,
    RetryableError: 503,  # outcome unknown: retry the same request, re-signed
}

_NO_BET_NEEDED = frozenset({CreditKind.BONUS_WIN, CreditKind.JACKPOT, CreditKind.PROMO})
_M = TypeVar("_M", bound=BaseModel)


def demo_secrets() -> dict[str, bytes]:
    """A fresh shared key; the provider side holds the same value."""
    key = secrets.token_hex(32).encode()
    return {"hmac_key": key, "provider_hmac_key": key}


@dataclass(frozen=True, slots=True)
class _Reply:
    """An answer before signing: JSON body, HTTP status and the labels."""

    body: dict[str, Any]
    outcome: str
    player_id: str | None
    status: int = 200


_Handler = Callable[[Any], Awaitable[_Reply]]


class GamegateAdapter:
    """Verify the signature over the raw bytes, parse strictly, execute, sign the answer."""

    protocol: ClassVar[str] = "gamegate"

    def __init__(self, context: AdapterContext) -> None:
        self._context = context
        self._service = context.service
        self._provider = context.instance
        self._key = required_secret(context, "hmac_key")
        self._clock_skew_s = int_option(
            context.options,
            "gamegate",
            "clock_skew_s",
            DEFAULT_CLOCK_SKEW_S,
            minimum=1,
            maximum=3600,
        )
        self._body_bytes_max = body_bytes_option(
            context.options, "gamegate", DEFAULT_BODY_BYTES_MAX
        )
        # a timestamp at the future edge (now + skew) passes until now + 2 x skew
        self._nonces = context.nonce_cache(window_s=2 * self._clock_skew_s)
        self._operations: dict[str, tuple[type[BaseModel], _Handler]] = {
            "authenticate": (AuthenticateRequest, self._authenticate),
            "balance": (BalanceRequest, self._balance),
            "bet": (BetRequest, self._bet),
            "win": (WinRequest, self._win),
            "rollback": (RollbackRequest, self._rollback),
            "close-round": (CloseRoundRequest, self._close_round),
            "batch": (BatchRequest, self._batch),
        }
        assert set(self._operations) == set(OPERATIONS)

    async def handle(self, request: ProviderRequest) -> ProviderResponse:
        operation = request.path if request.path in self._operations else "unknown"
        try:
            reply = await self._handle(request, operation)
        except GatewayError as error:
            reply = _error_reply(error, None)
        except Exception as error:  # noqa: BLE001 -- a bug: no answer of ours, the gateway's 500
            unexpected(error, None, instance=self._provider, operation=operation)
        return self._render(reply, operation, wellformed_nonce(request.headers))

    async def _handle(self, request: ProviderRequest, operation: str) -> _Reply:
        """Authenticity first, then the body; refusals after parsing carry the player id."""
        await self._check_authentic(request)
        entry = self._operations.get(operation)
        if entry is None:
            raise InvalidRequest(f"unknown operation {request.path[:64]!r}")
        model, handler = entry
        parsed = _parse(model, request.body)
        try:
            return await handler(parsed)
        except GatewayError as error:
            return _error_reply(error, getattr(parsed, "player_id", None))

    async def _check_authentic(self, request: ProviderRequest) -> None:
        if len(request.body) > self._body_bytes_max:
            raise InvalidRequest(f"body is larger than {self._body_bytes_max} bytes")
        if request.method.upper() != "POST":
            raise InvalidRequest("gamegate operations are POST requests")
        now_s = self._context.clock_s()
        signed = check_request_signature(
            self._key,
            request.headers,
            request.body,
            operation=request.path,
            now_s=now_s,
            clock_skew_s=self._clock_skew_s,
        )
        if await self._nonces.seen(f"{self._provider}:{signed.nonce}", now_s):
            raise ReplayedRequest("nonce already used")

    def _render(self, reply: _Reply, operation: str, nonce: str) -> ProviderResponse:
        body = orjson.dumps(reply.body)
        timestamp = str(int(self._context.clock_s()))
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: response_signature(self._key, body, timestamp=timestamp, nonce=nonce),
        }
        if nonce:
            headers[NONCE_HEADER] = nonce
        return ProviderResponse(
            status=reply.status,
            body=body,
            content_type=CONTENT_TYPE,
            headers=headers,
            operation=operation,
            outcome=reply.outcome,
            player_id=reply.player_id,
        )

    # -- operations ------------------------------------------------------------

    async def _authenticate(self, request: AuthenticateRequest) -> _Reply:
        view = await self._service.authenticate(self._provider, request.session_token)
        body = {
            "status": "ok",
            "player_id": view.player.player_id,
            "currency": view.player.currency,
            "game_id": view.session.game_id,
            "reality_check_s": view.session.reality_check_s or None,
            "balance": _balance_json(view.balance),
        }
        return _Reply(body, "ok", view.player.player_id)

    async def _balance(self, request: BalanceRequest) -> _Reply:
        if request.currency is not None:
            self._context.currencies.get(request.currency)
        player = await self._service.player(request.player_id)
        balance = await self._service.balance(player.player_id, player.currency)
        if request.currency is not None and request.currency != player.currency:
            raise CurrencyMismatch(f"player's wallet is in {player.currency}", balance=balance)
        body = {"status": "ok", "player_id": player.player_id, "balance": _balance_json(balance)}
        return _Reply(body, "ok", player.player_id)

    async def _bet(self, request: BetRequest) -> _Reply:
        debit = self._debit(request.player_id, request)
        outcome = await self._service.debit(debit, session_token=request.session_token)
        return _money_reply(request.transaction_id, outcome, request.player_id)

    async def _win(self, request: WinRequest) -> _Reply:
        outcome = await self._service.credit(self._credit(request.player_id, request))
        return _money_reply(request.transaction_id, outcome, request.player_id)

    async def _rollback(self, request: RollbackRequest) -> _Reply:
        outcome = await self._service.rollback(self._reversal(request.player_id, request))
        return _money_reply(
            request.transaction_id,
            outcome,
            request.player_id,
            reference_found=not outcome.tombstone,
        )

    async def _close_round(self, request: CloseRoundRequest) -> _Reply:
        close = CloseRound(self._provider, request.player_id, request.round_id, request.game_id)
        balance = await self._service.close_round(close)
        body = {"status": "ok", "round_id": request.round_id, "balance": _balance_json(balance)}
        return _Reply(body, "ok", request.player_id)

    async def _batch(self, request: BatchRequest) -> _Reply:
        ids = [op.transaction_id for op in request.operations]
        if len(set(ids)) != len(ids):
            raise InvalidRequest("transaction ids within a batch must be unique")
        has_bet = any(isinstance(op, BatchBet) for op in request.operations)
        if has_bet and request.session_token is None:
            raise InvalidRequest("a batch with a bet needs session_token")
        commands = [self._batch_command(request.player_id, op) for op in request.operations]
        outcomes = await self._service.execute(commands, session_token=request.session_token)
        results = [
            _result_json(op, outcome)
            for op, outcome in zip(request.operations, outcomes, strict=True)
        ]
        replay = all(outcome.replay for outcome in outcomes)
        body = {
            "status": "ok",
            "replay": replay,
            "balance": _balance_json(outcomes[-1].balance),
            "results": results,
        }
        return _Reply(body, "replay" if replay else "ok", request.player_id)

    # -- canonical commands ----------------------------------------------------

    def _batch_command(
        self, player_id: str, op: BatchBet | BatchWin | BatchRollback
    ) -> Debit | Credit | Rollback:
        if isinstance(op, BatchBet):
            return self._debit(player_id, op)
        if isinstance(op, BatchWin):
            return self._credit(player_id, op)
        return self._reversal(player_id, op)

    def _debit(self, player_id: str, bet: BetRequest | BatchBet) -> Debit:
        self._context.currencies.get(bet.currency)
        return Debit(
            provider=self._provider,
            tx_id=bet.transaction_id,
            player_id=player_id,
            currency=bet.currency,
            amount_minor=bet.amount,
            round_id=bet.round_id,
            game_id=bet.game_id,
            close_round=bet.round_closed,
        )

    def _credit(self, player_id: str, win: WinRequest | BatchWin) -> Credit:
        """A win; jackpot, promo and bonus wins may come without any bet."""
        self._context.currencies.get(win.currency)
        kind = CreditKind(win.kind)
        return Credit(
            provider=self._provider,
            tx_id=win.transaction_id,
            player_id=player_id,
            currency=win.currency,
            amount_minor=win.amount,
            round_id=win.round_id,
            game_id=win.game_id,
            credit_kind=kind,
            ref_tx_id=win.bet_transaction_id,
            close_round=win.round_closed,
            requires_bet=kind not in _NO_BET_NEEDED,
        )

    def _reversal(self, player_id: str, rollback: RollbackRequest | BatchRollback) -> Rollback:
        if rollback.reference_transaction_id == rollback.transaction_id:
            raise InvalidRequest("a rollback needs its own transaction_id")
        return Rollback(
            provider=self._provider,
            tx_id=rollback.transaction_id,
            player_id=player_id,
            ref_tx_id=rollback.reference_transaction_id,
            round_id=rollback.round_id,
            close_round=rollback.round_closed,
        )


# -- rendering -----------------------------------------------------------------


def _balance_json(balance: Balance) -> dict[str, Any]:
    return {
        "currency": balance.currency,
        "real": balance.real_minor,
        "bonus": balance.bonus_minor,
        "total": balance.total_minor,
    }


def _money_reply(transaction_id: str, outcome: TxOutcome, player_id: str, **extra: Any) -> _Reply:
    body = {
        "status": "ok",
        "transaction_id": transaction_id,
        "wallet_transaction_id": outcome.transaction_id,
        "replay": outcome.replay,
        "balance": _balance_json(outcome.balance),
        **extra,
    }
    return _Reply(body, "replay" if outcome.replay else "ok", player_id)


def _result_json(op: BatchBet | BatchWin | BatchRollback, outcome: TxOutcome) -> dict[str, Any]:
    result: dict[str, Any] = {
        "op": op.op,
        "transaction_id": op.transaction_id,
        "wallet_transaction_id": outcome.transaction_id,
        "replay": outcome.replay,
    }
    if isinstance(op, BatchRollback):
        result["reference_found"] = not outcome.tombstone
    return result


def _error_reply(error: GatewayError, player_id: str | None) -> _Reply:
    body: dict[str, Any] = {
        "status": "error",
        "code": error.reason.value,
        "message": error.message,
        "retryable": error.retryable,
        "replay": error.replay,
    }
    if isinstance(error.balance, Balance):
        body["balance"] = _balance_json(error.balance)
    status = lookup_by_mro(error, _HTTP_STATUS)
    return _Reply(body, error.reason.value, player_id, status)


# -- parsing -------------------------------------------------------------------


def _parse(model: type[_M], body: bytes) -> _M:
    """Strict parse of the raw bytes; amount problems get their own code."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        message = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in errors[:3]
        )
        if any(_is_bad_amount(error) for error in errors):
            raise InvalidAmount(message) from exc
        raise InvalidRequest(message) from exc


def _is_bad_amount(error: ErrorDetails) -> bool:
    """An amount that is there but wrong (a float, a string, negative, too big)."""
    return bool(error["loc"]) and error["loc"][-1] == "amount" and error["type"] != "missing"
