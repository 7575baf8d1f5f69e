"""Conformance script for `softswiss` instances, plus the provider simulator that signs.

The builders (`build_play`, `build_bet`, `build_win`, `build_rollback`, `build_balance`,
`signed`) make requests exactly as SoftSwiss/BGaming sends them: compact JSON, integer
subunits, `X-REQUEST-SIGN` = hex HMAC-SHA256 of the body with `provider_auth_token`. The
load generator reuses them.

Edge cases that do not apply to this protocol:
- resettlement: a casino protocol with no settle/resettle operation (sportsbook only);
- replay windows: SoftSwiss signs no timestamp or nonce, so replayed bodies are handled
  by idempotency (the replay cases below) rather than refused;
- the F4 vector's literal ids (`user_id` "42", `session_id` "sess-1") cannot be created
  through the operator API, so `the F4 wire vector...` checks the documented HMACs over
  the exact bytes and then plays the vector's flow with the case's own player; the
  bit-exact request bytes are replayed in `tests/adapters/test_softswiss.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

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
from adapters.providers.softswiss_wire import SIGNATURE_HEADER, sign

__all__ = [
    "CASES",
    "F4_BET_BODY",
    "F4_BET_SIGNATURE",
    "F4_KEY",
    "F4_ROLLBACK_BODY",
    "F4_ROLLBACK_SIGNATURE",
    "bet",
    "build_balance",
    "build_bet",
    "build_play",
    "build_rollback",
    "build_win",
    "new_id",
    "signed",
    "win",
]

F4_KEY = b"s3cr3t"
F4_BET_BODY = (
    b'{"user_id":"42","session_id":"sess-1","currency":"EUR","game":"acme:fruit",'
    b'"game_id":"round-1","finished":false,"actions":[{"action":"bet","amount":100,'
    b'"action_id":"a-1"}]}'
)
F4_BET_SIGNATURE = "3fca2cb1c77aa89f32b2a3990573f77489a1d94fe55922191af37221df5f5fc0"
F4_ROLLBACK_BODY = (
    b'{"user_id":"42","session_id":"sess-1","currency":"EUR","game":"acme:fruit",'
    b'"game_id":"round-1","finished":true,"actions":[{"action":"rollback",'
    b'"action_id":"rb-1","original_action_id":"a-1"}]}'
)
F4_ROLLBACK_SIGNATURE = "3220231047687af9c70a09dee61731b90b959fc10e21fdad236b1c694ab99754"


# -- provider simulator ------------------------------------------------------------


def _key(source: Secrets) -> bytes:
    return secrets_of(source)["provider_auth_token"]


def signed(source: Secrets, path: str, body: bytes, *, signature: str | None = None) -> WireRequest:
    """A POST to `path` signed over exactly `body` (or carrying `signature` as given)."""
    value = sign(_key(source), body) if signature is None else signature
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: value}
    return WireRequest("POST", path, body, headers)


def bet(action_id: str, amount: int) -> dict[str, Any]:
    return {"action": "bet", "amount": amount, "action_id": action_id}


def win(action_id: str, amount: int) -> dict[str, Any]:
    return {"action": "win", "amount": amount, "action_id": action_id}


def _envelope(player: PlayerFixture, round_id: str | None, finished: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_id": player.player_id,
        "session_id": player.session_token,
        "currency": player.currency,
        "game": player.game_id,
    }
    if round_id is not None:
        body["game_id"] = round_id
    body["finished"] = finished
    return body


def build_play(
    source: Secrets,
    player: PlayerFixture,
    *,
    round_id: str | None,
    actions: Sequence[Mapping[str, Any]] = (),
    finished: bool = False,
    fields: Mapping[str, Any] | None = None,
) -> WireRequest:
    """A `/play` request; `fields` override or add top-level fields (e.g. `currency`)."""
    body = _envelope(player, round_id, finished)
    if actions:
        body["actions"] = list(actions)
    body.update(fields or {})
    return signed(source, "play", orjson.dumps(body))


def build_bet(
    source: Secrets,
    player: PlayerFixture,
    *,
    action_id: str,
    amount: int,
    round_id: str,
    finished: bool = False,
) -> WireRequest:
    return build_play(
        source, player, round_id=round_id, actions=[bet(action_id, amount)], finished=finished
    )


def build_win(
    source: Secrets,
    player: PlayerFixture,
    *,
    action_id: str,
    amount: int,
    round_id: str,
    finished: bool = True,
) -> WireRequest:
    return build_play(
        source, player, round_id=round_id, actions=[win(action_id, amount)], finished=finished
    )


def build_balance(source: Secrets, player: PlayerFixture) -> WireRequest:
    return build_play(source, player, round_id=None)


def build_rollback(
    source: Secrets,
    player: PlayerFixture,
    *,
    action_id: str,
    original_action_id: str,
    round_id: str,
    finished: bool = True,
) -> WireRequest:
    body = _envelope(player, round_id, finished)
    body["actions"] = [
        {"action": "rollback", "action_id": action_id, "original_action_id": original_action_id}
    ]
    return signed(source, "rollback", orjson.dumps(body))


# -- checks ----------------------------------------------------------------------


def _business_status(ctx: ScriptContext) -> int:
    status = ctx.options.get("business_error_http_status", 412)
    assert isinstance(status, int)
    return status


def _ok(ctx: ScriptContext, response: WireResponse, what: str) -> dict[str, Any]:
    ctx.check(response.status == 200, f"{what}: expected HTTP 200, got {response.status}")
    body = response.json()
    ctx.check(isinstance(body, dict), f"{what}: expected a JSON object, got {body!r}")
    assert isinstance(body, dict)
    return body


def _balance_is(ctx: ScriptContext, body: dict[str, Any], expected: int, what: str) -> None:
    got = body.get("balance")
    ctx.check(
        type(got) is int and got == expected, f"{what}: expected balance {expected}, got {got!r}"
    )


def _refused(
    ctx: ScriptContext,
    response: WireResponse,
    code: int,
    what: str,
    *,
    balance: int | bool | None = False,
) -> None:
    """A refusal with `code` (HTTP status by the protocol's rule); `balance` if not False."""
    expected_status = code if code in (400, 403, 404, 500, 503) else _business_status(ctx)
    ctx.check(
        response.status == expected_status,
        f"{what}: expected HTTP {expected_status}, got {response.status}",
    )
    body = response.json()
    ctx.check(
        isinstance(body, dict) and body.get("code") == code,
        f"{what}: expected code {code}, got {body!r}",
    )
    ctx.check(isinstance(body.get("message"), str), f"{what}: expected a message, got {body!r}")
    if balance is not False:
        got = body.get("balance")
        ctx.check(
            got == balance and type(got) is type(balance),
            f"{what}: expected balance {balance!r}, got {got!r}",
        )


def _tx_ids(ctx: ScriptContext, body: dict[str, Any], action_ids: Sequence[str]) -> list[str]:
    transactions = body.get("transactions")
    ctx.check(isinstance(transactions, list), f"expected transactions, got {body!r}")
    assert isinstance(transactions, list)
    got_ids = [t.get("action_id") for t in transactions]
    ctx.check(got_ids == list(action_ids), f"expected actions {action_ids}, got {got_ids}")
    for t in transactions:
        ctx.check(
            isinstance(t.get("tx_id"), str) and t["tx_id"] != "",
            f"expected a non-empty tx_id string, got {t!r}",
        )
        ctx.check(
            isinstance(t.get("processed_at"), str) and t["processed_at"].endswith("Z"),
            f"expected an ISO-8601 UTC processed_at, got {t!r}",
        )
    return [str(t["tx_id"]) for t in transactions]


async def _fresh_rollback(
    ctx: ScriptContext,
    player: PlayerFixture,
    original: str,
    round_id: str,
    *,
    finished: bool = True,
) -> WireResponse:
    """Roll back `original` under a new rollback id."""
    request = build_rollback(
        ctx,
        player,
        action_id=new_id("rb"),
        original_action_id=original,
        round_id=round_id,
        finished=finished,
    )
    return await ctx.send(request)


# -- cases -----------------------------------------------------------------------


async def _balance_request(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    body = _ok(ctx, await ctx.send(build_balance(ctx, player)), "balance")
    ctx.check(body == {"balance": 10000}, f"expected exactly {{'balance': 10000}}, got {body}")


async def _f4_vector(ctx: ScriptContext) -> None:
    ctx.check(len(F4_BET_BODY) == 172, f"F4 bet body is 172 bytes, got {len(F4_BET_BODY)}")
    ctx.check(
        sign(F4_KEY, F4_BET_BODY) == F4_BET_SIGNATURE, "F4 bet HMAC differs from protocols.md"
    )
    ctx.check(
        sign(F4_KEY, F4_ROLLBACK_BODY) == F4_ROLLBACK_SIGNATURE,
        "F4 rollback HMAC differs from protocols.md",
    )
    player = await ctx.new_player()
    round_id, bet_id, rollback_id = new_id("round"), new_id("a"), new_id("rb")
    response = await ctx.send(
        build_bet(ctx, player, action_id=bet_id, amount=100, round_id=round_id)
    )
    body = _ok(ctx, response, "F4 bet")
    _balance_is(ctx, body, 9900, "F4 bet")
    ctx.check(body.get("game_id") == round_id, f"F4 bet echoes game_id, got {body!r}")
    _tx_ids(ctx, body, [bet_id])
    response = await ctx.send(
        build_rollback(
            ctx, player, action_id=rollback_id, original_action_id=bet_id, round_id=round_id
        )
    )
    body = _ok(ctx, response, "F4 rollback")
    _balance_is(ctx, body, 10000, "F4 rollback")
    ctx.check(body.get("game_id") == round_id, f"F4 rollback echoes game_id, got {body!r}")
    _tx_ids(ctx, body, [rollback_id])
    await ctx.expect_wallet(player, 10000)


async def _bet_then_win(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, bet_id, win_id = new_id("round"), new_id("a"), new_id("w")
    response = await ctx.send(
        build_bet(ctx, player, action_id=bet_id, amount=100, round_id=round_id)
    )
    _balance_is(ctx, _ok(ctx, response, "bet"), 9900, "bet")
    response = await ctx.send(
        build_win(ctx, player, action_id=win_id, amount=250, round_id=round_id)
    )
    body = _ok(ctx, response, "win")
    _balance_is(ctx, body, 10150, "win")
    _tx_ids(ctx, body, [win_id])
    await ctx.expect_wallet(player, 10150)


async def _bet_and_win_together(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, bet_id, win_id = new_id("round"), new_id("a"), new_id("w")
    request = build_play(
        ctx, player, round_id=round_id, actions=[bet(bet_id, 100), win(win_id, 300)], finished=True
    )
    body = _ok(ctx, await ctx.send(request), "bet+win")
    _balance_is(ctx, body, 10200, "bet+win")
    tx_ids = _tx_ids(ctx, body, [bet_id, win_id])
    ctx.check(len(set(tx_ids)) == 2, f"bet and win need distinct tx_ids, got {tx_ids}")
    await ctx.expect_wallet(player, 10200)


async def _refused_bet_applies_nothing(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    await ctx.send(build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=round_id))
    response = await ctx.send(
        build_bet(ctx, player, action_id=new_id("a"), amount=10000, round_id=round_id)
    )
    _refused(ctx, response, 100, "bet above balance", balance=9900)
    request = build_play(
        ctx,
        player,
        round_id=new_id("round"),
        actions=[bet(new_id("a"), 20000), win(new_id("w"), 50000)],
        finished=True,
    )
    _refused(ctx, await ctx.send(request), 100, "bet+win above balance", balance=9900)
    _refused(ctx, await ctx.send(request), 100, "retried bet+win above balance", balance=9900)
    await ctx.expect_wallet(player, 9900)


async def _bad_signatures(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    request = build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=new_id("round"))
    unsigned = WireRequest("POST", "play", request.body, {"Content-Type": "application/json"})
    attempts = {
        "missing signature": unsigned,
        "signature with another key": signed(
            {"provider_auth_token": b"not-the-key"}, "play", request.body
        ),
        "signature of other bytes": signed(
            ctx, "play", request.body + b" ", signature=request.headers[SIGNATURE_HEADER]
        ),
        "empty signature": signed(ctx, "play", request.body, signature=""),
    }
    for what, attempt in attempts.items():
        response = await ctx.send(attempt)
        _refused(ctx, response, 403, what, balance=None)
        ctx.check(response.json().get("message") == "Forbidden", f"{what}: message is 'Forbidden'")
    await ctx.expect_wallet(player, 10000)


async def _replayed_bet(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    bet_id = new_id("a")
    request = build_bet(ctx, player, action_id=bet_id, amount=100, round_id=new_id("round"))
    first = _tx_ids(ctx, _ok(ctx, await ctx.send(request), "bet"), [bet_id])
    body = _ok(ctx, await ctx.send(request), "replayed bet")
    _balance_is(ctx, body, 9900, "replayed bet")
    again = _tx_ids(ctx, body, [bet_id])
    ctx.check(first == again, f"a replay answers the original tx_id {first}, got {again}")
    await ctx.expect_wallet(player, 9900)


async def _concurrent_duplicates(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    bet_id = new_id("a")
    request = build_bet(ctx, player, action_id=bet_id, amount=100, round_id=new_id("round"))
    responses = await ctx.send_copies(request, 10)
    tx_ids = {tuple(_tx_ids(ctx, _ok(ctx, r, "concurrent bet"), [bet_id])) for r in responses}
    ctx.check(len(tx_ids) == 1, f"ten copies name one transaction, got {tx_ids}")
    await ctx.expect_wallet(player, 9900)


async def _duplicate_win(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, win_id = new_id("round"), new_id("w")
    await ctx.send(build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=round_id))
    request = build_win(ctx, player, action_id=win_id, amount=500, round_id=round_id)
    first = _tx_ids(ctx, _ok(ctx, await ctx.send(request), "win"), [win_id])
    body = _ok(ctx, await ctx.send(request), "duplicate win")
    _balance_is(ctx, body, 10400, "duplicate win")
    ctx.check(_tx_ids(ctx, body, [win_id]) == first, "a duplicate win answers its tx_id")
    await ctx.expect_wallet(player, 10400)


async def _same_id_other_payload(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, bet_id = new_id("round"), new_id("a")
    await ctx.send(build_bet(ctx, player, action_id=bet_id, amount=100, round_id=round_id))
    response = await ctx.send(
        build_bet(ctx, player, action_id=bet_id, amount=200, round_id=round_id)
    )
    _refused(ctx, response, 155, "same action_id, other amount", balance=9900)
    response = await ctx.send(
        build_win(ctx, player, action_id=bet_id, amount=100, round_id=round_id, finished=False)
    )
    _refused(ctx, response, 155, "bet's action_id reused for a win", balance=9900)
    await ctx.expect_wallet(player, 9900)


async def _rollback_before_bet(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, bet_id, rollback_id = new_id("round"), new_id("a"), new_id("rb")
    request = build_rollback(
        ctx, player, action_id=rollback_id, original_action_id=bet_id, round_id=round_id,
        finished=False,
    )  # fmt: skip
    body = _ok(ctx, await ctx.send(request), "rollback of an unknown action")
    _balance_is(ctx, body, 10000, "rollback of an unknown action")
    first = _tx_ids(ctx, body, [rollback_id])
    again = _tx_ids(ctx, _ok(ctx, await ctx.send(request), "repeated rollback"), [rollback_id])
    ctx.check(first == again, f"a repeated rollback answers tx_id {first}, got {again}")
    response = await ctx.send(
        build_bet(ctx, player, action_id=bet_id, amount=100, round_id=round_id)
    )
    _refused(ctx, response, 400, "bet after its rollback", balance=10000)
    await ctx.expect_wallet(player, 10000)


async def _rollback_reverses_once(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, bet_id, rollback_id = new_id("round"), new_id("a"), new_id("rb")
    await ctx.send(build_bet(ctx, player, action_id=bet_id, amount=300, round_id=round_id))
    request = build_rollback(
        ctx, player, action_id=rollback_id, original_action_id=bet_id, round_id=round_id
    )
    first = _tx_ids(ctx, _ok(ctx, await ctx.send(request), "rollback"), [rollback_id])
    body = _ok(ctx, await ctx.send(request), "duplicate rollback")
    _balance_is(ctx, body, 10000, "duplicate rollback")
    ctx.check(_tx_ids(ctx, body, [rollback_id]) == first, "a duplicate rollback answers its tx_id")
    response = await _fresh_rollback(ctx, player, bet_id, round_id)
    _refused(ctx, response, 400, "second rollback id for one bet", balance=10000)
    await ctx.expect_wallet(player, 10000)


async def _rollback_of_win(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, win_id = new_id("round"), new_id("w")
    await ctx.send(build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=round_id))
    await ctx.send(
        build_win(ctx, player, action_id=win_id, amount=300, round_id=round_id, finished=False)
    )
    response = await _fresh_rollback(ctx, player, win_id, round_id)
    _balance_is(ctx, _ok(ctx, response, "rollback of a win"), 9900, "rollback of a win")
    await ctx.expect_wallet(player, 9900)


async def _cancel_after_settlement(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, bet_id = new_id("round"), new_id("a")
    await ctx.send(build_bet(ctx, player, action_id=bet_id, amount=100, round_id=round_id))
    await ctx.send(
        build_win(ctx, player, action_id=new_id("w"), amount=300, round_id=round_id, finished=False)
    )
    response = await _fresh_rollback(ctx, player, bet_id, round_id)
    _refused(ctx, response, 400, "rollback of a settled bet", balance=10200)
    await ctx.expect_wallet(player, 10200)


async def _bet_after_round_closed(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    request = build_play(
        ctx,
        player,
        round_id=round_id,
        actions=[bet(new_id("a"), 100), win(new_id("w"), 0)],
        finished=True,
    )
    _balance_is(ctx, _ok(ctx, await ctx.send(request), "lost round"), 9900, "lost round")
    response = await ctx.send(
        build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=round_id)
    )
    _refused(ctx, response, 400, "bet in a finished round", balance=9900)
    await ctx.expect_wallet(player, 9900)


async def _zero_win_closes(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, bet_id = new_id("round"), new_id("a")
    await ctx.send(build_bet(ctx, player, action_id=bet_id, amount=100, round_id=round_id))
    response = await ctx.send(
        build_win(ctx, player, action_id=new_id("w"), amount=0, round_id=round_id)
    )
    _balance_is(ctx, _ok(ctx, response, "zero win"), 9900, "zero win")
    response = await _fresh_rollback(ctx, player, bet_id, round_id)
    _refused(ctx, response, 400, "rollback of a bet settled by a zero win", balance=9900)
    response = await ctx.send(
        build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=round_id)
    )
    _refused(ctx, response, 400, "bet after a zero win closed the round", balance=9900)
    await ctx.expect_wallet(player, 9900)


async def _finished_without_actions(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    await ctx.send(build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=round_id))
    body = _ok(
        ctx, await ctx.send(build_play(ctx, player, round_id=round_id, finished=True)), "close"
    )
    ctx.check(body == {"balance": 9900, "game_id": round_id}, f"close answers balance, got {body}")
    response = await ctx.send(
        build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=round_id)
    )
    _refused(ctx, response, 400, "bet after finished", balance=9900)
    await ctx.expect_wallet(player, 9900)


async def _second_bet_in_round(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    await ctx.send(build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=round_id))
    response = await ctx.send(
        build_bet(ctx, player, action_id=new_id("a"), amount=200, round_id=round_id)
    )
    _balance_is(ctx, _ok(ctx, response, "second bet"), 9700, "second bet")
    response = await ctx.send(
        build_win(ctx, player, action_id=new_id("w"), amount=1000, round_id=round_id)
    )
    _balance_is(ctx, _ok(ctx, response, "win of two bets"), 10700, "win of two bets")
    await ctx.expect_wallet(player, 10700)


async def _expired_session(ctx: ScriptContext) -> None:
    player = await ctx.new_player(session_ttl_s=1)
    won_round, lost_round = new_id("round"), new_id("round")
    lost_bet = new_id("a")
    await ctx.send(build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=won_round))
    await ctx.send(build_bet(ctx, player, action_id=lost_bet, amount=100, round_id=lost_round))
    await ctx.elapse(2)
    response = await ctx.send(
        build_bet(ctx, player, action_id=new_id("a"), amount=100, round_id=new_id("round"))
    )
    _refused(ctx, response, 101, "bet after session expiry", balance=9800)
    response = await ctx.send(
        build_win(ctx, player, action_id=new_id("w"), amount=250, round_id=won_round)
    )
    _balance_is(ctx, _ok(ctx, response, "win after expiry"), 10050, "win after expiry")
    response = await _fresh_rollback(ctx, player, lost_bet, lost_round)
    _balance_is(ctx, _ok(ctx, response, "rollback after expiry"), 10150, "rollback after expiry")
    await ctx.expect_wallet(player, 10150)


async def _win_without_bet(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    response = await ctx.send(
        build_win(ctx, player, action_id=new_id("w"), amount=500, round_id=new_id("round"))
    )
    _refused(ctx, response, 404, "win without a bet", balance=10000)
    await ctx.expect_wallet(player, 10000)
    fields = ctx.options.get("free_round_fields", ["issue_id"])
    if not fields:
        return  # the instance accepts no win without a bet: nothing more to check
    request = build_play(
        ctx,
        player,
        round_id=new_id("round"),
        actions=[win(new_id("w"), 500)],
        finished=True,
        fields={fields[0]: new_id("issue")},
    )
    _balance_is(ctx, _ok(ctx, await ctx.send(request), "free-spin win"), 10500, "free-spin win")
    await ctx.expect_wallet_total(player, 10500, "free-spin win paid once")


async def _win_after_rollback(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, bet_id = new_id("round"), new_id("a")
    await ctx.send(build_bet(ctx, player, action_id=bet_id, amount=100, round_id=round_id))
    await _fresh_rollback(ctx, player, bet_id, round_id, finished=False)
    response = await ctx.send(
        build_win(ctx, player, action_id=new_id("w"), amount=500, round_id=round_id)
    )
    _refused(ctx, response, 404, "win after its round's only bet was rolled back", balance=10000)
    await ctx.expect_wallet(player, 10000)


async def _bad_amounts(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    for raw in (
        b"1.5",
        b"100.0",
        b"1e2",
        b'"100"',
        b"-100",
        b"true",
        b"null",
        b"9223372036854775808",
    ):
        envelope = _envelope(player, round_id, False)
        body = orjson.dumps(envelope)[:-1] + (
            b',"actions":[{"action":"bet","amount":' + raw + b',"action_id":"'
            + new_id("a").encode() + b'"}]}'
        )  # fmt: skip
        response = await ctx.send(signed(ctx, "play", body))
        _refused(ctx, response, 400, f"amount {raw.decode()}", balance=None)
    await ctx.expect_wallet(player, 10000)


async def _bad_currencies(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    for code in ("XXX", "USD"):
        request = build_play(
            ctx,
            player,
            round_id=new_id("round"),
            actions=[bet(new_id("a"), 100)],
            fields={"currency": code},
        )
        _refused(ctx, await ctx.send(request), 154, f"currency {code}", balance=None)
    await ctx.expect_wallet(player, 10000)


async def _currency_exponents(ctx: ScriptContext) -> None:
    for currency, real, subunits in (("JPY", "10000", 10000), ("KWD", "100.000", 100000),
                                     ("BTC", "1", 100_000_000)):  # fmt: skip
        player = await ctx.new_player(currency=currency, real=real)
        body = _ok(ctx, await ctx.send(build_balance(ctx, player)), f"{currency} balance")
        _balance_is(ctx, body, subunits, f"{currency} balance")
        response = await ctx.send(
            build_bet(ctx, player, action_id=new_id("a"), amount=1, round_id=new_id("round"))
        )
        _balance_is(ctx, _ok(ctx, response, f"{currency} bet"), subunits - 1, f"{currency} bet")
        await ctx.expect_wallet(player, subunits - 1)


async def _bad_sessions(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    other = await ctx.new_player()
    for what, fields in (
        ("unknown session", {"session_id": new_id("sess")}),
        ("another player's session", {"session_id": other.session_token}),
    ):
        request = build_play(
            ctx, player, round_id=new_id("round"), actions=[bet(new_id("a"), 100)], fields=fields
        )
        _refused(ctx, await ctx.send(request), 101, what, balance=None)
    await ctx.expect_wallet(player, 10000)
    await ctx.expect_wallet(other, 10000)


async def _signature_over_raw_bytes(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, bet_id = new_id("round"), new_id("a")
    text = (
        '{\n  "actions" : [ { "jackpot_contribution" : 0.0015, "action_id" : "@BET_ID@",\n'
        '    "amount" : 100 , "action" : "bet", "meta": {"x": [1, 2.5, null]} } ],\n'
        '\t"finished":false, "game_id":"@ROUND_ID@",\n'
        '  "game" : "acme:fr\\u00fcit \u2603 \U0001f352",\n'
        '  "currency":"EUR","session_id":"@SESSION@","user_id":"@USER@",\n'
        '  "unknown_field": {"a": "\u00e9"}\n}\n'
    )
    body = (
        text.replace("@BET_ID@", bet_id)
        .replace("@ROUND_ID@", round_id)
        .replace("@SESSION@", player.session_token)
        .replace("@USER@", player.player_id)
        .encode()
    )
    request = signed(ctx, "play", body, signature=sign(_key(ctx), body).upper())
    body_json = _ok(ctx, await ctx.send(request), "unusual bytes, upper-case hex signature")
    _balance_is(ctx, body_json, 9900, "unusual bytes")
    _tx_ids(ctx, body_json, [bet_id])
    await ctx.expect_wallet(player, 9900)


async def _freespins_ack(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    body = orjson.dumps(
        {"session_id": player.session_token, "issue_id": new_id("issue"), "status": "played",
         "total_amount": 1500}
    )  # fmt: skip
    reply = _ok(ctx, await ctx.send(signed(ctx, "freespins", body)), "freespins")
    ctx.check(reply.get("balance") == 10000, f"freespins acknowledges with balance, got {reply}")
    await ctx.expect_wallet(player, 10000)


async def _malformed_requests(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    for what, body in (
        ("not JSON", b'{"user_id": '),
        ("a JSON array", b"[]"),
        ("missing session_id", orjson.dumps({"user_id": player.player_id, "currency": "EUR"})),
        ("action without id", orjson.dumps(
            _envelope(player, new_id("round"), False)
            | {"actions": [{"action": "bet", "amount": 1}]}
        )),
        ("unknown action", orjson.dumps(
            _envelope(player, new_id("round"), False)
            | {"actions": [{"action": "refund", "amount": 1, "action_id": new_id("a")}]}
        )),
    ):  # fmt: skip
        _refused(ctx, await ctx.send(signed(ctx, "play", body)), 400, what, balance=None)
    response = await ctx.send(signed(ctx, "no-such-path", b"{}"))
    _refused(ctx, response, 404, "unknown path", balance=None)
    await ctx.expect_wallet(player, 10000)


CASES: list[Case] = [
    Case("balance request answers the balance in subunits without transactions", _balance_request),
    Case("the F4 wire vector's HMACs match and its bet and rollback flow works", _f4_vector),
    Case("a bet and then a finishing win settle the round", _bet_then_win),
    Case("a bet and a win in one request apply together", _bet_and_win_together),
    Case(
        "a bet above the balance is code 100 with the balance and applies nothing",
        _refused_bet_applies_nothing,
    ),
    Case("a missing or wrong signature is a 403 and moves nothing", _bad_signatures),
    Case("a replayed bet answers its original tx_id and debits once", _replayed_bet),
    Case("ten concurrent copies of one bet debit once", _concurrent_duplicates),
    Case("a duplicate win credits once", _duplicate_win),
    Case("an action id reused with another payload is code 155", _same_id_other_payload),
    Case("a rollback before its bet succeeds and the late bet is refused", _rollback_before_bet),
    Case("a rollback reverses a bet exactly once", _rollback_reverses_once),
    Case("a rollback of a win takes the payout back", _rollback_of_win),
    Case("a rollback of a bet settled by a win is refused", _cancel_after_settlement),
    Case("a bet in a finished round is refused", _bet_after_round_closed),
    Case("a zero win settles and closes the round", _zero_win_closes),
    Case("finished without actions closes the round", _finished_without_actions),
    Case("a second bet in the same round is accepted", _second_bet_in_round),
    Case("an expired session refuses bets but accepts wins and rollbacks", _expired_session),
    Case("a win without a bet is refused unless it is a free-spin win", _win_without_bet),
    Case("a win after the round's bet was rolled back is refused", _win_after_rollback),
    Case("amounts must be non-negative integer subunits", _bad_amounts),
    Case("an unknown or mismatched currency is code 154", _bad_currencies),
    Case("subunits follow each currency's exponent", _currency_exponents),
    Case("an unknown or foreign session is code 101", _bad_sessions),
    Case(
        "the signature covers raw bytes: whitespace, key order, unicode, extra fields",
        _signature_over_raw_bytes,
    ),
    Case("a freespins notification is acknowledged and moves no money", _freespins_ack),
    Case("malformed bodies are a 400 and unknown paths a 404", _malformed_requests),
]
