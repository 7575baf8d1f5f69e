"""What a game is: one provider game on one provider instance, as the catalogue holds it.

A game is keyed by the provider instance that serves it and the provider's own game code
(`GameKey`), never by its title: titles change and repeat across studios. Amounts are
exact minor units per currency; the RTP is in basis points (9650 = 96.50 %), with
per-market variants where a provider ships them. Everything is immutable so that an index
built from games can be shared by every request without copying.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import NamedTuple, TypeVar

__all__ = [
    "GAME_CODE_PATTERN",
    "MARKET_PATTERN",
    "Device",
    "Feature",
    "Game",
    "GameKey",
    "GameStatus",
    "StakeRange",
    "Vertical",
    "Volatility",
    "frozen_mapping",
    "rtp_text",
]

GAME_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,63}$")
"""A provider's game code: printable, no spaces, at most 64 characters."""
MARKET_PATTERN = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
"""ISO 3166-1 alpha-2, optionally with a subdivision (`CA-ON`)."""
_INSTANCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_KEY_SEPARATOR = ":"
_K = TypeVar("_K")
_V = TypeVar("_V")


class Vertical(enum.StrEnum):
    SLOTS = "slots"
    LIVE = "live"
    TABLE = "table"
    CRASH = "crash"
    INSTANT = "instant"
    BINGO = "bingo"
    POKER = "poker"
    VIRTUAL = "virtual"
    SPORTSBOOK = "sportsbook"


class Feature(enum.StrEnum):
    """Game features that lobbies filter on and that market rules may ban."""

    AUTOPLAY = "autoplay"
    TURBO = "turbo"
    SLAM_STOP = "slam_stop"
    BONUS_BUY = "bonus_buy"
    JACKPOT = "jackpot"
    FREE_ROUNDS = "free_rounds"
    ANTE_BET = "ante_bet"
    MEGAWAYS = "megaways"


class Device(enum.StrEnum):
    DESKTOP = "desktop"
    MOBILE = "mobile"


class GameStatus(enum.StrEnum):
    """`disabled` is the provider's or an operator's switch; `retired` means the game
    left the provider's feed. Neither is ever listed or launched; both keep their row."""

    ACTIVE = "active"
    DISABLED = "disabled"
    RETIRED = "retired"


class Volatility(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


class GameKey(NamedTuple):
    """The game's key in the gateway: provider instance and the provider's game code."""

    instance: str
    code: str

    def __str__(self) -> str:
        return f"{self.instance}{_KEY_SEPARATOR}{self.code}"

    @classmethod
    def parse(cls, text: str) -> GameKey:
        """`instance:code` (the code may itself contain ':'); ValueError if malformed."""
        instance, separator, code = text.partition(_KEY_SEPARATOR)
        if not separator or not _INSTANCE_PATTERN.match(instance):
            raise ValueError("a game key is <provider instance>:<game code>")
        if not GAME_CODE_PATTERN.match(code):
            raise ValueError("game code: 1-64 printable characters, no spaces")
        return cls(instance, code)


class StakeRange(NamedTuple):
    """Smallest and largest stake of one game cycle, in minor units of one currency."""

    min_minor: int
    max_minor: int


def frozen_mapping(items: Mapping[_K, _V] | None = None) -> Mapping[_K, _V]:
    """A read-only copy; games and overlays hold only these."""
    return MappingProxyType(dict(items or {}))


def rtp_text(rtp_bp: int) -> str:
    """Basis points as exact percent text: 9650 -> `96.50` (how feeds and the API say it)."""
    return f"{rtp_bp // 100}.{rtp_bp % 100:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Game:
    instance: str
    code: str
    title: str
    studio: str
    vertical: Vertical
    game_type: str = ""
    """The provider's own type or category text (`video_slot`, `roulette`), kept as is."""
    features: frozenset[Feature] = frozenset()
    rtp_bp: int | None = None
    """Return to player in basis points; None when the provider does not say."""
    rtp_bp_by_market: Mapping[str, int] = field(default_factory=frozen_mapping)
    volatility: Volatility | None = None
    devices: frozenset[Device] = frozenset({Device.DESKTOP, Device.MOBILE})
    currencies: frozenset[str] = frozenset()
    markets: frozenset[str] = frozenset()
    """Markets the game is certified for; a game is never listed or launched elsewhere."""
    stakes: Mapping[str, StakeRange] = field(default_factory=frozen_mapping)
    release_date: date | None = None
    tags: frozenset[str] = frozenset()
    images: Mapping[str, str] = field(default_factory=frozen_mapping)
    """Image role (`thumbnail`, `background`) -> absolute https URL or site path."""
    status: GameStatus = GameStatus.ACTIVE
    demo: bool = True
    """Whether the provider offers fun (play-money) mode for this game."""

    def __post_init__(self) -> None:
        assert _INSTANCE_PATTERN.match(self.instance), self.instance
        assert GAME_CODE_PATTERN.match(self.code), self.code
        assert self.rtp_bp is None or 0 < self.rtp_bp <= 10_000

    @property
    def key(self) -> GameKey:
        return GameKey(self.instance, self.code)

    def rtp_bp_in(self, market: str) -> int | None:
        """The RTP the game runs at in `market`: its variant there, else the default."""
        return self.rtp_bp_by_market.get(market, self.rtp_bp)
