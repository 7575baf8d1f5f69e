"""Conformance script for `gamegate` instances (the gateway's own protocol), plus its client.

`GamegateClient` is the provider side of `docs/protocols/gamegate.md`: it signs each
request with `sign_request` and checks every answer with `verify_response`, bound to the
request's nonce. It signs at the *wallet's* time, read from the timestamp of a signed
answer (every answer is signed, refusals included): a test wallet's clock is not the wall
clock, and a real one may drift.

Edge cases that do not apply to this protocol:
- resettlement: a casino protocol with no settle/resettle operation (sportsbook only);
- a bit-exact replay of the documented request vector: its literal ids (`p1`, `tok-1`)
  cannot be created through the operator API, so `the documented signing vector...`
  checks the helpers against the vector and `tests/adapters/test_gamegate.py` replays it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from adapters.conformance.kit import (
    Case,
    ConformanceFailure,
    PlayerFixture,
    ScriptContext,
    WireRequest,
    WireResponse,
    new_id,
)
from adapters.providers.gamegate_wire import (
    CONTENT_TYPE,
    DEFAULT_CLOCK_SKEW_S,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    new_nonce,
    request_signature,
    response_signature,
    sign_request,
    verify_response,
    wellformed_nonce,
)

__all__ = ["CASES", "KEY_SECRET", "Answer", "GamegateClient", "bet", "new_id", "rollback", "win"]

KEY_SECRET = "provider_hmac_key"  # noqa: S105 -- the name of the secret, not a secret
"""The provider's copy of the instance key (demo mode writes it next to `hmac_key`)."""
EUR_100 = 10_000
"""What `ctx.new_player()` funds, in EUR minor units."""
WINDOW_MARGIN_S = 60
"""How far outside the skew window the stale and future timestamps are."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A verified answer: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]


class GamegateClient:
    """Signs requests at the wallet's time and refuses any answer it cannot verify."""

    def __init__(self, ctx: ScriptContext) -> None:
        key = ctx.secrets.get(KEY_SECRET)
        if not key:
            raise ConformanceFailure(f"secret {KEY_SECRET} is missing (--secret {KEY_SECRET}=FILE)")
        self.ctx = ctx
        self.key = key
        self._offset_s = 0.0

    @classmethod
    async def connect(cls, ctx: ScriptContext) -> GamegateClient:
        client = cls(ctx)
        await client.sync_clock()
        return client

    async def sync_clock(self) -> None:
        """Read the wallet's time from its signed refusal of an unsigned request."""
        probe = WireRequest("POST", "balance", b"{}", {"Content-Type": CONTENT_TYPE})
        response = await self.ctx.send(probe)
        self.ctx.check(
            response.status == 401,
            f"unsigned probe: expected 401, got {response.status} {response.body[:200]!r}",
        )
        self._check_signed(response, nonce="", now_s=None)
        self._offset_s = int(response.headers[TIMESTAMP_HEADER.lower()]) - time.time()

    def now_s(self) -> int:
        """The wallet's current unix time as far as this client knows it."""
        return int(time.time() + self._offset_s)

    async def elapse(self, seconds: float) -> None:
        await self.ctx.elapse(seconds)
        await self.sync_clock()

    def sign(
        self,
        operation: str,
        body: bytes,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        key: bytes | None = None,
    ) -> WireRequest:
        """A POST of `body` to `operation`, signed (by default now, fresh nonce, our key)."""
        headers = sign_request(
            self.key if key is None else key,
            body,
            operation=operation,
            timestamp=self.now_s() if timestamp is None else timestamp,
            nonce=new_nonce() if nonce is None else nonce,
        )
        return WireRequest("POST", operation, body, headers)

    async def send(self, request: WireRequest) -> Answer:
        """Send; the answer must be JSON, signed over its bytes and our nonce."""
        response = await self.ctx.send(request)
        self._check_signed(response, nonce=wellformed_nonce(request.headers), now_s=self.now_s())
        content_type = response.headers.get("content-type", "")
        self.ctx.check(
            content_type.startswith(CONTENT_TYPE), f"expected JSON, got {content_type!r}"
        )
        body = response.json()
        self.ctx.check(isinstance(body, dict), f"expected a JSON object, got {response.body!r}")
        assert isinstance(body, dict)
        return Answer(response.status, body)

    async def call(self, operation: str, fields: Mapping[str, Any]) -> Answer:
        return await self.send(self.sign(operation, orjson.dumps(fields)))

    def _check_signed(self, response: WireResponse, *, nonce: str, now_s: float | None) -> None:
        self.ctx.check(
            verify_response(
                self.key, response.headers, response.body, request_nonce=nonce, now_s=now_s
            ),
            f"answer (HTTP {response.status}) is not signed for nonce {nonce!r} at the wallet's "
            f"time: headers {dict(response.headers)}",
        )


# -- request bodies ---------------------------------------------------------------


def bet(player: PlayerFixture, tx: str, round_id: str, amount: int, **extra: Any) -> dict[str, Any]:
    """A win's fields behind the session token: only money going out needs the session."""
    return {"session_token": player.session_token, **win(player, tx, round_id, amount, **extra)}


def win(player: PlayerFixture, tx: str, round_id: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "player_id": player.player_id,
        "transaction_id": tx,
        "round_id": round_id,
        "game_id": player.game_id,
        "currency": player.currency,
        "amount": amount,
        **extra,
    }


def rollback(player: PlayerFixture, tx: str, reference: str, **extra: Any) -> dict[str, Any]:
    return {
        "player_id": player.player_id,
        "transaction_id": tx,
        "reference_transaction_id": reference,
        **extra,
    }


# -- checks -----------------------------------------------------------------------


def _ok(ctx: ScriptContext, answer: Answer, what: str) -> dict[str, Any]:
    ctx.check(
        answer.status == 200 and answer.body.get("status") == "ok",
        f"{what}: expected HTTP 200 status ok, got {answer.status} {answer.body}",
    )
    return answer.body


def _refused(
    ctx: ScriptContext,
    answer: Answer,
    code: str,
    what: str,
    *,
    http: int = 200,
    balance: int | None = None,
    replay: bool | None = None,
) -> None:
    """A refusal with `code` at HTTP `http`; with `balance`, the real balance it shows."""
    body = answer.body
    ctx.check(
        answer.status == http and body.get("status") == "error" and body.get("code") == code,
        f"{what}: expected HTTP {http} {code}, got {answer.status} {body}",
    )
    ctx.check(isinstance(body.get("message"), str), f"{what}: a refusal has a message: {body}")
    ctx.check(body.get("retryable") is False, f"{what}: a final refusal is not retryable: {body}")
    if balance is not None:
        _balance_is(ctx, body, balance, what=what)
    if replay is not None:
        ctx.check(body.get("replay") is replay, f"{what}: expected replay {replay}, got {body}")


def _balance_is(
    ctx: ScriptContext, body: Mapping[str, Any], real: int, bonus: int = 0, *, what: str
) -> None:
    expected = {"currency": "EUR", "real": real, "bonus": bonus, "total": real + bonus}
    got = body.get("balance")
    ctx.check(got == expected, f"{what}: expected balance {expected}, got {got}")


def _applied(
    ctx: ScriptContext, answer: Answer, tx: str, real: int, *, what: str, replay: bool = False
) -> str:
    """A money answer for `tx`; its `wallet_transaction_id`."""
    body = _ok(ctx, answer, what)
    ctx.check(body.get("transaction_id") == tx, f"{what}: transaction_id not echoed: {body}")
    ctx.check(body.get("replay") is replay, f"{what}: expected replay {replay}, got {body}")
    wallet_tx = body.get("wallet_transaction_id")
    ctx.check(
        isinstance(wallet_tx, str) and wallet_tx != "", f"{what}: no wallet_transaction_id: {body}"
    )
    _balance_is(ctx, body, real, what=what)
    return str(wallet_tx)


async def _start(ctx: ScriptContext, **player: Any) -> tuple[GamegateClient, PlayerFixture]:
    return await GamegateClient.connect(ctx), await ctx.new_player(**player)


# -- cases: the happy path ----------------------------------------------------------


async def _authenticate(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx, bonus="5.00")
    body = _ok(ctx, await gg.call("authenticate", {"session_token": player.session_token}), "auth")
    shown = {k: body.get(k) for k in ("player_id", "currency", "game_id")}
    expected = {"player_id": player.player_id, "currency": "EUR", "game_id": player.game_id}
    ctx.check(shown == expected, f"authenticate: expected {expected}, got {body}")
    _balance_is(ctx, body, EUR_100, 500, what="authenticate")
    answer = await gg.call("authenticate", {"session_token": new_id("no-such-token")})
    _refused(ctx, answer, "session_invalid", "unknown token")


async def _balance(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    for fields in ({}, {"currency": "EUR"}):
        body = _ok(ctx, await gg.call("balance", {"player_id": player.player_id, **fields}), "bal")
        ctx.check(body.get("player_id") == player.player_id, f"balance names the player: {body}")
        _balance_is(ctx, body, EUR_100, what=f"balance {fields}")
    answer = await gg.call("balance", {"player_id": player.player_id, "currency": "USD"})
    _refused(ctx, answer, "currency_mismatch", "balance in USD", balance=EUR_100)
    answer = await gg.call("balance", {"player_id": new_id("nobody")})
    _refused(ctx, answer, "player_not_found", "unknown player")


async def _bet_win_close(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id, win_id = new_id("r"), new_id("bet"), new_id("win")
    bet_tx = _applied(
        ctx, await gg.call("bet", bet(player, bet_id, round_id, 250)), bet_id, 9_750, what="bet"
    )
    answer = await gg.call("win", win(player, win_id, round_id, 1_200, bet_transaction_id=bet_id))
    win_tx = _applied(ctx, answer, win_id, 10_950, what="win")
    ctx.check(bet_tx != win_tx, f"bet and win need distinct wallet ids, got {bet_tx}")
    close = {"player_id": player.player_id, "round_id": round_id, "game_id": player.game_id}
    body = _ok(ctx, await gg.call("close-round", close), "close-round")
    ctx.check(body.get("round_id") == round_id, f"close-round echoes the round: {body}")
    _balance_is(ctx, body, 10_950, what="close-round")
    _ok(ctx, await gg.call("close-round", close), "close-round again (idempotent)")
    await ctx.expect_wallet(player, 10_950)


async def _rollback_of_bet(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id, rb_id = new_id("r"), new_id("bet"), new_id("rb")
    await gg.call("bet", bet(player, bet_id, round_id, 250))
    request = rollback(player, rb_id, bet_id, round_id=round_id)
    answer = await gg.call("rollback", request)
    first = _applied(ctx, answer, rb_id, EUR_100, what="rollback")
    ctx.check(answer.body.get("reference_found") is True, f"reference found: {answer.body}")
    again = _applied(
        ctx, await gg.call("rollback", request), rb_id, EUR_100, what="replay", replay=True
    )
    ctx.check(first == again, f"a replayed rollback answers {first}, got {again}")
    answer = await gg.call("rollback", rollback(player, new_id("rb"), bet_id))
    _refused(ctx, answer, "already_rolled_back", "second rollback id for one bet", balance=EUR_100)
    answer = await gg.call(
        "win", win(player, new_id("win"), round_id, 500, bet_transaction_id=bet_id)
    )
    _refused(ctx, answer, "already_rolled_back", "win for a rolled-back bet", balance=EUR_100)
    await ctx.expect_wallet(player, EUR_100)


async def _rollback_of_win(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id, win_id = new_id("r"), new_id("bet"), new_id("win")
    await gg.call("bet", bet(player, bet_id, round_id, 100))
    await gg.call("win", win(player, win_id, round_id, 300, bet_transaction_id=bet_id))
    rb_id = new_id("rb")
    answer = await gg.call("rollback", rollback(player, rb_id, win_id))
    _applied(ctx, answer, rb_id, 9_900, what="rollback of a win")
    rb_id = new_id("rb")
    answer = await gg.call("rollback", rollback(player, rb_id, bet_id))
    _applied(ctx, answer, rb_id, EUR_100, what="rollback of the bet the reversed win settled")
    await ctx.expect_wallet(player, EUR_100)


async def _batch(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id, win_id = new_id("r"), new_id("bet"), new_id("win")
    batch = {
        "session_token": player.session_token,
        "player_id": player.player_id,
        "operations": [
            {"op": "bet", **_op(bet(player, bet_id, round_id, 100))},
            {"op": "win", **_op(win(player, win_id, round_id, 300, bet_transaction_id=bet_id,
                                    round_closed=True))},
        ],
    }  # fmt: skip
    body = _ok(ctx, await gg.call("batch", batch), "batch")
    _balance_is(ctx, body, 10_200, what="batch")
    results = body.get("results")
    ops = [(r.get("op"), r.get("transaction_id"), r.get("replay")) for r in results or []]
    ctx.check(ops == [("bet", bet_id, False), ("win", win_id, False)], f"batch results: {body}")
    again = _ok(ctx, await gg.call("batch", batch), "replayed batch")
    ctx.check(again.get("replay") is True, f"a replayed batch is a replay: {again}")
    same = [r.get("wallet_transaction_id") for r in again.get("results") or []]
    ctx.check(same == [r.get("wallet_transaction_id") for r in results or []], f"ids: {again}")
    await _batch_all_or_none(ctx, gg, player)


async def _batch_all_or_none(ctx: ScriptContext, gg: GamegateClient, player: PlayerFixture) -> None:
    """A refused operation applies none of its batch; the other ids stay free."""
    round_id, small, large = new_id("r"), new_id("bet"), new_id("bet")
    envelope = {"session_token": player.session_token, "player_id": player.player_id}
    operations = [
        {"op": "bet", **_op(bet(player, small, round_id, 50))},
        {"op": "bet", **_op(bet(player, large, round_id, 20_000))},
    ]
    answer = await gg.call("batch", {**envelope, "operations": operations})
    _refused(ctx, answer, "insufficient_funds", "batch above the balance", balance=10_200)
    await ctx.expect_wallet(player, 10_200)
    body = _ok(ctx, await gg.call("batch", {**envelope, "operations": operations[:1]}), "retry")
    _balance_is(ctx, body, 10_150, what="the refused batch's other bet, sent alone")
    duplicate = {**envelope, "operations": [operations[0], operations[0]]}
    answer = await gg.call("batch", duplicate)
    _refused(ctx, answer, "invalid_request", "batch with a repeated id", http=400)
    unsessioned = {"player_id": player.player_id, "operations": operations[1:]}
    answer = await gg.call("batch", unsessioned)
    _refused(ctx, answer, "invalid_request", "batch with a bet and no session", http=400)
    await ctx.expect_wallet(player, 10_150)


def _op(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A single operation's fields as a batch operation (no player or session)."""
    return {k: v for k, v in fields.items() if k not in ("player_id", "session_token")}


# -- cases: idempotency ---------------------------------------------------------------


async def _replays(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id, win_id = new_id("r"), new_id("bet"), new_id("win")
    request = bet(player, bet_id, round_id, 250)
    first = _applied(ctx, await gg.call("bet", request), bet_id, 9_750, what="bet")
    again = _applied(
        ctx, await gg.call("bet", request), bet_id, 9_750, what="re-signed bet", replay=True
    )
    ctx.check(first == again, f"a replayed bet answers {first}, got {again}")
    request = win(player, win_id, round_id, 400, bet_transaction_id=bet_id)
    first = _applied(ctx, await gg.call("win", request), win_id, 10_150, what="win")
    again = _applied(
        ctx, await gg.call("win", request), win_id, 10_150, what="re-signed win", replay=True
    )
    ctx.check(first == again, f"a replayed win answers {first}, got {again}")
    await ctx.expect_wallet(player, 10_150)


async def _conflicting_replay(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id = new_id("r"), new_id("bet")
    request = bet(player, bet_id, round_id, 100)
    first = _applied(ctx, await gg.call("bet", request), bet_id, 9_900, what="bet")
    for what, operation, fields in (
        ("same id, other amount", "bet", bet(player, bet_id, round_id, 200)),
        ("same id, other round", "bet", bet(player, bet_id, new_id("r"), 100)),
        ("same id as a win", "win", win(player, bet_id, round_id, 100)),
    ):
        answer = await gg.call(operation, fields)
        _refused(ctx, answer, "conflicting_replay", what, balance=9_900)
    again = _applied(ctx, await gg.call("bet", request), bet_id, 9_900, what="the id's first use",
                     replay=True)  # fmt: skip
    ctx.check(first == again, f"the id keeps its first meaning {first}, got {again}")
    await ctx.expect_wallet(player, 9_900)


async def _concurrent_duplicates(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    bet_id = new_id("bet")
    body = orjson.dumps(bet(player, bet_id, new_id("r"), 100))
    requests = [gg.sign("bet", body) for _ in range(10)]  # one body, ten signatures
    answers = await asyncio.gather(*(gg.send(request) for request in requests))
    ids = {_ok(ctx, a, "concurrent bet").get("wallet_transaction_id") for a in answers}
    ctx.check(len(ids) == 1, f"ten copies name one wallet transaction, got {ids}")
    fresh = [a.body for a in answers if a.body.get("replay") is False]
    ctx.check(len(fresh) == 1, f"exactly one copy applies, the rest replay: {len(fresh)} applied")
    for answer in answers:
        _balance_is(ctx, answer.body, 9_900, what="each concurrent copy")
    await ctx.expect_wallet(player, 9_900)


async def _insufficient_funds(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    request = bet(player, new_id("bet"), new_id("r"), EUR_100 + 1)
    answer = await gg.call("bet", request)
    _refused(ctx, answer, "insufficient_funds", "bet above the balance", balance=EUR_100,
             replay=False)  # fmt: skip
    answer = await gg.call("bet", request)
    _refused(ctx, answer, "insufficient_funds", "the same bet again: the stored refusal",
             balance=EUR_100, replay=True)  # fmt: skip
    await ctx.expect_wallet(player, EUR_100)


# -- cases: authenticity ----------------------------------------------------------------


async def _bad_signatures(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    bet_id = new_id("bet")
    body = orjson.dumps(bet(player, bet_id, new_id("r"), 100))
    valid = gg.sign("bet", body)
    headers = dict(valid.headers)
    unsigned = {"Content-Type": CONTENT_TYPE}
    attempts = {
        "no signing headers": WireRequest("POST", "bet", body, unsigned),
        "no signature header": _without(valid, SIGNATURE_HEADER),
        "another key": gg.sign("bet", body, key=b"not-the-instance-key"),
        "signature of other bytes": WireRequest("POST", "bet", body + b" ", headers),
        "signed for another operation": _to_path(gg.sign("win", body), "bet"),
        "empty signature": _with(gg.sign("bet", body), SIGNATURE_HEADER, ""),
        "timestamp not unix seconds": _with(gg.sign("bet", body), TIMESTAMP_HEADER, "now"),
        "nonce with a dot": _resigned(gg, body, nonce="abc.defgh"),
        "timestamp changed after signing": _with(
            gg.sign("bet", body), TIMESTAMP_HEADER, str(gg.now_s() + 1)
        ),
    }
    for what, request in attempts.items():
        _refused(ctx, await gg.send(request), "bad_signature", what, http=401)
    await ctx.expect_wallet(player, EUR_100)
    answer = await gg.send(gg.sign("bet", body))
    _applied(ctx, answer, bet_id, 9_900, what="the same bet, signed: its id stayed free")


async def _stale_timestamps(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    skew_s = int(ctx.options.get("clock_skew_s", DEFAULT_CLOCK_SKEW_S))
    bet_id = new_id("bet")
    body = orjson.dumps(bet(player, bet_id, new_id("r"), 100))
    for what, offset_s in (
        ("stale", -skew_s - WINDOW_MARGIN_S),
        ("future", skew_s + WINDOW_MARGIN_S),
    ):
        request = gg.sign("bet", body, timestamp=gg.now_s() + offset_s)
        _refused(ctx, await gg.send(request), "replayed_request", f"{what} timestamp", http=401)
    await ctx.expect_wallet(player, EUR_100)
    _applied(ctx, await gg.call("bet", orjson.loads(body)), bet_id, 9_900, what="fresh bet")


async def _reused_nonce(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    balance = gg.sign("balance", orjson.dumps({"player_id": player.player_id}))
    _ok(ctx, await gg.send(balance), "balance")
    _refused(ctx, await gg.send(balance), "replayed_request", "the same request again", http=401)
    nonce = new_nonce()
    first, second = new_id("bet"), new_id("bet")
    round_id = new_id("r")
    request = gg.sign("bet", orjson.dumps(bet(player, first, round_id, 100)), nonce=nonce)
    _applied(ctx, await gg.send(request), first, 9_900, what="bet")
    request = gg.sign("bet", orjson.dumps(bet(player, second, round_id, 100)), nonce=nonce)
    _refused(ctx, await gg.send(request), "replayed_request", "another bet, same nonce", http=401)
    await ctx.expect_wallet(player, 9_900)
    answer = await gg.call("bet", bet(player, second, round_id, 100))
    _applied(ctx, answer, second, 9_800, what="that bet with a fresh nonce: its id stayed free")


async def _response_signatures(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    request = gg.sign("balance", orjson.dumps({"player_id": player.player_id}))
    response = await ctx.send(request)
    nonce = request.headers[NONCE_HEADER]
    ctx.check(response.headers.get(NONCE_HEADER.lower()) == nonce, "the answer echoes the nonce")
    ctx.check(
        verify_response(gg.key, response.headers, response.body, request_nonce=nonce),
        "the answer verifies with the request's nonce",
    )
    for what, verified in (
        ("another request's nonce", verify_response(
            gg.key, response.headers, response.body, request_nonce=new_nonce())),
        ("a changed body", verify_response(
            gg.key, response.headers, response.body + b" ", request_nonce=nonce)),
        ("another key", verify_response(
            b"not-the-instance-key", response.headers, response.body, request_nonce=nonce)),
    ):  # fmt: skip
        ctx.check(not verified, f"the answer must not verify with {what}")
    signature = response.headers.get(SIGNATURE_HEADER.lower(), "")
    ctx.check(
        signature == signature.lower() and len(signature) == 64,
        f"the response signature is 64 lowercase hex characters, got {signature!r}",
    )
    # `gg.send` checks the signature of every answer; these are the kinds of answer.
    _refused(ctx, await gg.call("bet", bet(player, new_id("bet"), new_id("r"), EUR_100 * 2)),
             "insufficient_funds", "a business refusal (checked signed)")  # fmt: skip
    _refused(ctx, await gg.call("bet", {"player_id": player.player_id}), "invalid_request",
             "a malformed request (checked signed)", http=400)  # fmt: skip
    await ctx.expect_wallet(player, EUR_100)


def _without(request: WireRequest, header: str) -> WireRequest:
    headers = {k: v for k, v in request.headers.items() if k != header}
    return WireRequest(request.method, request.path, request.body, headers)


def _with(request: WireRequest, header: str, value: str) -> WireRequest:
    headers = {**request.headers, header: value}
    return WireRequest(request.method, request.path, request.body, headers)


def _to_path(request: WireRequest, path: str) -> WireRequest:
    return WireRequest(request.method, path, request.body, request.headers)


def _resigned(
    gg: GamegateClient, body: bytes, *, nonce: str, operation: str = "bet"
) -> WireRequest:
    """Signed by hand: `sign_request` refuses a malformed nonce or an unknown operation."""
    timestamp = str(gg.now_s())
    headers = {
        "Content-Type": CONTENT_TYPE,
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: request_signature(
            gg.key, body, timestamp=timestamp, nonce=nonce, operation=operation
        ),
    }
    return WireRequest("POST", operation, body, headers)


# -- cases: rollback and rounds -----------------------------------------------------------


async def _rollback_before_bet(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id, rb_id = new_id("r"), new_id("bet"), new_id("rb")
    request = rollback(player, rb_id, bet_id, round_id=round_id)
    answer = await gg.call("rollback", request)
    first = _applied(ctx, answer, rb_id, EUR_100, what="rollback of an unknown bet")
    ctx.check(answer.body.get("reference_found") is False, f"reference not found: {answer.body}")
    answer = await gg.call("bet", bet(player, bet_id, round_id, 100))
    _refused(ctx, answer, "already_rolled_back", "the late bet", balance=EUR_100)
    answer = await gg.call("rollback", request)
    again = _applied(ctx, answer, rb_id, EUR_100, what="the rollback again", replay=True)
    ctx.check(first == again, f"a replayed tombstone answers {first}, got {again}")
    ctx.check(answer.body.get("reference_found") is False, f"still not found: {answer.body}")
    await ctx.expect_wallet(player, EUR_100)


async def _rollback_after_settlement(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id = new_id("r"), new_id("bet")
    await gg.call("bet", bet(player, bet_id, round_id, 100))
    await gg.call("win", win(player, new_id("win"), round_id, 300, bet_transaction_id=bet_id))
    answer = await gg.call("rollback", rollback(player, new_id("rb"), bet_id))
    _refused(ctx, answer, "already_settled", "rollback of a bet its win settled", balance=10_200)
    answer = await gg.call(
        "win", win(player, new_id("win"), round_id, 70, bet_transaction_id=bet_id)
    )
    _refused(ctx, answer, "already_settled", "a second win naming a settled bet", balance=10_200)
    round_id, bet_id = new_id("r"), new_id("bet")
    await gg.call("bet", bet(player, bet_id, round_id, 100))
    await gg.call("win", win(player, new_id("win"), round_id, 50))  # a round-level win
    answer = await gg.call("rollback", rollback(player, new_id("rb"), bet_id))
    _refused(ctx, answer, "already_settled", "rollback after a round-level win", balance=10_150)
    await ctx.expect_wallet(player, 10_150)


async def _named_win_after_round_win(ctx: ScriptContext) -> None:
    """The doc: a round-level win settles every earlier bet of its round."""
    gg, player = await _start(ctx)
    round_id, bet_id = new_id("r"), new_id("bet")
    await gg.call("bet", bet(player, bet_id, round_id, 100))
    await gg.call("win", win(player, new_id("win"), round_id, 50))
    answer = await gg.call(
        "win", win(player, new_id("win"), round_id, 70, bet_transaction_id=bet_id)
    )
    _refused(
        ctx, answer, "already_settled", "a win naming a bet a round-level win settled",
        balance=9_950,
    )  # fmt: skip
    await ctx.expect_wallet(player, 9_950)


async def _bet_after_round_closed(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id = new_id("r"), new_id("bet")
    answer = await gg.call("bet", bet(player, bet_id, round_id, 100, round_closed=True))
    _applied(ctx, answer, bet_id, 9_900, what="a one-step round")
    answer = await gg.call("bet", bet(player, new_id("bet"), round_id, 100))
    _refused(ctx, answer, "round_closed", "bet in a round closed by its bet", balance=9_900)
    win_id = new_id("win")
    answer = await gg.call("win", win(player, win_id, round_id, 500, bet_transaction_id=bet_id))
    _applied(ctx, answer, win_id, 10_400, what="a win in a closed round is still paid")
    closed = new_id("r")
    close = {"player_id": player.player_id, "round_id": closed}
    _ok(ctx, await gg.call("close-round", close), "close-round of an unknown round")
    answer = await gg.call("bet", bet(player, new_id("bet"), closed, 100))
    _refused(ctx, answer, "round_closed", "bet in a round closed by close-round", balance=10_400)
    await ctx.expect_wallet(player, 10_400)


async def _zero_win_closes(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id, win_id = new_id("r"), new_id("bet"), new_id("win")
    await gg.call("bet", bet(player, bet_id, round_id, 100))
    answer = await gg.call(
        "win", win(player, win_id, round_id, 0, bet_transaction_id=bet_id, round_closed=True)
    )
    _applied(ctx, answer, win_id, 9_900, what="a zero win")
    answer = await gg.call("bet", bet(player, new_id("bet"), round_id, 100))
    _refused(ctx, answer, "round_closed", "bet after a zero win closed the round", balance=9_900)
    answer = await gg.call("rollback", rollback(player, new_id("rb"), bet_id))
    _refused(ctx, answer, "already_settled", "rollback of a bet a zero win settled", balance=9_900)
    await ctx.expect_wallet(player, 9_900)


async def _wins_without_bets(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    answer = await gg.call("win", win(player, new_id("win"), new_id("r"), 500))
    _refused(ctx, answer, "reference_not_found", "a win without a bet", balance=EUR_100)
    jackpot = new_id("jackpot")
    answer = await gg.call("win", win(player, jackpot, new_id("r"), 500, kind="jackpot"))
    _applied(ctx, answer, jackpot, 10_500, what="a jackpot needs no bet")
    await ctx.expect_wallet(player, 10_500)


async def _expired_session(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx, session_ttl_s=1)
    won_round, lost_round = new_id("r"), new_id("r")
    won_bet, lost_bet = new_id("bet"), new_id("bet")
    await gg.call("bet", bet(player, won_bet, won_round, 100))
    await gg.call("bet", bet(player, lost_bet, lost_round, 100))
    await gg.elapse(2)
    answer = await gg.call("bet", bet(player, new_id("bet"), new_id("r"), 100))
    _refused(ctx, answer, "session_expired", "bet after the session expired", balance=9_800)
    answer = await gg.call("authenticate", {"session_token": player.session_token})
    _refused(ctx, answer, "session_expired", "authenticate after expiry")
    win_id, rb_id = new_id("win"), new_id("rb")
    answer = await gg.call("win", win(player, win_id, won_round, 250, bet_transaction_id=won_bet))
    _applied(ctx, answer, win_id, 10_050, what="win after expiry")
    answer = await gg.call("rollback", rollback(player, rb_id, lost_bet))
    _applied(ctx, answer, rb_id, 10_150, what="rollback after expiry")
    await ctx.expect_wallet(player, 10_150)


# -- cases: the wire ------------------------------------------------------------------------


async def _unusual_bytes(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id, bet_id = f"r-\u00fc\u2603\U0001f352-{uuid.uuid4().hex[:8]}", new_id("bet")
    fields = bet(player, bet_id, round_id, 100)
    text = (
        '\r\n{ "amount" :100 ,\n\t"x-note": "fr\\u00fcit \u2603 \U0001f352 \\"quoted\\"",\n'
        '  "currency":"EUR", "extra": {"n": [1, 2.5e3, null, true], "s": "\u00e9"},\n'
        '  "round_id" : "@ROUND@", "game_id":"@GAME@", "transaction_id":"@TX@",\n'
        '  "player_id":"@PLAYER@",   "session_token":"@TOKEN@"  }\n\n'
    )
    for marker, value in (("@ROUND@", _json_escaped(round_id)), ("@GAME@", player.game_id),
                          ("@TX@", bet_id), ("@PLAYER@", player.player_id),
                          ("@TOKEN@", player.session_token)):  # fmt: skip
        text = text.replace(marker, value)
    body = text.encode()
    request = gg.sign("bet", body)
    upper = _with(request, SIGNATURE_HEADER, request.headers[SIGNATURE_HEADER].upper())
    first = _applied(ctx, await gg.send(upper), bet_id, 9_900, what="unusual bytes, upper hex")
    again = _applied(
        ctx, await gg.call("bet", fields), bet_id, 9_900, what="the same fields, compact",
        replay=True,
    )  # fmt: skip
    ctx.check(first == again, f"layout and unknown fields are not the payload: {first}, {again}")
    await ctx.expect_wallet(player, 9_900)


def _json_escaped(text: str) -> str:
    """`text` (no quotes or backslashes) as JSON string content, non-ASCII as `\\u` escapes."""
    return "".join(char if char.isascii() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


async def _malformed(ctx: ScriptContext) -> None:
    gg, player = await _start(ctx)
    round_id = new_id("r")
    prefix = orjson.dumps(bet(player, new_id("bet"), round_id, 0))[: -len(b',"amount":0}')]
    for raw in (
        b"2.5",
        b"250.0",
        b"2.5e2",
        b'"250"',
        b"-1",
        b"true",
        b"null",
        b"9223372036854775808",
    ):
        body = prefix + b',"amount":' + raw + b"}"
        _refused(ctx, await gg.send(gg.sign("bet", body)), "invalid_amount", f"amount {raw!r}",
                 http=400)  # fmt: skip
    for code in ("eur", "XXX"):
        answer = await gg.call("bet", bet(player, new_id("bet"), round_id, 100, currency=code))
        _refused(ctx, answer, "unknown_currency", f"currency {code}", http=400)
    same = new_id("rb")
    for what, request in (
        ("not JSON", gg.sign("bet", b'{"amount": ')),
        ("a JSON array", gg.sign("bet", b"[]")),
        ("a missing field", gg.sign("bet", orjson.dumps({"player_id": player.player_id}))),
        ("a rollback of itself", gg.sign("rollback", orjson.dumps(rollback(player, same, same)))),
        ("an unknown operation", _resigned(gg, b"{}", nonce=new_nonce(), operation="refund")),
        ("a GET", WireRequest("GET", "balance", b"", gg.sign("balance", b"").headers)),
    ):
        _refused(ctx, await gg.send(request), "invalid_request", what, http=400)
    await ctx.expect_wallet(player, EUR_100)


async def _documented_vector(ctx: ScriptContext) -> None:
    key, nonce = b"gamegate-test-vector-key", "5f2b9c1e8a7d4e60"
    body = (
        b'{"session_token":"tok-1","player_id":"p1","transaction_id":"bet-1","round_id":"r1",'
        b'"game_id":"g1","currency":"EUR","amount":250}'
    )
    headers = sign_request(key, body, operation="bet", timestamp=1_800_000_000, nonce=nonce)
    ctx.check(
        headers[SIGNATURE_HEADER]
        == "888c5969d9d7a74743ee1d323ce7a59dd7007e292295fc24852f41e44dacc548",
        f"request signature differs from docs/protocols/gamegate.md: {headers}",
    )
    answer = (
        b'{"status":"ok","transaction_id":"bet-1","wallet_transaction_id":"7","replay":false,'
        b'"balance":{"currency":"EUR","real":750,"bonus":0,"total":750}}'
    )
    signature = response_signature(key, answer, timestamp="1800000001", nonce=nonce)
    ctx.check(
        signature == "5c135ee6612c0c807d3ab5f87a0723eee178fef646930ea632192ade8663ed5e",
        f"response signature differs from docs/protocols/gamegate.md: {signature}",
    )
    shown = {TIMESTAMP_HEADER: "1800000001", NONCE_HEADER: nonce, SIGNATURE_HEADER: signature}
    ctx.check(verify_response(key, shown, answer, request_nonce=nonce), "vector verifies")
    gg, player = await _start(ctx)  # and the documented flow, with this case's own ids
    bet_id = new_id("bet")
    _applied(ctx, await gg.call("bet", bet(player, bet_id, new_id("r"), 250)), bet_id, 9_750,
             what="the vector's bet")  # fmt: skip


CASES: list[Case] = [
    Case("the documented signing vector holds and its bet flow works", _documented_vector),
    Case("authenticate answers the session's player, game and balance", _authenticate),
    Case("balance answers the wallet and refuses another currency", _balance),
    Case("a bet, its win and close-round settle the round", _bet_win_close),
    Case("a rollback reverses a bet exactly once", _rollback_of_bet),
    Case("a rollback of a win takes the payout back and reopens its bet", _rollback_of_win),
    Case("a batch applies in order, all or none, and replays as a whole", _batch),
    Case("a re-signed bet or win answers its stored outcome and moves money once", _replays),
    Case("an id reused with another payload is conflicting_replay", _conflicting_replay),
    Case("ten concurrent copies of one bet debit once", _concurrent_duplicates),
    Case("a bet above the balance is refused and the refusal is final", _insufficient_funds),
    Case("a missing, malformed or wrong signature is 401 and changes nothing", _bad_signatures),
    Case("a stale or future timestamp is 401 replayed_request", _stale_timestamps),
    Case("a reused nonce is 401 replayed_request and changes nothing", _reused_nonce),
    Case("every answer is signed over its bytes and the request's nonce", _response_signatures),
    Case("a rollback before its bet leaves a tombstone that refuses the bet", _rollback_before_bet),
    Case("a rollback of a settled bet is already_settled", _rollback_after_settlement),
    Case("a win naming a bet a round-level win settled is already_settled",
         _named_win_after_round_win),
    Case("a bet in a closed round is refused; its wins are still paid", _bet_after_round_closed),
    Case("a zero win settles and closes the round", _zero_win_closes),
    Case("a win needs its bet unless it is a jackpot", _wins_without_bets),
    Case("an expired session refuses bets but accepts wins and rollbacks", _expired_session),
    Case("the signature covers raw bytes: whitespace, key order, unicode, extra fields",
         _unusual_bytes),
    Case("malformed requests are 400 and change nothing", _malformed),
]  # fmt: skip
