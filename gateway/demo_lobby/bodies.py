"""What the lobby page may send to its backend: strict JSON, demo players only."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from core.catalogue.game import MARKET_PATTERN, GameKey
from gateway.demo import DEMO_PLAYERS

__all__ = ["DEMO_PLAYER_IDS", "LaunchBody", "SpinBody", "check_game_key"]

DEMO_PLAYER_IDS = frozenset(player.player_id for player in DEMO_PLAYERS)
"""The page plays and reads balances for these only, whatever the browser asks."""
GAME_KEY_CHARS_MAX = 128
TOKEN_CHARS_MAX = 512
STAKE_CHARS_MAX = 24


def check_game_key(text: str) -> str:
    GameKey.parse(text)  # ValueError names what is wrong
    return text


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    game: Annotated[str, StringConstraints(max_length=GAME_KEY_CHARS_MAX)]

    @field_validator("game")
    @classmethod
    def _game(cls, game: str) -> str:
        return check_game_key(game)


class LaunchBody(_Body):
    player: str
    device: Literal["desktop", "mobile"] = "desktop"
    market: Annotated[str, StringConstraints(pattern=MARKET_PATTERN.pattern)] | None = None
    mode: Literal["real", "demo"] = "real"

    @field_validator("player")
    @classmethod
    def _player(cls, player: str) -> str:
        if player not in DEMO_PLAYER_IDS:
            raise ValueError(f"not a demo player (one of {', '.join(sorted(DEMO_PLAYER_IDS))})")
        return player


class SpinBody(_Body):
    stake: Annotated[str, StringConstraints(min_length=1, max_length=STAKE_CHARS_MAX)]
    mode: Literal["real", "demo"] = "real"
    token: Annotated[str, StringConstraints(min_length=1, max_length=TOKEN_CHARS_MAX)] | None = None
