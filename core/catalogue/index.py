"""The lobby's read side: an immutable index over one catalogue snapshot.

Built once per catalogue version and swapped whole, so a lobby request never waits on
disk or on a sync and never sees half a change. Each filter value (a market, a device, a
vertical, a provider instance, a feature ...) is one bitmask over the games in the
catalogue's order (newest release first, then key), held as a Python int: a query is a
few ANDs and ORs over 10,000-bit ints, a facet count is `bit_count()`, and a page is the
first set bits after the cursor. Brand views (overlay applied) and search masks are
derived on first use and kept, bounded, for the life of the index.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from core.catalogue.game import Device, Game, GameKey, GameStatus, Vertical
from core.catalogue.overlay import AUTOMATIC_CATEGORIES, BrandOverlay
from core.catalogue.query import (
    SEARCH_TEXT_LENGTH_MAX,
    Cursor,
    ListedGame,
    LobbyPage,
    LobbyQuery,
    MarketFilter,
    refusal,
)
from core.catalogue.store import CatalogueSnapshot
from core.errors import GameNotFound

__all__ = ["BUILD_CHUNK_GAMES", "CatalogueIndex", "build_steps"]

BUILD_CHUNK_GAMES = 250
"""Games indexed between two yields of `build_steps`: about a millisecond of work."""
BUILD_CHUNK_BITS = 20_000
"""Bits set in the masks between two yields."""
SEARCH_MASKS_CACHED_MAX = 1_024
BRAND_VIEWS_CACHED_MAX = 256
_K = TypeVar("_K")
_V = TypeVar("_V")


def _order_key(game: Game) -> tuple[int, str]:
    """Newest release first, undated last, then by key: a total, stable order."""
    day = game.release_date.toordinal() if game.release_date is not None else 0
    return (-day, str(game.key))


class _Masks:
    """Positions collected per filter value, turned into int bitmasks at the end."""

    def __init__(self) -> None:
        self._positions: dict[str, list[int]] = {}

    def add(self, name: str, position: int) -> None:
        self._positions.setdefault(name, []).append(position)

    def build_steps(self, size: int, masks: dict[str, int]) -> Iterator[None]:
        """Fill `masks`, yielding after every `BUILD_CHUNK_BITS` bits set."""
        since_yield = 0
        for name, positions in self._positions.items():
            bitmap = bytearray(size // 8 + 1)
            for position in positions:
                bitmap[position >> 3] |= 1 << (position & 7)
            masks[name] = int.from_bytes(bitmap, "little")
            since_yield += len(positions)
            if since_yield >= BUILD_CHUNK_BITS:
                since_yield = 0
                yield None


def _mask_names(game: Game, new_since: date) -> Iterator[str]:
    """The filter values `game` belongs to, as mask names."""
    if game.status is GameStatus.ACTIVE:
        yield "status:active"
    yield f"vertical:{game.vertical.value}"
    yield f"instance:{game.instance}"
    yield f"studio:{game.studio}"
    for feature in game.features:
        yield f"feature:{feature.value}"
    for device in game.devices:
        yield f"device:{device.value}"
    for market in game.markets:
        yield f"market:{market}"
    for currency in game.currencies:
        yield f"currency:{currency}"
    if game.vertical is Vertical.LIVE:
        yield "category:live"
    if game.release_date is not None and game.release_date >= new_since:
        yield "category:new"


@dataclass(frozen=True, slots=True)
class _BrandView:
    visible: int
    """Active games the brand has not switched off (market and device come later)."""
    pinned: tuple[int, ...]
    pinned_mask: int
    titles: tuple[str, ...] | None
    """Folded titles by position when the brand renames some games, else None."""
    categories: Mapping[str, int]


def build_steps(
    snapshot: CatalogueSnapshot, *, today: date, new_games_days: int
) -> Iterator[CatalogueIndex | None]:
    """Build the index in chunks: yields None after every `BUILD_CHUNK_GAMES` games (and
    `BUILD_CHUNK_BITS` mask bits) and the index last, so an event loop serves requests
    between chunks: no step takes more than a millisecond or two."""
    keyed = [(_order_key(game), game) for game in snapshot.games]
    yield None
    keyed.sort(key=lambda pair: pair[0])
    yield None
    new_since = today - timedelta(days=new_games_days)
    collected = _Masks()
    parts = _Parts()
    for position, (order_key, game) in enumerate(keyed):
        for name in _mask_names(game, new_since):
            collected.add(name, position)
        parts.add(position, order_key, game)
        if position % BUILD_CHUNK_GAMES == BUILD_CHUNK_GAMES - 1:
            yield None
    masks: dict[str, int] = {}
    yield from collected.build_steps(len(keyed), masks)
    yield CatalogueIndex(snapshot.version, parts, masks, snapshot.overlays)


class _Parts:
    """What the index keeps per game, gathered while the masks are."""

    def __init__(self) -> None:
        self.games: list[Game] = []
        self.order_keys: list[tuple[int, str]] = []
        self.positions: dict[GameKey, int] = {}
        self.folded_titles: list[str] = []
        self.by_status: dict[str, int] = {status.value: 0 for status in GameStatus}

    def add(self, position: int, order_key: tuple[int, str], game: Game) -> None:
        self.games.append(game)
        self.order_keys.append(order_key)
        self.positions[game.key] = position
        self.folded_titles.append(game.title.casefold())
        self.by_status[game.status.value] += 1


class CatalogueIndex:
    """One catalogue version, ready for lobby queries and launch checks."""

    def __init__(
        self,
        version: int,
        parts: _Parts,
        masks: dict[str, int],
        overlays: Mapping[str, BrandOverlay],
    ) -> None:
        self.version = version
        self._games = parts.games
        self._order_keys = parts.order_keys
        self._position = parts.positions
        self._masks = masks
        self._folded_titles = parts.folded_titles
        self._overlays = overlays
        self._brands: OrderedDict[str, _BrandView] = OrderedDict()
        self._searches: OrderedDict[tuple[str, str], int] = OrderedDict()
        self.games_by_status: Mapping[str, int] = parts.by_status
        self._everything = (1 << len(parts.games)) - 1
        self.verticals = self._values("vertical:")
        self.instances = self._values("instance:")
        self.features = self._values("feature:")

    @classmethod
    def build(
        cls, snapshot: CatalogueSnapshot, *, today: date, new_games_days: int
    ) -> CatalogueIndex:
        *_, index = build_steps(snapshot, today=today, new_games_days=new_games_days)
        assert index is not None
        return index

    def __len__(self) -> int:
        return len(self._games)

    def _values(self, prefix: str) -> tuple[str, ...]:
        return tuple(sorted(n.removeprefix(prefix) for n in self._masks if n.startswith(prefix)))

    def _mask(self, name: str) -> int:
        return self._masks.get(name, 0)

    def _any_of(self, prefix: str, values: Iterable[str]) -> int:
        mask = 0
        for value in values:
            mask |= self._mask(prefix + value)
        return mask

    # -- single games --------------------------------------------------------

    def game(self, key: GameKey) -> Game | None:
        position = self._position.get(key)
        return None if position is None else self._games[position]

    def overlay(self, brand: str) -> BrandOverlay | None:
        return self._overlays.get(brand)

    def playable(self, key: GameKey, *, brand: str, market: str, device: Device | None) -> Game:
        """The game if the brand may list and launch it here, else the refusal."""
        game = self.game(key)
        if game is None:
            raise GameNotFound(f"no game {key} in the catalogue")
        problem = refusal(game, self.overlay(brand), market, device)
        if problem is not None:
            raise problem
        return game

    def title(self, game: Game, brand: str) -> str:
        overlay = self.overlay(brand)
        return game.title if overlay is None else overlay.titles.get(game.key, game.title)

    # -- lobby queries -------------------------------------------------------

    def query(self, query: LobbyQuery) -> LobbyPage:
        view = self._brand_view(query.brand)
        base = view.visible & self._mask(f"market:{query.market}")
        base &= self._mask(f"device:{query.device.value}")
        if query.currency is not None:
            base &= self._mask(f"currency:{query.currency}")
        if query.category is not None:
            base &= view.categories.get(query.category, 0)
        if query.text:
            base &= self._search(query.brand, view, query.text)
        if query.market_filter is not None:
            base &= ~self._hidden_by(query.market_filter)
        for feature in query.features:
            base &= self._mask(f"feature:{feature.value}")
        if query.features_excluded:
            base &= ~self._any_of("feature:", (f.value for f in query.features_excluded))
        if query.studios:
            base &= self._any_of("studio:", query.studios)
        everything = self._everything
        by_vertical = self._any_of("vertical:", query.verticals) if query.verticals else everything
        by_instance = self._any_of("instance:", query.providers) if query.providers else everything
        result = base & by_vertical & by_instance
        facets = {
            "vertical": self._counts("vertical:", self.verticals, base & by_instance),
            "provider": self._counts("instance:", self.instances, base & by_vertical),
            "feature": self._counts("feature:", self.features, result),
        }
        games, next_cursor = self._page(view, result, query)
        listed = tuple(ListedGame(game, self.title(game, query.brand)) for game in games)
        return LobbyPage(listed, result.bit_count(), facets, next_cursor)

    def _hidden_by(self, market_filter: MarketFilter) -> int:
        """The games a market's rules keep out: a vertical it does not allow, or a
        feature it bans for the game's vertical."""
        hidden = 0
        if market_filter.verticals is not None:
            hidden = ~self._any_of("vertical:", (v.value for v in market_filter.verticals))
        for vertical, features in market_filter.banned_features.items():
            if features:
                with_banned = self._any_of("feature:", (f.value for f in features))
                hidden |= self._mask(f"vertical:{vertical.value}") & with_banned
        return hidden & self._everything

    def _counts(self, prefix: str, values: Iterable[str], within: int) -> dict[str, int]:
        counts = {value: (within & self._mask(prefix + value)).bit_count() for value in values}
        return {value: count for value, count in counts.items() if count}

    def _page(
        self, view: _BrandView, result: int, query: LobbyQuery
    ) -> tuple[list[Game], Cursor | None]:
        """Pinned games first (in the brand's order), then the rest in catalogue order;
        one more than the limit is looked for to know whether a next page exists."""
        wanted = query.limit + 1
        after = query.after
        found: list[tuple[bool, int]] = []
        if after is None or after.pinned:
            start = 0 if after is None else self._pinned_resume(view, after)
            for index in range(start, len(view.pinned)):
                if result >> view.pinned[index] & 1:
                    found.append((True, index))
                    if len(found) == wanted:
                        break
        if len(found) < wanted:
            start = 0 if after is None or after.pinned else self._ordered_resume(after)
            rest = (result & ~view.pinned_mask) >> start
            for position in _set_bits(rest, wanted - len(found)):
                found.append((False, start + position))
        more = len(found) > query.limit
        found = found[: query.limit]
        games = [self._games[view.pinned[i] if pinned else i] for pinned, i in found]
        if not more or not found:
            return games, None
        pinned, index = found[-1]
        last = games[-1]
        rank = index if pinned else _order_key(last)[0]
        return games, Cursor(pinned, rank, last.key)

    def _pinned_resume(self, view: _BrandView, after: Cursor) -> int:
        position = self._position.get(after.key)
        if position is not None and position in view.pinned:
            return view.pinned.index(position) + 1
        return after.rank + 1

    def _ordered_resume(self, after: Cursor) -> int:
        return bisect.bisect_right(self._order_keys, (after.rank, str(after.key)))

    def _search(self, brand: str, view: _BrandView, text: str) -> int:
        needle = text[:SEARCH_TEXT_LENGTH_MAX].casefold()
        cache_key = (brand if view.titles is not None else "", needle)
        mask = self._searches.get(cache_key)
        if mask is None:
            titles = view.titles if view.titles is not None else self._folded_titles
            bitmap = bytearray(len(titles) // 8 + 1)
            for position, title in enumerate(titles):
                if needle in title:
                    bitmap[position >> 3] |= 1 << (position & 7)
            mask = int.from_bytes(bitmap, "little")
            _remember(self._searches, cache_key, mask, SEARCH_MASKS_CACHED_MAX)
        return mask

    def _brand_view(self, brand: str) -> _BrandView:
        view = self._brands.get(brand)
        if view is None:
            view = self._make_brand_view(self._overlays.get(brand))
            _remember(self._brands, brand, view, BRAND_VIEWS_CACHED_MAX)
        return view

    def _make_brand_view(self, overlay: BrandOverlay | None) -> _BrandView:
        visible = self._mask("status:active")
        categories = {name: self._mask(f"category:{name}") for name in AUTOMATIC_CATEGORIES}
        if overlay is None:
            return _BrandView(visible, (), 0, None, categories)
        visible &= ~self._any_of("instance:", overlay.disabled_instances)
        for key in overlay.disabled_games:
            position = self._position.get(key)
            if position is not None:
                visible &= ~(1 << position)
        pinned = _unique_positions(self._position, overlay.pinned)
        for name, keys in overlay.categories.items():
            categories[name] = sum(1 << p for p in _unique_positions(self._position, keys))
        titles = None
        if overlay.titles:
            folded = list(self._folded_titles)
            for key, title in overlay.titles.items():
                position = self._position.get(key)
                if position is not None:
                    folded[position] = title.casefold()
            titles = tuple(folded)
        return _BrandView(visible, pinned, sum(1 << p for p in pinned), titles, categories)


def _unique_positions(positions: Mapping[GameKey, int], keys: Iterable[GameKey]) -> tuple[int, ...]:
    """Positions of the known keys, first occurrence kept, order kept."""
    seen: dict[int, None] = {}
    for key in keys:
        position = positions.get(key)
        if position is not None:
            seen.setdefault(position, None)
    return tuple(seen)


def _set_bits(mask: int, count: int) -> Iterator[int]:
    """The positions of the lowest `count` set bits of `mask`, lowest first."""
    offset = 0
    while mask and count:
        low = (mask & -mask).bit_length() - 1
        yield offset + low
        mask >>= low + 1
        offset += low + 1
        count -= 1


def _remember(cache: OrderedDict[_K, _V], key: _K, value: _V, entries_max: int) -> None:
    cache[key] = value
    if len(cache) > entries_max:
        cache.popitem(last=False)
