"""The checks before a player may register, open a session or deposit that need I/O.

The rules themselves are in `core.compliance` (account, market rules, limits) and
`core.registers` (the market's self-exclusion register); this module only fetches what
they need (the player's figures, the register's answer) and logs a register failure
that a fail-open market lets through. All of it happens before the wallet's atomic
step, never inside it.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from core.catalogue.game import Game
from core.errors import GatewayError, RegisterExcluded
from core.registers import RegisterSubject, check_register
from core.wallet.records import PlayerRecord
from gateway.keys import CLOCK, METRICS, REGISTERS, SERVICE

__all__ = ["check_new_player", "check_register_of", "check_session_opening"]

_log = structlog.get_logger("gamegate.compliance")


async def check_session_opening(request: web.Request, player: PlayerRecord, game: Game) -> None:
    """A real-money session on `game`: the account, the market's rules for the player
    and the game, the player's play-time limits, then the market's register (last: it
    is the one check that costs a call out)."""
    service = request.app[SERVICE]
    now_us = request.app[CLOCK].micros()
    figures = await service.figures(player.player_id) if player.limits else None
    service.compliance.check_session(player, game, figures, now_us)
    await check_register_of(request, RegisterSubject.of(player), player.brand)


async def check_new_player(request: web.Request, subject: RegisterSubject, brand: str) -> None:
    """Registration: the market's minimum age today, then its register."""
    now_us = request.app[CLOCK].micros()
    request.app[SERVICE].compliance.check_registration(
        subject.market, brand, subject.date_of_birth, now_us
    )
    await check_register_of(request, subject, brand)


async def check_register_of(request: web.Request, subject: RegisterSubject, brand: str) -> None:
    """The market's self-exclusion register, failing closed or open as its rules say."""
    registers = request.app[REGISTERS]
    if subject.market not in registers:
        return
    rules = request.app[SERVICE].compliance.rules_of(
        subject.market, brand, request.app[CLOCK].micros()
    )
    fail_closed = True if rules is None else rules.register_fail_closed
    metrics = request.app[METRICS]
    try:
        failure = await check_register(registers, subject, fail_closed=fail_closed)
    except GatewayError as refusal:
        excluded = isinstance(refusal, RegisterExcluded)
        metrics.observe_register_check(subject.market, "excluded" if excluded else "unavailable")
        if not excluded:  # a person must look: players of this market are refused
            _log.warning(
                "register_unavailable_refused",
                market=subject.market,
                player_id=subject.player_id,
                error=str(refusal.__cause__ or refusal),
            )
        raise
    metrics.observe_register_check(subject.market, "clear" if failure is None else "failed_open")
    if failure is not None:
        _log.warning(
            "register_unavailable_let_through",
            market=subject.market,
            player_id=subject.player_id,
            error=str(failure),
        )
