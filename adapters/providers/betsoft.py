"""Betsoft (BSG) "common wallet": GET with query parameters, MD5 hash, XML answers.

Betsoft calls `<mount>/<operation>?...` with `authenticate`, `getBalance`, `betResult`
and `refundBet`. Every answer is HTTP 200 `application/xml`:
`<EXTSYSTEM><REQUEST>echo</REQUEST><TIME/><RESPONSE><RESULT>OK</RESULT>...</RESPONSE>
</EXTSYSTEM>`, or `<RESULT>ERROR</RESULT><CODE>n</CODE>` from the one table `ERRORS`
(300 insufficient funds, 301 operation failed, 310 unknown user id, 399 internal error,
400 invalid token, 500 invalid hash). Errors carry no balance: the reference's error
shape has none. Only an unknown operation (404) and a method other than GET (405)
leave HTTP 200, with the same XML error body (301).

The `hash` (`betsoft_wire.SIGNED_FIELDS`) is checked over the decoded values as
received, in constant time and before any field is read; a missing or wrong one is
`500` and logged. Betsoft signs no timestamp or nonce, so there is no replay window: a
captured money call replays into its stored outcome (idempotency), a captured
`getBalance` only reveals a balance.

Operations:
- `authenticate(token)`: `token` is our game-session token; unknown or expired is 400.
  Answers USERID, USERNAME (both our player id), CURRENCY and BALANCE (minor units).
- `getBalance(userId)`: BALANCE; no session needed; unknown user is 310.
- `betResult`: `bet` and `win` are `"<amount>|<casinoTransactionId>"` in minor units of
  the player's currency. Bet and win together are ONE atomic batch (a refused bet
  leaves its win unapplied); bet alone is a debit; win alone is a round-level credit
  that settles the round's bets. `isRoundFinished=true` closes the round (also with no
  bet and no win); a later bet in it is 301. The answer's EXTSYSTEMTRANSACTIONID is the
  bet's wallet transaction id when the call has a bet, else the win's; a call that
  moves no money answers `0`.
- `refundBet(userId, casinoTransactionId)` reverses the bet with that id. Hash recipe
  (not in the reference, ours): MD5(userId + casinoTransactionId + passkey).

Idempotency keys, namespaced by kind because a bet, its win and its refund may carry
the same `casinoTransactionId` ([?] in the reference; namespacing is safe either way):
`bet:<id>`, `win:<id>`, `refund:<id>` (which reverses `bet:<id>`). A repeat answers OK
with the same EXTSYSTEMTRANSACTIONID and the current balance; the same id with another
amount, round, game or finish flag is 301 and applies nothing.

Choices where the reference is unsure ([?] in protocols.md):
- Unknown refund: answered OK (nothing moves) and a tombstone is stored under
  `bet:<id>`, so the late bet is refused with 301 (final, not the retryable 399: the
  bet must never happen after Betsoft refunded it). A refund of a bet that we refused
  is OK too. A refund of a bet whose round a win already settled is 301.
- Sessions: option `game_session_token` (default true) reads `gameSessionId` as our
  session token: a call with a bet must carry it, for this player and unexpired (400
  otherwise). Wins and refunds need no session (Betsoft pays late). Set it to false
  where `gameSessionId` is Betsoft's own id: bets then pass the player checks only.
- Win without a bet in its round: 301, unless option `win_without_bet` (default false):
  then a win-only call in a round without live bets (none yet, or all refunded) is
  paid as a credit that needs no bet (to the real balance); a win in a round with bets
  still settles them. The round is read before the credit; Betsoft sends a round's
  calls one after another, so the read does not race its own bet.
- A round finished without a win is closed but not settled: Betsoft refunds a bet when
  its own call failed, even after a finishing call, and that refund must reverse it.
- Storage unavailable is 399: the outcome is unknown; Betsoft retries the same call or
  refunds the bet, and both are safe by the keys above. A bug gets 399 too, Betsoft's
  only internal-error code, but is logged and counted as `internal_error`.
- A query string that is not printable ASCII is 301; a `hash` that is not is 500.
Option `query_bytes_max` (default 4096) bounds the query string.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import structlog

from adapters.providers._fallback import INTERNAL_ERROR, unexpected
from adapters.providers._parsing import bool_option, int_option, required_secret
from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.betsoft_wire import (
    CONTENT_TYPE,
    BetResultCall,
    format_time,
    hash_ok,
    parse_bet_result,
    parse_query,
    render,
    required_text,
)
from core.errors import (
    BadSignature,
    GatewayError,
    InsufficientFunds,
    InvalidRequest,
    PlayerInDebt,
    PlayerNotFound,
    RetryableError,
    SessionError,
    SessionInvalid,
    StorageUnavailable,
    lookup_by_mro,
)
from core.model import CloseRound, Credit, CreditKind, Debit, Rollback, TxOutcome

__all__ = [
    "DEFAULT_QUERY_BYTES_MAX",
    "ERRORS",
    "OPERATIONS",
    "BetsoftAdapter",
    "BetsoftOptions",
    "demo_secrets",
]

"""Limit on the round read of `win_without_bet` (the service times its own calls)."""
DEFAULT_QUERY_BYTES_MAX = 4096
"""A betResult is about 250 bytes; anything far larger is not Betsoft."""

OPERATIONS = (
    "authenticate", "balance", "bet_result", "bet", "win", "bet_win", "close_round", "refund",
    "unknown",
)  # fmt: skip
"""Every `ProviderResponse.operation` label (`bet_result` until the call is parsed)."""

_LABELS = {
    "authenticate": "authenticate",
    "getBalance": "balance",
    "betResult": "bet_result",
    "refundBet": "refund",
}

ERRORS: dict[type[GatewayError], int] = {
    GatewayError: 301,
    BadSignature: 500,
    SessionError: 400,
    PlayerNotFound: 310,
    InsufficientFunds: 300,
    PlayerInDebt: 300,
    RetryableError: 399,
    StorageUnavailable: 399,
}
"""Every canonical refusal as a Betsoft CODE; anything not named here is 301 (final)."""

_INTERNAL_ERROR_FIELDS = [("RESULT", "ERROR"), ("CODE", "399")]
"""Betsoft's "internal error", the answer to a bug (the reference has no other)."""

_log = structlog.get_logger("gamegate.provider.betsoft")


def demo_secrets() -> dict[str, bytes]:
    """A fresh passkey; Betsoft holds the same value."""
    passkey = secrets.token_hex(16).encode()
    return {"passkey": passkey, "provider_passkey": passkey}


@dataclass(frozen=True, slots=True)
class BetsoftOptions:
    game_session_token: bool = True
    win_without_bet: bool = False
    query_bytes_max: int = DEFAULT_QUERY_BYTES_MAX

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> BetsoftOptions:
        return cls(
            game_session_token=bool_option(options, "betsoft", "game_session_token", True),
            win_without_bet=bool_option(options, "betsoft", "win_without_bet", False),
            query_bytes_max=int_option(
                options,
                "betsoft",
                "query_bytes_max",
                DEFAULT_QUERY_BYTES_MAX,
                minimum=256,
                maximum=65_536,
            ),
        )


@dataclass(slots=True)
class _Scope:
    """What one request has shown so far: labels, and the parameters to echo."""

    operation: str
    wire: str | None
    params: Mapping[str, str] = field(default_factory=dict)
    player_id: str | None = None


_Handler = Callable[[Mapping[str, str], _Scope], Awaitable[ProviderResponse]]


class BetsoftAdapter:
    """Verify the MD5 over the decoded query, execute atomically, answer in Betsoft XML."""

    protocol: ClassVar[str] = "betsoft"

    def __init__(self, context: AdapterContext) -> None:
        passkey = required_secret(context, "passkey")
        self._context = context
        self._service = context.service
        self._provider = context.instance
        self._passkey = passkey
        self._options = BetsoftOptions.from_mapping(context.options)
        self._handlers: dict[str, _Handler] = {
            "authenticate": self._authenticate,
            "getBalance": self._get_balance,
            "betResult": self._bet_result,
            "refundBet": self._refund_bet,
        }
        assert set(self._handlers) == set(_LABELS)

    async def handle(self, request: ProviderRequest) -> ProviderResponse:
        wire = request.path.strip("/")
        scope = _Scope(_LABELS.get(wire, "unknown"), wire if wire in _LABELS else None)
        if scope.wire is None:
            return self._refusal(InvalidRequest("unknown operation"), scope, status=404)
        if request.method.upper() != "GET":
            return self._refusal(InvalidRequest("Betsoft calls are GET"), scope, status=405)
        try:
            return await self._handle(request, scope, scope.wire)
        except GatewayError as error:
            return self._refusal(error, scope)
        except Exception as error:  # noqa: BLE001 -- a bug: Betsoft's 399 (`_fallback`)
            return unexpected(
                error,
                lambda: self._reply(scope, _INTERNAL_ERROR_FIELDS, outcome=INTERNAL_ERROR),
                instance=self._provider,
                operation=scope.operation,
            )

    async def _handle(self, request: ProviderRequest, scope: _Scope, wire: str) -> ProviderResponse:
        """The hash over the received values first; fields are read only after it."""
        if len(request.query_string) > self._options.query_bytes_max:
            raise InvalidRequest("query string is too long")
        params = parse_query(request.query_string)
        scope.params = params
        if not hash_ok(wire, params, self._passkey):
            reason = "mismatch" if params.get("hash") else "missing"
            _log.warning(
                "betsoft_hash_refused", instance=self._provider, operation=wire, reason=reason
            )
            raise BadSignature(f"hash {reason}")
        return await self._handlers[wire](params, scope)

    # -- operations ------------------------------------------------------------

    async def _authenticate(self, params: Mapping[str, str], scope: _Scope) -> ProviderResponse:
        view = await self._service.authenticate(self._provider, required_text(params, "token"))
        player_id = view.player.player_id
        scope.player_id = player_id
        fields = [
            ("USERID", player_id),
            ("USERNAME", player_id),
            ("CURRENCY", view.player.currency),
            _balance(view.balance.total_minor),
        ]
        return self._ok(scope, fields)

    async def _get_balance(self, params: Mapping[str, str], scope: _Scope) -> ProviderResponse:
        user_id = required_text(params, "userId")
        scope.player_id = user_id
        player = await self._service.player(user_id)
        balance = await self._service.balance(user_id, player.currency)
        return self._ok(scope, [_balance(balance.total_minor)])

    async def _bet_result(self, params: Mapping[str, str], scope: _Scope) -> ProviderResponse:
        call = parse_bet_result(params)
        scope.operation = call.operation
        scope.player_id = call.user_id
        player = await self._service.player(call.user_id)
        if call.bet is None and call.win is None:
            close = CloseRound(self._provider, call.user_id, call.round_id, call.game_id)
            balance = await self._service.close_round(close)
            return self._ok(scope, [("EXTSYSTEMTRANSACTIONID", "0"), _balance(balance.total_minor)])
        token = self._session_token(call)
        win_needs_bet = True
        if call.bet is None and self._options.win_without_bet:
            win_needs_bet = await self._round_has_bets(call.round_id)
        commands = self._money(call, player.currency, win_needs_bet=win_needs_bet)
        outcomes = await self._service.execute(commands, session_token=token)
        return self._money_ok(scope, outcomes)

    async def _refund_bet(self, params: Mapping[str, str], scope: _Scope) -> ProviderResponse:
        user_id = required_text(params, "userId")
        reference = required_text(params, "casinoTransactionId")
        scope.player_id = user_id
        await self._service.player(user_id)
        outcome = await self._service.rollback(
            Rollback(
                provider=self._provider,
                tx_id=f"refund:{reference}",
                player_id=user_id,
                ref_tx_id=f"bet:{reference}",
            )
        )
        if outcome.tombstone and not outcome.replay:
            _log.info("betsoft_refund_before_bet", instance=self._provider, reference=reference)
        return self._money_ok(scope, [outcome])

    # -- canonical commands ----------------------------------------------------

    def _money(
        self, call: BetResultCall, currency: str, *, win_needs_bet: bool
    ) -> list[Debit | Credit]:
        """The call's bet then win; the last one carries the round's finish flag."""
        commands: list[Debit | Credit] = []
        if call.bet is not None:
            commands.append(
                Debit(
                    provider=self._provider,
                    tx_id=f"bet:{call.bet.transaction_id}",
                    player_id=call.user_id,
                    currency=currency,
                    amount_minor=call.bet.amount_minor,
                    round_id=call.round_id,
                    game_id=call.game_id,
                    close_round=call.round_finished and call.win is None,
                )
            )
        if call.win is not None:
            commands.append(
                Credit(
                    provider=self._provider,
                    tx_id=f"win:{call.win.transaction_id}",
                    player_id=call.user_id,
                    currency=currency,
                    amount_minor=call.win.amount_minor,
                    round_id=call.round_id,
                    game_id=call.game_id,
                    credit_kind=CreditKind.WIN,
                    close_round=call.round_finished,
                    requires_bet=win_needs_bet,
                )
            )
        return commands

    async def _round_has_bets(self, round_id: str) -> bool:
        """For `win_without_bet`: a win in a round with live bets still settles them.

        Betsoft sends a round's calls one after another, so this read does not race
        the round's own bet.
        """
        round_ = await self._service.round(self._provider, round_id)
        return round_ is not None and round_.bet_count > 0

    def _session_token(self, call: BetResultCall) -> str | None:
        """The token a bet is checked against; wins need none."""
        if call.bet is None or not self._options.game_session_token:
            return None
        if call.game_session_id is None:
            raise SessionInvalid("a bet needs gameSessionId")
        return call.game_session_id

    # -- rendering -------------------------------------------------------------

    def _money_ok(self, scope: _Scope, outcomes: Sequence[TxOutcome]) -> ProviderResponse:
        fields = [
            ("EXTSYSTEMTRANSACTIONID", outcomes[0].transaction_id),
            _balance(outcomes[-1].balance.total_minor),
        ]
        replay = all(outcome.replay for outcome in outcomes)
        return self._ok(scope, fields, outcome="replay" if replay else "ok")

    def _ok(
        self, scope: _Scope, fields: list[tuple[str, str]], *, outcome: str = "ok"
    ) -> ProviderResponse:
        return self._reply(scope, [("RESULT", "OK"), *fields], outcome=outcome)

    def _refusal(
        self, error: GatewayError, scope: _Scope, *, status: int = 200
    ) -> ProviderResponse:
        code = lookup_by_mro(error, ERRORS)
        if error.retryable:
            _log.warning(
                "betsoft_retryable_failure",
                instance=self._provider,
                operation=scope.operation,
                reason=error.reason.value,
            )
        fields = [("RESULT", "ERROR"), ("CODE", str(code))]
        return self._reply(scope, fields, outcome=error.reason.value, status=status)

    def _reply(
        self,
        scope: _Scope,
        fields: list[tuple[str, str]],
        *,
        outcome: str,
        status: int = 200,
    ) -> ProviderResponse:
        body = render(scope.wire, scope.params, format_time(self._context.clock_s()), fields)
        return ProviderResponse(
            status=status,
            body=body,
            content_type=CONTENT_TYPE,
            operation=scope.operation,
            outcome=outcome,
            player_id=scope.player_id,
        )


def _balance(total_minor: int) -> tuple[str, str]:
    return ("BALANCE", str(total_minor))
