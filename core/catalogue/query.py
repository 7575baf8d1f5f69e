"""A lobby query and its answer, and the one rule of who may see and launch a game.

`refusal` is that rule: a game is listed and launched only when it is active, the brand
has not switched it (or its provider instance) off, it is certified for the market and
made for the device. The index answers queries with bitmasks that implement the same
rule for 10,000 games at once; the property tests hold both to a plain list filter.
A market's rules take out more (`MarketFilter`: verticals it does not allow, features it
bans); `core.jurisdiction` builds the filter from the same rules a launch is judged by.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.catalogue.game import Device, Feature, Game, GameKey, GameStatus, Vertical
from core.catalogue.overlay import BrandOverlay
from core.errors import GameNotAllowed, GameUnavailable, GatewayError, InvalidRequest

__all__ = [
    "PAGE_LIMIT_DEFAULT",
    "PAGE_LIMIT_MAX",
    "SEARCH_TEXT_LENGTH_MAX",
    "Cursor",
    "ListedGame",
    "LobbyPage",
    "LobbyQuery",
    "MarketFilter",
    "decode_cursor",
    "encode_cursor",
    "refusal",
]

PAGE_LIMIT_DEFAULT = 48
PAGE_LIMIT_MAX = 200
SEARCH_TEXT_LENGTH_MAX = 64
_CURSOR_LENGTH_MAX = 256


def refusal(
    game: Game, overlay: BrandOverlay | None, market: str, device: Device | None
) -> GatewayError | None:
    """Why `game` may not be listed or launched for this brand, market and device (any
    device when None: a session opened without naming one)."""
    if game.status is not GameStatus.ACTIVE:
        return GameUnavailable(f"game {game.key} is {game.status.value}")
    if overlay is not None and (
        game.key in overlay.disabled_games or game.instance in overlay.disabled_instances
    ):
        return GameUnavailable(f"game {game.key} is switched off for brand {overlay.brand!r}")
    if market not in game.markets:
        return GameNotAllowed(f"game {game.key} is not certified for market {market}")
    if device is not None and device not in game.devices:
        return GameNotAllowed(f"game {game.key} is not made for {device.value}")
    return None


@dataclass(frozen=True, slots=True)
class MarketFilter:
    """What a market's rules keep out of its lobby, beyond certification."""

    verticals: frozenset[Vertical] | None = None
    """The verticals the market allows; None: every one."""
    banned_features: Mapping[Vertical, frozenset[Feature]] = field(default_factory=dict)
    """Per vertical, the features that keep a game of it out."""

    def hides(self, game: Game) -> bool:
        if self.verticals is not None and game.vertical not in self.verticals:
            return True
        banned = self.banned_features.get(game.vertical)
        return banned is not None and not banned.isdisjoint(game.features)


@dataclass(frozen=True, slots=True, kw_only=True)
class LobbyQuery:
    """Filters are ORed within one (two verticals: either) and ANDed across them;
    `features` are all required, `features_excluded` all refused."""

    brand: str
    market: str
    device: Device
    verticals: frozenset[Vertical] = frozenset()
    providers: frozenset[str] = frozenset()
    studios: frozenset[str] = frozenset()
    features: frozenset[Feature] = frozenset()
    features_excluded: frozenset[Feature] = frozenset()
    category: str | None = None
    currency: str | None = None
    text: str | None = None
    """Case-insensitive substring of the title the brand shows."""
    market_filter: MarketFilter | None = None
    """The market's rules, in force when the query is answered."""
    after: Cursor | None = None
    limit: int = PAGE_LIMIT_DEFAULT

    def __post_init__(self) -> None:
        assert 1 <= self.limit <= PAGE_LIMIT_MAX


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous page ended, by the last game's sort key rather than a
    position, so a catalogue swap between two pages neither repeats nor skips games
    that did not move."""

    pinned: bool
    """True while still in the brand's pinned games."""
    rank: int
    """Pinned: the index in the pinned list. Else: minus the release day ordinal."""
    key: GameKey


def encode_cursor(cursor: Cursor) -> str:
    text = f"{'p' if cursor.pinned else 'o'}|{cursor.rank}|{cursor.key}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """InvalidRequest for anything `encode_cursor` did not make."""
    problem = InvalidRequest("cursor: not a cursor from a previous page")
    if len(text) > _CURSOR_LENGTH_MAX or not text.isascii():
        raise problem
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        phase, rank, key = raw.split("|", 2)
        if phase not in ("p", "o"):
            raise ValueError(phase)
        return Cursor(phase == "p", int(rank), GameKey.parse(key))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise problem from None


@dataclass(frozen=True, slots=True)
class ListedGame:
    game: Game
    title: str
    """The brand's title for the game, or the provider's."""


@dataclass(frozen=True, slots=True)
class LobbyPage:
    games: tuple[ListedGame, ...]
    total: int
    """Games matching the query, on every page."""
    facets: Mapping[str, Mapping[str, int]]
    """`vertical` and `provider`: counts with every other filter applied (so choosing
    another value shows what it would give); `feature`: counts within the result."""
    next_cursor: Cursor | None
