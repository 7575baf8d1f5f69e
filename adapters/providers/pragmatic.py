"""Pragmatic Play seamless wallet (`pragmatic`): form POST, sorted-parameter MD5, JSON answers.

PP calls `<mount>/<method>.html` (`.html` optional) with a form body; every answer is
HTTP 200 JSON with a numeric `error` (`pragmatic_wire.ErrorCode`, one mapping table
`ERROR_CODES`); refusals carry `currency`/`cash`/`bonus` when the balance is known. The
`hash` is checked over the decoded form values as received, before any field is read.
This module checks it, dispatches and maps refusals; `pragmatic_callbacks` carries out
the calls by the rules below.

Idempotency keys (`reference` is PP's id of every money call; namespaced by kind so a
reference reused across kinds can never collide with a bet or its tombstone):
    bet         `<reference>`             (a refund names the bet by this raw reference)
    refund      `refund:<reference>`      reverses the bet `<reference>`
    result      `result:<reference>`      (+ `resultPromo:<promoWinReference>`, see below)
    bonusWin    `bonusWin:<reference>`
    jackpotWin  `jackpotWin:<reference>`
    promoWin    `promoWin:<reference>`
The same key with another amount (or round, game, player) is a conflicting replay:
nothing moves and PP gets `7` ([?] in the reference; a silent replay would hide it).

Rules, and the choices made where the reference is unsure ([?] in protocols.md):
- A refund of a bet we never saw answers `0` with an empty `transactionId` and leaves a
  tombstone: the late bet gets `120`. A refund after the round's result gets `120`.
- `result` settles its round (PP does not name the bet). For a round with no bet it
  answers `100` and stores nothing, so PP's retry succeeds once the bet has arrived;
  for a round whose bets were all refunded (or tombstoned by a refund carrying that
  `roundId`) it answers `120`. With `bonusCode` it is a free-round spin win (kind
  `bonus_win`), accepted without a bet (`requires_bet=False`) when the round has none.
  This check reads the round before the credit: a result racing its own refund can
  still pay (PP does not send them concurrently).
- Option `result_closes_round` (default true): PP sends one result per round, so it
  closes the round and a later bet in it gets `3`; `endRound` closes it too. A
  `jackpotWin` is paid in the round it names (refused `120` if that round's bets were
  all refunded) and closes it the same way; without a `roundId` it gets its own.
- Free rounds, option `bonus_win_mode`: `"informational"` (default) answers `bonusWin`
  with success and moves no money, because the spins were already paid one by one via
  `result`; it is recorded as a zero credit for audit and a stable `transactionId`.
  `"credit"` pays it, for PP accounts configured to send free-round wins only there.
- Option `result_promo_win_amount`: `"ignore"` (default) or `"credit"`. A prize may come
  both as `result.promoWinAmount` and as a `promoWin` call; crediting both pays twice.
  Ignoring it is the safe default (a missed prize shows in reconciliation; a double
  payment is lost money). `"credit"` is for accounts that never send `promoWin`.
- `promoWin`, `jackpotWin`, `result`, `refund` and `endRound` need no token (PP sends
  them up to ~24 h late); `bet` and `authenticate` need a live session token;
  `balance` checks a token only if one is sent (expired ones pass).
- Replay: the hash carries no nonce and PP retries a failed call with the same request
  for up to ~24 h, so nonces are not remembered (idempotency makes money replays
  harmless). A `timestamp` (ms) outside option `timestamp_window_s` (default 48 h,
  0 = off) is refused with `5`; requests without one are not time-checked.
- Option `provider_id`: when set, `providerId` must equal it (`7` otherwise). Option
  `body_bytes_max` (default 16 KiB). A parameter sent twice is `7`.
- A bug (an exception that is no refusal) answers `120`, PP's internal error without a
  retry: the retryable `100` says a store could not confirm, and a retry would only meet
  the same bug. PP refunds a bet after it; a result needs reconciliation.
- Not answered (`7`): `adjustment.html` (live-casino resettlement), `getBalancePerGame`,
  `sessionExpired`, `roundDetails`, `withdraw`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import ClassVar

import structlog

from adapters.providers._fallback import INTERNAL_ERROR, unexpected
from adapters.providers._parsing import required_secret
from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.pragmatic_callbacks import Callbacks, Reply
from adapters.providers.pragmatic_wire import (
    DESCRIPTIONS,
    ErrorCode,
    Form,
    JsonValue,
    Options,
    balance_fields,
    error_code,
    hash_ok,
    method_for_path,
    parse_form,
    render,
)
from core.errors import (
    BadSignature,
    GatewayError,
    InvalidRequest,
    PlayerNotFound,
    ReplayedRequest,
    RetryableError,
)
from core.model import Balance

__all__ = ["PragmaticAdapter", "demo_secrets"]

_log = structlog.get_logger("gamegate.provider.pragmatic")


def demo_secrets() -> dict[str, bytes]:
    """A fresh shared secret key; PP holds the same value."""
    key = secrets.token_hex(16).encode()
    return {"secret_key": key, "provider_secret_key": key}


_Handler = Callable[[Form], Awaitable[Reply]]


class PragmaticAdapter:
    """Check the hash over the received values, execute, answer in PP's JSON."""

    protocol: ClassVar[str] = "pragmatic"

    def __init__(self, context: AdapterContext) -> None:
        self._context = context
        self._service = context.service
        self._provider = context.instance
        self._secret = required_secret(context, "secret_key")
        self._options = Options.parse(context.options)
        calls = Callbacks(context, self._options)
        self._handlers: dict[str, _Handler] = {
            "authenticate": calls.authenticate,
            "balance": calls.balance,
            "bet": calls.bet,
            "result": calls.result,
            "bonusWin": calls.bonus_win,
            "jackpotWin": calls.jackpot_win,
            "promoWin": calls.promo_win,
            "refund": calls.refund,
            "endRound": calls.end_round,
        }

    async def handle(self, request: ProviderRequest) -> ProviderResponse:
        method = method_for_path(request.path)
        operation = method or "unknown"
        player_id: str | None = None
        try:
            form = self._authentic_form(request, operation)
            player_id = form.optional("userId")
            if method is None:
                raise InvalidRequest(f"unsupported method {request.path[:64]!r}")
            reply = await self._handlers[method](form)
        except GatewayError as error:
            reply = await self._error_reply(error, operation, player_id)
        except Exception as error:  # noqa: BLE001 -- a bug: PP's internal error (`_fallback`)
            reply = unexpected(error, _internal_error, instance=self._provider, operation=operation)
        return ProviderResponse(
            status=200,
            body=render(reply.fields),
            operation=operation,
            outcome=reply.outcome,
            player_id=reply.player_id,
        )

    def _authentic_form(self, request: ProviderRequest, operation: str) -> Form:
        """The form, once its hash, timestamp and provider id are right; refusals logged."""
        if len(request.body) > self._options.body_bytes_max:
            raise InvalidRequest(f"body is larger than {self._options.body_bytes_max} bytes")
        if request.method.upper() != "POST":
            raise InvalidRequest("PP callbacks are POST requests")
        params = parse_form(request.body)
        try:
            if not hash_ok(params, self._secret):
                raise BadSignature("missing or wrong hash")
            form = Form(params)
            self._check_timestamp(form)
        except (BadSignature, ReplayedRequest) as refused:
            _log.warning(
                "pragmatic_request_refused",
                instance=self._provider,
                operation=operation,
                reason=refused.reason.value,
                detail=refused.message,
                remote=request.remote,
            )
            raise
        provider_id = self._options.provider_id
        if provider_id is not None and form.optional("providerId") != provider_id:
            raise InvalidRequest("providerId does not name this instance's provider")
        return form

    def _check_timestamp(self, form: Form) -> None:
        window_s = self._options.timestamp_window_s
        timestamp_ms = form.optional_int("timestamp")
        if timestamp_ms is None or window_s == 0:
            return
        skew_s = abs(self._context.clock_s() - timestamp_ms / 1000)
        if skew_s > window_s:
            raise ReplayedRequest(f"timestamp is {skew_s:.0f} s away from our clock")

    async def _error_reply(
        self, error: GatewayError, operation: str, player_id: str | None
    ) -> Reply:
        code = error_code(error, operation)
        fields: dict[str, JsonValue] = {}
        balance = await self._refusal_balance(error, player_id)
        if balance is not None:
            currency = self._context.currencies.get(balance.currency)
            fields |= balance_fields(balance, currency)
        fields |= {"error": int(code), "description": DESCRIPTIONS[code]}
        return Reply(fields, error.reason.value, player_id)

    async def _refusal_balance(self, error: GatewayError, player_id: str | None) -> Balance | None:
        """The balance to echo with a refusal: the store's, else a best-effort read."""
        if isinstance(error.balance, Balance):
            return error.balance
        if player_id is None or isinstance(error, PlayerNotFound | RetryableError):
            return None
        try:
            return await self._service.balance(player_id)
        except GatewayError:
            return None


def _internal_error() -> Reply:
    """`120`, PP's internal error without a retry: a bug is not the store's `100`."""
    code = ErrorCode.INTERNAL_NO_RETRY
    return Reply({"error": int(code), "description": DESCRIPTIONS[code]}, INTERNAL_ERROR, None)
