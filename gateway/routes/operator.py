"""The operator API: players, cashier (deposits, withdrawals, bonus grants), balances,
transaction history, game sessions and round recall. JSON in and out; see README.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import partial
from typing import TypeVar

from aiohttp import web

from core.age import age_years
from core.catalogue.game import GameKey
from core.errors import (
    ConflictingReplay,
    CurrencyMismatch,
    InvalidAmount,
    InvalidRequest,
    ReferenceNotFound,
    Underage,
)
from core.model import BonusGrant, Deposit, FundingOrder, Withdrawal
from core.money import minor_from_decimal
from core.pam import AccountUse, check_account, identity_change
from core.registers import RegisterSubject
from core.wallet.records import PlayerRecord, TxRecord
from gateway.keys import ADAPTERS, CLOCK, REQUEST_INFO, SERVICE, SETTINGS
from gateway.player_checks import check_new_player, check_register_of
from gateway.responses import json_response
from gateway.routes._guard import ExpectHandler, Handler, operator_handler
from gateway.routes.accounts import player_answer
from gateway.routes.bodies import CashierBody, NewPlayerBody, NewSessionBody, parse_body
from gateway.routes.launch import open_game_session, playable_for
from gateway.routes.paging import page_json, page_request
from gateway.routes.query import path_player_id
from gateway.views import balance_json, round_json, session_json, tx_json

__all__ = ["add_operator_routes"]

TRANSACTIONS_PAGE_DEFAULT = 50
TRANSACTIONS_PAGE_MAX = 500
DATE_OF_BIRTH_MIN = date(1900, 1, 1)
AGE_YEARS_MIN = 18
"""The floor in every market; a market's own higher minimum comes with its rules."""
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_T = TypeVar("_T")

CashierCommand = type[Deposit] | type[Withdrawal] | type[BonusGrant]


@operator_handler(write=True)
async def create_player(request: web.Request) -> web.Response:
    """201 with the new player; an identical repeat is 200, different data is 409."""
    body = await parse_body(request, NewPlayerBody)
    service = request.app[SERVICE]
    service.currencies.get(body.currency)  # UnknownCurrency (400) for unknown codes
    today = datetime.fromtimestamp(request.app[CLOCK].seconds(), tz=UTC).date()
    if not DATE_OF_BIRTH_MIN <= body.date_of_birth < today:
        raise InvalidRequest("date_of_birth: must be a past date after 1900-01-01")
    if age_years(body.date_of_birth, today) < AGE_YEARS_MIN:
        raise Underage(f"the player must be at least {AGE_YEARS_MIN} years old")
    request[REQUEST_INFO].player_id = body.player_id
    record = PlayerRecord(
        player_id=body.player_id,
        brand=body.brand,
        jurisdiction=body.jurisdiction,
        currency=body.currency,
        date_of_birth=body.date_of_birth,
        funding_order=request.app[SETTINGS].brands.get(body.brand, FundingOrder.REAL_FIRST),
    )
    if body.identity is not None:
        identity = identity_change(body.identity.with_values())
        record, *_ = identity(record, request.app[CLOCK].micros())
    existing = await service.find_player(body.player_id)
    if existing is not None:
        if _registered(existing) != _registered(record):
            raise ConflictingReplay("a player with this id exists with different data")
        return await player_answer(request, existing)
    await check_new_player(request, RegisterSubject.of(record), record.brand)
    created = await service.create_player(record)
    return await player_answer(request, created, status=201)


def _registered(player: PlayerRecord) -> tuple[object, ...]:
    """What registration gives: a repeat is compared on it alone, so a status, KYC or
    limit changed since does not make a retried registration a conflict."""
    return (
        player.brand,
        player.jurisdiction,
        player.currency,
        player.date_of_birth,
        player.funding_order,
        player.identity,
    )


def _cashier_handler(command: CashierCommand) -> Handler:
    """Deposit, withdrawal or bonus grant; `Idempotency-Key` is the transaction id."""

    @operator_handler(write=True)
    async def cashier(request: web.Request) -> web.Response:
        player_id = path_player_id(request)
        key = _idempotency_key(request)
        body = await parse_body(request, CashierBody)
        service = request.app[SERVICE]
        player = await service.player(player_id)
        if body.currency is not None:
            service.currencies.get(body.currency)  # UnknownCurrency (400) before a mismatch
            if body.currency != player.currency:
                raise CurrencyMismatch(f"the player's wallet is in {player.currency}")
        amount_minor = minor_from_decimal(body.amount, service.currencies.get(player.currency))
        if amount_minor == 0:
            raise InvalidAmount("amount must be greater than zero")
        if command is Deposit:  # the register is I/O: asked before the atomic step
            check_account(player, AccountUse.DEPOSIT, request.app[CLOCK].micros())
            await check_register_of(request, RegisterSubject.of(player), player.brand)
        [outcome] = await service.execute(
            [command(key, player_id, player.currency, amount_minor)], session_token=None
        )
        request[REQUEST_INFO].outcome = "replay" if outcome.replay else "ok"
        shown = {
            "transaction_id": outcome.transaction_id,
            "replay": outcome.replay,
            "balance": balance_json(player_id, outcome.balance, service.currencies),
        }
        return json_response(shown, status=200 if outcome.replay else 201)

    return cashier


def _idempotency_key(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise InvalidRequest("the Idempotency-Key header is required")
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidRequest("Idempotency-Key: 1-128 printable ASCII characters, no spaces")
    return key


@operator_handler(write=False)
async def balance(request: web.Request) -> web.Response:
    """In the player's wallet currency: one store call, `PlayerNotFound` if unknown."""
    player_id = path_player_id(request)
    service = request.app[SERVICE]
    current = await service.balance(player_id)
    return json_response(balance_json(player_id, current, service.currencies))


@operator_handler(write=False)
async def transactions(request: web.Request) -> web.Response:
    """Newest first; pass `next_before` as `before` for the next page (null: no more)."""
    player_id = path_player_id(request)
    page = page_request(
        request, limit_max=TRANSACTIONS_PAGE_MAX, limit_default=TRANSACTIONS_PAGE_DEFAULT
    )
    service = request.app[SERVICE]
    await service.player(player_id)
    records = await service.transactions(
        player_id, limit=page.rows_to_fetch, before_seq=page.before_seq
    )
    render = partial(tx_json, currencies=service.currencies)
    return json_response(page_json(records, page, seq_of=_seq, render=render))


def _seq(record: TxRecord) -> int:
    return record.seq


@operator_handler(write=True)
async def create_session(request: web.Request) -> web.Response:
    """A game session token for a catalogue game, valid `sessions.ttl_s` or the shorter
    `ttl_s` the body asks for, recording the player's reality-check interval when given.
    The game must be one the player's brand may offer in the player's market (and on
    the device, when named): the rule the lobby lists by."""
    body = await parse_body(request, NewSessionBody)
    if body.provider not in request.app[ADAPTERS]:
        raise InvalidRequest("provider: not a configured, enabled provider instance")
    ttl_s = _session_ttl_s(body.ttl_s, request.app[SETTINGS].sessions.ttl_s)
    request[REQUEST_INFO].player_id = body.player_id
    player = await request.app[SERVICE].player(body.player_id)
    game = await playable_for(request, player, GameKey(body.provider, body.game_id), body.device)
    session = await open_game_session(
        request, player, game, body.device, ttl_s, body.reality_check_s
    )
    return json_response(session_json(session), status=201)


def _session_ttl_s(requested_s: int | None, ttl_s_max: int) -> int:
    """A shorter session on request (tests of expiry, short demo links); never a longer one."""
    if requested_s is None:
        return ttl_s_max
    if not 1 <= requested_s <= ttl_s_max:
        raise InvalidRequest(f"ttl_s: must be a whole number of seconds from 1 to {ttl_s_max}")
    return requested_s


@operator_handler(write=False)
async def get_round(request: web.Request) -> web.Response:
    """A round and every transaction in it, oldest first (game recall)."""
    provider = request.match_info["provider"]
    round_id = request.match_info["round_id"]
    service = request.app[SERVICE]
    found = await service.round(provider, round_id)
    if found is None:
        raise ReferenceNotFound("unknown round")
    request[REQUEST_INFO].player_id = found.player_id
    records = await service.round_transactions(provider, round_id)
    return json_response(round_json(found, records, service.currencies))


def add_operator_routes(app: web.Application, *, expect_handler: ExpectHandler) -> None:
    players = "/v1/players/{player_id}"
    expect = expect_handler
    app.router.add_routes(
        [
            web.post("/v1/players", create_player, expect_handler=expect),
            web.post(f"{players}/deposits", _cashier_handler(Deposit), expect_handler=expect),
            web.post(f"{players}/withdrawals", _cashier_handler(Withdrawal), expect_handler=expect),
            web.post(
                f"{players}/bonus-grants", _cashier_handler(BonusGrant), expect_handler=expect
            ),
            web.get(f"{players}/balance", balance, expect_handler=expect),
            web.get(f"{players}/transactions", transactions, expect_handler=expect),
            web.post("/v1/sessions", create_session, expect_handler=expect),
            web.get("/v1/rounds/{provider}/{round_id}", get_round, expect_handler=expect),
        ]
    )
