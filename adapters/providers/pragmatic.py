"""Pragmatic Play seamless wallet (`pragmatic`): form POST, sorted-parameter MD5, JSON answers.

PP calls `<mount>/<method>.html` (`.html` optional) with a form body; every answer is
HTTP 200 JSON with a numeric `error` (`pragmatic_wire.ErrorCode`, one mapping table
`ERROR_CODES`); refusals carry `currency`/`cash`/`bonus` when the balance is known. The
`hash` is checked over the decoded form values as received, before any field is read.

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
- Not answered (`7`): `adjustment.html` (live-casino resettlement), `getBalancePerGame`,
  `sessionExpired`, `roundDetails`, `withdraw`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

import structlog

from adapters.providers._parsing import required_secret
from adapters.providers.base import AdapterContext, ProviderRequest, ProviderResponse
from adapters.providers.pragmatic_wire import (
    DESCRIPTIONS,
    Form,
    JsonValue,
    Options,
    amount_json,
    balance_fields,
    error_code,
    hash_ok,
    method_for_path,
    parse_form,
    render,
    success_fields,
)
from core.errors import (
    AlreadyRolledBack,
    BadSignature,
    CurrencyMismatch,
    GatewayError,
    InvalidRequest,
    PlayerNotFound,
    ReferenceNotFound,
    ReplayedRequest,
    RetryableError,
    StorageUnavailable,
)
from core.model import (
    Balance,
    CloseRound,
    Credit,
    CreditKind,
    Debit,
    Rollback,
    TxKind,
    TxOutcome,
    TxStatus,
)
from core.money import Currency
from core.wallet.records import RoundRecord

__all__ = ["PragmaticAdapter", "demo_secrets"]

"""Limit on the round reads this adapter makes itself (the service times its own)."""
PLAYER_CURRENCIES_MAX = 100_000
"""Player -> currency entries remembered (a player's currency never changes)."""

_LIVE_BET = frozenset({TxStatus.APPLIED, TxStatus.SETTLED})
_REVERSED_BET = frozenset({TxStatus.ROLLED_BACK, TxStatus.TOMBSTONE})
_log = structlog.get_logger("gamegate.provider.pragmatic")


def demo_secrets() -> dict[str, bytes]:
    """A fresh shared secret key; PP holds the same value."""
    key = secrets.token_hex(16).encode()
    return {"secret_key": key, "provider_secret_key": key}


@dataclass(frozen=True, slots=True)
class _Reply:
    fields: dict[str, JsonValue]
    outcome: str
    player_id: str | None


_Handler = Callable[[Form], Awaitable[_Reply]]


class PragmaticAdapter:
    """Check the hash over the received values, execute, answer in PP's JSON."""

    protocol: ClassVar[str] = "pragmatic"

    def __init__(self, context: AdapterContext) -> None:
        self._context = context
        self._service = context.service
        self._provider = context.instance
        self._secret = required_secret(context, "secret_key")
        self._options = Options.parse(context.options)
        self._currency_by_player: dict[str, str] = {}
        self._handlers: dict[str, _Handler] = {
            "authenticate": self._authenticate,
            "balance": self._balance,
            "bet": self._bet,
            "result": self._result,
            "bonusWin": self._bonus_win,
            "jackpotWin": self._jackpot_win,
            "promoWin": self._promo_win,
            "refund": self._refund,
            "endRound": self._end_round,
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
        except Exception:  # noqa: BLE001 -- PP must get its retryable answer, never a 500
            _log.exception("pragmatic_internal_error", instance=self._provider, operation=operation)
            reply = await self._error_reply(StorageUnavailable("internal error"), operation, None)
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

    # -- operations ------------------------------------------------------------

    async def _authenticate(self, form: Form) -> _Reply:
        view = await self._service.authenticate(self._provider, form.required("token"))
        player = view.player
        self._remember_currency(player.player_id, player.currency)
        fields: dict[str, JsonValue] = {"userId": player.player_id}
        fields |= self._balance_fields(view.balance)
        fields |= {
            "token": view.session.token,
            "country": player.jurisdiction,
            "jurisdiction": player.jurisdiction,
        }
        return _success(fields, "ok", player.player_id)

    async def _balance(self, form: Form) -> _Reply:
        user_id = form.required("userId")
        token = form.optional("token")
        if token is not None:
            session = await self._service.session(self._provider, token, allow_expired=True)
            if session.player_id != user_id:
                raise InvalidRequest("token belongs to another player")
        balance = await self._service.balance(user_id)
        return _success(self._balance_fields(balance), "ok", user_id)

    async def _bet(self, form: Form) -> _Reply:
        user_id = form.required("userId")
        token = form.required("token")
        currency = await self._currency(user_id, form)
        debit = Debit(
            provider=self._provider,
            tx_id=form.required("reference"),
            player_id=user_id,
            currency=currency.code,
            amount_minor=form.amount("amount", currency),
            round_id=form.required("roundId"),
            game_id=form.required("gameId"),
        )
        outcome = await self._service.debit(debit, session_token=token)
        used_promo = -outcome.bonus_delta_minor
        fields: dict[str, JsonValue] = {"transactionId": outcome.transaction_id}
        fields |= self._balance_fields(outcome.balance)
        fields["usedPromo"] = amount_json(used_promo, currency) if used_promo else 0
        return _success(fields, _label(outcome.replay), user_id)

    async def _result(self, form: Form) -> _Reply:
        user_id = form.required("userId")
        round_id = form.required("roundId")
        currency = await self._currency(user_id, form)
        amount = form.amount("amount", currency)
        free_round = form.optional("bonusCode") is not None
        requires_bet = await self._result_needs_bet(user_id, round_id, free_round=free_round)
        commands = [
            Credit(
                provider=self._provider,
                tx_id=f"result:{form.required('reference')}",
                player_id=user_id,
                currency=currency.code,
                amount_minor=amount,
                round_id=round_id,
                game_id=form.required("gameId"),
                credit_kind=CreditKind.BONUS_WIN if free_round else CreditKind.WIN,
                close_round=self._options.result_closes_round,
                requires_bet=requires_bet,
            )
        ]
        promo_minor = form.optional_amount("promoWinAmount", currency)
        if promo_minor and self._options.result_promo_credits:
            key = f"resultPromo:{form.optional('promoWinReference') or form.required('reference')}"
            commands.append(
                self._unbacked_credit(form, user_id, currency, CreditKind.PROMO, key, promo_minor)
            )
        outcomes = await self._service.execute(commands, session_token=None)
        return self._money_reply(outcomes[0], user_id, balance=outcomes[-1].balance)

    async def _bonus_win(self, form: Form) -> _Reply:
        """Informational by default: recorded as a zero credit, the spins were paid already."""
        user_id = form.required("userId")
        currency = await self._currency(user_id, form)
        amount = form.amount("amount", currency) if self._options.bonus_win_credits else 0
        key = f"bonusWin:{form.required('reference')}"
        credit = self._unbacked_credit(form, user_id, currency, CreditKind.BONUS_WIN, key, amount)
        return self._money_reply(await self._service.credit(credit), user_id)

    async def _jackpot_win(self, form: Form) -> _Reply:
        """In its round when PP names one (closed like a result would), else in its own."""
        user_id = form.required("userId")
        currency = await self._currency(user_id, form)
        amount = form.amount("amount", currency)
        key = f"jackpotWin:{form.required('reference')}"
        round_id = form.optional("roundId")
        if round_id is not None:
            await self._refuse_if_refunded(user_id, round_id)
        credit = self._unbacked_credit(
            form, user_id, currency, CreditKind.JACKPOT, key, amount, round_id=round_id,
            close_round=round_id is None or self._options.result_closes_round,
        )  # fmt: skip
        return self._money_reply(await self._service.credit(credit), user_id)

    async def _promo_win(self, form: Form) -> _Reply:
        user_id = form.required("userId")
        currency = await self._currency(user_id, form)
        amount = form.amount("amount", currency)
        key = f"promoWin:{form.required('reference')}"
        credit = self._unbacked_credit(form, user_id, currency, CreditKind.PROMO, key, amount)
        return self._money_reply(await self._service.credit(credit), user_id)

    async def _refund(self, form: Form) -> _Reply:
        user_id = form.required("userId")
        reference = form.required("reference")
        if form.optional("amount") is not None:
            form.amount("amount", await self._currency(user_id, form))  # checked, not used
        rollback = Rollback(
            provider=self._provider,
            tx_id=f"refund:{reference}",
            player_id=user_id,
            ref_tx_id=reference,
            round_id=form.optional("roundId"),
        )
        outcome = await self._service.rollback(rollback)
        transaction_id = "" if outcome.tombstone else outcome.transaction_id
        return _success({"transactionId": transaction_id}, _label(outcome.replay), user_id)

    async def _end_round(self, form: Form) -> _Reply:
        user_id = form.required("userId")
        close = CloseRound(
            self._provider, user_id, form.required("roundId"), form.optional("gameId") or ""
        )
        balance = await self._service.close_round(close)
        return _success(self._balance_fields(balance, with_currency=False), "ok", user_id)

    # -- rules that need the round ---------------------------------------------

    async def _result_needs_bet(self, user_id: str, round_id: str, *, free_round: bool) -> bool:
        """Whether a result settles its round's bets (false: a free-round spin without one).

        Refuses without storing a refusal (so PP's retry succeeds once the bet is here)
        while the round has no bet, and finally once every bet of it was refunded. Only
        `requires_bet` depends on this state: it is not part of the idempotency
        fingerprint, so a retry that finds the round changed is still a replay.
        """
        round_ = await self._service.round(self._provider, round_id)
        if _staked(round_):
            return True
        statuses = await self._bet_statuses(user_id, round_id)
        if statuses & _LIVE_BET:
            return True
        if statuses & _REVERSED_BET:
            raise AlreadyRolledBack("every bet of this round was refunded")
        if free_round:
            return False
        raise ReferenceNotFound("no bet in this round yet; retry later")

    async def _refuse_if_refunded(self, user_id: str, round_id: str) -> None:
        """A jackpot in a round whose every bet was refunded is not paid."""
        round_ = await self._service.round(self._provider, round_id)
        if _staked(round_):
            return
        statuses = await self._bet_statuses(user_id, round_id)
        if statuses & _REVERSED_BET and not statuses & _LIVE_BET:
            raise AlreadyRolledBack("every bet of this round was refunded")

    async def _bet_statuses(self, user_id: str, round_id: str) -> set[TxStatus]:
        """Statuses of the player's bets (and tombstones) recorded in a round."""
        records = await self._service.round_transactions(self._provider, round_id)
        return {r.status for r in records if r.kind is TxKind.DEBIT and r.player_id == user_id}

    # -- helpers -----------------------------------------------------------------

    async def _currency(self, user_id: str, form: Form) -> Currency:
        """The player's wallet currency; a `currency` parameter, if sent, must match it."""
        code = self._currency_by_player.get(user_id)
        if code is None:
            code = (await self._service.player(user_id)).currency
            self._remember_currency(user_id, code)
        sent = form.optional("currency")
        if sent is not None:
            self._context.currencies.get(sent)
            if sent != code:
                raise CurrencyMismatch(f"player's wallet is in {code}")
        return self._context.currencies.get(code)

    def _remember_currency(self, player_id: str, code: str) -> None:
        if player_id in self._currency_by_player:
            return
        if len(self._currency_by_player) >= PLAYER_CURRENCIES_MAX:
            self._currency_by_player.pop(next(iter(self._currency_by_player)))  # oldest first
        self._currency_by_player[player_id] = code

    def _unbacked_credit(
        self,
        form: Form,
        user_id: str,
        currency: Currency,
        kind: CreditKind,
        key: str,
        amount_minor: int,
        *,
        round_id: str | None = None,
        close_round: bool = True,
    ) -> Credit:
        """A credit that needs no bet; without a round of its own it gets one, closed."""
        return Credit(
            provider=self._provider,
            tx_id=key,
            player_id=user_id,
            currency=currency.code,
            amount_minor=amount_minor,
            round_id=round_id or key,
            game_id=form.optional("gameId") or "",
            credit_kind=kind,
            close_round=close_round,
            requires_bet=False,
        )

    def _balance_fields(
        self, balance: Balance, *, with_currency: bool = True
    ) -> dict[str, JsonValue]:
        currency = self._context.currencies.get(balance.currency)
        return balance_fields(balance, currency, with_currency=with_currency)

    def _money_reply(
        self, outcome: TxOutcome, player_id: str, *, balance: Balance | None = None
    ) -> _Reply:
        fields: dict[str, JsonValue] = {"transactionId": outcome.transaction_id}
        fields |= self._balance_fields(balance or outcome.balance)
        return _success(fields, _label(outcome.replay), player_id)

    async def _error_reply(
        self, error: GatewayError, operation: str, player_id: str | None
    ) -> _Reply:
        code = error_code(error, operation)
        fields: dict[str, JsonValue] = {}
        balance = await self._refusal_balance(error, player_id)
        if balance is not None:
            fields |= self._balance_fields(balance)
        fields |= {"error": int(code), "description": DESCRIPTIONS[code]}
        return _Reply(fields, error.reason.value, player_id)

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


def _staked(round_: RoundRecord | None) -> bool:
    """A round with money staked has a live bet (refunds take the stake back out)."""
    return round_ is not None and round_.stake_real_minor + round_.stake_bonus_minor > 0


def _success(fields: dict[str, JsonValue], outcome: str, player_id: str) -> _Reply:
    return _Reply(success_fields(fields), outcome, player_id)


def _label(replay: bool) -> str:
    return "replay" if replay else "ok"
