"""Conformance script for `pragmatic` instances, plus the provider simulator that signs.

The builders (`build_authenticate`, `build_balance`, `build_bet`, `build_result`,
`build_refund`, `build_bonus_win`, `build_jackpot_win`, `build_promo_win`,
`build_end_round`, and `build_call` under them) make requests exactly as Pragmatic Play
sends them: a form POST to `<method>.html` whose `hash` is the MD5 of the sorted
non-empty parameters plus the `provider_secret_key`. The load generator reuses them.

They send no `timestamp` unless asked (`timestamp_ms=`): the script cannot know the
wallet's clock (the in-process tests run on a fake one), and PP's timestamp is optional
to the adapter. One case sends a stale timestamp when the instance enforces a window.

Edge cases that do not apply to this protocol:
- resettlement: PP's live-casino `adjustment.html` is not supported (a case checks that
  an unsupported method answers `7`, not a 500); casino rounds are never resettled;
- discard before make: sportsbook two-phase flows only;
- ids reused across players: PP's `reference` is unique per provider, not per player;
- echo fields: PP's answers echo nothing of the request;
- the F2 vector's literal ids (`userId` 421, `token` sess-abc, a 2016 `timestamp`) cannot
  be created through the operator API, so `the F2 wire vector...` checks the documented
  hashes and bytes offline and then plays the vector's flow with the case's own player;
  the bit-exact request bytes are replayed in `tests/adapters/test_pragmatic.py`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

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
from adapters.providers.pragmatic_wire import (
    CONTENT_TYPE,
    DEFAULT_TIMESTAMP_WINDOW_S,
    ErrorCode,
    request_hash,
    signed_form,
)

__all__ = [
    "CASES",
    "F2_BET_BODY",
    "F2_BET_HASH",
    "F2_BET_HASH_INPUT",
    "F2_REFUND_BODY",
    "F2_REFUND_HASH",
    "F2_SECRET",
    "build_authenticate",
    "build_balance",
    "build_bet",
    "build_bonus_win",
    "build_call",
    "build_end_round",
    "build_jackpot_win",
    "build_promo_win",
    "build_refund",
    "build_result",
    "new_id",
]

F2_SECRET = b"testKey"
F2_BET_BODY = (
    b"providerId=PragmaticPlay&userId=421&gameId=vs20doghouse&roundId=5103188801&amount=1.00"
    b"&reference=585c1306f89c56f5ecfc2f5d&timestamp=1482429190374&roundDetails=spin"
    b"&token=sess-abc&hash=abe424d2b3909e74dc0c77f1829bb8b1"
)
F2_BET_HASH_INPUT = (
    "amount=1.00&gameId=vs20doghouse&providerId=PragmaticPlay&reference=585c1306f89c56f5ecfc2f5d"
    "&roundDetails=spin&roundId=5103188801&timestamp=1482429190374&token=sess-abc&userId=421"
    "testKey"
)
F2_BET_HASH = "abe424d2b3909e74dc0c77f1829bb8b1"
F2_REFUND_BODY = (
    b"providerId=PragmaticPlay&userId=421&reference=585c1306f89c56f5ecfc2f5d"
    b"&hash=58a98c961fb165c280d3a62d9d45eae2"
)
F2_REFUND_HASH = "58a98c961fb165c280d3a62d9d45eae2"

Params = Sequence[tuple[str, str]]

# -- provider simulator ------------------------------------------------------------


def _secret(source: Secrets) -> bytes:
    return secrets_of(source)["provider_secret_key"]


def _provider_id(source: Secrets) -> str:
    if isinstance(source, ScriptContext):
        return str(source.options.get("provider_id", "PragmaticPlay"))
    return "PragmaticPlay"


def build_call(
    source: Secrets, method: str, params: Params, *, suffix: str = ".html"
) -> WireRequest:
    """A signed form POST to `<method><suffix>`, `providerId` first, then `params` in order."""
    pairs = [("providerId", _provider_id(source)), *params]
    body = signed_form(pairs, _secret(source))
    return WireRequest("POST", f"{method}{suffix}", body, {"Content-Type": CONTENT_TYPE})


def _stamp(params: list[tuple[str, str]], timestamp_ms: int | None) -> list[tuple[str, str]]:
    return params if timestamp_ms is None else [*params, ("timestamp", str(timestamp_ms))]


def build_authenticate(source: Secrets, player: PlayerFixture) -> WireRequest:
    params = [("token", player.session_token), ("gameId", player.game_id), ("ipAddress", "::1")]
    return build_call(source, "authenticate", params)


def build_balance(source: Secrets, player: PlayerFixture, *, token: bool = True) -> WireRequest:
    params = [("userId", player.player_id)]
    return build_call(source, "balance", params + [("token", player.session_token)] * token)


def build_bet(
    source: Secrets,
    player: PlayerFixture,
    *,
    reference: str,
    round_id: str,
    amount: str,
    timestamp_ms: int | None = None,
    extra: Params = (),
) -> WireRequest:
    """A `bet.html` call; `extra` adds parameters (unknown ones included) at the end."""
    return _round_call(source, "bet", player, reference, round_id, amount, timestamp_ms, extra)


def build_result(
    source: Secrets,
    player: PlayerFixture,
    *,
    reference: str,
    round_id: str,
    amount: str,
    timestamp_ms: int | None = None,
    extra: Params = (),
) -> WireRequest:
    """A `result.html` call (the round's win, possibly 0); `extra` e.g. `bonusCode`."""
    return _round_call(source, "result", player, reference, round_id, amount, timestamp_ms, extra)


def _round_call(
    source: Secrets,
    method: str,
    player: PlayerFixture,
    reference: str,
    round_id: str,
    amount: str,
    timestamp_ms: int | None,
    extra: Params,
) -> WireRequest:
    """`bet` and `result` carry the same parameters in the same order."""
    params = [
        ("userId", player.player_id),
        ("gameId", player.game_id),
        ("roundId", round_id),
        ("amount", amount),
        ("reference", reference),
        ("roundDetails", "spin"),
        ("token", player.session_token),
    ]
    return build_call(source, method, [*_stamp(params, timestamp_ms), *extra])


def build_refund(
    source: Secrets,
    player: PlayerFixture,
    *,
    reference: str,
    round_id: str | None = None,
    timestamp_ms: int | None = None,
) -> WireRequest:
    """A `refund.html` of the bet `reference`."""
    params = [("userId", player.player_id), ("reference", reference)]
    if round_id is not None:
        params += [("gameId", player.game_id), ("roundId", round_id)]
    return build_call(source, "refund", _stamp(params, timestamp_ms))


def build_bonus_win(
    source: Secrets, player: PlayerFixture, *, reference: str, amount: str, bonus_code: str
) -> WireRequest:
    params = [
        ("userId", player.player_id),
        ("gameId", player.game_id),
        ("roundId", new_id("frb-round")),
        ("amount", amount),
        ("reference", reference),
        ("bonusCode", bonus_code),
    ]
    return build_call(source, "bonusWin", params)


def build_jackpot_win(
    source: Secrets, player: PlayerFixture, *, reference: str, round_id: str, amount: str
) -> WireRequest:
    """A `jackpotWin.html`: no token, as PP sends it (possibly long after the session)."""
    params = [
        ("userId", player.player_id),
        ("gameId", player.game_id),
        ("roundId", round_id),
        ("amount", amount),
        ("reference", reference),
        ("jackpotId", "jp-1"),
    ]
    return build_call(source, "jackpotWin", params)


def build_promo_win(
    source: Secrets,
    player: PlayerFixture,
    *,
    reference: str,
    amount: str,
    currency: str | None = None,
) -> WireRequest:
    """A `promoWin.html` (tournament or prize drop): no token, no round, a currency."""
    params = [
        ("userId", player.player_id),
        ("amount", amount),
        ("reference", reference),
        ("currency", currency or player.currency),
        ("campaignId", "camp-1"),
        ("campaignType", "T"),
    ]
    return build_call(source, "promoWin", params)


def build_end_round(source: Secrets, player: PlayerFixture, *, round_id: str) -> WireRequest:
    params = [("userId", player.player_id), ("gameId", player.game_id), ("roundId", round_id)]
    return build_call(source, "endRound", params)


# -- checks --------------------------------------------------------------------------


def _answer(ctx: ScriptContext, response: WireResponse, what: str) -> dict[str, Any]:
    """The JSON answer (numbers as exact Decimals); PP answers everything with HTTP 200."""
    ctx.check(response.status == 200, f"{what}: expected HTTP 200, got {response.status}")
    try:
        body = json.loads(response.body, parse_float=Decimal)
    except ValueError:
        body = None
    ctx.check(isinstance(body, dict), f"{what}: expected a JSON object, got {response.body!r}")
    assert isinstance(body, dict)
    return body


async def _call(
    ctx: ScriptContext, request: WireRequest, code: ErrorCode, what: str
) -> dict[str, Any]:
    """Send `request` and check its `error` code."""
    body = _answer(ctx, await ctx.send(request), what)
    ctx.check(
        body.get("error") == code,
        f"{what}: expected error {int(code)}, got {body.get('error')!r} ({body})",
    )
    return body


async def _ok(ctx: ScriptContext, request: WireRequest, what: str) -> dict[str, Any]:
    return await _call(ctx, request, ErrorCode.SUCCESS, what)


def _cash_is(ctx: ScriptContext, body: dict[str, Any], cash: str, what: str) -> None:
    ctx.check(
        str(body.get("cash")) == cash, f"{what}: expected cash {cash}, got {body.get('cash')!r}"
    )


async def _bet(ctx: ScriptContext, player: PlayerFixture, round_id: str, amount: str) -> str:
    """A successful bet; its reference."""
    reference = new_id("bet")
    request = build_bet(ctx, player, reference=reference, round_id=round_id, amount=amount)
    await _ok(ctx, request, f"bet {amount}")
    return reference


# -- cases -------------------------------------------------------------------------


async def _authenticate_and_balance(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    body = await _ok(ctx, build_authenticate(ctx, player), "authenticate")
    ctx.check(body.get("userId") == player.player_id, f"authenticate: userId {body}")
    ctx.check(body.get("currency") == player.currency, f"authenticate: currency {body}")
    _cash_is(ctx, body, "100.00", "authenticate")
    body = await _ok(ctx, build_balance(ctx, player), "balance")
    _cash_is(ctx, body, "100.00", "balance")
    ctx.check(str(body.get("bonus")) == "0.00", f"balance: expected bonus 0.00, got {body}")
    await _ok(ctx, build_balance(ctx, player, token=False), "balance without a token")


def _pairs(body: bytes) -> list[tuple[str, str]]:
    """The vector bodies hold no escapes: split them as they are written."""
    pairs = [pair.partition("=") for pair in body.decode().split("&")]
    return [(name, value) for name, _, value in pairs]


async def _f2_vector(ctx: ScriptContext) -> None:
    """The documented hashes and bytes, then the vector's flow with this case's player."""
    pairs = _pairs(F2_BET_BODY)
    params = dict(pairs)
    ctx.check(request_hash(params, F2_SECRET) == F2_BET_HASH, "F2 bet hash differs")
    ctx.check(params["hash"] == F2_BET_HASH, "F2 bet body does not carry the documented hash")
    unsigned = [(name, value) for name, value in pairs if name != "hash"]
    ctx.check(signed_form(unsigned, F2_SECRET) == F2_BET_BODY, "F2 bet body not re-created")
    refund = dict(_pairs(F2_REFUND_BODY))
    ctx.check(request_hash(refund, F2_SECRET) == F2_REFUND_HASH, "F2 refund hash differs")

    player = await ctx.new_player()
    reference, round_id = new_id("bet"), new_id("round")
    bet = build_bet(ctx, player, reference=reference, round_id=round_id, amount="1.00")
    response = await ctx.send(bet)
    body = _answer(ctx, response, "F2 bet")
    keys = ["transactionId", "currency", "cash", "bonus", "usedPromo", "error", "description"]
    ctx.check(list(body) == keys, f"F2 bet: expected keys {keys}, got {list(body)}")
    ctx.check(b'"cash":99.00,"bonus":0.00,' in response.body, f"F2 bet: {response.body!r}")
    ctx.check(body["error"] == 0 and body["description"] == "Success", f"F2 bet: {body}")
    ctx.check(bool(body["transactionId"]), "F2 bet: transactionId is empty")
    body = await _ok(ctx, build_refund(ctx, player, reference=reference), "F2 refund")
    keys = ["transactionId", "error", "description"]
    ctx.check(list(body) == keys, f"F2 refund: expected keys {keys}, got {list(body)}")
    await ctx.expect_wallet(player, 10_000, what="after the F2 refund")


async def _bet_then_result(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    body = await _ok(
        ctx,
        build_bet(ctx, player, reference=new_id("bet"), round_id=round_id, amount="1.00"),
        "bet",
    )
    _cash_is(ctx, body, "99.00", "bet")
    body = await _ok(
        ctx,
        build_result(ctx, player, reference=new_id("win"), round_id=round_id, amount="2.50"),
        "result",
    )
    _cash_is(ctx, body, "101.50", "result")
    await ctx.expect_wallet(player, 10_150, what="after bet and result")


async def _bad_hashes(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    good = build_bet(ctx, player, reference=new_id("bet"), round_id=new_id("r"), amount="1.00")
    body, _, signature = good.body.rpartition(b"&hash=")
    wrong = "0" * 32
    for request, what in [
        (WireRequest("POST", "bet.html", body + b"&hash=" + wrong.encode()), "wrong hash"),
        (WireRequest("POST", "bet.html", body), "missing hash"),
        (WireRequest("POST", "bet.html", body + b"&hash="), "empty hash"),
        (
            WireRequest(
                "POST",
                "bet.html",
                body.replace(b"amount=1.00", b"amount=9.00") + b"&hash=" + signature,
            ),
            "amount altered after signing",
        ),
        (
            WireRequest("POST", "bet.html", body + b"&bonusCode=x&hash=" + signature),
            "a parameter added after signing",
        ),
    ]:
        await _call(ctx, request, ErrorCode.INVALID_HASH, what)
    await ctx.expect_wallet(player, 10_000, what="after refused hashes")
    upper = WireRequest("POST", "bet.html", body + b"&hash=" + signature.upper())
    await _ok(ctx, upper, "the right hash in upper case")


async def _insufficient_funds(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    request = build_bet(ctx, player, reference=new_id("bet"), round_id=new_id("r"), amount="200.00")
    body = await _call(ctx, request, ErrorCode.INSUFFICIENT_BALANCE, "bet of 200.00")
    _cash_is(ctx, body, "100.00", "insufficient funds answer")
    await ctx.expect_wallet(player, 10_000, what="after the refused bet")


async def _repeated_bet(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    request = build_bet(ctx, player, reference=new_id("bet"), round_id=new_id("r"), amount="1.00")
    first = await _ok(ctx, request, "bet")
    again = await _ok(ctx, request, "the same bet again")
    ctx.check(
        first["transactionId"] == again["transactionId"],
        f"repeated bet: transactionId {first['transactionId']} then {again['transactionId']}",
    )
    await ctx.expect_wallet(player, 9_900, what="after a repeated bet")


async def _concurrent_duplicates(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    request = build_bet(ctx, player, reference=new_id("bet"), round_id=new_id("r"), amount="10.00")
    responses = await ctx.send_copies(request, 10)
    bodies = [_answer(ctx, response, "concurrent bet") for response in responses]
    ctx.check(all(b.get("error") == 0 for b in bodies), f"concurrent bets: {bodies}")
    ids = {b.get("transactionId") for b in bodies}
    ctx.check(len(ids) == 1, f"concurrent bets: expected one transactionId, got {ids}")
    await ctx.expect_wallet(player, 9_000, what="after ten concurrent copies of one bet")


async def _duplicate_result(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    await _bet(ctx, player, round_id, "1.00")
    request = build_result(ctx, player, reference=new_id("win"), round_id=round_id, amount="5.00")
    first = await _ok(ctx, request, "result")
    again = await _ok(ctx, request, "the same result again")
    ctx.check(first["transactionId"] == again["transactionId"], "duplicate result: new id")
    await ctx.expect_wallet(player, 10_400, what="after a duplicate result")


async def _same_reference_other_amount(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, reference = new_id("round"), new_id("bet")
    await _ok(
        ctx, build_bet(ctx, player, reference=reference, round_id=round_id, amount="1.00"), "bet"
    )
    other = build_bet(ctx, player, reference=reference, round_id=round_id, amount="2.00")
    await _call(ctx, other, ErrorCode.BAD_PARAMETERS, "the same reference with 2.00")
    win = new_id("win")
    await _ok(
        ctx, build_result(ctx, player, reference=win, round_id=round_id, amount="3.00"), "win"
    )
    other = build_result(ctx, player, reference=win, round_id=round_id, amount="4.00")
    await _call(ctx, other, ErrorCode.BAD_PARAMETERS, "the same result reference with 4.00")
    await ctx.expect_wallet(player, 10_200, what="after conflicting replays")


async def _refund_reverses_once(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    reference = await _bet(ctx, player, round_id, "4.00")
    request = build_refund(ctx, player, reference=reference, round_id=round_id)
    first = await _ok(ctx, request, "refund")
    again = await _ok(ctx, request, "the same refund again")
    ctx.check(bool(first["transactionId"]), "refund of a known bet: empty transactionId")
    ctx.check(first["transactionId"] == again["transactionId"], "duplicate refund: new id")
    await ctx.expect_wallet(player, 10_000, what="after a refund and its duplicate")


async def _refund_before_bet(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, reference = new_id("round"), new_id("bet")
    body = await _ok(ctx, build_refund(ctx, player, reference=reference), "refund of unknown bet")
    ctx.check(body.get("transactionId") == "", f"unknown refund: expected empty id, got {body}")
    late = build_bet(ctx, player, reference=reference, round_id=round_id, amount="1.00")
    await _call(ctx, late, ErrorCode.INTERNAL_NO_RETRY, "the bet after its refund")
    await _call(ctx, late, ErrorCode.INTERNAL_NO_RETRY, "the late bet retried")
    await ctx.expect_wallet(player, 10_000, what="after refund-before-bet")


async def _result_without_bet(ctx: ScriptContext) -> None:
    """`100` (retry later) stores nothing: the retry succeeds once the bet is there."""
    player = await ctx.new_player()
    round_id = new_id("round")
    result = build_result(ctx, player, reference=new_id("win"), round_id=round_id, amount="2.00")
    await _call(ctx, result, ErrorCode.INTERNAL_RETRY, "result before any bet")
    await ctx.expect_wallet(player, 10_000, what="after a result without bet")
    await _bet(ctx, player, round_id, "1.00")
    await _ok(ctx, result, "the result retried after the bet arrived")
    await ctx.expect_wallet(player, 10_100, what="after the retried result")


async def _result_after_refund(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    reference = await _bet(ctx, player, round_id, "1.00")
    await _ok(ctx, build_refund(ctx, player, reference=reference, round_id=round_id), "refund")
    result = build_result(ctx, player, reference=new_id("win"), round_id=round_id, amount="5.00")
    await _call(ctx, result, ErrorCode.INTERNAL_NO_RETRY, "result after refund")
    tomb_round = new_id("round")
    await _ok(ctx, build_refund(ctx, player, reference=new_id("bet"), round_id=tomb_round), "tomb")
    result = build_result(ctx, player, reference=new_id("win"), round_id=tomb_round, amount="5.00")
    await _call(ctx, result, ErrorCode.INTERNAL_NO_RETRY, "result after refund-before-bet")
    jackpot = build_jackpot_win(
        ctx, player, reference=new_id("jp"), round_id=round_id, amount="5.00"
    )
    await _call(ctx, jackpot, ErrorCode.INTERNAL_NO_RETRY, "jackpotWin in a refunded round")
    await ctx.expect_wallet(player, 10_000, what="after wins for refunded bets")


async def _refund_after_result(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    reference = await _bet(ctx, player, round_id, "1.00")
    result = build_result(ctx, player, reference=new_id("win"), round_id=round_id, amount="3.00")
    await _ok(ctx, result, "result")
    refund = build_refund(ctx, player, reference=reference, round_id=round_id)
    await _call(ctx, refund, ErrorCode.INTERNAL_NO_RETRY, "refund of a settled bet")
    await ctx.expect_wallet(player, 10_200, what="after a refused refund")


async def _bet_after_round_closed(ctx: ScriptContext) -> None:
    """A result closes its round (`result_closes_round`, default true); so does endRound."""
    player = await ctx.new_player()
    closes = bool(ctx.options.get("result_closes_round", True))
    round_id = new_id("round")
    await _bet(ctx, player, round_id, "1.00")
    result = build_result(ctx, player, reference=new_id("win"), round_id=round_id, amount="0")
    body = await _ok(ctx, result, "zero result")
    _cash_is(ctx, body, "99.00", "zero result")
    late = build_bet(ctx, player, reference=new_id("bet"), round_id=round_id, amount="1.00")
    if closes:
        await _call(ctx, late, ErrorCode.BET_NOT_ALLOWED, "bet after the zero result")
    ended = new_id("round")
    await _bet(ctx, player, ended, "1.00")
    body = await _ok(ctx, build_end_round(ctx, player, round_id=ended), "endRound")
    ctx.check("cash" in body and "bonus" in body, f"endRound: expected balances, got {body}")
    late = build_bet(ctx, player, reference=new_id("bet"), round_id=ended, amount="1.00")
    await _call(ctx, late, ErrorCode.BET_NOT_ALLOWED, "bet after endRound")
    await _ok(ctx, build_end_round(ctx, player, round_id=ended), "endRound again")
    await ctx.expect_wallet(
        player, 9_800 if closes else 9_700, what="after bets into closed rounds"
    )


async def _second_bet_in_round(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id("round")
    await _bet(ctx, player, round_id, "1.00")
    await _bet(ctx, player, round_id, "2.00")
    result = build_result(ctx, player, reference=new_id("win"), round_id=round_id, amount="5.00")
    await _ok(ctx, result, "result of a two-bet round")
    await ctx.expect_wallet(player, 10_200, what="after two bets and one result")


async def _expired_token(ctx: ScriptContext) -> None:
    player = await ctx.new_player(session_ttl_s=1)
    settled, refunded = new_id("round"), new_id("round")
    await _bet(ctx, player, settled, "1.00")
    reference = await _bet(ctx, player, refunded, "2.00")
    await ctx.elapse(2)
    late = build_bet(ctx, player, reference=new_id("bet"), round_id=new_id("r"), amount="1.00")
    await _call(ctx, late, ErrorCode.AUTHENTICATION_FAILED, "bet with an expired token")
    await _call(
        ctx, build_authenticate(ctx, player), ErrorCode.AUTHENTICATION_FAILED, "expired auth"
    )
    result = build_result(ctx, player, reference=new_id("win"), round_id=settled, amount="4.00")
    await _ok(ctx, result, "result after expiry")
    await _ok(ctx, build_refund(ctx, player, reference=reference), "refund after expiry")
    jackpot = build_jackpot_win(
        ctx, player, reference=new_id("jp"), round_id=settled, amount="1.00"
    )
    await _ok(ctx, jackpot, "jackpotWin after expiry")
    await _ok(ctx, build_balance(ctx, player), "balance with an expired token")
    await ctx.expect_wallet(player, 10_400, what="after credits with an expired token")


async def _unbacked_wins(ctx: ScriptContext) -> None:
    """Jackpot, promo and free-round wins legitimately come without a bet or token."""
    player = await ctx.new_player()
    jackpot = build_jackpot_win(
        ctx, player, reference=new_id("jp"), round_id=new_id("round"), amount="3.00"
    )
    first = await _ok(ctx, jackpot, "jackpotWin without a bet")
    again = await _ok(ctx, jackpot, "jackpotWin again")
    ctx.check(first["transactionId"] == again["transactionId"], "duplicate jackpotWin: new id")
    promo = build_promo_win(ctx, player, reference=new_id("promo"), amount="2.00")
    await _ok(ctx, promo, "promoWin")
    await _ok(ctx, promo, "promoWin again")
    free_spin = build_result(
        ctx, player, reference=new_id("win"), round_id=new_id("round"), amount="1.50",
        extra=[("bonusCode", "frb-1")],
    )  # fmt: skip
    await _ok(ctx, free_spin, "free-round result without a bet")
    await ctx.expect_wallet_total(player, 10_650, "after unbacked wins")


async def _bonus_win_not_paid_twice(ctx: ScriptContext) -> None:
    """Free-round spins are paid by `result`; `bonusWin` (informational) moves nothing."""
    player = await ctx.new_player()
    if ctx.options.get("bonus_win_mode", "informational") != "informational":
        return  # this instance pays bonusWin; nothing to check here
    request = build_bonus_win(ctx, player, reference=new_id("bw"), amount="7.00", bonus_code="b1")
    first = await _ok(ctx, request, "bonusWin")
    again = await _ok(ctx, request, "bonusWin again")
    ctx.check(bool(first["transactionId"]), "bonusWin: empty transactionId")
    ctx.check(first["transactionId"] == again["transactionId"], "duplicate bonusWin: new id")
    await ctx.expect_wallet_total(player, 10_000, "after an informational bonusWin")


async def _promo_win_amount_not_paid_twice(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    if ctx.options.get("result_promo_win_amount", "ignore") != "ignore":
        return  # this instance pays promoWinAmount and must not receive promoWin for it
    round_id, prize = new_id("round"), new_id("prize")
    await _bet(ctx, player, round_id, "1.00")
    result = build_result(
        ctx, player, reference=new_id("win"), round_id=round_id, amount="1.00",
        extra=[("promoWinAmount", "5.00"), ("promoWinReference", prize),
               ("promoCampaignID", "c1"), ("promoCampaignType", "PD")],
    )  # fmt: skip
    await _ok(ctx, result, "result carrying promoWinAmount")
    await ctx.expect_wallet_total(player, 10_000, "promoWinAmount is not credited with the result")
    await _ok(ctx, build_promo_win(ctx, player, reference=prize, amount="5.00"), "promoWin")
    await ctx.expect_wallet_total(player, 10_500, "the prize is paid once, by promoWin")


async def _bad_amounts(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    for amount in ["1.005", "-1.00", "abc", "1e2", " 1.00", "1,00", "NaN"]:
        request = build_bet(
            ctx, player, reference=new_id("bet"), round_id=new_id("r"), amount=amount
        )
        await _call(ctx, request, ErrorCode.BAD_PARAMETERS, f"bet amount {amount!r}")
    for currency in ["USD", "XYZ"]:
        promo = build_promo_win(
            ctx, player, reference=new_id("promo"), amount="1.00", currency=currency
        )
        await _call(ctx, promo, ErrorCode.BAD_PARAMETERS, f"promoWin in {currency}")
    missing = build_call(ctx, "bet", [("userId", player.player_id), ("amount", "1.00")])
    await _call(ctx, missing, ErrorCode.BAD_PARAMETERS, "bet without reference")
    await ctx.expect_wallet(player, 10_000, what="after refused amounts")


async def _unknown_player_and_token(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    nobody = PlayerFixture(new_id("nobody"), "EUR", "no-such-token", player.game_id)
    await _call(ctx, build_balance(ctx, nobody, token=False), ErrorCode.PLAYER_NOT_FOUND, "nobody")
    await _call(
        ctx, build_authenticate(ctx, nobody), ErrorCode.AUTHENTICATION_FAILED, "unknown token"
    )
    stranger = PlayerFixture(player.player_id, "EUR", "no-such-token", player.game_id)
    bet = build_bet(ctx, stranger, reference=new_id("bet"), round_id=new_id("r"), amount="1.00")
    await _call(ctx, bet, ErrorCode.AUTHENTICATION_FAILED, "bet with an unknown token")
    await ctx.expect_wallet(player, 10_000, what="after unknown players and tokens")


async def _hash_over_received_values(ctx: ScriptContext) -> None:
    """Key order, unicode, whitespace, reserved characters and unknown parameters."""
    player = await ctx.new_player()
    odd = [
        ("platform", "  WEB\twith  spaces + plus  "),
        ("language", "日本語 ü 🎰"),
        ("newParameter", "a&b=c%20d"),
        ("emptyOne", ""),
    ]
    bet = build_bet(
        ctx, player, reference=new_id("bet"), round_id=new_id("r"), amount="1.00", extra=odd
    )
    await _ok(ctx, bet, "bet with unusual values and unknown parameters")
    params = [
        ("token", player.session_token),
        ("reference", new_id("bet")),
        ("amount", "1.0"),
        ("roundId", new_id("r")),
        ("gameId", player.game_id),
        ("userId", player.player_id),
    ]
    await _ok(ctx, build_call(ctx, "bet", params), "bet with parameters in reverse order")
    params[1] = ("reference", new_id("bet"))
    await _ok(ctx, build_call(ctx, "bet", params, suffix=""), "bet.html called as bet")
    signed = build_call(ctx, "balance", [("userId", player.player_id), ("note", "a b")])
    percent = signed.body.replace(b"note=a+b", b"note=a%20b")
    await _ok(ctx, WireRequest("POST", "balance.html", percent), "space sent as %20")
    await ctx.expect_wallet(player, 9_700, what="after bets with unusual encodings")


async def _unsupported_and_stale(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    adjustment = build_call(ctx, "adjustment", [("userId", player.player_id), ("amount", "1.00")])
    await _call(ctx, adjustment, ErrorCode.BAD_PARAMETERS, "unsupported adjustment.html")
    if ctx.options.get("timestamp_window_s", DEFAULT_TIMESTAMP_WINDOW_S):
        stale = build_bet(
            ctx, player, reference=new_id("bet"), round_id=new_id("r"), amount="1.00",
            timestamp_ms=1_000,
        )  # fmt: skip
        await _call(ctx, stale, ErrorCode.INVALID_HASH, "bet with a 1970 timestamp")
    await ctx.expect_wallet(player, 10_000, what="after unsupported and stale requests")


CASES: list[Case] = [
    Case("authenticate and balance answer the player's exact balances", _authenticate_and_balance),
    Case("the F2 wire vector's hashes match and its bet and refund flow works", _f2_vector),
    Case("a bet and then a result settle the round", _bet_then_result),
    Case("a wrong, missing or stale-copied hash is error 5 and moves nothing", _bad_hashes),
    Case("a bet above the balance is error 1 with the balance", _insufficient_funds),
    Case("a repeated bet answers its transactionId and debits once", _repeated_bet),
    Case("ten concurrent copies of one bet debit once", _concurrent_duplicates),
    Case("a duplicate result credits once", _duplicate_result),
    Case("a reference reused with another amount is error 7", _same_reference_other_amount),
    Case("a refund reverses its bet exactly once", _refund_reverses_once),
    Case("a refund before its bet succeeds empty and the late bet is 120", _refund_before_bet),
    Case("a result before its bet is 100 and succeeds when retried", _result_without_bet),
    Case("a win for a refunded bet is 120", _result_after_refund),
    Case("a refund after the result is 120", _refund_after_result),
    Case("a zero result or endRound closes the round to bets", _bet_after_round_closed),
    Case("a second bet in the same round is accepted", _second_bet_in_round),
    Case("an expired token refuses bets but accepts credits and refunds", _expired_token),
    Case("jackpot, promo and free-round wins need no bet or token", _unbacked_wins),
    Case("an informational bonusWin moves no money", _bonus_win_not_paid_twice),
    Case("promoWinAmount on a result is not paid twice", _promo_win_amount_not_paid_twice),
    Case("inexact, negative or malformed amounts and currencies are 7", _bad_amounts),
    Case("unknown players are 2 and unknown tokens are 4", _unknown_player_and_token),
    Case(
        "the hash covers the received values however they are encoded", _hash_over_received_values
    ),
    Case("unsupported methods are 7 and stale timestamps are refused", _unsupported_and_stale),
]
