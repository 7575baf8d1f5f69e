"""Evolution One Wallet (live casino): check, balance, debit, credit, cancel, promo_payout.

Evolution POSTs JSON to `/{operation}?authToken=<token>`. The static token is the only
credential (no body signature): it is compared in constant time with the instance
secret `auth_token` before the body is looked at. Every answer is HTTP 200 with a
`status` string and the current balance (`INVALID_TOKEN_ID` may use another HTTP status,
option `auth_error_http_status`); the request's `uuid` is echoed.

Sessions. `check` validates `sid`/`userId` and answers a NEW `sid`: a new session
record for the same player, game and provider. By default the new session keeps the
old one's absolute expiry (rotation never lengthens a session); option
`check_extends_session` gives it the old session's full TTL from now instead. The old
`sid` ends at that moment for bets and balance (`INVALID_SID`, as Evolution's
certification case "check using new SID" expects) but still carries credits, cancels
and promo payouts, which may arrive for bets placed under it.

Idempotency keys, namespaced because Evolution's ids are per operation kind:
- debit: `bet:{refId}`. The bet is named by `refId`; a repeated debit with the same
  payload is a replay (one debit), answered `OK` or `BET_ALREADY_EXIST` (option
  `duplicate_debit_status`). A second debit for the refId with another
  `transaction.id`, amount or round is `BET_ALREADY_EXIST` (the transaction id is the
  debit's `reference`, part of its fingerprint) and moves nothing.
- credit: `credit:{transaction.id}`, settling `bet:{refId}`; amount 0 is a loss that
  settles. Unknown refId: `BET_DOES_NOT_EXIST`; bet settled or cancelled:
  `BET_ALREADY_SETTLED`.
- cancel: `cancel:{transaction.id}`, reversing `bet:{refId}` exactly (the amount sent is
  not used). Unknown refId: `BET_DOES_NOT_EXIST` and a tombstone, so a late debit for
  that refId is `FINAL_ERROR_ACTION_FAILED`; a settled bet: `BET_ALREADY_SETTLED`; a
  cancel with another id for a cancelled bet: `BET_ALREADY_SETTLED` (one refund).
- promo_payout: `promo:{promoTransaction.id}`, a credit that needs no bet; type
  `JackpotWin` is a jackpot (real money), free-round types (`FreeRound...`) are
  bonus winnings (bonus funds), every other type a promo prize (real money).
Refusals are stored under their key like successes (a debit refused with
`INVALID_SID` or `INSUFFICIENT_FUNDS` stays refused for its refId; a retry gets the
same answer).

Uncertain rules, resolved to the safe side:
- Amounts: at most six decimals on the wire (Valkyrie refuses to round beyond six
  too) and never more than the currency's exponent: `1.005` EUR is
  `INVALID_PARAMETER`, not rounded. Balances are rendered with six decimals, or with
  the currency's exponent where it is larger, so nothing is ever rounded.
- `balance` is the cash (real) balance and `bonus` the bonus balance, as both open
  implementations do; option `balance_includes_bonus` shows real + bonus instead.
- `balance` and `check` need an unexpired session; credits, cancels and promo
  payouts accept an expired one (a won bet is always paid) but never an unknown one
  or one of another user (`INVALID_SID`).
- Compliance refusals (limits, blocked game) are `FINAL_ERROR_ACTION_FAILED`; a
  blocked, self-excluded or unknown player is `INVALID_SID` (the session must end).
- Storage failures are `TEMPORARY_ERROR` with `"retransmission":true`: the outcome is
  unknown, Evolution must retry as is. A bug is `UNKNOWN_ERROR` (no retransmission):
  retrying would meet the same bug.
- An `authToken` that is not printable ASCII counts as missing (`INVALID_TOKEN_ID`).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import structlog

from adapters.providers._fallback import INTERNAL_ERROR, unexpected
from adapters.providers._parsing import required_secret
from adapters.providers._signing import same_secret
from adapters.providers._text import printable_ascii
from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.evolution_wire import (
    DEFAULT_BODY_BYTES_MAX,
    Caller,
    EvolutionOptions,
    Status,
    claimed_user,
    decode,
    echo_uuid,
    parse_balance,
    parse_caller,
    parse_promo,
    parse_transaction,
    render_check,
    render_status,
)
from core.errors import (
    AlreadyRolledBack,
    AlreadySettled,
    BadSignature,
    ComplianceRefused,
    ConflictingReplay,
    CurrencyMismatch,
    GatewayError,
    InsufficientFunds,
    InvalidRequest,
    PlayerError,
    PlayerInDebt,
    Reason,
    ReferenceNotFound,
    RequestRejected,
    RetryableError,
    RoundClosed,
    SessionError,
    SessionInvalid,
    lookup_by_mro,
)
from core.model import Balance, Credit, CreditKind, Debit, Rollback
from core.wallet.records import SessionRecord

__all__ = ["DEFAULT_BODY_BYTES_MAX", "OPERATIONS", "EvolutionAdapter", "demo_secrets"]

OPERATIONS = ("check", "balance", "debit", "credit", "cancel", "promo_payout")
"""Limit on writing the rotated session (the service times every other store call)."""
SID_BYTES = 24
_JACKPOT_PROMO_TYPE = "JackpotWin"
_FREE_ROUND_PROMO_PREFIX = "FreeRound"

_log = structlog.get_logger("gamegate.provider.evolution")


def demo_secrets() -> dict[str, bytes]:
    """A fresh API token; Evolution holds the same value."""
    token = secrets.token_urlsafe(24).encode()
    return {"auth_token": token, "provider_auth_token": token}


@dataclass(frozen=True, slots=True)
class _Answer:
    """The status for a refusal; `on_debit` where a debit gets another one."""

    status: Status
    on_debit: Status | None = None


_ANSWERS: dict[type[GatewayError], _Answer] = {
    GatewayError: _Answer(Status.UNKNOWN_ERROR),
    RequestRejected: _Answer(Status.INVALID_PARAMETER),
    InvalidRequest: _Answer(Status.INVALID_PARAMETER),
    BadSignature: _Answer(Status.INVALID_TOKEN_ID),
    SessionError: _Answer(Status.INVALID_SID),
    PlayerError: _Answer(Status.INVALID_SID),
    ComplianceRefused: _Answer(Status.FINAL_ERROR_ACTION_FAILED),
    InsufficientFunds: _Answer(Status.INSUFFICIENT_FUNDS),
    PlayerInDebt: _Answer(Status.INSUFFICIENT_FUNDS),
    CurrencyMismatch: _Answer(Status.INVALID_PARAMETER),
    RoundClosed: _Answer(Status.FINAL_ERROR_ACTION_FAILED),
    ReferenceNotFound: _Answer(Status.BET_DOES_NOT_EXIST),
    AlreadySettled: _Answer(Status.BET_ALREADY_SETTLED),
    # a cancelled bet is settled for credits and cancels; a debit meets its tombstone
    AlreadyRolledBack: _Answer(Status.BET_ALREADY_SETTLED, Status.FINAL_ERROR_ACTION_FAILED),
    ConflictingReplay: _Answer(Status.INVALID_PARAMETER, Status.BET_ALREADY_EXIST),
    RetryableError: _Answer(Status.TEMPORARY_ERROR),
}


@dataclass(frozen=True, slots=True)
class _Reply:
    """An answer before rendering, with its metrics labels."""

    status: Status
    balance: Balance | None
    uuid: str | None
    player_id: str | None
    outcome: str = "ok"
    body: bytes | None = None
    """A complete body where the answer is not the standard shape (`check`)."""


_Handler = Callable[[dict[str, Any]], Awaitable[_Reply]]


class EvolutionAdapter:
    """Token first, then strict parsing, then the wallet; every answer is a status."""

    protocol: ClassVar[str] = "evolution"

    def __init__(self, context: AdapterContext) -> None:
        self._token = required_secret(context, "auth_token")
        self._provider = context.instance
        self._service = context.service
        self._currencies = context.currencies
        self._clock_s = context.clock_s
        self._options = EvolutionOptions.from_mapping(context.options)
        self._operations: dict[str, _Handler] = {
            "check": self._check,
            "balance": self._balance,
            "debit": self._debit,
            "credit": self._credit,
            "cancel": self._cancel,
            "promo_payout": self._promo_payout,
        }
        assert tuple(self._operations) == OPERATIONS

    async def handle(self, request: ProviderRequest) -> ProviderResponse:
        path = request.path.strip("/")
        operation = path if path in self._operations else "unknown"
        refused = self._auth_refusal(request)
        if refused is not None:
            _log.warning(
                "provider_auth_refused",
                instance=self._provider,
                operation=operation,
                reason=refused,
                remote=request.remote,
            )
            reply = _Reply(Status.INVALID_TOKEN_ID, None, None, None, Reason.BAD_SIGNATURE.value)
            return self._render(operation, reply, self._options.auth_error_http_status)
        if operation == "unknown" or request.method.upper() != "POST":
            reply = _Reply(Status.INVALID_PARAMETER, None, None, None, Reason.INVALID_REQUEST.value)
            return self._render(operation, reply, 404 if operation == "unknown" else 405)
        return self._render(operation, await self._dispatch(operation, request.body))

    def _auth_refusal(self, request: ProviderRequest) -> str | None:
        """Why the API token is refused, or None; constant time, before the body is read."""
        received = request.query.get("authToken")
        if not received:
            return "missing_token"
        if printable_ascii(received) is None:
            return "malformed_token"
        if not same_secret(received, self._token):
            return "wrong_token"
        return None

    async def _dispatch(self, operation: str, body: bytes) -> _Reply:
        uuid = user_id = None
        try:
            if len(body) > self._options.body_bytes_max:
                raise InvalidRequest(f"body is larger than {self._options.body_bytes_max} bytes")
            doc = decode(body)
            uuid, user_id = echo_uuid(doc), claimed_user(doc)
            return await self._operations[operation](doc)
        except GatewayError as error:
            return await self._refusal(operation, error, uuid, user_id)
        except Exception as error:  # noqa: BLE001 -- a bug: Evolution's UNKNOWN_ERROR (`_fallback`)
            return unexpected(
                error,
                lambda: _Reply(Status.UNKNOWN_ERROR, None, uuid, user_id, INTERNAL_ERROR),
                instance=self._provider,
                operation=operation,
            )

    async def _refusal(
        self, operation: str, error: GatewayError, uuid: str | None, user_id: str | None
    ) -> _Reply:
        answer = lookup_by_mro(error, _ANSWERS)
        status = answer.on_debit if operation == "debit" and answer.on_debit else answer.status
        balance = error.balance if isinstance(error.balance, Balance) else None
        if balance is None and user_id is not None and not error.retryable:
            balance = await self._balance_or_none(user_id)
        return _Reply(status, balance, uuid, user_id, error.reason.value)

    async def _balance_or_none(self, user_id: str) -> Balance | None:
        """Best effort: a refusal shows the balance when the user is known."""
        try:
            return await self._service.balance(user_id)
        except GatewayError:
            return None

    def _render(self, operation: str, reply: _Reply, http_status: int = 200) -> ProviderResponse:
        body = reply.body
        if body is None:
            balance = reply.balance
            currency = (
                self._currencies.get(balance.currency)
                if balance is not None and balance.currency in self._currencies
                else None
            )
            body = render_status(
                reply.status,
                balance=balance,
                currency=currency,
                uuid=reply.uuid,
                balance_includes_bonus=self._options.balance_includes_bonus,
            )
        return ProviderResponse(
            status=http_status,
            body=body,
            operation=operation,
            outcome=reply.outcome,
            player_id=reply.player_id,
        )

    # -- sessions --------------------------------------------------------------

    async def _session(self, caller: Caller, *, allow_expired: bool) -> SessionRecord:
        session = await self._service.session(
            self._provider, caller.sid, allow_expired=allow_expired
        )
        if session.player_id != caller.user_id:
            raise SessionInvalid("sid belongs to another user")
        return session

    async def _rotate(self, old: SessionRecord) -> str:
        """A new session for the same player and game; the old sid ends for bets now."""
        now_us = int(self._clock_s() * 1_000_000)
        expires_at_us = old.expires_at_us
        if self._options.check_extends_session:
            expires_at_us = now_us + (old.expires_at_us - old.created_at_us)
        new = dataclasses.replace(
            old,
            token=secrets.token_urlsafe(SID_BYTES),
            expires_at_us=expires_at_us,
            created_at_us=now_us,
        )
        await self._service.rotate_session(old, new)
        return new.token

    # -- operations ------------------------------------------------------------

    async def _check(self, doc: dict[str, Any]) -> _Reply:
        caller = parse_caller(doc)
        view = await self._service.authenticate(self._provider, caller.sid)
        if view.player.player_id != caller.user_id:
            raise SessionInvalid("sid belongs to another user")
        sid = await self._rotate(view.session)
        body = render_check(sid, caller.uuid)
        return _Reply(Status.OK, view.balance, caller.uuid, caller.user_id, body=body)

    async def _balance(self, doc: dict[str, Any]) -> _Reply:
        request = parse_balance(doc, self._currencies)
        caller = request.caller
        await self._session(caller, allow_expired=False)
        balance = await self._service.balance(caller.user_id)
        if balance.currency != request.currency.code:
            raise CurrencyMismatch(f"player's wallet is in {balance.currency}", balance=balance)
        return _Reply(Status.OK, balance, caller.uuid, caller.user_id)

    async def _debit(self, doc: dict[str, Any]) -> _Reply:
        request = parse_transaction(doc, self._currencies, with_amount=True)
        caller = request.caller
        assert request.amount_minor is not None
        debit = Debit(
            provider=self._provider,
            tx_id=f"bet:{request.ref_id}",
            player_id=caller.user_id,
            currency=request.currency.code,
            amount_minor=request.amount_minor,
            round_id=request.round_id,
            game_id=request.table_id,
            reference=request.transaction_id,
        )
        outcome = await self._service.debit(debit, session_token=caller.sid)
        if outcome.replay:
            status = self._options.duplicate_debit_status
            return _Reply(status, outcome.balance, caller.uuid, caller.user_id, "replay")
        return _Reply(Status.OK, outcome.balance, caller.uuid, caller.user_id)

    async def _credit(self, doc: dict[str, Any]) -> _Reply:
        request = parse_transaction(doc, self._currencies, with_amount=True)
        caller = request.caller
        assert request.amount_minor is not None
        await self._session(caller, allow_expired=True)
        credit = Credit(
            provider=self._provider,
            tx_id=f"credit:{request.transaction_id}",
            player_id=caller.user_id,
            currency=request.currency.code,
            amount_minor=request.amount_minor,
            round_id=request.round_id,
            game_id=request.table_id,
            credit_kind=CreditKind.WIN,
            ref_tx_id=f"bet:{request.ref_id}",
        )
        outcome = await self._service.credit(credit)
        label = "replay" if outcome.replay else "ok"
        return _Reply(Status.OK, outcome.balance, caller.uuid, caller.user_id, label)

    async def _cancel(self, doc: dict[str, Any]) -> _Reply:
        request = parse_transaction(doc, self._currencies, with_amount=False)
        caller = request.caller
        await self._session(caller, allow_expired=True)
        rollback = Rollback(
            provider=self._provider,
            tx_id=f"cancel:{request.transaction_id}",
            player_id=caller.user_id,
            ref_tx_id=f"bet:{request.ref_id}",
            round_id=request.round_id,
        )
        outcome = await self._service.rollback(rollback)
        if outcome.tombstone:  # nothing to cancel; the late debit will be refused
            status, label = Status.BET_DOES_NOT_EXIST, Reason.REFERENCE_NOT_FOUND.value
        else:
            status, label = Status.OK, "replay" if outcome.replay else "ok"
        return _Reply(status, outcome.balance, caller.uuid, caller.user_id, label)

    async def _promo_payout(self, doc: dict[str, Any]) -> _Reply:
        request = parse_promo(doc, self._currencies)
        caller = request.caller
        await self._session(caller, allow_expired=True)
        credit = Credit(
            provider=self._provider,
            tx_id=f"promo:{request.promo_id}",
            player_id=caller.user_id,
            currency=request.currency.code,
            amount_minor=request.amount_minor,
            round_id=request.round_id or f"promo:{request.promo_id}",
            game_id=request.table_id,
            credit_kind=_promo_credit_kind(request.promo_type),
            requires_bet=False,
        )
        outcome = await self._service.credit(credit)
        label = "replay" if outcome.replay else "ok"
        return _Reply(Status.OK, outcome.balance, caller.uuid, caller.user_id, label)


def _promo_credit_kind(promo_type: str) -> CreditKind:
    """Jackpots and promo prizes are cash; free-round winnings are bonus funds."""
    if promo_type == _JACKPOT_PROMO_TYPE:
        return CreditKind.JACKPOT
    if promo_type.startswith(_FREE_ROUND_PROMO_PREFIX):
        return CreditKind.BONUS_WIN
    return CreditKind.PROMO
