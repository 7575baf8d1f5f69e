"""Conformance script for `evolution` (One Wallet): the provider simulator and its cases.

The builders (`build_check`, `build_balance`, `build_debit`, `build_credit`,
`build_cancel`, `build_promo_payout`) write requests the way Evolution does: JSON with
amounts as raw JSON numbers (`5.0`), the API token in the `authToken` query
parameter. The load generator reuses them. Every id a case sends is fresh, so the
script can run again and again against the same wallet.

Edge cases that do not apply to this protocol:
- signature over unusual whitespace / key order / unicode: One Wallet has no body
  signature, only a static token in the query string; `unusual_json_is_accepted`
  checks that such bodies still parse and settle.
- replay windows: no timestamp, nonce or expiry on the wire; idempotency keys make
  replayed money calls harmless and `check` only ever answers a fresh sid.
- bet after round closed: Evolution never closes rounds; each `refId` settles on its
  own and a round may hold several open bets (`several_open_bets_in_one_round_...`).
- resettlement: One Wallet has no resettlement; a settled bet cannot be credited
  again or cancelled (`second_credit_...`, `f3_...`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

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

__all__ = [
    "CASES",
    "RawNumber",
    "build_balance",
    "build_cancel",
    "build_check",
    "build_credit",
    "build_debit",
    "build_promo_payout",
    "build_request",
    "encode_json",
    "expect",
    "parse_answer",
    "transaction_doc",
]

TOKEN_SECRET = "provider_auth_token"  # noqa: S105 -- the name of a secret, not its value
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class RawNumber:
    """A JSON number written exactly as given (`5.0`, `0.0000001`, `-1`)."""

    text: str


def encode_json(value: Any) -> bytes:
    """Compact JSON, with `RawNumber`s verbatim: amounts never pass through a float."""
    if isinstance(value, RawNumber):
        return value.text.encode()
    if isinstance(value, dict):
        items = [orjson.dumps(str(k)) + b":" + encode_json(v) for k, v in value.items()]
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(encode_json(v) for v in value) + b"]"
    return orjson.dumps(value)


def build_request(
    source: Secrets, operation: str, doc: Mapping[str, Any] | bytes, *, token: str | None = None
) -> WireRequest:
    """POST `/{operation}?authToken=...`; `token=""` sends no token at all."""
    if token is None:
        token = secrets_of(source)[TOKEN_SECRET].decode()
    body = doc if isinstance(doc, bytes) else encode_json(dict(doc))
    query = urlencode({"authToken": token}) if token else ""
    return WireRequest("POST", operation, body, _JSON, query)


def _base(
    player: PlayerFixture, sid: str | None, user_id: str | None, uuid: str | None
) -> dict[str, Any]:
    return {
        "sid": player.session_token if sid is None else sid,
        "userId": player.player_id if user_id is None else user_id,
        "uuid": new_id("req") if uuid is None else uuid,
    }


def build_check(
    source: Secrets, player: PlayerFixture, *, sid: str | None = None,
    user_id: str | None = None, uuid: str | None = None,
) -> WireRequest:  # fmt: skip
    doc = _base(player, sid, user_id, uuid) | {"channel": {"type": "P"}}
    return build_request(source, "check", doc)


def build_balance(
    source: Secrets, player: PlayerFixture, *, sid: str | None = None,
    currency: str | None = None, uuid: str | None = None,
) -> WireRequest:  # fmt: skip
    doc = _base(player, sid, None, uuid) | {
        "currency": currency or player.currency,
        "game": None,
    }
    return build_request(source, "balance", doc)


def transaction_doc(
    player: PlayerFixture, *, ref_id: str, amount: str, tx_id: str | None = None,
    round_id: str | None = None, sid: str | None = None, user_id: str | None = None,
    uuid: str | None = None, currency: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The body of a debit, credit or cancel, as Evolution sends it."""
    return _base(player, sid, user_id, uuid) | {
        "currency": currency or player.currency,
        "game": {
            "id": round_id or new_id("round"),
            "type": "blackjack",
            "details": {"table": {"id": "vip-bj-1", "vid": "v-1"}},
        },
        "transaction": {"id": tx_id or new_id("tx"), "refId": ref_id, "amount": RawNumber(amount)},
    }


def build_debit(source: Secrets, player: PlayerFixture, **fields: Any) -> WireRequest:
    """A bet; fields as in `transaction_doc` (`ref_id` and `amount` are required)."""
    return build_request(source, "debit", transaction_doc(player, **fields))


def build_credit(source: Secrets, player: PlayerFixture, **fields: Any) -> WireRequest:
    return build_request(source, "credit", transaction_doc(player, **fields))


def build_cancel(source: Secrets, player: PlayerFixture, **fields: Any) -> WireRequest:
    return build_request(source, "cancel", transaction_doc(player, **fields))


def build_promo_payout(
    source: Secrets, player: PlayerFixture, *, promo_id: str, amount: str,
    promo_type: str = "FreeRoundPlayableSpent", uuid: str | None = None,
) -> WireRequest:  # fmt: skip
    doc = _base(player, None, None, uuid) | {
        "currency": player.currency,
        "game": {"id": None, "type": "blackjack", "details": {"table": {"id": "vip-bj-1"}}},
        "promoTransaction": {
            "type": promo_type,
            "id": promo_id,
            "amount": RawNumber(amount),
            "voucherId": new_id("voucher"),
            "remainingRounds": 0,
        },
    }
    return build_request(source, "promo_payout", doc)


# -- checking ------------------------------------------------------------------


def parse_answer(response: WireResponse) -> dict[str, Any]:
    """The answer with its numbers as exact `Decimal`s."""
    parsed = json.loads(response.body, parse_float=Decimal)
    assert isinstance(parsed, dict)
    return parsed


async def expect(
    ctx: ScriptContext, request: WireRequest, status: str | tuple[str, ...], what: str,
    *, balance: str | None = None, http_status: int = 200,
) -> dict[str, Any]:  # fmt: skip
    """Send, then check the HTTP status, the `status` field and (optionally) `balance`."""
    response = await ctx.send(request)
    ctx.check(
        response.status == http_status,
        f"{what}: expected HTTP {http_status}, got {response.status}",
    )
    body = parse_answer(response)
    allowed = (status,) if isinstance(status, str) else status
    ctx.check(body.get("status") in allowed, f"{what}: expected {allowed}, got {body!r}")
    if balance is not None:
        ctx.check(
            body.get("balance") == Decimal(balance),
            f"{what}: expected balance {balance}, got {body.get('balance')!r}",
        )
    return body


async def expect_wallet(ctx: ScriptContext, player: PlayerFixture, real: int, what: str) -> None:
    """The wallet's own view (operator API), in minor units."""
    got, _ = await ctx.balance_minor(player)
    ctx.check(got == real, f"{what}: expected real balance {real} minor, got {got}")


async def _placed_bet(ctx: ScriptContext, player: PlayerFixture) -> tuple[str, str]:
    """Place an accepted 5.0 debit in a fresh round; its (refId, round id)."""
    ref, round_id = new_id("ref"), new_id("round")
    await expect(
        ctx, build_debit(ctx, player, ref_id=ref, amount="5.0", round_id=round_id), "OK", "bet"
    )
    return ref, round_id


def _duplicate_debit_status(ctx: ScriptContext) -> str:
    return str(ctx.options.get("duplicate_debit_status", "OK"))


# -- cases: the F3 wire vector -------------------------------------------------


async def f3_debit_then_credit_answers_exact_bodies(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    ref, round_id = new_id("ref"), new_id("round")
    debit = build_debit(ctx, player, ref_id=ref, amount="5.0", round_id=round_id, uuid="req-0001")
    response = await ctx.send(debit)
    expected = b'{"status":"OK","balance":95.000000,"bonus":0.000000,"uuid":"req-0001"}'
    ctx.check(response.body == expected, f"F3 debit: expected {expected!r}, got {response.body!r}")
    credit = build_credit(
        ctx, player, ref_id=ref, amount="10.0", round_id=round_id, uuid="req-0002"
    )
    response = await ctx.send(credit)
    expected = b'{"status":"OK","balance":105.000000,"bonus":0.000000,"uuid":"req-0002"}'
    ctx.check(response.body == expected, f"F3 credit: expected {expected!r}, got {response.body!r}")
    await expect(ctx, credit, ("OK", "BET_ALREADY_SETTLED"), "same credit again", balance="105")
    unknown = build_credit(ctx, player, ref_id=new_id("ref-x"), amount="10.0", round_id=round_id)
    await expect(ctx, unknown, "BET_DOES_NOT_EXIST", "credit of unknown refId", balance="105")
    cancel = build_cancel(ctx, player, ref_id=ref, amount="5.0", round_id=round_id)
    await expect(ctx, cancel, "BET_ALREADY_SETTLED", "cancel after credit", balance="105")
    await expect_wallet(ctx, player, 10_500, "after the F3 checks")


async def f3_zero_credit_is_a_loss_that_settles_the_bet(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    ref, round_id = await _placed_bet(ctx, player)
    zero = build_credit(ctx, player, ref_id=ref, amount="0", round_id=round_id)
    await expect(ctx, zero, "OK", "credit 0 (loss)", balance="95")
    cancel = build_cancel(ctx, player, ref_id=ref, amount="5.0", round_id=round_id)
    await expect(ctx, cancel, "BET_ALREADY_SETTLED", "cancel after a lost bet", balance="95")
    late_win = build_credit(ctx, player, ref_id=ref, amount="50.0", round_id=round_id)
    await expect(ctx, late_win, "BET_ALREADY_SETTLED", "credit after the loss", balance="95")
    await expect_wallet(ctx, player, 9_500, "a lost bet")


async def wrong_or_missing_auth_token_is_refused(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    http_status = int(ctx.options.get("auth_error_http_status", 200))
    ref = new_id("ref")
    doc = transaction_doc(player, ref_id=ref, amount="5.0")
    for token, what in (("not-the-token", "wrong token"), ("", "no token")):
        request = build_request(ctx, "debit", doc, token=token)
        await expect(ctx, request, "INVALID_TOKEN_ID", what, http_status=http_status)
    await expect_wallet(ctx, player, 10_000, "refused debits")
    await expect(
        ctx, build_request(ctx, "debit", doc), "OK", "same debit, right token", balance="95"
    )


async def mismatched_sid_and_user_is_invalid_sid(ctx: ScriptContext) -> None:
    alice, bob = await ctx.new_player(), await ctx.new_player()
    ref = new_id("ref")
    foreign = build_debit(ctx, alice, ref_id=ref, amount="5.0", user_id=bob.player_id)
    await expect(ctx, foreign, "INVALID_SID", "debit with another user's sid")
    await expect(ctx, build_debit(ctx, alice, ref_id=new_id("ref"), amount="1", sid="no-such-sid"),
                 "INVALID_SID", "debit with an unknown sid")  # fmt: skip
    # A refused debit is stored under its refId: the corrected bet comes with a new refId.
    own = new_id("ref")
    await expect(ctx, build_debit(ctx, alice, ref_id=own, amount="5.0"), "OK", "alice's own bet")
    credit = build_credit(ctx, alice, ref_id=own, amount="9.0", user_id=bob.player_id)
    await expect(ctx, credit, "INVALID_SID", "credit with another user's sid")
    await expect(ctx, build_balance(ctx, alice, sid=bob.session_token), "INVALID_SID", "balance")
    await expect_wallet(ctx, alice, 9_500, "alice after refusals")
    await expect_wallet(ctx, bob, 10_000, "bob after refusals")


# -- cases: sessions -----------------------------------------------------------


async def check_returns_a_new_sid_and_the_old_one_still_settles(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    body = await expect(ctx, build_check(ctx, player, uuid="req-check"), "OK", "check")
    new_sid = body.get("sid")
    ctx.check(isinstance(new_sid, str) and new_sid != player.session_token, f"new sid: {body!r}")
    ctx.check(body.get("uuid") == "req-check", f"check must echo the uuid: {body!r}")
    assert isinstance(new_sid, str)
    await expect(
        ctx, build_balance(ctx, player, sid=new_sid), "OK", "balance, new sid", balance="100"
    )
    ref, round_id = new_id("ref"), new_id("round")
    bet = build_debit(ctx, player, ref_id=ref, amount="4.0", round_id=round_id, sid=new_sid)
    await expect(ctx, bet, "OK", "bet under the new sid", balance="96")
    win = build_credit(ctx, player, ref_id=ref, amount="8.0", round_id=round_id)
    await expect(ctx, win, "OK", "credit under the old sid", balance="104")
    again = await expect(ctx, build_check(ctx, player, sid=new_sid), "OK", "check of the new sid")
    ctx.check(again.get("sid") not in (new_sid, player.session_token), f"rotated again: {again!r}")


async def check_refuses_unknown_foreign_or_expired_sid(ctx: ScriptContext) -> None:
    alice, bob = await ctx.new_player(), await ctx.new_player(session_ttl_s=1)
    await expect(ctx, build_check(ctx, alice, sid="no-such-sid"), "INVALID_SID", "unknown sid")
    foreign = build_check(ctx, alice, user_id=bob.player_id)
    await expect(ctx, foreign, "INVALID_SID", "sid of another user")
    await ctx.elapse(2)
    await expect(ctx, build_check(ctx, bob), "INVALID_SID", "expired sid")


async def expired_sid_refuses_bets_but_settles(ctx: ScriptContext) -> None:
    player = await ctx.new_player(session_ttl_s=1)
    round_id = new_id("round")
    won, cancelled = new_id("ref"), new_id("ref")
    for ref in (won, cancelled):
        bet = build_debit(ctx, player, ref_id=ref, amount="5.0", round_id=round_id)
        await expect(ctx, bet, "OK", "bet before expiry")
    await ctx.elapse(2)
    late = build_debit(ctx, player, ref_id=new_id("ref"), amount="5.0", round_id=round_id)
    await expect(ctx, late, "INVALID_SID", "bet after expiry", balance="90")
    win = build_credit(ctx, player, ref_id=won, amount="7.0", round_id=round_id)
    await expect(ctx, win, "OK", "credit after expiry", balance="97")
    cancel = build_cancel(ctx, player, ref_id=cancelled, amount="5.0", round_id=round_id)
    await expect(ctx, cancel, "OK", "cancel after expiry", balance="102")
    promo = build_promo_payout(
        ctx, player, promo_id=new_id("promo"), amount="1.0", promo_type="JackpotWin"
    )
    await expect(ctx, promo, "OK", "jackpot payout after expiry", balance="103")
    await expect(ctx, build_balance(ctx, player), "INVALID_SID", "balance after expiry")
    await expect_wallet(ctx, player, 10_300, "after expiry")


# -- cases: idempotency and ordering -------------------------------------------


async def repeated_debit_applies_once(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    bet = build_debit(ctx, player, ref_id=new_id("ref"), amount="5.0")
    await expect(ctx, bet, "OK", "first debit", balance="95")
    await expect(ctx, bet, _duplicate_debit_status(ctx), "same debit again", balance="95")
    await expect_wallet(ctx, player, 9_500, "a repeated debit")


async def concurrent_duplicate_debits_apply_once(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    bet = build_debit(ctx, player, ref_id=new_id("ref"), amount="5.0")
    responses = await ctx.send_copies(bet, 10)
    statuses = sorted(parse_answer(r).get("status", "?") for r in responses)
    allowed = {"OK", _duplicate_debit_status(ctx)}
    ctx.check(set(statuses) <= allowed, f"10 parallel copies: expected {allowed}, got {statuses}")
    ctx.check(statuses.count("OK") >= 1, f"one copy must be accepted: {statuses}")
    await expect_wallet(ctx, player, 9_500, "10 parallel copies of one debit")


async def debit_reusing_a_ref_id_is_bet_already_exist(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    ref, round_id = await _placed_bet(ctx, player)
    other = build_debit(ctx, player, ref_id=ref, amount="7.0", round_id=round_id)
    await expect(ctx, other, "BET_ALREADY_EXIST", "same refId, other id and amount", balance="95")
    await expect_wallet(ctx, player, 9_500, "a reused refId")


async def credit_without_bet_is_bet_does_not_exist(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    credit = build_credit(ctx, player, ref_id=new_id("ref"), amount="10.0")
    await expect(ctx, credit, "BET_DOES_NOT_EXIST", "credit of an unknown bet", balance="100")
    await expect(ctx, credit, "BET_DOES_NOT_EXIST", "the same credit again", balance="100")
    await expect_wallet(ctx, player, 10_000, "a credit without bet")


async def second_credit_for_a_settled_bet_pays_nothing(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    ref, round_id = await _placed_bet(ctx, player)
    win = build_credit(ctx, player, ref_id=ref, amount="12.5", round_id=round_id)
    await expect(ctx, win, "OK", "credit", balance="107.5")
    await expect(ctx, win, "OK", "the same credit retried", balance="107.5")
    other = build_credit(ctx, player, ref_id=ref, amount="12.5", round_id=round_id)
    await expect(ctx, other, "BET_ALREADY_SETTLED", "another credit for the bet", balance="107.5")
    await expect_wallet(ctx, player, 10_750, "one win paid")


async def cancel_refunds_once_and_blocks_later_credit(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    ref, round_id = await _placed_bet(ctx, player)
    cancel = build_cancel(ctx, player, ref_id=ref, amount="5.0", round_id=round_id)
    await expect(ctx, cancel, "OK", "cancel", balance="100")
    await expect(ctx, cancel, "OK", "the same cancel retried", balance="100")
    other = build_cancel(ctx, player, ref_id=ref, amount="5.0", round_id=round_id)
    await expect(ctx, other, ("BET_ALREADY_SETTLED", "OK"), "a second cancel", balance="100")
    win = build_credit(ctx, player, ref_id=ref, amount="10.0", round_id=round_id)
    await expect(ctx, win, "BET_ALREADY_SETTLED", "credit after cancel", balance="100")
    await expect_wallet(ctx, player, 10_000, "one refund")


async def cancel_before_debit_leaves_a_tombstone(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    ref, round_id = new_id("ref"), new_id("round")
    cancel = build_cancel(ctx, player, ref_id=ref, amount="5.0", round_id=round_id)
    await expect(ctx, cancel, "BET_DOES_NOT_EXIST", "cancel of an unknown bet", balance="100")
    await expect(ctx, cancel, "BET_DOES_NOT_EXIST", "the same cancel retried", balance="100")
    late = build_debit(ctx, player, ref_id=ref, amount="5.0", round_id=round_id)
    await expect(ctx, late, "FINAL_ERROR_ACTION_FAILED", "the late debit", balance="100")
    win = build_credit(ctx, player, ref_id=ref, amount="10.0", round_id=round_id)
    await expect(ctx, win, ("BET_ALREADY_SETTLED", "BET_DOES_NOT_EXIST"), "credit of it")
    await expect_wallet(ctx, player, 10_000, "a cancelled-before-placed bet")


async def several_open_bets_in_one_round_settle_independently(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id, first, second = new_id("round"), new_id("ref"), new_id("ref")
    await expect(
        ctx, build_debit(ctx, player, ref_id=first, amount="2.0", round_id=round_id), "OK", "hand 1"
    )
    await expect(ctx, build_debit(ctx, player, ref_id=second, amount="3.0", round_id=round_id),
                 "OK", "hand 2", balance="95")  # fmt: skip
    win = build_credit(ctx, player, ref_id=first, amount="4.0", round_id=round_id)
    await expect(ctx, win, "OK", "credit hand 1", balance="99")
    cancel = build_cancel(ctx, player, ref_id=second, amount="3.0", round_id=round_id)
    await expect(ctx, cancel, "OK", "cancel hand 2", balance="102")
    late = build_credit(ctx, player, ref_id=second, amount="6.0", round_id=round_id)
    await expect(ctx, late, "BET_ALREADY_SETTLED", "credit of the cancelled hand", balance="102")
    await expect_wallet(ctx, player, 10_200, "two hands")


async def promo_payout_needs_no_bet_and_pays_once(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    promo = build_promo_payout(ctx, player, promo_id=new_id("promo"), amount="2.5")
    body = await expect(ctx, promo, "OK", "free-round payout")
    await expect(ctx, promo, "OK", "the same payout retried")
    await ctx.expect_wallet(player, 10_000, 250, what="promo once, as bonus")
    ctx.check(body.get("bonus") == Decimal("2.5"), f"bonus shown: {body!r}")
    jackpot = build_promo_payout(
        ctx, player, promo_id=new_id("promo"), amount="1.0", promo_type="JackpotWin"
    )
    await expect(ctx, jackpot, "OK", "jackpot payout")
    await expect_wallet(ctx, player, 10_100, "a jackpot is real money")


# -- cases: amounts, currencies, parsing ---------------------------------------


async def amounts_are_exact_or_refused(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    for amount, what in (
        ("1.005", "three decimals in EUR"),
        ("0.0000001", "seven decimals"),
        ("-1.0", "a negative amount"),
        ("1e400", "a huge exponent"),
        ('"five"', "text"),
        ("true", "a boolean"),
    ):
        bet = build_debit(ctx, player, ref_id=new_id("ref"), amount=amount)
        await expect(ctx, bet, "INVALID_PARAMETER", what, balance="100")
    zeros = build_debit(ctx, player, ref_id=new_id("ref"), amount="1.500000000")
    await expect(ctx, zeros, "OK", "trailing zeros are only notation", balance="98.5")
    quoted = build_debit(ctx, player, ref_id=new_id("ref"), amount='"0.25"')
    await expect(ctx, quoted, "OK", "an amount as decimal text", balance="98.25")
    await expect_wallet(ctx, player, 9_825, "exact amounts")
    yen = await ctx.new_player(currency="JPY", real="1000")
    await expect(ctx, build_debit(ctx, yen, ref_id=new_id("ref"), amount="1.5"),
                 "INVALID_PARAMETER", "1.5 JPY", balance="1000")  # fmt: skip
    await expect(
        ctx, build_debit(ctx, yen, ref_id=new_id("ref"), amount="15"), "OK", "15 JPY", balance="985"
    )


async def unknown_or_mismatched_currency_is_invalid_parameter(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    for currency in ("SCHMECKLES", "USD"):
        bet = build_debit(ctx, player, ref_id=new_id("ref"), amount="5.0", currency=currency)
        await expect(ctx, bet, "INVALID_PARAMETER", f"debit in {currency}", balance="100")
    await expect(
        ctx, build_balance(ctx, player, currency="USD"), "INVALID_PARAMETER", "balance in USD"
    )
    await expect_wallet(ctx, player, 10_000, "foreign currencies")


async def insufficient_funds_shows_the_balance(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    bet = build_debit(ctx, player, ref_id=new_id("ref"), amount="100.01")
    body = await expect(ctx, bet, "INSUFFICIENT_FUNDS", "bet above balance", balance="100")
    ctx.check(body.get("bonus") == Decimal("0"), f"bonus shown: {body!r}")
    await expect_wallet(ctx, player, 10_000, "a refused bet")


_ODD_DEBIT = (
    '\n  {\n\t"transaction" : { "amount" : 5.00 , "refId" : "$REF", "id": "$TX", "extra": [1, {}]},'
    '  "currency":"EUR", "uuid": "r\u00e9q-\u2603", "somethingNew": {"x": null},'
    '"game": {"type": "blackjack \u00e9\u2603 \\u00fc", "id": "$ROUND", "details": {"table": {}}},'
    '"userId": "$USER", "sid": "$SID"}  \n'
)


async def unusual_json_is_accepted(ctx: ScriptContext) -> None:
    """Whitespace, key order, raw and escaped unicode, unknown fields: all just JSON."""
    player = await ctx.new_player()
    body = _ODD_DEBIT
    for name, value in (
        ("$REF", new_id("ref")), ("$TX", new_id("tx")), ("$ROUND", new_id("round")),
        ("$USER", player.player_id), ("$SID", player.session_token),
    ):  # fmt: skip
        body = body.replace(name, value)
    request = build_request(ctx, "debit", body.encode())
    answer = await expect(ctx, request, "OK", "odd JSON", balance="95")
    ctx.check(answer.get("uuid") == "r\u00e9q-\u2603", f"unicode uuid echoed: {answer!r}")
    await expect_wallet(ctx, player, 9_500, "a debit in odd JSON")


async def malformed_requests_are_invalid_parameter(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    doc = transaction_doc(player, ref_id=new_id("ref"), amount="5.0", uuid="req-bad")
    missing = {k: v for k, v in doc.items() if k != "transaction"}
    cases: list[tuple[bytes | dict[str, Any], str]] = [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "a JSON array"),
        (missing, "no transaction"),
        (doc | {"game": "round-1"}, "game not an object"),
        (doc | {"sid": 42}, "a numeric sid"),
    ]
    for payload, what in cases:
        answer = await expect(ctx, build_request(ctx, "debit", payload), "INVALID_PARAMETER", what)
        if isinstance(payload, dict):
            ctx.check(answer.get("uuid") == "req-bad", f"{what}: uuid echoed: {answer!r}")
    await expect_wallet(ctx, player, 10_000, "malformed requests")


CASES: list[Case] = [
    Case(run.__name__, run)
    for run in (
        f3_debit_then_credit_answers_exact_bodies,
        f3_zero_credit_is_a_loss_that_settles_the_bet,
        wrong_or_missing_auth_token_is_refused,
        mismatched_sid_and_user_is_invalid_sid,
        check_returns_a_new_sid_and_the_old_one_still_settles,
        check_refuses_unknown_foreign_or_expired_sid,
        expired_sid_refuses_bets_but_settles,
        repeated_debit_applies_once,
        concurrent_duplicate_debits_apply_once,
        debit_reusing_a_ref_id_is_bet_already_exist,
        credit_without_bet_is_bet_does_not_exist,
        second_credit_for_a_settled_bet_pays_nothing,
        cancel_refunds_once_and_blocks_later_credit,
        cancel_before_debit_leaves_a_tombstone,
        several_open_bets_in_one_round_settle_independently,
        promo_payout_needs_no_bet_and_pays_once,
        amounts_are_exact_or_refused,
        unknown_or_mismatched_currency_is_invalid_parameter,
        insufficient_funds_shows_the_balance,
        unusual_json_is_accepted,
        malformed_requests_are_invalid_parameter,
    )
]
