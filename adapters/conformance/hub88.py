"""Conformance script for `hub88` instances, plus the provider simulator that signs.

The builders (`build_info`, `build_balance`, `build_bet`, `build_win`, `build_rollback`,
`signed`) make requests exactly as Hub88 sends them: compact JSON, amounts x 100,000,
`X-Hub88-Signature` = Base64 RSA-PKCS#1 v1.5 SHA-256 over the body with
`provider_private_key`. `verify_answer` checks our signed answers with
`gateway_public_key`. The load generator reuses them.

Edge cases that do not apply to this protocol:
- resettlement: a casino protocol with no settle/resettle operation (sportsbook only);
- replay windows: Hub88 signs no timestamp or nonce and retries with the same
  `request_uuid`, so replayed bodies are answered by idempotency (the duplicate cases
  below) rather than refused;
- discard before make: Hub88 has no two-phase bet;
- the F1 vector's literal user and token ("john12345", "55b7518e-...") cannot be created
  through the operator API, so `the F1 wire vector...` plays the vector's exact field
  layout with the case's own player; the bit-exact bytes and answer are checked in
  `tests/adapters/test_hub88.py`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

from adapters.conformance.kit import (
    Case,
    PlayerFixture,
    ScriptContext,
    Secrets,
    WireRequest,
    WireResponse,
    secrets_of,
)
from adapters.providers.hub88_wire import (
    AMOUNT_SCALE,
    SIGNATURE_HEADER,
    load_private_key,
    load_public_key,
    sign,
    verify,
)

__all__ = [
    "CASES",
    "VECTOR_BET_BODY",
    "VECTOR_BET_RESPONSE",
    "build_balance",
    "build_bet",
    "build_info",
    "build_rollback",
    "build_win",
    "call",
    "new_id",
    "scaled",
    "signed",
    "verify_answer",
]

VECTOR_BET_BODY = (
    b'{"user":"john12345","transaction_uuid":"16d2dcfe-b89e-11e7-854a-58404eea6d16",'
    b'"supplier_transaction_id":"41ecc3ad-b181-4235-bf9d-acf0a7ad9730",'
    b'"token":"55b7518e-b89e-11e7-81be-58404eea6d16","round":"rNEMwgzJAOZ6eR3V",'
    b'"round_closed":false,"request_uuid":"583c985f-fee6-4c0e-bbf5-308aad6265af",'
    b'"is_free":false,"game_code":"clt_dragonrising","currency":"EUR","bet":"zero",'
    b'"amount":100000,"meta":{}}'
)
VECTOR_BET_RESPONSE = (
    b'{"user":"john12345","status":"RS_OK",'
    b'"request_uuid":"583c985f-fee6-4c0e-bbf5-308aad6265af","currency":"EUR","balance":900000}'
)


# -- provider simulator ------------------------------------------------------------


def new_id() -> str:
    """A fresh UUID, as Hub88 uses for `transaction_uuid`, `request_uuid` and rounds."""
    return str(uuid.uuid4())


def scaled(text: str) -> int:
    """A decimal amount as Hub88 sends it: `"1.50"` -> 150000."""
    value = Decimal(text).scaleb(AMOUNT_SCALE)
    assert value == value.to_integral_value(), f"{text} is finer than 0.00001"
    return int(value)


def signed(source: Secrets, path: str, body: bytes, *, signature: str | None = None) -> WireRequest:
    """A POST to `path` signed over exactly `body` (or carrying `signature` as given)."""
    key = load_private_key(secrets_of(source)["provider_private_key"])
    value = sign(key, body) if signature is None else signature
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: value}
    return WireRequest("POST", path, body, headers)


def _request(source: Secrets, path: str, payload: Mapping[str, Any]) -> WireRequest:
    return signed(source, path, orjson.dumps(payload))


def build_info(source: Secrets, player: PlayerFixture) -> WireRequest:
    return _request(source, "user/info", {"user": player.player_id, "request_uuid": new_id()})


def build_balance(
    source: Secrets, player: PlayerFixture, *, token: str | None = None
) -> WireRequest:
    payload = {
        "user": player.player_id,
        "token": token or player.session_token,
        "request_uuid": new_id(),
        "game_code": player.game_id,
    }
    return _request(source, "user/balance", payload)


def _transaction(
    player: PlayerFixture, *, transaction_uuid: str | None, round_id: str | None,
    round_closed: bool, extra: Mapping[str, Any],
) -> dict[str, Any]:  # fmt: skip
    return {
        "user": player.player_id,
        "transaction_uuid": transaction_uuid or new_id(),
        "supplier_transaction_id": new_id(),
        "token": player.session_token,
        "round": round_id or new_id(),
        "round_closed": round_closed,
        "request_uuid": new_id(),
        "game_code": player.game_id,
        **extra,
    }


def build_bet(
    source: Secrets, player: PlayerFixture, *, amount: int, transaction_uuid: str | None = None,
    round_id: str | None = None, round_closed: bool = False, currency: str | None = None,
    **extra: Any,
) -> WireRequest:  # fmt: skip
    """A bet of `amount` (x 100,000); `extra` adds or overrides fields (`is_free`, `token`)."""
    fields = {"is_free": False, "currency": currency or player.currency, "bet": "zero",
              "amount": amount, "meta": {}, **extra}  # fmt: skip
    payload = _transaction(
        player, transaction_uuid=transaction_uuid, round_id=round_id,
        round_closed=round_closed, extra=fields,
    )  # fmt: skip
    return _request(source, "transaction/bet", payload)


def build_win(
    source: Secrets, player: PlayerFixture, *, amount: int, reference: str | None,
    round_id: str, transaction_uuid: str | None = None, round_closed: bool = False,
    currency: str | None = None, **extra: Any,
) -> WireRequest:  # fmt: skip
    """A win of `amount` settling the bet `reference` (None: no reference at all)."""
    fields: dict[str, Any] = {"is_free": False, "currency": currency or player.currency,
                              "bet": "zero", "amount": amount, "meta": {}}  # fmt: skip
    if reference is not None:
        fields["reference_transaction_uuid"] = reference
    payload = _transaction(
        player, transaction_uuid=transaction_uuid, round_id=round_id,
        round_closed=round_closed, extra={**fields, **extra},
    )  # fmt: skip
    return _request(source, "transaction/win", payload)


def build_rollback(
    source: Secrets, player: PlayerFixture, *, reference: str, round_id: str | None = None,
    transaction_uuid: str | None = None, round_closed: bool = False,
) -> WireRequest:  # fmt: skip
    payload = {
        "user": player.player_id,
        "transaction_uuid": transaction_uuid or new_id(),
        "reference_transaction_uuid": reference,
        "token": player.session_token,
        "round": round_id or new_id(),
        "round_closed": round_closed,
        "request_uuid": new_id(),
        "game_code": player.game_id,
        "meta": {},
    }
    return _request(source, "transaction/rollback", payload)


def verify_answer(source: Secrets, response: WireResponse) -> bool:
    """True if the answer carries our signature over its exact bytes."""
    key = load_public_key(secrets_of(source)["gateway_public_key"])
    return verify(key, response.body, response.headers.get(SIGNATURE_HEADER.lower()))


async def call(ctx: ScriptContext, request: WireRequest) -> dict[str, Any]:
    """Send, check the envelope (HTTP 200, JSON, signature, echoed request_uuid), parse."""
    response = await ctx.send(request)
    ctx.check(response.status == 200, f"expected HTTP 200, got {response.status}")
    if ctx.options.get("sign_responses", False):
        ctx.check(verify_answer(ctx, response), "answer is not signed with the gateway key")
    body = response.json()
    ctx.check(isinstance(body, dict), f"expected a JSON object, got {response.body[:200]!r}")
    try:
        sent = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        sent = None
    if isinstance(sent, dict) and isinstance(sent.get("request_uuid"), str):
        echoed = body.get("request_uuid")
        ctx.check(echoed == sent["request_uuid"], f"request_uuid not echoed: {echoed!r}")
    assert isinstance(body, dict)
    return body


def _expect(
    ctx: ScriptContext, body: Mapping[str, Any], status: str, balance: int | None = None
) -> None:
    ctx.check(body.get("status") == status, f"expected {status}, got {body.get('status')!r}")
    if balance is not None:
        got = body.get("balance")
        ctx.check(got == balance, f"expected balance {balance}, got {got!r} ({status})")


OK = "RS_OK"
EUR_100 = scaled("100.00")

# -- cases -------------------------------------------------------------------------


async def _info_and_balance(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    info = await call(ctx, build_info(ctx, player))
    _expect(ctx, info, OK)
    ctx.check(info.get("user") == player.player_id, f"user not echoed: {info.get('user')!r}")
    body = await call(ctx, build_balance(ctx, player))
    _expect(ctx, body, OK, EUR_100)
    ctx.check(body.get("currency") == "EUR", f"expected currency EUR, got {body.get('currency')!r}")


async def _balance_includes_bonus(ctx: ScriptContext) -> None:
    player = await ctx.new_player(bonus="10.00")
    _expect(ctx, await call(ctx, build_balance(ctx, player)), OK, scaled("110.00"))
    bet = build_bet(ctx, player, amount=scaled("105.00"))
    _expect(ctx, await call(ctx, bet), OK, scaled("5.00"))


async def _vector_flow(ctx: ScriptContext) -> None:
    """F1 and its Checks: replay, conflicting amount, one altered byte, unknown references."""
    player = await ctx.new_player(real="10.00")
    tx, round_id = new_id(), new_id()
    bet = build_bet(ctx, player, amount=100000, transaction_uuid=tx, round_id=round_id)
    first = await call(ctx, bet)
    _expect(ctx, first, OK, 900000)
    keys = list(first)
    expected_keys = ["user", "status", "request_uuid", "currency", "balance"]
    ctx.check(keys == expected_keys, f"expected fields {expected_keys}, got {keys}")
    first_bytes = ctx.exchanges[-1][1].body
    await call(ctx, bet)
    again = ctx.exchanges[-1][1].body
    ctx.check(again == first_bytes, f"replay answered {again!r}, first {first_bytes!r}")
    other = build_bet(ctx, player, amount=200000, transaction_uuid=tx, round_id=round_id)
    _expect(ctx, await call(ctx, other), "RS_ERROR_DUPLICATE_TRANSACTION", 900000)
    altered = bet.body.replace(b'"amount":100000', b'"amount":100001')
    assert altered != bet.body
    tampered = signed(ctx, bet.path, altered, signature=bet.headers[SIGNATURE_HEADER])
    _expect(ctx, await call(ctx, tampered), "RS_ERROR_INVALID_SIGNATURE")
    win = build_win(ctx, player, amount=100000, reference=new_id(), round_id=round_id)
    _expect(ctx, await call(ctx, win), "RS_ERROR_TRANSACTION_DOES_NOT_EXIST", 900000)
    rollback = build_rollback(ctx, player, reference=new_id())
    _expect(ctx, await call(ctx, rollback), OK, 900000)
    await ctx.expect_wallet_total(player, 900, "after the F1 checks")


async def _happy_round(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    tx, round_id = new_id(), new_id()
    bet = build_bet(ctx, player, amount=scaled("1.00"), transaction_uuid=tx, round_id=round_id)
    _expect(ctx, await call(ctx, bet), OK, scaled("99.00"))
    win = build_win(
        ctx, player, amount=scaled("2.50"), reference=tx, round_id=round_id, round_closed=True
    )
    _expect(ctx, await call(ctx, win), OK, scaled("101.50"))
    await ctx.expect_wallet_total(player, 10150, "after bet 1.00 and win 2.50")


async def _rollback_before_bet(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    tx, round_id = new_id(), new_id()
    rollback = build_rollback(ctx, player, reference=tx, round_id=round_id)
    _expect(ctx, await call(ctx, rollback), OK, EUR_100)
    late = build_bet(ctx, player, amount=scaled("1.00"), transaction_uuid=tx, round_id=round_id)
    _expect(ctx, await call(ctx, late), "RS_ERROR_TRANSACTION_ROLLED_BACK", EUR_100)
    await ctx.expect_wallet_total(player, 10000, "late bet after its rollback")


async def _concurrent_duplicates(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    bet = build_bet(ctx, player, amount=scaled("1.00"))
    answers = await asyncio.gather(*(call(ctx, bet) for _ in range(10)))
    for answer in answers:
        _expect(ctx, answer, OK, scaled("99.00"))
    await ctx.expect_wallet_total(player, 9900, "ten concurrent copies of one bet")


async def _duplicate_win(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    tx, round_id = new_id(), new_id()
    bet = build_bet(ctx, player, amount=scaled("1.00"), transaction_uuid=tx, round_id=round_id)
    await call(ctx, bet)
    win_tx = new_id()
    win = build_win(
        ctx, player, amount=scaled("3.00"), reference=tx, round_id=round_id,
        transaction_uuid=win_tx,
    )  # fmt: skip
    _expect(ctx, await call(ctx, win), OK, scaled("102.00"))
    _expect(ctx, await call(ctx, win), OK, scaled("102.00"))
    other = build_win(
        ctx, player, amount=scaled("5.00"), reference=tx, round_id=round_id,
        transaction_uuid=win_tx,
    )  # fmt: skip
    _expect(ctx, await call(ctx, other), "RS_ERROR_DUPLICATE_TRANSACTION", scaled("102.00"))
    await ctx.expect_wallet_total(player, 10200, "duplicate and conflicting wins")


async def _win_without_bet(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    round_id = new_id()
    orphan = build_win(ctx, player, amount=scaled("1.00"), reference=new_id(), round_id=round_id)
    _expect(ctx, await call(ctx, orphan), "RS_ERROR_TRANSACTION_DOES_NOT_EXIST", EUR_100)
    unreferenced = build_win(ctx, player, amount=scaled("1.00"), reference=None, round_id=round_id)
    _expect(ctx, await call(ctx, unreferenced), "RS_ERROR_WRONG_SYNTAX")
    await ctx.expect_wallet_total(player, 10000, "wins without a bet")
    promo = build_win(
        ctx, player, amount=scaled("5.00"), reference=None, round_id=new_id(),
        is_free=True, is_supplier_promo=True,
    )  # fmt: skip
    _expect(ctx, await call(ctx, promo), OK, scaled("105.00"))
    await ctx.expect_wallet_total(player, 10500, "a supplier promo win without a bet")


async def _win_after_rollback(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    tx, round_id = new_id(), new_id()
    bet = build_bet(ctx, player, amount=scaled("1.00"), transaction_uuid=tx, round_id=round_id)
    await call(ctx, bet)
    rollback = build_rollback(ctx, player, reference=tx, round_id=round_id)
    _expect(ctx, await call(ctx, rollback), OK, EUR_100)
    win = build_win(ctx, player, amount=scaled("2.00"), reference=tx, round_id=round_id)
    _expect(ctx, await call(ctx, win), "RS_ERROR_TRANSACTION_ROLLED_BACK", EUR_100)
    await ctx.expect_wallet_total(player, 10000, "win on a rolled-back bet")


async def _duplicate_rollback(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    tx, round_id = new_id(), new_id()
    await call(ctx, build_bet(ctx, player, amount=scaled("1.00"), transaction_uuid=tx))
    rollback = build_rollback(ctx, player, reference=tx, round_id=round_id)
    _expect(ctx, await call(ctx, rollback), OK, EUR_100)
    _expect(ctx, await call(ctx, rollback), OK, EUR_100)
    await ctx.expect_wallet_total(player, 10000, "one rollback sent twice")


async def _cancel_after_settlement(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    tx, round_id = new_id(), new_id()
    bet = build_bet(ctx, player, amount=scaled("1.00"), transaction_uuid=tx, round_id=round_id)
    await call(ctx, bet)
    win = build_win(ctx, player, amount=scaled("2.00"), reference=tx, round_id=round_id)
    _expect(ctx, await call(ctx, win), OK, scaled("101.00"))
    rollback = build_rollback(ctx, player, reference=tx, round_id=round_id)
    answer = await call(ctx, rollback)
    ctx.check(answer.get("status") != OK, "a settled bet must not be rolled back")
    _expect(ctx, answer, "RS_ERROR_UNKNOWN", scaled("101.00"))
    await ctx.expect_wallet_total(player, 10100, "rollback of a settled bet")


async def _bet_after_round_closed(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    tx, round_id = new_id(), new_id()
    await call(ctx, build_bet(ctx, player, amount=scaled("1.00"), transaction_uuid=tx,
                              round_id=round_id))  # fmt: skip
    win = build_win(
        ctx, player, amount=scaled("2.00"), reference=tx, round_id=round_id, round_closed=True
    )
    _expect(ctx, await call(ctx, win), OK, scaled("101.00"))
    late = build_bet(ctx, player, amount=scaled("1.00"), round_id=round_id)
    answer = await call(ctx, late)
    ctx.check(answer.get("status") != OK, "a bet in a closed round must be refused")
    _expect(ctx, answer, "RS_ERROR_UNKNOWN", scaled("101.00"))
    await ctx.expect_wallet_total(player, 10100, "bet after the round closed")


async def _zero_win_closes_round(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    tx, round_id = new_id(), new_id()
    bet = build_bet(ctx, player, amount=scaled("1.00"), transaction_uuid=tx, round_id=round_id)
    await call(ctx, bet)
    loss = build_win(ctx, player, amount=0, reference=tx, round_id=round_id, round_closed=True)
    _expect(ctx, await call(ctx, loss), OK, scaled("99.00"))
    late = build_bet(ctx, player, amount=scaled("1.00"), round_id=round_id)
    _expect(ctx, await call(ctx, late), "RS_ERROR_UNKNOWN", scaled("99.00"))
    await ctx.expect_wallet_total(player, 9900, "zero win closing the round")


async def _second_bet_same_round(ctx: ScriptContext) -> None:
    """Extra balls: two bets in one round; rolling one back leaves the other standing."""
    player = await ctx.new_player()
    first, second, round_id = new_id(), new_id(), new_id()
    for tx, amount in ((first, "1.00"), (second, "2.00")):
        bet = build_bet(ctx, player, amount=scaled(amount), transaction_uuid=tx, round_id=round_id)
        _expect(ctx, await call(ctx, bet), OK)
    rollback = build_rollback(ctx, player, reference=first, round_id=round_id)
    _expect(ctx, await call(ctx, rollback), OK, scaled("98.00"))
    win = build_win(
        ctx, player, amount=scaled("3.00"), reference=second, round_id=round_id, round_closed=True
    )
    _expect(ctx, await call(ctx, win), OK, scaled("101.00"))
    await ctx.expect_wallet_total(player, 10100, "two bets, one rollback, one win")


async def _expired_token(ctx: ScriptContext) -> None:
    """Bets refused after expiry; wins, rollbacks and balance reads still pass."""
    player = await ctx.new_player(session_ttl_s=1)
    kept, undone, round_id = new_id(), new_id(), new_id()
    for tx in (kept, undone):
        bet = build_bet(ctx, player, amount=scaled("1.00"), transaction_uuid=tx, round_id=round_id)
        _expect(ctx, await call(ctx, bet), OK)
    await ctx.elapse(2)
    late = build_bet(ctx, player, amount=scaled("1.00"), round_id=round_id)
    _expect(ctx, await call(ctx, late), "RS_ERROR_TOKEN_EXPIRED", scaled("98.00"))
    win = build_win(ctx, player, amount=scaled("4.00"), reference=kept, round_id=round_id)
    _expect(ctx, await call(ctx, win), OK, scaled("102.00"))
    rollback = build_rollback(ctx, player, reference=undone, round_id=round_id)
    _expect(ctx, await call(ctx, rollback), OK, scaled("103.00"))
    _expect(ctx, await call(ctx, build_balance(ctx, player)), OK, scaled("103.00"))
    await ctx.expect_wallet_total(player, 10300, "after expiry")


def _unusual_body(player: PlayerFixture, tx: str) -> bytes:
    """A bet with odd whitespace, reversed key order, unicode and fields nobody knows yet."""
    text = (
        '{\n  "meta" : {"note": "€ ünïcødé ✓ \\u00e9", "nested": {"a": [1, 2.5, null]}},\n'
        f'\t"user":"{player.player_id}" ,  "transaction_uuid": "{tx}",\r\n'
        f' "token": "{player.session_token}", "round": "{new_id()}", "round_closed": false,'
        f' "request_uuid": "{new_id()}", "is_free": false, "game_code": "{player.game_id}",'
        ' "currency": "EUR", "bet": "zéro 🎰", "amount": 100000,'
        ' "introduced_in_2030": {"x": [true, 1e3]}   \n}\n'
    )
    return text.encode()


async def _signature_edge_cases(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    unusual = signed(ctx, "transaction/bet", _unusual_body(player, new_id()))
    _expect(ctx, await call(ctx, unusual), OK, scaled("99.00"))
    reserialized = orjson.dumps(orjson.loads(_unusual_body(player, new_id())))
    original = signed(ctx, "transaction/bet", _unusual_body(player, new_id()))
    swapped = signed(ctx, "transaction/bet", reserialized,
                     signature=original.headers[SIGNATURE_HEADER])  # fmt: skip
    _expect(ctx, await call(ctx, swapped), "RS_ERROR_INVALID_SIGNATURE")
    bet = build_bet(ctx, player, amount=scaled("1.00"))
    missing = WireRequest("POST", bet.path, bet.body, {"Content-Type": "application/json"})
    _expect(ctx, await call(ctx, missing), "RS_ERROR_INVALID_SIGNATURE")
    wrong_key = sign(load_private_key(ctx.secrets["provider_private_key"]), b"other bytes")
    for signature in (wrong_key, "not base64!", ""):
        forged = signed(ctx, bet.path, bet.body, signature=signature)
        _expect(ctx, await call(ctx, forged), "RS_ERROR_INVALID_SIGNATURE")
    await ctx.expect_wallet_total(player, 9900, "refused signatures")


async def _amount_refusals(ctx: ScriptContext) -> None:
    """Sub-cent, negative, float, string or huge amounts; unknown or other currencies."""
    player = await ctx.new_player()
    for amount in (1, 99999, -100000, "100000", 2**63):
        bet = build_bet(ctx, player, amount=amount)  # type: ignore[arg-type]  # -- a str on purpose
        _expect(ctx, await call(ctx, bet), "RS_ERROR_WRONG_TYPES")
    plain = build_bet(ctx, player, amount=100000)
    as_float = signed(ctx, plain.path, plain.body.replace(b'"amount":100000', b'"amount":100000.0'))
    _expect(ctx, await call(ctx, as_float), "RS_ERROR_WRONG_TYPES")
    for currency in ("XYZ", "schmeckles", "USD"):
        bet = build_bet(ctx, player, amount=100000, currency=currency)
        _expect(ctx, await call(ctx, bet), "RS_ERROR_WRONG_CURRENCY")
    await ctx.expect_wallet_total(player, 10000, "refused amounts and currencies")


async def _session_refusals(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    other = await ctx.new_player()
    unknown = build_bet(ctx, player, amount=scaled("1.00"), token=new_id())
    _expect(ctx, await call(ctx, unknown), "RS_ERROR_INVALID_TOKEN", EUR_100)
    foreign = build_bet(ctx, player, amount=scaled("1.00"), token=other.session_token)
    _expect(ctx, await call(ctx, foreign), "RS_ERROR_INVALID_TOKEN", EUR_100)
    balance = build_balance(ctx, player, token=other.session_token)
    _expect(ctx, await call(ctx, balance), "RS_ERROR_INVALID_TOKEN")
    stranger = PlayerFixture(f"nobody-{new_id()}", "EUR", player.session_token, player.game_id)
    _expect(ctx, await call(ctx, build_info(ctx, stranger)), "RS_ERROR_INVALID_TOKEN")
    await ctx.expect_wallet_total(player, 10000, "bets with a bad token")
    await ctx.expect_wallet_total(other, 10000, "bets with another player's token")


async def _insufficient_funds(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    bet = build_bet(ctx, player, amount=scaled("1000.00"))
    _expect(ctx, await call(ctx, bet), "RS_ERROR_NOT_ENOUGH_MONEY", EUR_100)
    await ctx.expect_wallet_total(player, 10000, "a bet above the balance")


async def _zero_decimal_currency(ctx: ScriptContext) -> None:
    player = await ctx.new_player(currency="JPY", real="1000")
    _expect(ctx, await call(ctx, build_bet(ctx, player, amount=scaled("1"))), OK, scaled("999"))
    half = build_bet(ctx, player, amount=scaled("0.5"))
    _expect(ctx, await call(ctx, half), "RS_ERROR_WRONG_TYPES")
    await ctx.expect_wallet_total(player, 999, "a JPY bet of 0.5")


async def _malformed_requests(ctx: ScriptContext) -> None:
    player = await ctx.new_player()
    _expect(
        ctx, await call(ctx, signed(ctx, "transaction/bet", b"{not json")), "RS_ERROR_WRONG_SYNTAX"
    )
    bet = orjson.loads(build_bet(ctx, player, amount=scaled("1.00")).body)
    del bet["transaction_uuid"]
    missing = signed(ctx, "transaction/bet", orjson.dumps(bet))
    _expect(ctx, await call(ctx, missing), "RS_ERROR_WRONG_SYNTAX")
    unknown_path = signed(ctx, "transaction/refund", orjson.dumps(bet))
    _expect(ctx, await call(ctx, unknown_path), "RS_ERROR_WRONG_SYNTAX")
    await ctx.expect_wallet_total(player, 10000, "malformed requests")


async def _free_bet(ctx: ScriptContext) -> None:
    """A reward spin is not charged (unless the instance sets `charge_free_bets`)."""
    player = await ctx.new_player()
    tx, round_id = new_id(), new_id()
    charged = bool(ctx.options.get("charge_free_bets", False))
    after_bet = scaled("99.00") if charged else EUR_100
    bet = build_bet(
        ctx, player, amount=scaled("1.00"), transaction_uuid=tx, round_id=round_id, is_free=True
    )
    _expect(ctx, await call(ctx, bet), OK, after_bet)
    win = build_win(ctx, player, amount=scaled("0.50"), reference=tx, round_id=round_id)
    _expect(ctx, await call(ctx, win), OK, after_bet + scaled("0.50"))


async def _id_reused_by_another_player(ctx: ScriptContext) -> None:
    first = await ctx.new_player()
    second = await ctx.new_player()
    tx = new_id()
    _expect(
        ctx, await call(ctx, build_bet(ctx, first, amount=scaled("1.00"), transaction_uuid=tx)), OK
    )
    reuse = build_bet(ctx, second, amount=scaled("1.00"), transaction_uuid=tx)
    _expect(ctx, await call(ctx, reuse), "RS_ERROR_DUPLICATE_TRANSACTION")
    await ctx.expect_wallet_total(second, 10000, "another player's transaction_uuid")


CASES: list[Case] = [
    Case(
        "user/info and user/balance answer RS_OK with the echoed user and balance",
        _info_and_balance,
    ),
    Case("the balance is real plus bonus funds", _balance_includes_bonus),
    Case("the F1 wire vector flow and its Checks hold", _vector_flow),
    Case("a bet then a closing win move the balance exactly", _happy_round),
    Case("rollback before its bet is RS_OK and the late bet is ROLLED_BACK", _rollback_before_bet),
    Case("ten concurrent copies of a bet debit once", _concurrent_duplicates),
    Case("a duplicate win credits once; other content is DUPLICATE", _duplicate_win),
    Case("a win without a bet is refused unless it is a supplier promo", _win_without_bet),
    Case("a win on a rolled-back bet is ROLLED_BACK", _win_after_rollback),
    Case("a rollback sent twice reverses once", _duplicate_rollback),
    Case("a settled bet cannot be rolled back", _cancel_after_settlement),
    Case("a bet after round_closed is refused", _bet_after_round_closed),
    Case("a zero win settles and closes the round", _zero_win_closes_round),
    Case("two bets in one round stand independently", _second_bet_same_round),
    Case("an expired token refuses bets but not wins, rollbacks or balance", _expired_token),
    Case(
        "signatures cover the raw bytes; missing or wrong ones are refused", _signature_edge_cases
    ),
    Case("bad amounts are WRONG_TYPES and bad currencies WRONG_CURRENCY", _amount_refusals),
    Case("unknown or foreign tokens are INVALID_TOKEN", _session_refusals),
    Case("insufficient funds is NOT_ENOUGH_MONEY with the balance", _insufficient_funds),
    Case("a zero-decimal currency refuses fractions of a yen", _zero_decimal_currency),
    Case("malformed bodies and unknown paths are WRONG_SYNTAX", _malformed_requests),
    Case("a free bet is recorded and its win paid", _free_bet),
    Case("a transaction_uuid reused by another player is DUPLICATE", _id_reused_by_another_player),
]
