"""Player account rules: whether a player may play at all, in one place.

Session creation, game launch, provider `user/info` calls and every debit ask the same
question; a market's rules and the player's own limits come after this one.
"""

from __future__ import annotations

from core.errors import PlayerBlocked, SelfExcluded
from core.model import PlayerStatus
from core.wallet.records import PlayerRecord

__all__ = ["check_may_play"]


def check_may_play(player: PlayerRecord) -> None:
    """Raise the refusal for a player whose account does not allow play."""
    if player.status is PlayerStatus.SELF_EXCLUDED:
        raise SelfExcluded("player is self-excluded")
    if player.status is not PlayerStatus.ACTIVE:
        raise PlayerBlocked(f"player account is {player.status.value}")
