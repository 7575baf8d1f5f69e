"""The operator API for player accounts: read a player and its audit trail; change the
status, KYC state, self-exclusion, breaks, limits and identity.

`core.pam` decides whether a change may be made (a self-exclusion or break is never
shortened); the store applies it atomically with its audit entry: the API key's name,
the reason the body gives, the time, the fields before and after. Every change answers
with the player as `GET /v1/players/{player_id}` shows it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from aiohttp import web

from core.errors import InvalidAmount, InvalidRequest
from core.limits import LimitKind, LimitPeriod
from core.model import PlayerStatus
from core.money import Currency, minor_from_decimal
from core.pam import (
    identity_change,
    kyc_change,
    limit_change,
    self_exclusion_change,
    status_change,
    take_break_change,
)
from core.wallet.records import PlayerRecord
from core.wallet.store import PlayerAuditEntry, PlayerChange
from gateway.account_views import account_audit_json, player_json
from gateway.errors import HTTP_STATUS_BY_ACCOUNT_CHANGE_ERROR
from gateway.keys import CLOCK, REQUEST_INFO, RULES, SERVICE
from gateway.responses import json_response
from gateway.routes._guard import ExpectHandler, operator_handler
from gateway.routes.account_bodies import (
    BreakBody,
    IdentityChangeBody,
    KycBody,
    LimitBody,
    SelfExclusionBody,
    StatusBody,
)
from gateway.routes.bodies import parse_body
from gateway.routes.paging import page_json, page_request
from gateway.routes.query import path_player_id

__all__ = ["add_account_routes", "player_answer"]

AUDIT_PAGE_DEFAULT = 50
AUDIT_PAGE_MAX = 500
SESSION_TIME_S_MAX_BY_PERIOD = {
    LimitPeriod.DAY: 86_400,
    LimitPeriod.WEEK: 7 * 86_400,
    LimitPeriod.MONTH: 31 * 86_400,
}
"""A play-time limit longer than its period would limit nothing."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_E = TypeVar("_E", bound=enum.Enum)

_change_handler = operator_handler(write=True, statuses=HTTP_STATUS_BY_ACCOUNT_CHANGE_ERROR)
"""A refusal by the account's state is a 409 (`gateway.errors`)."""


async def player_answer(
    request: web.Request, player: PlayerRecord, *, status: int = 200
) -> web.Response:
    """The player as the operator API shows it, with this period's figures."""
    service = request.app[SERVICE]
    figures = await service.figures(player.player_id)
    shown = player_json(
        player,
        figures,
        now_us=request.app[CLOCK].micros(),
        currency=service.currencies.get(player.currency),
    )
    return json_response(shown, status=status)


@operator_handler(write=False)
async def get_player(request: web.Request) -> web.Response:
    player = await request.app[SERVICE].player(path_player_id(request))
    return await player_answer(request, player)


@operator_handler(write=False)
async def get_audit(request: web.Request) -> web.Response:
    """Newest first; pass `next_before` as `before` for the next page (null: no more)."""
    player_id = path_player_id(request)
    page = page_request(request, limit_max=AUDIT_PAGE_MAX, limit_default=AUDIT_PAGE_DEFAULT)
    service = request.app[SERVICE]
    await service.player(player_id)
    entries = await service.player_audit(
        player_id, limit=page.rows_to_fetch, before_seq=page.before_seq
    )
    return json_response(page_json(entries, page, seq_of=_audit_seq, render=account_audit_json))


def _audit_seq(entry: PlayerAuditEntry) -> int:
    return entry.seq


async def _change(request: web.Request, why: str, change: PlayerChange) -> web.Response:
    actor = request[REQUEST_INFO].actor
    assert actor is not None, "operator_handler names the key"
    changed = await request.app[SERVICE].change_player(
        path_player_id(request), change, actor=actor, why=why
    )
    return await player_answer(request, changed)


@_change_handler
async def set_status(request: web.Request) -> web.Response:
    body = await parse_body(request, StatusBody)
    return await _change(request, body.why, status_change(PlayerStatus(body.status)))


@_change_handler
async def set_kyc(request: web.Request) -> web.Response:
    body = await parse_body(request, KycBody)
    return await _change(request, body.why, kyc_change(body.state))


@_change_handler
async def self_exclude(request: web.Request) -> web.Response:
    body = await parse_body(request, SelfExclusionBody)
    until_us = None if body.until is None else (body.until - _EPOCH) // timedelta(microseconds=1)
    return await _change(request, body.why, self_exclusion_change(until_us))


@_change_handler
async def take_break(request: web.Request) -> web.Response:
    body = await parse_body(request, BreakBody)
    return await _change(request, body.why, take_break_change(body.duration_s))


@_change_handler
async def set_limit(request: web.Request) -> web.Response:
    kind = _path_enum(request, "kind", LimitKind)
    period = _path_enum(request, "period", LimitPeriod)
    body = await parse_body(request, LimitBody)
    service = request.app[SERVICE]
    player = await service.player(path_player_id(request))
    value = _limit_value(kind, period, body.value, service.currencies.get(player.currency))
    delay_s = _increase_delay_s(request, player)
    return await _change(
        request, body.why, limit_change(kind, period, value, increase_delay_s=delay_s)
    )


@_change_handler
async def set_identity(request: web.Request) -> web.Response:
    body = await parse_body(request, IdentityChangeBody)
    return await _change(request, body.why, _identity_update(body.given()))


def _increase_delay_s(request: web.Request, player: PlayerRecord) -> int:
    """The cooling-off before a raised limit counts: the player's market's
    `limit_increase_delay` (the 24-hour default where its rules set none)."""
    now_us = request.app[CLOCK].micros()
    return (
        request.app[RULES]
        .rules_for(player.jurisdiction, player.brand, now_us)
        .limit_increase_delay_s
    )


def _limit_value(
    kind: LimitKind, period: LimitPeriod, value: str | int | None, currency: Currency
) -> int | None:
    """Minor units of the wallet currency for money limits, seconds for play time."""
    if value is None:
        return None
    if kind is LimitKind.SESSION_TIME:
        high_s = SESSION_TIME_S_MAX_BY_PERIOD[period]
        if not isinstance(value, int) or not 0 <= value <= high_s:
            raise InvalidRequest(f"value: whole seconds from 0 to {high_s} for a {period} limit")
        return value
    if not isinstance(value, str):
        raise InvalidAmount(f'value: decimal text in {currency.code}, such as "50.00"')
    return minor_from_decimal(value, currency)


def _identity_update(given: Mapping[str, str | None]) -> PlayerChange:
    """Set the fields given, remove those given as null, keep the others: the API never
    shows the values on file, so an operator cannot send them all back."""
    identity_change({name: value for name, value in given.items() if value is not None})

    def change(player: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        merged = {**dict(player.identity), **given}
        kept = {name: value for name, value in merged.items() if value is not None}
        return identity_change(kept)(player, now_us)

    return change


def _path_enum(request: web.Request, name: str, kind: type[_E]) -> _E:
    text = request.match_info[name]
    for member in kind:
        if member.value == text:
            return member
    raise InvalidRequest(f"{name}: one of {', '.join(str(m.value) for m in kind)}")


def add_account_routes(app: web.Application, *, expect_handler: ExpectHandler) -> None:
    player = "/v1/players/{player_id}"
    expect = expect_handler
    app.router.add_routes(
        [
            web.get(player, get_player, expect_handler=expect),
            web.get(f"{player}/audit", get_audit, expect_handler=expect),
            web.post(f"{player}/status", set_status, expect_handler=expect),
            web.post(f"{player}/kyc", set_kyc, expect_handler=expect),
            web.post(f"{player}/self-exclusion", self_exclude, expect_handler=expect),
            web.post(f"{player}/breaks", take_break, expect_handler=expect),
            web.put(f"{player}/limits/{{kind}}/{{period}}", set_limit, expect_handler=expect),
            web.put(f"{player}/identity", set_identity, expect_handler=expect),
        ]
    )
