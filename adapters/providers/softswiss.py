"""SoftSwiss / BGaming casino wallet protocol: the game provider calls the casino.

JSON `POST` to `play`, `rollback` and `freespins`. Header `X-REQUEST-SIGN` is the lowercase
hex HMAC-SHA256 of the raw body with the instance's `auth_token`; it is checked in
constant time before anything is parsed, and a missing or wrong one is a 403
`{"code":403,"message":"Forbidden","balance":null}`. The protocol carries no timestamp or
nonce, so there is no replay window to enforce: a captured money request replays into
its stored outcome (idempotency), a captured balance request only reveals a balance.
This module checks the signature, dispatches and maps refusals; `softswiss_actions`
carries out the calls by the rules below.

`/play` carries `user_id`, `session_id`, `currency`, `game`, `game_id` (the ROUND),
`finished` and `actions` (`bet`/`win`, integer subunits of the currency's exponent). All
actions of one request are ONE atomic batch: if the bet is refused, its win is not
applied. No actions is a balance request; `finished: true` (with or without actions)
closes the round, so a later bet in it is refused. A win carries no bet reference: it
settles the round's open bets, and a win in a round without any bet is refused (404),
except in a free-spin request (see `free_round_fields`). `/rollback` reverses the bet or
win named by `original_action_id`; an unknown original answers success and leaves a
tombstone. `/freespins` (a free-spin issue finished) is acknowledged; it moves no money.

Idempotency: `tx_id` is the provider's `action_id`, for bets, wins and rollbacks alike,
without a namespace. SoftSwiss action ids are unique across action kinds, and a rollback
names its original only by `original_action_id`, which must find the bet or the win (or
leave its tombstone) under that same key. A repeated action answers its original
`tx_id`; an id reused with a different amount, round or kind is code 155 ("forbidden to
change already-set field") and applies nothing.

Sessions: the `session_id` must be one of ours for this instance and belong to
`user_id`, and `currency` must be the session's. Bets need an unexpired session (101);
wins, rollbacks, round closes and balance requests are accepted after expiry.

Choices where the reference is unsure ([?] in protocols.md); options are per instance:
- `business_error_http_status` (default 412; the emulator uses 400): the HTTP status of
  the protocol's business codes (100-155). Codes that are HTTP statuses themselves (400,
  403, 404, 500, 503) are sent with that status.
- Rollback of an unknown original: success plus tombstone (the safe reading). The late
  original action is then refused with code 400 "action was rolled back"; a second
  rollback of an already reversed action under a NEW rollback `action_id` is refused the
  same way (a retry with the same rollback `action_id` replays its success).
- `free_round_fields` (default `["issue_id"]`): top-level fields whose presence marks a
  free-spin `/play`; its wins are promo credits that need no bet (the wallet pays a
  stake-less promo to the bonus balance). No source documents the marker; set `[]` to
  refuse every win without a bet.
- `jackpot_contribution` / `jackpot_win` on actions are informational: `amount` is what
  moves.
`processed_at` is the time of the answer (a replay answers its original `tx_id` with the
time of the replay). Storage failures answer 503 (retryable, outcome unknown: the provider
retries or rolls back by action id, and both are safe). A bug answers 500 "Unknown error",
the protocol's own internal error, not the store's 503. A signature that is not printable
ASCII counts as missing (403).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
import structlog

from adapters.providers._fallback import INTERNAL_ERROR, unexpected
from adapters.providers._parsing import body_bytes_option, int_option, required_secret
from adapters.providers._text import for_log
from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.softswiss_actions import Calls, Reply, Scope
from adapters.providers.softswiss_wire import SIGNATURE_HEADER, signature_ok
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
    ReplayedRequest,
    RequestRejected,
    RetryableError,
    RoundClosed,
    SessionError,
    StakeAboveLimit,
    StorageUnavailable,
    UnknownCurrency,
    WalletRefused,
    lookup_by_mro,
)
from core.model import Balance

__all__ = [
    "DEFAULT_ACTIONS_MAX",
    "DEFAULT_BODY_BYTES_MAX",
    "DEFAULT_BUSINESS_ERROR_HTTP_STATUS",
    "ERRORS",
    "OPERATIONS",
    "SoftswissAdapter",
    "demo_secrets",
]

DEFAULT_BUSINESS_ERROR_HTTP_STATUS = 412
DEFAULT_BODY_BYTES_MAX = 64 * 1024
"""A /play with a bet and a win is about 300 bytes."""
DEFAULT_ACTIONS_MAX = 32
DEFAULT_FREE_ROUND_FIELDS = ("issue_id",)

OPERATIONS = (
    "balance", "bet", "win", "bet_win", "close_round", "rollback", "freespins", "play", "unknown",
)  # fmt: skip
"""Every `ProviderResponse.operation` label this adapter uses."""

_ROUTES = {"play": "play", "rollback": "rollback", "freespins": "freespins"}
_HTTP_CODES = frozenset({400, 403, 404, 500, 503})
"""Wire codes that are HTTP statuses: sent with that status, whatever the option says."""

ERRORS: dict[type[GatewayError], tuple[int, str]] = {
    GatewayError: (500, "Unknown error"),
    RequestRejected: (400, "Bad request"),
    InvalidRequest: (400, "Bad request"),
    InvalidAmount: (400, "Bad request: invalid amount"),
    UnknownCurrency: (154, "Currency is not allowed"),
    BadSignature: (403, "Forbidden"),
    ReplayedRequest: (403, "Forbidden"),
    SessionError: (101, "Player is invalid"),
    PlayerNotFound: (101, "Player is invalid"),
    PlayerError: (110, "Player is disabled"),
    ComplianceRefused: (107, "Game is forbidden to the player"),
    GameNotAllowed: (153, "Game is not available in the player's country"),
    StakeAboveLimit: (106, "Maximum bet exceeded"),
    LimitReached: (105, "Player reached a customized bet limit"),
    WalletRefused: (400, "Bad request"),
    InsufficientFunds: (100, "Player has not enough funds"),
    PlayerInDebt: (100, "Player has not enough funds"),
    CurrencyMismatch: (154, "Currency is not allowed"),
    RoundClosed: (400, "Game round is already finished"),
    ReferenceNotFound: (404, "Not found"),
    AlreadyRolledBack: (400, "Action was rolled back"),
    AlreadySettled: (400, "Action is already settled"),
    ConflictingReplay: (155, "Forbidden to change already set field"),
    RetryableError: (503, "Service unavailable"),
    StorageUnavailable: (503, "Service unavailable"),
}
"""Every canonical refusal as (wire code, message): the one mapping table."""

_log = structlog.get_logger("gamegate.provider.softswiss")


def demo_secrets() -> dict[str, bytes]:
    """A fresh shared auth token; the provider signs with the same value."""
    token = secrets.token_hex(32).encode()
    return {"auth_token": token, "provider_auth_token": token}


@dataclass(frozen=True, slots=True)
class SoftswissOptions:
    business_error_http_status: int = DEFAULT_BUSINESS_ERROR_HTTP_STATUS
    body_bytes_max: int = DEFAULT_BODY_BYTES_MAX
    actions_max: int = DEFAULT_ACTIONS_MAX
    free_round_fields: tuple[str, ...] = DEFAULT_FREE_ROUND_FIELDS

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> SoftswissOptions:
        fields = options.get("free_round_fields", DEFAULT_FREE_ROUND_FIELDS)
        if isinstance(fields, str) or not all(isinstance(name, str) for name in fields):
            raise ValueError("softswiss option free_round_fields must be a list of field names")
        return cls(
            business_error_http_status=int_option(
                options,
                "softswiss",
                "business_error_http_status",
                DEFAULT_BUSINESS_ERROR_HTTP_STATUS,
                minimum=400,
                maximum=499,
            ),
            body_bytes_max=body_bytes_option(options, "softswiss", DEFAULT_BODY_BYTES_MAX),
            actions_max=int_option(
                options, "softswiss", "actions_max", DEFAULT_ACTIONS_MAX, minimum=1, maximum=1000
            ),
            free_round_fields=tuple(fields),
        )


_Handler = Callable[[bytes, Scope], Awaitable[Reply]]


class SoftswissAdapter:
    """Verify the body's HMAC, parse exactly, execute atomically, answer in SoftSwiss form."""

    protocol: ClassVar[str] = "softswiss"

    def __init__(self, context: AdapterContext) -> None:
        self._service = context.service
        self._provider = context.instance
        self._key = required_secret(context, "auth_token")
        self._options = SoftswissOptions.from_mapping(context.options)
        calls = Calls(
            context,
            actions_max=self._options.actions_max,
            free_round_fields=self._options.free_round_fields,
        )
        self._handlers: dict[str, _Handler] = {
            "play": calls.play,
            "rollback": calls.rollback,
            "freespins": calls.freespins,
        }

    async def handle(self, request: ProviderRequest) -> ProviderResponse:
        route = _ROUTES.get(request.path.strip("/"))
        scope = Scope(route or "unknown")
        if len(request.body) > self._options.body_bytes_max:
            return await self._refusal(InvalidRequest("body is too large"), scope)
        received = request.headers.get(SIGNATURE_HEADER)
        if not signature_ok(self._key, request.body, received):
            reason = "mismatch" if received else "missing"
            _log.warning(
                "softswiss_signature_refused",
                instance=self._provider,
                reason=reason,
                path=for_log(request.path),
            )
            return await self._refusal(BadSignature(f"signature {reason}"), scope)
        if route is None or request.method.upper() != "POST":
            return self._reply(404, {"code": 404, "message": "Not found", "balance": None}, scope)
        try:
            reply = await self._handlers[route](request.body, scope)
            return self._reply(200, reply.body, scope, outcome=reply.outcome)
        except GatewayError as error:
            return await self._refusal(error, scope)
        except Exception as error:  # noqa: BLE001 -- a bug: the protocol's 500 (`_fallback`)
            return unexpected(
                error,
                lambda: self._internal_error(scope),
                instance=self._provider,
                operation=scope.operation,
            )

    # -- rendering -------------------------------------------------------------

    async def _refusal(self, error: GatewayError, scope: Scope) -> ProviderResponse:
        code, message = lookup_by_mro(error, ERRORS)
        status = code if code in _HTTP_CODES else self._options.business_error_http_status
        if error.retryable:
            _log.warning(
                "softswiss_retryable_failure",
                instance=self._provider,
                operation=scope.operation,
                reason=error.reason.value,
            )
        body = {"code": code, "message": message, "balance": await self._balance_for(error, scope)}
        return self._reply(status, body, scope, outcome=error.reason.value)

    def _internal_error(self, scope: Scope) -> ProviderResponse:
        code, message = ERRORS[GatewayError]
        body = {"code": code, "message": message, "balance": None}
        return self._reply(code, body, scope, outcome=INTERNAL_ERROR)

    async def _balance_for(self, error: GatewayError, scope: Scope) -> int | None:
        """The balance a refusal carries: the store's, else a best-effort read, else null."""
        if isinstance(error, CurrencyMismatch | RequestRejected) or error.retryable:
            return None
        if isinstance(error.balance, Balance):
            return error.balance.total_minor
        if scope.player_id is None or scope.currency is None:
            return None
        try:
            return (await self._service.balance(scope.player_id, scope.currency)).total_minor
        except GatewayError:
            return None

    def _reply(
        self, status: int, body: dict[str, Any], scope: Scope, *, outcome: str = "invalid_request"
    ) -> ProviderResponse:
        return ProviderResponse(
            status=status,
            body=orjson.dumps(body),
            operation=scope.operation,
            outcome=outcome,
            player_id=scope.player_id,
        )
