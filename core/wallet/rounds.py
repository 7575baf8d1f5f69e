"""Game rounds: which round a command joins, and the round after it.

One set of rules for every command that touches a round: bets, wins and rollbacks
move its stakes and wins, and `CloseRound` closes it. A round belongs to one player
and one currency; a command naming someone else's round is refused, and a command
for a round not seen yet opens it.
"""

from __future__ import annotations

from core.errors import CurrencyMismatch, InvalidRequest
from core.wallet.records import RoundRecord

__all__ = ["joined_round", "updated_round"]


def joined_round(
    existing: RoundRecord | None,
    provider: str,
    round_id: str,
    player_id: str,
    currency: str,
    game_id: str,
    now_us: int,
) -> RoundRecord:
    """The round a command of `player_id` in `currency` joins: `existing`, or a new one."""
    if existing is None:
        return RoundRecord(
            provider, round_id, player_id, currency, game_id, False, 0, 0, 0, 0, 0, 0,
            now_us, now_us,
        )  # fmt: skip
    if existing.player_id != player_id:
        raise InvalidRequest("round belongs to another player")
    if existing.currency != currency:
        raise CurrencyMismatch("round is in another currency")
    return existing


def updated_round(
    r: RoundRecord,
    now_us: int,
    *,
    closed: bool,
    stake: tuple[int, int] = (0, 0),
    win: tuple[int, int] = (0, 0),
    bets: int = 0,
    settled_before_seq: int | None = None,
) -> RoundRecord:
    """The round after adding stakes/wins (signed, real and bonus); positional for speed."""
    return RoundRecord(
        r.provider, r.round_id, r.player_id, r.currency, r.game_id, closed,
        r.stake_real_minor + stake[0], r.stake_bonus_minor + stake[1],
        r.win_real_minor + win[0], r.win_bonus_minor + win[1], r.bet_count + bets,
        r.settled_before_seq if settled_before_seq is None else settled_before_seq,
        r.opened_at_us, now_us,
    )  # fmt: skip
