"""Pragmatic Play callbacks: what each authentic call does, as canonical commands.

Kept apart from `pragmatic`, which checks the hash, dispatches and maps refusals, because
this is where the protocol's state lives: a `result` or `jackpotWin` reads its round back
from the wallet before it credits, and each player's currency is remembered here. The
rules and idempotency keys are listed in `pragmatic`'s docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.providers.base import AdapterContext
from adapters.providers.pragmatic_wire import (
    Form,
    JsonValue,
    Options,
    amount_json,
    balance_fields,
    success_fields,
)
from core.errors import AlreadyRolledBack, CurrencyMismatch, InvalidRequest, ReferenceNotFound
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

__all__ = ["Callbacks", "Reply"]

PLAYER_CURRENCIES_MAX = 100_000
"""Player -> currency entries remembered (a player's currency never changes)."""

_LIVE_BET = frozenset({TxStatus.APPLIED, TxStatus.SETTLED})
_REVERSED_BET = frozenset({TxStatus.ROLLED_BACK, TxStatus.TOMBSTONE})


@dataclass(frozen=True, slots=True)
class Reply:
    fields: dict[str, JsonValue]
    outcome: str
    player_id: str | None


class Callbacks:
    """Each callback of one instance, from its authentic form to its answer."""

    def __init__(self, context: AdapterContext, options: Options) -> None:
        self._context = context
        self._service = context.service
        self._provider = context.instance
        self._options = options
        self._currency_by_player: dict[str, str] = {}

    async def authenticate(self, form: Form) -> Reply:
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

    async def balance(self, form: Form) -> Reply:
        user_id = form.required("userId")
        token = form.optional("token")
        if token is not None:
            session = await self._service.session(self._provider, token, allow_expired=True)
            if session.player_id != user_id:
                raise InvalidRequest("token belongs to another player")
        balance = await self._service.balance(user_id)
        return _success(self._balance_fields(balance), "ok", user_id)

    async def bet(self, form: Form) -> Reply:
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

    async def result(self, form: Form) -> Reply:
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

    async def bonus_win(self, form: Form) -> Reply:
        """Informational by default: recorded as a zero credit, the spins were paid already."""
        user_id = form.required("userId")
        currency = await self._currency(user_id, form)
        amount = form.amount("amount", currency) if self._options.bonus_win_credits else 0
        key = f"bonusWin:{form.required('reference')}"
        credit = self._unbacked_credit(form, user_id, currency, CreditKind.BONUS_WIN, key, amount)
        return self._money_reply(await self._service.credit(credit), user_id)

    async def jackpot_win(self, form: Form) -> Reply:
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

    async def promo_win(self, form: Form) -> Reply:
        user_id = form.required("userId")
        currency = await self._currency(user_id, form)
        amount = form.amount("amount", currency)
        key = f"promoWin:{form.required('reference')}"
        credit = self._unbacked_credit(form, user_id, currency, CreditKind.PROMO, key, amount)
        return self._money_reply(await self._service.credit(credit), user_id)

    async def refund(self, form: Form) -> Reply:
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

    async def end_round(self, form: Form) -> Reply:
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
    ) -> Reply:
        fields: dict[str, JsonValue] = {"transactionId": outcome.transaction_id}
        fields |= self._balance_fields(balance or outcome.balance)
        return _success(fields, _label(outcome.replay), player_id)


def _staked(round_: RoundRecord | None) -> bool:
    """A round with money staked has a live bet (refunds take the stake back out)."""
    return round_ is not None and round_.stake_real_minor + round_.stake_bonus_minor > 0


def _success(fields: dict[str, JsonValue], outcome: str, player_id: str) -> Reply:
    return Reply(success_fields(fields), outcome, player_id)


def _label(replay: bool) -> str:
    return "replay" if replay else "ok"
