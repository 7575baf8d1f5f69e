"""Hub88 Operator Wallet API: RSA-signed JSON, amounts x 100,000, `RS_*` statuses on HTTP 200.

Hub88 calls the operator's wallet at `user/info`, `user/balance`, `transaction/bet`,
`transaction/win` and `transaction/rollback`. Every request is verified against the
provider's RSA public key over the exact body bytes before anything is parsed; every
answer, refusals included, is HTTP 200 with a status and the echoed `request_uuid`,
signed with the gateway's key when `sign_responses` is true. Wire details live in
`hub88_wire`.

Idempotency: `transaction_uuid` names one action (bet, win or rollback) across all
kinds, so it is the `tx_id` as is, not namespaced: a rollback finds its bet or win by
`reference_transaction_uuid` alone and a rollback arriving first leaves its tombstone
under that id. Reusing a `transaction_uuid` with other content, or for another kind,
is `RS_ERROR_DUPLICATE_TRANSACTION`, as Hub88 defines it.

Rules, and the choices made where the reference is unsure:

- Tokens are checked on bets (unknown -> `RS_ERROR_INVALID_TOKEN`, expired ->
  `RS_ERROR_TOKEN_EXPIRED`) and on balance calls (expired tokens pass: nothing moves).
  Wins and rollbacks never check the token: they may arrive after the session ended.
- `is_supplier_promo` bets and wins need a known token of the same player but not a
  live one (Hub88, May 2025); a promo win may come without a bet.
- Rollback of an unknown transaction is `RS_OK` and leaves a tombstone; the late bet
  gets `RS_ERROR_TRANSACTION_ROLLED_BACK`, as does a win on a rolled-back bet.
- [?] Free bets (`is_free`) are recorded with amount 0, so the player is not charged for
  a reward spin and its win can reference it. Option `charge_free_bets` (default false)
  debits the wire amount instead, for contracts that say so.
- [?] Whether Hub88 wants signed answers is not documented, and Hub88's own Node
  wrapper does not sign them: answers go unsigned by default. Option `sign_responses`
  (true) signs them (`X-Hub88-Signature`, gateway key) for a contract that asks; an RSA
  signature costs about as much CPU as the rest of the callback
  (`loadtests/RESULTS.md`, issue 14).
- No replay window: the body has no timestamp or nonce, and Hub88 retries with the
  same `request_uuid`, so refusing a repeat would break retries. Money calls are
  idempotent by `transaction_uuid`; balance and info replays only read.
- A bet in a closed round (`round_closed` seen), a second win with a new
  `transaction_uuid` on a bet that a win already settled, and a rollback of a settled
  bet are refused with `RS_ERROR_UNKNOWN`: Hub88 has no code for them, and a refused
  bet is rolled back by Hub88 while a refused win or rollback is retried and alerts.
- Storage failures answer `RS_ERROR_UNKNOWN`, never `RS_OK`: Hub88 retries a win with
  the same `transaction_uuid` and rolls back a bet after any non-OK answer, so an
  unknown outcome converges either way (the rollback reverses a bet that did commit, or
  tombstones one that did not). A bug gets the same status, Hub88's only internal
  error, but is logged and counted as `internal_error`, not as a store failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.providers._fallback import INTERNAL_ERROR, unexpected
from adapters.providers._parsing import body_bytes_option, bool_option, required_secret
from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.hub88_wire import (
    CONTENT_TYPE,
    ECHO_BODY_BYTES_MAX,
    OPERATIONS,
    SIGNATURE_HEADER,
    BalanceRequest,
    BetRequest,
    RollbackRequest,
    Status,
    UserInfoRequest,
    WinRequest,
    WrongTypes,
    amount_minor,
    echo_fields,
    load_private_key,
    load_public_key,
    parse_body,
    render,
    scaled_balance,
    sign,
    validate,
    verify,
)
from core.errors import (
    AlreadyRolledBack,
    AlreadySettled,
    BadSignature,
    ComplianceRefused,
    ConflictingReplay,
    CurrencyMismatch,
    GameNotAllowed,
    GatewayError,
    InsufficientFunds,
    InvalidAmount,
    InvalidRequest,
    LimitReached,
    PlayerError,
    PlayerInDebt,
    PlayerNotFound,
    ReferenceNotFound,
    RequestRejected,
    RetryableError,
    RoundClosed,
    SessionExpired,
    SessionInvalid,
    StakeAboveLimit,
    StorageUnavailable,
    UnknownCurrency,
    WalletRefused,
    lookup_by_mro,
)
from core.model import Balance, Credit, CreditKind, Debit, Rollback, TxOutcome

__all__ = ["DEFAULT_BODY_BYTES_MAX", "STATUS_BY_ERROR", "Hub88Adapter", "demo_secrets"]

DEFAULT_BODY_BYTES_MAX = 64 * 1024
"""A Hub88 call is well under 2 KiB even with `meta`; anything far larger is not Hub88."""
RSA_KEY_BITS = 2048

STATUS_BY_ERROR: dict[type[GatewayError], Status] = {
    GatewayError: Status.UNKNOWN,
    RequestRejected: Status.WRONG_SYNTAX,
    InvalidRequest: Status.WRONG_SYNTAX,
    WrongTypes: Status.WRONG_TYPES,
    InvalidAmount: Status.WRONG_TYPES,
    UnknownCurrency: Status.WRONG_CURRENCY,
    BadSignature: Status.INVALID_SIGNATURE,
    SessionInvalid: Status.INVALID_TOKEN,
    SessionExpired: Status.TOKEN_EXPIRED,
    PlayerNotFound: Status.INVALID_TOKEN,  # Hub88 has no "unknown user" status
    PlayerError: Status.USER_DISABLED,
    ComplianceRefused: Status.LIMIT_REACHED,
    LimitReached: Status.LIMIT_REACHED,
    StakeAboveLimit: Status.BET_LIMIT_EXCEEDED,
    GameNotAllowed: Status.INVALID_GAME,
    WalletRefused: Status.UNKNOWN,
    InsufficientFunds: Status.NOT_ENOUGH_MONEY,
    PlayerInDebt: Status.NOT_ENOUGH_MONEY,
    CurrencyMismatch: Status.WRONG_CURRENCY,
    RoundClosed: Status.UNKNOWN,
    ReferenceNotFound: Status.TRANSACTION_DOES_NOT_EXIST,
    AlreadyRolledBack: Status.TRANSACTION_ROLLED_BACK,
    AlreadySettled: Status.UNKNOWN,
    ConflictingReplay: Status.DUPLICATE_TRANSACTION,
    RetryableError: Status.UNKNOWN,
    StorageUnavailable: Status.UNKNOWN,  # retryable: Hub88 retries wins, rolls back bets
}
"""Every canonical refusal -> Hub88 status (most specific class first, by MRO)."""

_log = structlog.get_logger("gamegate.provider.hub88")


def demo_secrets() -> dict[str, bytes]:
    """Fresh key pairs: Hub88's (it signs requests) and the gateway's (it signs answers)."""
    provider_private, provider_public = _new_key_pair()
    gateway_private, gateway_public = _new_key_pair()
    return {
        "provider_public_key": provider_public,
        "provider_private_key": provider_private,
        "gateway_private_key": gateway_private,
        "gateway_public_key": gateway_public,
    }


def _new_key_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@dataclass(frozen=True, slots=True)
class _Echo:
    """What every answer repeats from the request, once it is known."""

    user: str | None = None
    request_uuid: str | None = None


@dataclass(frozen=True, slots=True)
class _Reply:
    """An answer before rendering."""

    status: Status
    outcome: str
    balance: Balance | None = None
    extra: Mapping[str, object] | None = None


_Handler = Callable[[Mapping[str, Any]], Awaitable[_Reply]]


class Hub88Adapter:
    """Verify the RSA signature over the raw bytes, parse strictly, execute, sign the answer."""

    protocol: ClassVar[str] = "hub88"

    def __init__(self, context: AdapterContext) -> None:
        self._context = context
        self._service = context.service
        self._provider = context.instance
        self._public_key = load_public_key(required_secret(context, "provider_public_key"))
        self._sign_responses = bool_option(context.options, "hub88", "sign_responses", False)
        self._charge_free_bets = bool_option(context.options, "hub88", "charge_free_bets", False)
        self._private_key = (
            load_private_key(required_secret(context, "gateway_private_key"))
            if self._sign_responses
            else None
        )
        self._body_bytes_max = body_bytes_option(context.options, "hub88", DEFAULT_BODY_BYTES_MAX)
        self._handlers: dict[str, _Handler] = {
            "info": self._info,
            "balance": self._balance,
            "bet": self._bet,
            "win": self._win,
            "rollback": self._rollback,
        }
        assert set(self._handlers) == set(OPERATIONS.values())

    async def handle(self, request: ProviderRequest) -> ProviderResponse:
        operation = OPERATIONS.get(request.path.strip("/"), "unknown")
        echo = _Echo()
        try:
            self._check_authentic(request)
            data = parse_body(request.body)
            echo = _Echo(*echo_fields(data))
            _check_route(request, operation)
            reply = await self._handlers[operation](data)
        except BadSignature as error:
            _log.warning(
                "hub88_request_refused", instance=self._provider, operation=operation,
                reason=error.message, remote=request.remote,
            )  # fmt: skip
            echo = _Echo(None, _unverified_request_uuid(request))
            reply = await self._refusal(error, echo)
        except GatewayError as error:
            reply = await self._refusal(error, echo)
        except Exception as error:  # noqa: BLE001 -- a bug: Hub88's internal error (`_fallback`)
            reply = unexpected(error, _internal_error, instance=self._provider, operation=operation)
        return self._render(reply, echo, operation)

    def _check_authentic(self, request: ProviderRequest) -> None:
        """The signature over the exact bytes, before anything in the body is read."""
        if len(request.body) > self._body_bytes_max:
            raise BadSignature(f"body is larger than {self._body_bytes_max} bytes")
        if not verify(self._public_key, request.body, request.headers.get(SIGNATURE_HEADER)):
            raise BadSignature("missing or wrong X-Hub88-Signature")

    def _render(self, reply: _Reply, echo: _Echo, operation: str) -> ProviderResponse:
        currency: str | None = None
        balance: int | None = None
        if reply.balance is not None and reply.balance.currency in self._context.currencies:
            currency = reply.balance.currency
            table = self._context.currencies.get(currency)
            balance = scaled_balance(reply.balance.total_minor, table)
        body = render(
            user=echo.user, status=reply.status, request_uuid=echo.request_uuid,
            currency=currency, balance=balance, extra=reply.extra,
        )  # fmt: skip
        headers: dict[str, str] = {}
        if self._private_key is not None:
            headers[SIGNATURE_HEADER] = sign(self._private_key, body)
        return ProviderResponse(
            status=200, body=body, content_type=CONTENT_TYPE, headers=headers,
            operation=operation, outcome=reply.outcome, player_id=echo.user,
        )  # fmt: skip

    async def _refusal(self, error: GatewayError, echo: _Echo) -> _Reply:
        """The status for `error`, with the player's balance when it can be known cheaply."""
        if isinstance(error, RetryableError):
            _log.warning("hub88_retryable_failure", instance=self._provider, reason=error.message)
        balance = error.balance if isinstance(error.balance, Balance) else None
        if balance is None and echo.user is not None and _worth_a_balance(error):
            try:
                balance = await self._service.balance(echo.user)
            except GatewayError:
                balance = None
        return _Reply(lookup_by_mro(error, STATUS_BY_ERROR), error.reason.value, balance)

    # -- operations ------------------------------------------------------------

    async def _info(self, data: Mapping[str, Any]) -> _Reply:
        request = validate(UserInfoRequest, data)
        player = await self._service.player(request.user)
        self._service.check_may_play(player)
        extra = {"sub_partner_id": player.brand, "birth_date": player.date_of_birth.isoformat()}
        return _Reply(Status.OK, "ok", extra=extra)

    async def _balance(self, data: Mapping[str, Any]) -> _Reply:
        request = validate(BalanceRequest, data)
        session = await self._service.session(self._provider, request.token, allow_expired=True)
        if session.player_id != request.user:
            raise SessionInvalid("token belongs to another user")
        balance = await self._service.balance(session.player_id, session.currency)
        return _Reply(Status.OK, "ok", balance)

    async def _bet(self, data: Mapping[str, Any]) -> _Reply:
        request = validate(BetRequest, data)
        currency = self._context.currencies.get(request.currency)
        amount = amount_minor(request.amount, currency)
        if request.is_supplier_promo or (request.is_free and not self._charge_free_bets):
            amount = 0  # a reward spin: recorded so its win can reference it, not charged
        debit = Debit(
            provider=self._provider, tx_id=request.transaction_uuid, player_id=request.user,
            currency=request.currency, amount_minor=amount, round_id=request.round,
            game_id=request.game_code, close_round=bool(request.round_closed),
        )  # fmt: skip
        token: str | None = request.token
        if request.is_supplier_promo:
            await self._known_token(request.token, request.user)
            token = None
        return _money_reply(await self._service.debit(debit, session_token=token))

    async def _win(self, data: Mapping[str, Any]) -> _Reply:
        request = validate(WinRequest, data)
        currency = self._context.currencies.get(request.currency)
        amount = amount_minor(request.amount, currency)
        promo = bool(request.is_supplier_promo)
        if promo:
            if request.token is None:
                raise InvalidRequest("a supplier promo win needs its token")
            await self._known_token(request.token, request.user)
        elif request.reference_transaction_uuid is None:
            raise InvalidRequest("a win needs reference_transaction_uuid")
        credit = Credit(
            provider=self._provider, tx_id=request.transaction_uuid, player_id=request.user,
            currency=request.currency, amount_minor=amount, round_id=request.round,
            game_id=request.game_code or "",
            credit_kind=CreditKind.PROMO if promo else CreditKind.WIN,
            ref_tx_id=request.reference_transaction_uuid,
            close_round=bool(request.round_closed), requires_bet=not promo,
        )  # fmt: skip
        return _money_reply(await self._service.credit(credit))

    async def _rollback(self, data: Mapping[str, Any]) -> _Reply:
        request = validate(RollbackRequest, data)
        if request.reference_transaction_uuid == request.transaction_uuid:
            raise InvalidRequest("a rollback needs its own transaction_uuid")
        rollback = Rollback(
            provider=self._provider, tx_id=request.transaction_uuid, player_id=request.user,
            ref_tx_id=request.reference_transaction_uuid, round_id=request.round,
            close_round=bool(request.round_closed),
        )  # fmt: skip
        return _money_reply(await self._service.rollback(rollback))

    async def _known_token(self, token: str, user: str) -> None:
        """A token this instance issued to `user`, live or not (promo transactions)."""
        session = await self._service.session(self._provider, token, allow_expired=True)
        if session.player_id != user:
            raise SessionInvalid("token belongs to another user")


def _check_route(request: ProviderRequest, operation: str) -> None:
    if request.method.upper() != "POST":
        raise InvalidRequest("Hub88 calls are POST requests")
    if operation == "unknown":
        raise InvalidRequest(f"unknown Hub88 path {request.path[:64]!r}")


def _internal_error() -> _Reply:
    return _Reply(Status.UNKNOWN, INTERNAL_ERROR)


def _money_reply(outcome: TxOutcome) -> _Reply:
    return _Reply(Status.OK, "replay" if outcome.replay else "ok", outcome.balance)


def _worth_a_balance(error: GatewayError) -> bool:
    """Refusals where a balance lookup makes sense: not for malformed requests or a sick store."""
    return not isinstance(error, RequestRejected | RetryableError | PlayerNotFound)


def _unverified_request_uuid(request: ProviderRequest) -> str | None:
    """`request_uuid` of a refused body, read only to echo it (never trusted or acted on)."""
    if len(request.body) > ECHO_BODY_BYTES_MAX:
        return None
    try:
        return echo_fields(parse_body(request.body))[1]
    except InvalidRequest:
        return None
