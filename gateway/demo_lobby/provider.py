"""The demo provider: a game server inside the gateway that plays real rounds (demo mode).

It does what a game provider does with a session token from a launch: `authenticate`
it, then for each spin send a signed `bet` and a signed `win` (a zero win still
settles and closes the round) to the gateway's own `/providers/{instance}/...` mount,
over loopback, in the gamegate protocol (`adapters.providers.gamegate_wire`). So each
spin is two wallet transactions, checked like any provider's: signature, nonce, session,
compliance, funds. It signs with the instance's HMAC key, which never leaves the server.

Fun play (`mode=demo` launches, and instances that do not speak gamegate) draws from
the same paytable with no wallet call at all.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from adapters.providers.gamegate_wire import new_nonce, sign_request, verify_response
from core.errors import GatewayError
from core.money import Currency, CurrencyTable, format_minor, minor_from_decimal
from gateway.demo_lobby.paytable import Outcome, draw

__all__ = [
    "FUN_CURRENCY",
    "STAKE_MINOR_MAX",
    "STAKE_MINOR_MIN",
    "DemoProvider",
    "DemoRefusal",
    "RoundResult",
]

STAKE_MINOR_MIN = 1
STAKE_MINOR_MAX = 10_000
"""Stake bounds in minor units of the player's currency (EUR 0.01 to 100.00)."""
CALL_ATTEMPTS_MAX = 3
"""A callback answered 503 (outcome unknown) is sent again, re-signed, with the same
transaction id: the wallet applies it once."""
FUN_CURRENCY = Currency("FUN", 2)
"""Play money: two decimals, never in a wallet."""


class DemoRefusal(Exception):
    """A request of the lobby page refused, or a spin that did not happen (or not fully):
    `code` is stable, `message` for people, `status` the HTTP status to answer."""

    def __init__(self, code: str, message: str, *, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class RoundResult:
    round_id: str
    outcome: Outcome
    currency: Currency
    balance_minor: int | None
    """The wallet's total after the win; None in fun play (the page keeps that balance)."""

    def json(self) -> dict[str, Any]:
        def money(minor: int) -> str:
            return format_minor(minor, self.currency)

        return {
            "round": self.round_id,
            "currency": self.currency.code,
            "stake": money(self.outcome.stake_minor),
            "win": money(self.outcome.win_minor),
            "multiplier_pct": self.outcome.multiplier_pct,
            "symbols": list(self.outcome.symbols),
            "balance": None if self.balance_minor is None else money(self.balance_minor),
            "fun": self.balance_minor is None,
        }


class DemoProvider:
    """Plays rounds for sessions on the instances whose HMAC key it holds."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        *,
        currencies: CurrencyTable,
        clock_s: Callable[[], float],
        rng: random.Random | None = None,
    ) -> None:
        self._keys = dict(keys)
        self._currencies = currencies
        self._clock_s = clock_s
        self._rng = rng or random.Random()

    def plays_real(self, instance: str) -> bool:
        """True for an enabled instance of the gamegate protocol (a key is held for it)."""
        return instance in self._keys

    def play_fun(self, stake: str) -> RoundResult:
        stake_minor = _stake_minor(stake, FUN_CURRENCY)
        outcome = draw(self._rng, stake_minor)
        return RoundResult(f"fun-{secrets.token_hex(8)}", outcome, FUN_CURRENCY, None)

    async def play_real(
        self, client: httpx.AsyncClient, base_url: str, instance: str, token: str, stake: str
    ) -> RoundResult:
        """Authenticate the session, then bet and win; the balance is the win's answer."""
        key = self._keys.get(instance)
        if key is None:
            raise DemoRefusal("real_play_unavailable", f"{instance!r} is not a gamegate instance")
        call = _Caller(client, f"{base_url}/providers/{instance}", key, self._clock_s)
        session = await call("authenticate", {"session_token": token})
        currency = self._currencies.get(str(session["currency"]))
        outcome = draw(self._rng, _stake_minor(stake, currency))
        round_id = f"demo-{secrets.token_hex(8)}"
        common = {
            "player_id": session["player_id"],
            "round_id": round_id,
            "game_id": session["game_id"],
            "currency": currency.code,
        }
        bet_id = f"{round_id}-bet"
        bet = {"session_token": token, "transaction_id": bet_id, **common}
        await call("bet", {**bet, "amount": outcome.stake_minor})
        win = {"transaction_id": f"{round_id}-win", "bet_transaction_id": bet_id, **common}
        paid = await call("win", {**win, "amount": outcome.win_minor, "round_closed": True})
        balance = paid["balance"]
        return RoundResult(round_id, outcome, currency, int(balance["total"]))


def _stake_minor(stake: str, currency: Currency) -> int:
    try:
        minor = minor_from_decimal(stake, currency)
    except GatewayError as error:
        raise DemoRefusal("invalid_stake", error.message, status=400) from None
    if not STAKE_MINOR_MIN <= minor <= STAKE_MINOR_MAX:
        low = format_minor(STAKE_MINOR_MIN, currency)
        high = format_minor(STAKE_MINOR_MAX, currency)
        raise DemoRefusal("invalid_stake", f"stake must be {low} to {high}", status=400)
    return minor


class _Caller:
    """Signed gamegate requests to one instance mount; only verified answers count."""

    def __init__(
        self, client: httpx.AsyncClient, mount: str, key: bytes, clock_s: Callable[[], float]
    ) -> None:
        self._client = client
        self._mount = mount
        self._key = key
        self._clock_s = clock_s

    async def __call__(self, operation: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The `status: ok` body; a refusal raises `DemoRefusal` with the wallet's code.

        An answer whose outcome is unknown (503, or no answer at all) is sent again with
        the same body, re-signed: the wallet applies a transaction id once."""
        body = orjson.dumps(fields)
        answer: dict[str, Any] = {}
        for _ in range(CALL_ATTEMPTS_MAX):
            try:
                answer = await self._send(operation, body)
            except httpx.HTTPError as error:
                answer = {"code": "gateway_unavailable", "message": repr(error), "retryable": True}
                continue
            if answer.get("retryable") is not True:
                break
        if answer.get("status") != "ok":
            code = str(answer.get("code", "refused"))
            status = 502 if answer.get("retryable") is True else 409
            raise DemoRefusal(code, f"{operation}: {answer.get('message', code)}", status=status)
        return answer

    async def _send(self, operation: str, body: bytes) -> dict[str, Any]:
        nonce = new_nonce()
        headers = sign_request(
            self._key, body, operation=operation, timestamp=int(self._clock_s()), nonce=nonce
        )
        response = await self._client.post(
            f"{self._mount}/{operation}", content=body, headers=headers
        )
        if not verify_response(self._key, response.headers, response.content, request_nonce=nonce):
            raise DemoRefusal("unsigned_answer", f"{operation}: answer not signed", status=502)
        answer = orjson.loads(response.content)
        assert isinstance(answer, dict)
        return answer
