"""Betby sportsbook wallet callbacks (`betby`): JWT-wrapped JSON, two-phase bets, resettlement.

Betby `POST`s `{"payload": "<JWT>"}` to `bet/make`, `bet/commit`, `bet/discard`,
`bet/win`, `bet/lost`, `bet/refund`, `bet/rollback` and `bet/settlement`; `GET ping`
answers `{"timestamp": <unix s>}` unsigned. The JWT is verified with the instance's
`provider_public_key` before its claims are read (see `betby_wire`); a missing, forged,
expired or replayed token is refused as `2004` and logged. Answers are plain JSON:
money callbacks `{"id", "ext_transaction_id", "parent_transaction_id", "user_id",
"operation", "amount", "currency", "balance"}` (integer subunits, balance = real + bonus,
negative while a reversed win is owed), `commit`/`discard`/`settlement` `{}`. Refusals are
HTTP 400 `{"code", "message"}` from `ERRORS`; a store failure is HTTP 500 code `5000`
(outcome unknown: Betby retries the same callback, and every callback is idempotent). A bug
is not answered here: Betby has no internal-error code and `5000` is our store's, so the
gateway logs it and answers its plain 500 (`_fallback`).

Lifecycle -> canonical commands, carried out by `betby_lifecycle` (one bet = one round,
named by the make's `transaction.id`):
- make: `Debit make:{transaction.id}`; its `session_id` must be an unexpired session of
  `player_id` at this instance (`1007` otherwise). Settlement callbacks need no session.
- discard: `Rollback discard:{transaction_id}` of `make:{transaction_id}`; before the make
  it leaves a tombstone, so the late make is refused `2004`. Answers `{}`.
- commit: accepted, nothing moves, `{}`.
- win / lost / refund: `Credit {kind}:{transaction.id}` settling `make:{bet_transaction_id}`;
  lost is a zero credit; refund is a `refund` credit of exactly the stake.
- rollback: `Rollback rollback:{transaction.id}` of the bet's live settlement (the one its
  `transaction.parent_transaction_id` names, else the latest), lost included, so the bet is
  open again for a resettlement. Reversing a spent win leaves a debt: later makes get `2001`.
- settlement: closes the round (`{}`); win/lost/refund/rollback afterwards get `2004`.
Keys are namespaced by kind as shown. `bet_transaction_id` is Betby's `transaction.id` of
the make, and every answer's `id` IS Betby's `transaction.id` (we never mint our own), so
both readings of `bet_transaction_id` found in integrations name the same bet.

Codes: 1005 player blocked (also closed accounts and responsible-gaming refusals), 1006
self-excluded (our choice), 1007 session expired or unknown, 2001 not enough money (or in
debt), 2002 invalid or mismatched currency, 2003 parent transaction (bet or settlement) not
found, 2004 bad request (bad token, discarded/rolled back, already settled, closed, id
reused with other data, unsupported bonus bet), 5000 retry. 2005 is not used: an unknown
bet is 2003, as the F5 vector wants.

Choices where the reference is unsure ([?] in protocols.md):
- Bonus bets (`bonus_type` on make: freebets, comboboost) are refused `2004`: their money
  flow (no debit, profit-only credit) is not implemented. Betby then discards the make.
- `exp`/`nbf` are enforced when present, `iat` must be within `max_token_age_s` (default
  300) and not in the future; option `require_iat` (default false) refuses tokens without
  it. A `jti` is remembered (`reject_reused_jti`, default true) for
  `2 x (max_token_age_s + clock_skew_s)`, twice the span over which a token's `iat`
  passes, so a retry must be re-signed: if Betby resends the identical token after a
  timeout it is refused and Betby must re-sign it. A token without `iat` is bounded by
  its `exp` alone; `require_iat` closes that gap.
- `transaction.operation`, `amount`, `currency` and `ext_player_id`, when present, must
  agree with the endpoint and the bet (the JWT does not cover the path).
- A refund amount other than the stake is refused; a lost callback pays 0 whatever it says.
- A rollback that finds no settlement to reverse is `2003` (no tombstone: we cannot know
  which kind of settlement it names); Betby retries it after the settlement arrives.
- `settlement` of a bet that is still open (money held) is accepted and logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.providers._fallback import unexpected
from adapters.providers._parsing import body_bytes_option, bool_option, int_option, required_secret
from adapters.providers._text import for_log
from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.betby_lifecycle import BetLifecycle, Reply, Scope
from adapters.providers.betby_wire import (
    CONTENT_TYPE,
    KEY_TYPES,
    check_token_times,
    load_public_key,
    parse_claims,
    request_object,
    token_from_body,
    token_id,
    verify_token,
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
    InvalidAmount,
    InvalidRequest,
    PlayerError,
    PlayerInDebt,
    PlayerNotFound,
    ReferenceNotFound,
    ReplayedRequest,
    RequestRejected,
    RetryableError,
    RoundClosed,
    SelfExcluded,
    SessionError,
    UnknownCurrency,
    WalletRefused,
    lookup_by_mro,
)

__all__ = [
    "DEFAULT_ALGORITHMS",
    "DEFAULT_BODY_BYTES_MAX",
    "DEFAULT_CLOCK_SKEW_S",
    "DEFAULT_GAME_ID",
    "DEFAULT_MAX_TOKEN_AGE_S",
    "ERRORS",
    "OPERATIONS",
    "RETRY_CODE",
    "BetbyAdapter",
    "BetbyOptions",
    "demo_secrets",
]

DEFAULT_ALGORITHMS = ("ES256", "RS256")
DEFAULT_MAX_TOKEN_AGE_S = 300
DEFAULT_CLOCK_SKEW_S = 30
DEFAULT_BODY_BYTES_MAX = 256 * 1024
"""A make with a 30-leg betslip is a few KiB; far larger is not Betby."""
DEFAULT_GAME_ID = "sportsbook"
RETRY_CODE = 5000
"""Our code for "outcome unknown, retry the same callback" (HTTP 500)."""

OPERATIONS = (
    "ping", "make", "commit", "discard", "win", "lost", "refund", "rollback", "settlement",
    "unknown",
)  # fmt: skip
"""Every `ProviderResponse.operation` label this adapter uses."""

_OPERATION_BY_PATH = {f"bet/{name}": name for name in OPERATIONS[1:-1]} | {"ping": "ping"}

ERRORS: dict[type[GatewayError], tuple[int, int, str]] = {
    GatewayError: (400, 2004, "Bad request"),
    RequestRejected: (400, 2004, "Bad request"),
    InvalidRequest: (400, 2004, "Bad request"),
    InvalidAmount: (400, 2004, "Bad request: invalid amount"),
    UnknownCurrency: (400, 2002, "Invalid currency"),
    BadSignature: (400, 2004, "Bad request: invalid token"),
    ReplayedRequest: (400, 2004, "Bad request: token expired or already used"),
    SessionError: (400, 1007, "Session expired"),
    PlayerError: (400, 1005, "Player is blocked"),
    PlayerNotFound: (400, 2004, "Bad request: unknown player"),
    SelfExcluded: (400, 1006, "Player is self-excluded"),
    ComplianceRefused: (400, 1005, "Player is blocked from this bet"),
    WalletRefused: (400, 2004, "Bad request"),
    InsufficientFunds: (400, 2001, "Not enough money"),
    PlayerInDebt: (400, 2001, "Not enough money"),
    CurrencyMismatch: (400, 2002, "Invalid currency"),
    RoundClosed: (400, 2004, "Bet is already closed"),
    ReferenceNotFound: (400, 2003, "Parent transaction not found"),
    AlreadyRolledBack: (400, 2004, "Transaction was discarded or rolled back"),
    AlreadySettled: (400, 2004, "Bet is already settled"),
    ConflictingReplay: (400, 2004, "Transaction id already used with other data"),
    RetryableError: (500, RETRY_CODE, "Temporary wallet failure, retry"),
}
"""Every canonical refusal as (HTTP status, Betby code, message): the one mapping table.

`InvalidRequest` and its subclasses append their detail to the message."""

_log = structlog.get_logger("gamegate.provider.betby")


def demo_secrets() -> dict[str, bytes]:
    """A fresh EC P-256 pair: Betby signs with the private half, we verify with the public."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {"provider_private_key": private, "provider_public_key": public}


@dataclass(frozen=True, slots=True)
class BetbyOptions:
    key_type: str = "ES256"
    algorithms: tuple[str, ...] = ("ES256",)
    """The algorithms accepted: the configured ones that fit `key_type`."""
    max_token_age_s: int = DEFAULT_MAX_TOKEN_AGE_S
    clock_skew_s: int = DEFAULT_CLOCK_SKEW_S
    require_iat: bool = False
    reject_reused_jti: bool = True
    body_bytes_max: int = DEFAULT_BODY_BYTES_MAX
    game_id: str = DEFAULT_GAME_ID

    @property
    def jti_window_s(self) -> int:
        """How long a `jti` is remembered: a token whose `iat` is at the future edge
        (now + skew) passes for `max_token_age_s + clock_skew_s`; twice that, for margin."""
        return 2 * (self.max_token_age_s + self.clock_skew_s)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> BetbyOptions:
        key_type = options.get("key_type", "ES256")
        if key_type not in KEY_TYPES:
            raise ValueError(f"betby option key_type must be one of {KEY_TYPES}")
        configured = options.get("algorithms", DEFAULT_ALGORITHMS)
        if isinstance(configured, str) or not all(name in KEY_TYPES for name in configured):
            raise ValueError(
                f"betby option algorithms must list names from {KEY_TYPES} "
                "(never none or HS*: an HMAC key would be the public key)"
            )
        algorithms = tuple(name for name in configured if name == key_type)
        if not algorithms:
            raise ValueError(f"betby option algorithms does not allow key_type {key_type}")
        game_id = options.get("game_id", DEFAULT_GAME_ID)
        if not isinstance(game_id, str) or not 1 <= len(game_id) <= 128:
            raise ValueError("betby option game_id must be a non-empty string")
        return cls(
            key_type=key_type,
            algorithms=algorithms,
            max_token_age_s=int_option(
                options,
                "betby",
                "max_token_age_s",
                DEFAULT_MAX_TOKEN_AGE_S,
                minimum=1,
                maximum=86_400,
            ),
            clock_skew_s=int_option(
                options, "betby", "clock_skew_s", DEFAULT_CLOCK_SKEW_S, minimum=0, maximum=600
            ),
            require_iat=bool_option(options, "betby", "require_iat", False),
            reject_reused_jti=bool_option(options, "betby", "reject_reused_jti", True),
            body_bytes_max=body_bytes_option(options, "betby", DEFAULT_BODY_BYTES_MAX),
            game_id=game_id,
        )


_Handler = Callable[[dict[str, Any], Scope], Awaitable[Reply]]


class BetbyAdapter:
    """Verify the JWT, parse exactly, execute, answer in Betby's plain JSON."""

    protocol: ClassVar[str] = "betby"

    def __init__(self, context: AdapterContext) -> None:
        pem = required_secret(context, "provider_public_key")
        self._options = BetbyOptions.from_mapping(context.options)
        self._key = load_public_key(pem, self._options.key_type)
        self._context = context
        self._provider = context.instance
        self._nonces = (
            context.nonce_cache(window_s=self._options.jti_window_s)
            if self._options.reject_reused_jti
            else None
        )
        bets = BetLifecycle(context, self._options.game_id)
        self._handlers: dict[str, _Handler] = {
            "bet/make": bets.make,
            "bet/commit": bets.commit,
            "bet/discard": bets.discard,
            "bet/win": bets.win,
            "bet/lost": bets.lost,
            "bet/refund": bets.refund,
            "bet/rollback": bets.rollback,
            "bet/settlement": bets.settlement,
        }

    async def handle(self, request: ProviderRequest) -> ProviderResponse:
        path = request.path.strip("/")
        scope = Scope(_OPERATION_BY_PATH.get(path, "unknown"))
        try:
            reply = await self._dispatch(request, path, scope)
        except GatewayError as error:
            reply = self._refusal(error, scope)
        except Exception as error:  # noqa: BLE001 -- a bug: no answer of ours, the gateway's 500
            unexpected(error, None, instance=self._provider, operation=scope.operation)
        return ProviderResponse(
            status=reply.status,
            body=orjson.dumps(reply.body),
            content_type=CONTENT_TYPE,
            operation=scope.operation,
            outcome=reply.outcome,
            player_id=scope.player_id,
        )

    async def _dispatch(self, request: ProviderRequest, path: str, scope: Scope) -> Reply:
        if len(request.body) > self._options.body_bytes_max:
            raise InvalidRequest(f"body is larger than {self._options.body_bytes_max} bytes")
        if path == "ping":
            if request.method.upper() != "GET":
                raise InvalidRequest("ping is a GET request")
            return Reply({"timestamp": int(self._context.clock_s())})
        handler = self._handlers.get(path)
        if handler is None:
            return Reply({"code": 2004, "message": "Unknown endpoint"}, "invalid_request", 404)
        if request.method.upper() != "POST":
            raise InvalidRequest("Betby callbacks are POST requests")
        return await handler(await self._verified_request(request), scope)

    async def _verified_request(self, request: ProviderRequest) -> dict[str, Any]:
        """The claims' request object, once the token is authentic, fresh and new."""
        options = self._options
        try:
            claims = parse_claims(
                verify_token(token_from_body(request.body), self._key, options.algorithms)
            )
            now_s = self._context.clock_s()
            check_token_times(
                claims,
                now_s=now_s,
                max_token_age_s=options.max_token_age_s,
                clock_skew_s=options.clock_skew_s,
                require_iat=options.require_iat,
            )
            jti = token_id(claims)
            if (
                jti is not None
                and self._nonces is not None
                and await self._nonces.seen(f"{self._provider}:jti:{jti}", now_s)
            ):
                raise ReplayedRequest("token id (jti) already used")
        except (BadSignature, ReplayedRequest) as error:
            _log.warning(
                "betby_token_refused",
                instance=self._provider,
                reason=error.message,
                path=for_log(request.path),
            )
            raise
        return request_object(claims)

    def _refusal(self, error: GatewayError, scope: Scope) -> Reply:
        status, code, message = lookup_by_mro(error, ERRORS)
        if isinstance(error, InvalidRequest):
            message = f"{message}: {error.message}"
        if error.retryable:
            _log.warning(
                "betby_retryable_failure",
                instance=self._provider,
                op=scope.operation,
                reason=error.reason.value,
            )
        return Reply({"code": code, "message": message}, error.reason.value, status)
