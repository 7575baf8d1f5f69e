"""Conformance script for `betby` instances, plus the provider simulator that signs.

The builders (`build_make`, `build_settle`, `build_discard`, `build_commit`,
`build_settlement`, `build_ping`, `signed`) make callbacks exactly as Betby sends them:
`POST {"payload": "<JWT>"}`, the request object under the claims' `payload`, `iat`/`exp`
and a fresh `jti`, signed with `provider_private_key` (ES256, or RS256 when the instance's
`key_type` says so). They take the wallet's time `now_s` explicitly: the script reads it
from `GET ping` (a test wallet's clock is not the wall clock); the load generator passes
`time.time()`. `forge_unsigned` and `forge_hs256` build the attacker's tokens.

Edge cases that do not apply to this protocol:
- bet after the round closed: every make is its own bet (round), so there is no second
  bet into a closed round; the sportsbook's version (a settlement callback after the final
  `bet/settlement`) is covered by `settlement closes the bet ...`;
- win without a bet as a promo/jackpot/free-round credit: Betby pays no credit without a
  bet; its bonus money flows ride on `bonus_type` makes, which the adapter refuses;
- rollback before the bet: Betby's form is a discard before the make (covered); a
  `bet/rollback` names a settlement, and one that finds none is refused 2003 (covered);
- signatures over re-serialised data: the JWS covers its own base64url segments, so odd
  whitespace, key order and unicode live inside the signed claims (covered) and extra
  envelope fields are outside them (covered);
- the F5 vector's literal player `p-7` and session `s-9` cannot be created through the
  operator API, so the F5 cases play the vector's flow and exact answer shapes with the
  case's own player and fresh ids; the vector's exact claims are signed and replayed in
  `tests/adapters/test_betby.py`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.conformance.kit import (
    Case,
    PlayerFixture,
    ScriptContext,
    Secrets,
    WireRequest,
    WireResponse,
    new_id,
    secrets_of,
)
from adapters.providers.betby_wire import CONTENT_TYPE, claims_json, envelope, sign_claims

__all__ = [
    "CASES",
    "UNUSUAL_CLAIMS",
    "build_commit",
    "build_discard",
    "build_make",
    "build_ping",
    "build_settle",
    "build_settlement",
    "forge_hs256",
    "forge_tampered",
    "forge_unsigned",
    "make_request",
    "new_id",
    "other_private_key",
    "settle_request",
    "sign_token",
    "signed",
    "signed_claims",
    "token_request",
]


UNUSUAL_CLAIMS = """{
  "jti" : "@JTI@",\t"payload": {"betslip": {"bets": [{"id": "b1",
      "market_name": "Wer gewinnt? — Ünïcödé ⚽ \\u00e9", "odds": "2.5"}]},
    "session_id": "@SESSION@", "transaction": {"operation": "bet", "id": "@BET@",
      "amount": 100, "unknown_inner": [1, {"x": null}]},
    "currency": "@CURRENCY@", "player_id": "@PLAYER@",   "amount": 100,
    "brand_new_field": {"nested": true}},
  "iat": @IAT@, "iss": "betby", "aud": "partner"
}"""
"""Signed claims with odd whitespace (tab, CRLF), shuffled keys, unicode and unknown fields."""

# -- provider simulator ------------------------------------------------------------


def _algorithm(source: Secrets) -> str:
    options = source.options if isinstance(source, ScriptContext) else {}
    algorithm = options.get("key_type", "ES256")
    assert isinstance(algorithm, str)
    return algorithm


def token_request(path: str, token: str) -> WireRequest:
    return WireRequest("POST", path, envelope(token), {"Content-Type": CONTENT_TYPE})


def sign_token(source: Secrets, claims: bytes, *, key: bytes | None = None) -> str:
    """A compact JWS over exactly `claims` (bytes as given, nothing re-serialised)."""
    private_key = key if key is not None else secrets_of(source)["provider_private_key"]
    return sign_claims(claims, private_key, algorithm=_algorithm(source))


def signed_claims(
    source: Secrets, path: str, claims: bytes, *, key: bytes | None = None
) -> WireRequest:
    """A callback whose token signs exactly `claims`."""
    return token_request(path, sign_token(source, claims, key=key))


def signed(
    source: Secrets,
    path: str,
    request: Mapping[str, Any],
    *,
    now_s: float,
    ttl_s: int = 60,
    jti: str | None = None,
) -> WireRequest:
    """A callback to `path` carrying `request`, issued at `now_s` (the wallet's clock)."""
    return signed_claims(source, path, claims_json(request, now_s=now_s, ttl_s=ttl_s, jti=jti))


def make_request(
    player: PlayerFixture,
    *,
    transaction_id: str,
    amount: int,
    currency: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A `bet/make` request object like the F5 vector's; `fields` override or add fields."""
    currency = currency or player.currency
    request: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "player_id": player.player_id,
        "session_id": player.session_token,
        "transaction": {
            "id": transaction_id,
            "betslip_id": f"slip-{transaction_id}",
            "player_id": f"betby-{player.player_id}",
            "operator_id": "op-1",
            "operator_brand_id": "br-1",
            "ext_player_id": player.player_id,
            "timestamp": 1538654560.2354896,
            "amount": amount,
            "currency": currency,
            "operation": "bet",
        },
        "betslip": {
            "id": f"slip-{transaction_id}",
            "type": "single",
            "sum": amount,
            "k": "2.5",
            "bets": [{"id": "b1", "event_id": "e1", "odds": "2.5"}],
        },
        "potential_win": amount * 5 // 2,
    }
    request.update(fields)
    return request


def build_make(
    source: Secrets,
    player: PlayerFixture,
    *,
    transaction_id: str,
    amount: int,
    now_s: float,
    **fields: Any,
) -> WireRequest:
    request = make_request(player, transaction_id=transaction_id, amount=amount, **fields)
    return signed(source, "bet/make", request, now_s=now_s)


def settle_request(
    operation: str,
    *,
    bet_transaction_id: str,
    transaction_id: str,
    currency: str,
    amount: int | None = None,
    parent_transaction_id: str | None = None,
) -> dict[str, Any]:
    """A `bet/win`, `bet/lost`, `bet/refund` or `bet/rollback` request object."""
    transaction: dict[str, Any] = {
        "id": transaction_id,
        "parent_transaction_id": parent_transaction_id or bet_transaction_id,
        "operation": operation,
        "currency": currency,
    }
    request: dict[str, Any] = {"bet_transaction_id": bet_transaction_id, "currency": currency}
    if amount is not None:
        request["amount"] = amount
        transaction["amount"] = amount
    if operation == "win":
        request["is_cashout"] = False
    if operation == "refund":
        request["reason"] = "event cancelled"
    request["transaction"] = transaction
    return request


def build_settle(
    source: Secrets,
    operation: str,
    *,
    bet_transaction_id: str,
    transaction_id: str,
    currency: str,
    now_s: float,
    amount: int | None = None,
    parent_transaction_id: str | None = None,
) -> WireRequest:
    assert operation in ("win", "lost", "refund", "rollback")
    request = settle_request(
        operation,
        bet_transaction_id=bet_transaction_id,
        transaction_id=transaction_id,
        currency=currency,
        amount=amount,
        parent_transaction_id=parent_transaction_id,
    )
    return signed(source, f"bet/{operation}", request, now_s=now_s)


def build_discard(
    source: Secrets, player: PlayerFixture, *, transaction_id: str, now_s: float
) -> WireRequest:
    request = {
        "ext_player_id": player.player_id,
        "transaction_id": transaction_id,
        "reason": "risk management declined",
    }
    return signed(source, "bet/discard", request, now_s=now_s)


def build_commit(source: Secrets, *, bet_transaction_id: str, now_s: float) -> WireRequest:
    request = {"bet_transaction_id": bet_transaction_id, "transaction_id": bet_transaction_id}
    return signed(source, "bet/commit", request, now_s=now_s)


def build_settlement(
    source: Secrets, *, bet_transaction_id: str, status: str, now_s: float
) -> WireRequest:
    request = {"bet_transaction_id": bet_transaction_id, "status": status}
    return signed(source, "bet/settlement", request, now_s=now_s)


def build_ping() -> WireRequest:
    return WireRequest("GET", "ping")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_tampered(token: str, claims: bytes) -> str:
    """`token` with its claims segment replaced by `claims`, the signature kept."""
    header, _, rest = token.partition(".")
    return f"{header}.{_b64url(claims)}.{rest.partition('.')[2]}"


def forge_unsigned(claims: bytes) -> str:
    """An `alg: none` token: no signature at all."""
    header = _b64url(b'{"alg":"none","typ":"JWT"}')
    return f"{header}.{_b64url(claims)}."


def forge_hs256(claims: bytes, secret: bytes) -> str:
    """An HS256 token keyed with `secret`: the alg-confusion attack when it is the public key."""
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    signing_input = f"{header}.{_b64url(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(mac)}"


def other_private_key(source: Secrets) -> bytes:
    """A fresh key of the instance's key type that the wallet does not know."""
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if _algorithm(source) == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# -- the script's view of one player --------------------------------------------------


@dataclass(slots=True)
class _Betby:
    """Betby for one case's player: signs with the wallet's current time."""

    ctx: ScriptContext
    player: PlayerFixture
    now_s: float

    @classmethod
    async def start(cls, ctx: ScriptContext, **player: Any) -> _Betby:
        player.setdefault("currency", "USD")
        fixture = await ctx.new_player(**player)
        return cls(ctx, fixture, await _wallet_time(ctx))

    async def elapse(self, seconds: float) -> None:
        await self.ctx.elapse(seconds)
        self.now_s = await _wallet_time(self.ctx)

    async def send(self, request: WireRequest) -> WireResponse:
        return await self.ctx.send(request)

    async def make(self, transaction_id: str, amount: int, **fields: Any) -> WireResponse:
        return await self.send(
            build_make(
                self.ctx,
                self.player,
                transaction_id=transaction_id,
                amount=amount,
                now_s=self.now_s,
                **fields,
            )
        )

    async def settle(
        self,
        operation: str,
        bet: str,
        transaction_id: str,
        amount: int | None = None,
        *,
        parent: str | None = None,
    ) -> WireResponse:
        return await self.send(
            build_settle(
                self.ctx,
                operation,
                bet_transaction_id=bet,
                transaction_id=transaction_id,
                currency=self.player.currency,
                now_s=self.now_s,
                amount=amount,
                parent_transaction_id=parent,
            )
        )

    async def discard(self, transaction_id: str) -> WireResponse:
        return await self.send(
            build_discard(self.ctx, self.player, transaction_id=transaction_id, now_s=self.now_s)
        )

    async def settlement(self, bet: str, status: str) -> WireResponse:
        return await self.send(
            build_settlement(self.ctx, bet_transaction_id=bet, status=status, now_s=self.now_s)
        )


async def _wallet_time(ctx: ScriptContext) -> float:
    response = await ctx.send(build_ping())
    body = _ok(ctx, response, "ping")
    timestamp = body.get("timestamp")
    ctx.check(type(timestamp) is int, f"ping: expected an integer timestamp, got {timestamp!r}")
    assert isinstance(timestamp, int)
    return float(timestamp)


# -- checks ----------------------------------------------------------------------------


def _ok(ctx: ScriptContext, response: WireResponse, what: str) -> dict[str, Any]:
    ctx.check(
        response.status == 200,
        f"{what}: expected HTTP 200, got {response.status} {response.body[:200]!r}",
    )
    body = response.json()
    ctx.check(isinstance(body, dict), f"{what}: expected a JSON object, got {body!r}")
    assert isinstance(body, dict)
    return body


def _balance(ctx: ScriptContext, response: WireResponse, expected: int, what: str) -> None:
    got = _ok(ctx, response, what).get("balance")
    ctx.check(
        type(got) is int and got == expected, f"{what}: expected balance {expected}, got {got!r}"
    )


def _empty(ctx: ScriptContext, response: WireResponse, what: str) -> None:
    body = _ok(ctx, response, what)
    ctx.check(body == {}, f"{what}: expected {{}}, got {body!r}")


def _refused(ctx: ScriptContext, response: WireResponse, code: int, what: str) -> None:
    ctx.check(
        response.status == 400,
        f"{what}: expected HTTP 400, got {response.status} {response.body[:200]!r}",
    )
    body = response.json()
    ctx.check(
        isinstance(body, dict)
        and body.get("code") == code
        and isinstance(body.get("message"), str),
        f"{what}: expected {{'code': {code}, 'message': ...}}, got {body!r}",
    )


def _money_answer(
    player: PlayerFixture,
    transaction_id: str,
    parent: str | None,
    operation: str,
    amount: int,
    balance: int,
) -> dict[str, Any]:
    return {
        "id": transaction_id,
        "ext_transaction_id": transaction_id,
        "parent_transaction_id": parent,
        "user_id": player.player_id,
        "operation": operation,
        "amount": amount,
        "currency": player.currency,
        "balance": balance,
    }


def _exactly(
    ctx: ScriptContext, response: WireResponse, expected: dict[str, Any], what: str
) -> None:
    body = _ok(ctx, response, what)
    ctx.check(
        body == expected and list(body) == list(expected),
        f"{what}: expected {expected!r} (in this key order), got {body!r}",
    )


# -- the F5 vector and its checks --------------------------------------------------------


async def f5_make_and_win(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet, win = new_id("bet"), new_id("w")
    answer = await betby.make(bet, 100)
    _exactly(ctx, answer, _money_answer(betby.player, bet, None, "bet", 100, 9_900), "make 100")
    answer = await betby.settle("win", bet, win, 250)
    _exactly(ctx, answer, _money_answer(betby.player, win, bet, "win", 250, 10_150), "win 250")
    await ctx.expect_wallet_total(betby.player, 10_150, "after the F5 win")


async def f5_make_over_balance(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    response = await betby.make(new_id("bet"), 10_001)
    _refused(ctx, response, 2001, "make over the balance")
    body = response.json()
    ctx.check(
        body == {"code": 2001, "message": "Not enough money"},
        f"make over the balance: expected the documented body, got {body!r}",
    )
    await ctx.expect_wallet_total(betby.player, 10_000, "after the refused make")


async def f5_win_for_unknown_bet(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    _refused(ctx, await betby.settle("win", new_id("bet"), new_id("w"), 250), 2003, "win")
    _refused(ctx, await betby.settle("lost", new_id("bet"), new_id("l")), 2003, "lost")
    bet = new_id("bet")
    await betby.make(bet, 100)
    _refused(
        ctx, await betby.settle("rollback", bet, new_id("rb")), 2003, "rollback, no settlement"
    )
    await ctx.expect_wallet_total(betby.player, 9_900, "after the refusals")


async def f5_repeated_win(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet, win = new_id("bet"), new_id("w")
    await betby.make(bet, 100)
    first = await betby.settle("win", bet, win, 250)
    second = await betby.settle("win", bet, win, 250)
    _balance(ctx, first, 10_150, "first win")
    ctx.check(
        first.body == second.body,
        f"repeated win: expected the same body, got {first.body!r} then {second.body!r}",
    )
    _refused(ctx, await betby.settle("win", bet, win, 260), 2004, "same win id, other amount")
    _refused(ctx, await betby.settle("win", bet, new_id("w"), 250), 2004, "second win, no rollback")
    await ctx.expect_wallet_total(betby.player, 10_150, "after the repeated win")


async def f5_rollback_after_win(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet, win, rollback = new_id("bet"), new_id("w"), new_id("rb")
    await betby.make(bet, 100)
    await betby.settle("win", bet, win, 250)
    answer = await betby.settle("rollback", bet, rollback)
    _exactly(
        ctx, answer, _money_answer(betby.player, rollback, bet, "rollback", 250, 9_900), "rollback"
    )
    again = await betby.settle("rollback", bet, rollback)
    ctx.check(again.body == answer.body, f"repeated rollback: got {again.body!r}")
    _balance(ctx, await betby.settle("lost", bet, new_id("l")), 9_900, "lost after rollback")
    await ctx.expect_wallet_total(betby.player, 9_900, "after the resettlement as lost")


async def f5_discard_before_make(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet = new_id("bet")
    _empty(ctx, await betby.discard(bet), "discard of an unknown make")
    _empty(ctx, await betby.discard(bet), "repeated discard")
    _refused(ctx, await betby.make(bet, 100), 2004, "make after its discard")
    await ctx.expect_wallet_total(betby.player, 10_000, "after the refused late make")


# -- lifecycle ---------------------------------------------------------------------------


async def discard_releases_the_stake(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet = new_id("bet")
    await betby.make(bet, 700)
    _empty(ctx, await betby.discard(bet), "discard")
    await ctx.expect_wallet_total(betby.player, 10_000, "after the discard")
    _refused(ctx, await betby.settle("win", bet, new_id("w"), 1_000), 2004, "win after discard")
    _refused(ctx, await betby.settle("refund", bet, new_id("rf")), 2004, "refund after discard")
    _refused(ctx, await betby.settle("rollback", bet, new_id("rb")), 2004, "rollback after discard")
    await ctx.expect_wallet_total(betby.player, 10_000, "after the refused settlements")


async def discard_after_settlement(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet = new_id("bet")
    await betby.make(bet, 100)
    await betby.settle("win", bet, new_id("w"), 300)
    _refused(ctx, await betby.discard(bet), 2004, "discard after the win")
    await ctx.expect_wallet_total(betby.player, 10_200, "after the refused discard")


async def commit_moves_nothing(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet = new_id("bet")
    await betby.make(bet, 100)
    commit = build_commit(ctx, bet_transaction_id=bet, now_s=betby.now_s)
    _empty(ctx, await betby.send(commit), "commit")
    await ctx.expect_wallet_total(betby.player, 9_900, "after the commit")


async def concurrent_duplicate_makes(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet = new_id("bet")
    requests = [
        build_make(ctx, betby.player, transaction_id=bet, amount=100, now_s=betby.now_s)
        for _ in range(10)
    ]
    responses = await asyncio.gather(*(betby.send(request) for request in requests))
    for response in responses:
        _balance(ctx, response, 9_900, "one of ten concurrent makes")
    await ctx.expect_wallet_total(betby.player, 9_900, "after ten concurrent makes")


async def make_id_reused(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet = new_id("bet")
    await betby.make(bet, 100)
    _refused(ctx, await betby.make(bet, 200), 2004, "same make id, other amount")
    await ctx.expect_wallet_total(betby.player, 9_900, "after the conflicting make")


async def resettlements(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet = new_id("bet")
    await betby.make(bet, 100)
    await betby.settle("lost", bet, new_id("l"))
    _balance(ctx, await betby.settle("rollback", bet, new_id("rb")), 9_900, "rollback of lost")
    _balance(ctx, await betby.settle("win", bet, new_id("w"), 400), 10_300, "resettled as won")
    _balance(ctx, await betby.settle("rollback", bet, new_id("rb")), 9_900, "rollback of win")
    _balance(ctx, await betby.settle("win", bet, new_id("w"), 150), 10_050, "resettled as half-won")
    await ctx.expect_wallet_total(betby.player, 10_050, "after the resettlements")


async def rollback_names_its_settlement(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet, first, second = new_id("bet"), new_id("w"), new_id("w")
    await betby.make(bet, 100)
    await betby.settle("win", bet, first, 300)
    await betby.settle("rollback", bet, new_id("rb"), parent=first)
    await betby.settle("win", bet, second, 500)
    stale = await betby.settle("rollback", bet, new_id("rb"), parent=first)
    _refused(ctx, stale, 2004, "rollback naming an already reversed win")
    unknown = await betby.settle("rollback", bet, new_id("rb"), parent=new_id("w"))
    _refused(ctx, unknown, 2003, "rollback naming an unknown settlement")
    _balance(ctx, await betby.settle("rollback", bet, new_id("rb"), parent=second), 9_900, "rb")


async def rollback_into_debt(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet, spend = new_id("bet"), new_id("bet")
    await betby.make(bet, 100)
    await betby.settle("win", bet, new_id("w"), 10_000)
    _balance(ctx, await betby.make(spend, 19_900), 0, "spending the win")
    _balance(
        ctx, await betby.settle("rollback", bet, new_id("rb")), -10_000, "rollback of spent win"
    )
    _refused(ctx, await betby.make(new_id("bet"), 1), 2001, "make while in debt")
    await ctx.expect_wallet_total(betby.player, -10_000, "the recorded debt")


async def refund_returns_the_stake(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet = new_id("bet")
    await betby.make(bet, 300)
    _refused(ctx, await betby.settle("refund", bet, new_id("rf"), 200), 2004, "partial refund")
    refund = new_id("rf")
    answer = await betby.settle("refund", bet, refund, 300)
    _exactly(ctx, answer, _money_answer(betby.player, refund, bet, "refund", 300, 10_000), "refund")
    _balance(ctx, await betby.settle("rollback", bet, new_id("rb")), 9_700, "rollback of refund")
    await ctx.expect_wallet_total(betby.player, 9_700, "after the reversed refund")


async def settlement_closes_the_bet(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet, lost = new_id("bet"), new_id("l")
    await betby.make(bet, 100)
    _balance(ctx, await betby.settle("lost", bet, lost), 9_900, "zero win (lost)")
    _empty(ctx, await betby.settlement(bet, "lost"), "settlement")
    _empty(ctx, await betby.settlement(bet, "lost"), "repeated settlement")
    _refused(ctx, await betby.settle("rollback", bet, new_id("rb")), 2004, "rollback after final")
    _refused(ctx, await betby.settle("win", bet, new_id("w"), 500), 2004, "win after final")
    _balance(ctx, await betby.settle("lost", bet, lost), 9_900, "retry of the accepted lost")
    _refused(ctx, await betby.settlement(new_id("bet"), "won"), 2003, "settlement of unknown bet")
    await ctx.expect_wallet_total(betby.player, 9_900, "after the final settlement")


async def expired_session(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx, session_ttl_s=1)
    bet = new_id("bet")
    await betby.make(bet, 100)
    await betby.elapse(2)
    _refused(ctx, await betby.make(new_id("bet"), 100), 1007, "make with an expired session")
    _balance(ctx, await betby.settle("win", bet, new_id("w"), 250), 10_150, "win after expiry")
    await ctx.expect_wallet_total(betby.player, 10_150, "after the win")


async def session_and_currency_refusals(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    _refused(ctx, await betby.make(new_id("bet"), 100, session_id="nope"), 1007, "unknown session")
    euros = {"currency": "EUR"}
    _refused(ctx, await betby.make(new_id("bet"), 100, **euros), 2002, "make in EUR for USD")
    _refused(ctx, await betby.make(new_id("bet"), 100, currency="XXX"), 2002, "unknown currency")
    other = await ctx.new_player(currency="USD")
    session = {"session_id": other.session_token}
    _refused(ctx, await betby.make(new_id("bet"), 100, **session), 1007, "another player's session")
    await ctx.expect_wallet_total(betby.player, 10_000, "after the refusals")


async def amounts_are_integer_subunits(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    for amount in (1.5, 100.0, "100", -100, True, 0, 2**63):
        request = make_request(betby.player, transaction_id=new_id("bet"), amount=100)
        request["amount"] = request["transaction"]["amount"] = amount
        response = await betby.send(signed(ctx, "bet/make", request, now_s=betby.now_s))
        _refused(ctx, response, 2004, f"make with amount {amount!r}")
    bet = new_id("bet")
    await betby.make(bet, 100)
    win = settle_request(
        "win", bet_transaction_id=bet, transaction_id=new_id("w"), currency="USD", amount=250
    )
    win["amount"] = win["transaction"]["amount"] = 2.5
    response = await betby.send(signed(ctx, "bet/win", win, now_s=betby.now_s))
    _refused(ctx, response, 2004, "win of 2.5")
    await ctx.expect_wallet_total(betby.player, 9_900, "after the refused amounts")


async def bonus_bets_are_refused(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    for bonus_type in ("freebet_refund", "freebet_freemoney", "comboboost", "freebet_no_risk"):
        response = await betby.make(new_id("bet"), 100, bonus_type=bonus_type, bonus_id="bn-1")
        _refused(ctx, response, 2004, f"make with bonus_type {bonus_type}")
    await ctx.expect_wallet_total(betby.player, 10_000, "after the refused bonus makes")


# -- tokens ---------------------------------------------------------------------------------


async def forged_tokens(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    request = make_request(betby.player, transaction_id=new_id("bet"), amount=100)
    claims = claims_json(request, now_s=betby.now_s)
    other = signed_claims(ctx, "bet/make", claims, key=other_private_key(ctx))
    _refused(ctx, await betby.send(other), 2004, "token signed by another key")
    _refused(ctx, await betby.send(token_request("bet/make", forge_unsigned(claims))), 2004, "none")
    public = ctx.secrets.get("provider_public_key", b"")
    confused = token_request("bet/make", forge_hs256(claims, public))
    _refused(ctx, await betby.send(confused), 2004, "HS256 keyed with the public key")
    tampered = forge_tampered(sign_token(ctx, claims), claims.replace(b":100,", b":1,"))
    _refused(ctx, await betby.send(token_request("bet/make", tampered)), 2004, "tampered claims")
    no_token = WireRequest("POST", "bet/make", b'{"other":1}', {"Content-Type": CONTENT_TYPE})
    _refused(ctx, await betby.send(no_token), 2004, "no token")
    await ctx.expect_wallet_total(betby.player, 10_000, "after the forged tokens")


async def token_times_and_ids(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    skew_s = int(ctx.options.get("clock_skew_s", 30))
    age_s = int(ctx.options.get("max_token_age_s", 300))
    request = make_request(betby.player, transaction_id=new_id("bet"), amount=100)
    stale = signed(ctx, "bet/make", request, now_s=betby.now_s - age_s - 1, ttl_s=3_600)
    _refused(ctx, await betby.send(stale), 2004, "token older than max_token_age_s")
    future = signed(ctx, "bet/make", request, now_s=betby.now_s + skew_s + 5)
    _refused(ctx, await betby.send(future), 2004, "token issued in the future")
    expired = signed(ctx, "bet/make", request, now_s=betby.now_s - skew_s - 20, ttl_s=10)
    _refused(ctx, await betby.send(expired), 2004, "expired token")
    await ctx.expect_wallet_total(betby.player, 10_000, "after the refused tokens")
    if ctx.options.get("reject_reused_jti", True):
        jti = uuid.uuid4().hex
        first = signed(ctx, "bet/make", request, now_s=betby.now_s, jti=jti)
        _balance(ctx, await betby.send(first), 9_900, "first use of a jti")
        again = make_request(betby.player, transaction_id=new_id("bet"), amount=100)
        reused = signed(ctx, "bet/make", again, now_s=betby.now_s, jti=jti)
        _refused(ctx, await betby.send(reused), 2004, "second use of the jti")
        await ctx.expect_wallet_total(betby.player, 9_900, "after the reused jti")


async def unusual_claims_bytes(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    player, bet = betby.player, new_id("bet")
    fields = {
        "@JTI@": uuid.uuid4().hex,
        "@SESSION@": player.session_token,
        "@BET@": bet,
        "@CURRENCY@": player.currency,
        "@PLAYER@": player.player_id,
        "@IAT@": str(int(betby.now_s)),
    }
    text = UNUSUAL_CLAIMS
    for placeholder, value in fields.items():
        text = text.replace(placeholder, value)
    claims = text.replace("\n", "\r\n", 1).encode()
    token = sign_token(ctx, claims)
    body = ('{ "unknown": [1, 2],\n  "payload" :  "' + token + '" , "x": "é" }').encode()
    response = await betby.send(
        WireRequest("POST", "bet/make", body, {"Content-Type": CONTENT_TYPE})
    )
    _balance(ctx, response, 9_900, "make with unusual claims bytes")
    await ctx.expect_wallet_total(betby.player, 9_900, "after the unusual make")


async def token_bound_to_its_endpoint(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    bet = new_id("bet")
    await betby.make(bet, 100)
    request = settle_request(
        "win", bet_transaction_id=bet, transaction_id=new_id("w"), currency="USD", amount=100
    )
    moved = signed(ctx, "bet/refund", request, now_s=betby.now_s)
    _refused(ctx, await betby.send(moved), 2004, "a win's token posted to bet/refund")
    await ctx.expect_wallet_total(betby.player, 9_900, "after the misrouted token")


async def ping_and_unknown_endpoints(ctx: ScriptContext) -> None:
    betby = await _Betby.start(ctx)
    ctx.check(betby.now_s > 1_500_000_000, f"ping: expected unix seconds, got {betby.now_s}")
    unknown = signed(ctx, "bet/cashout", {"x": 1}, now_s=betby.now_s)
    response = await betby.send(unknown)
    ctx.check(response.status in (400, 404), f"unknown endpoint: got HTTP {response.status}")
    post_ping = WireRequest("POST", "ping", b"{}", {"Content-Type": CONTENT_TYPE})
    _refused(ctx, await betby.send(post_ping), 2004, "POST ping")


CASES: list[Case] = [
    Case("the F5 make and win answer the documented bodies", f5_make_and_win),
    Case("the F5 make over the balance is refused 2001 Not enough money", f5_make_over_balance),
    Case("the F5 win for an unknown bet is refused 2003", f5_win_for_unknown_bet),
    Case("the F5 repeated win answers the same body and pays once", f5_repeated_win),
    Case("the F5 rollback after the win takes it back and reopens the bet", f5_rollback_after_win),
    Case("the F5 discard before its make leaves a tombstone (2004)", f5_discard_before_make),
    Case(
        "a discard releases the stake and later settlements are refused", discard_releases_the_stake
    ),
    Case("a discard after the win is refused", discard_after_settlement),
    Case("a commit answers {} and moves nothing", commit_moves_nothing),
    Case("ten concurrent identical makes debit once", concurrent_duplicate_makes),
    Case("a make id reused with another amount is refused", make_id_reused),
    Case("resettlements reverse and replace the last settlement", resettlements),
    Case("a rollback may name the settlement it reverses", rollback_names_its_settlement),
    Case("a rollback of a spent win records a debt that refuses makes", rollback_into_debt),
    Case("a refund returns exactly the stake", refund_returns_the_stake),
    Case("settlement closes the bet for further settlement callbacks", settlement_closes_the_bet),
    Case("an expired session refuses makes but wins are paid", expired_session),
    Case(
        "unknown or foreign sessions and wrong currencies are refused",
        session_and_currency_refusals,
    ),
    Case("amounts must be positive integer subunits", amounts_are_integer_subunits),
    Case("bonus bets are refused as not supported", bonus_bets_are_refused),
    Case("forged, unsigned, alg-confused and tampered tokens are refused", forged_tokens),
    Case("stale, future, expired and reused tokens are refused", token_times_and_ids),
    Case(
        "unusual whitespace, key order, unicode and unknown fields are accepted",
        unusual_claims_bytes,
    ),
    Case("a token is bound to its endpoint by transaction.operation", token_bound_to_its_endpoint),
    Case("ping answers the wallet time; unknown endpoints are refused", ping_and_unknown_endpoints),
]
