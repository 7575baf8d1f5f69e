"""The catalogue a gateway process serves: the current index, swapped whole on change.

Lobby requests read `index` and never wait: a sync or an overlay change writes to the
store first, then a new index is built in small steps (the event loop serves requests
between them) and replaces the old one in a single assignment. Other processes sharing
the store notice the new version on their next `refresh` and rebuild the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import date

from core.catalogue.game import Device, Game, GameKey
from core.catalogue.index import CatalogueIndex, build_steps
from core.catalogue.overlay import (
    CATEGORY_GAMES_MAX,
    PINNED_GAMES_MAX,
    TITLE_LENGTH_MAX,
    CategoryGames,
    GameSwitch,
    GameTitle,
    OverlayChange,
    PinnedOrder,
)
from core.catalogue.store import AuditEntry, CatalogueSnapshot, CatalogueStore, SyncReport
from core.errors import GameNotFound, InvalidRequest

__all__ = ["BuildContext", "IndexSwapped", "LiveCatalogue"]

IndexSwapped = Callable[[CatalogueIndex, float], None]
"""Called after each swap with the new index and the seconds its build took."""
BuildContext = Callable[[], AbstractContextManager[object]]
"""What reading and building a new index runs inside (the gateway pauses the garbage
collector there: `gateway.background_work`)."""


class LiveCatalogue:
    def __init__(
        self,
        store: CatalogueStore,
        *,
        today: Callable[[], date],
        new_games_days: int,
        on_swap: IndexSwapped | None = None,
        around_build: BuildContext = contextlib.nullcontext,
    ) -> None:
        self.store = store
        self._today = today
        self._new_games_days = new_games_days
        self._on_swap = on_swap
        self._around_build = around_build
        self._index: CatalogueIndex | None = None
        self._snapshot: CatalogueSnapshot | None = None
        """What the index was built from; the next read reuses its unchanged games."""
        self._built_on: date | None = None
        self._loading = asyncio.Lock()

    @property
    def index(self) -> CatalogueIndex:
        assert self._index is not None, "load() runs at start-up, before any request"
        return self._index

    async def load(self) -> CatalogueIndex:
        """Read the store and swap in a fresh index, one build at a time. A build that
        waited for another one first checks whether that one already brought it up to
        date: syncs and the refresh poll racing each other rebuild once, not twice."""
        async with self._loading:
            current = self._index
            if current is not None and await self._up_to_date(current):
                return current
            started = time.perf_counter()
            with self._around_build():
                snapshot = await self.store.snapshot(self._snapshot)
                today = self._today()
                built = None
                days = self._new_games_days
                for step in build_steps(snapshot, today=today, new_games_days=days):
                    built = step
                    await asyncio.sleep(0)
            assert built is not None
            self._index, self._built_on, self._snapshot = built, today, snapshot
            if self._on_swap is not None:
                self._on_swap(built, time.perf_counter() - started)
            return built

    async def refresh(self) -> bool:
        """Rebuild when another process changed the store, or the day (and with it the
        `new` category) moved on; True if the index was swapped. Nothing to do while a
        build is under way: it reads the store when it starts."""
        if self._loading.locked():
            return False
        index = self._index
        if index is not None and await self._up_to_date(index):
            return False
        return await self.load() is not index

    async def _up_to_date(self, index: CatalogueIndex) -> bool:
        return self._built_on == self._today() and await self.store.version() == index.version

    async def playable(
        self, key: GameKey, *, brand: str, market: str, device: Device | None
    ) -> Game:
        """`CatalogueIndex.playable`, but a game this process has not heard of yet is
        looked for again after checking the store: another process may have just added it
        (sessions and launches land on any worker)."""
        known = self.index
        try:
            return known.playable(key, brand=brand, market=market, device=device)
        except GameNotFound:
            if await self.load() is known:  # waits for a build under way, if any
                raise
        return self.index.playable(key, brand=brand, market=market, device=device)

    async def sync(
        self,
        instance: str,
        games: Sequence[Game],
        *,
        full: bool,
        source: str,
        retire_share_max: float,
        confirmed: bool,
        at_us: int,
    ) -> SyncReport:
        report = await self.store.sync(
            instance,
            games,
            full=full,
            source=source,
            retire_share_max=retire_share_max,
            confirmed=confirmed,
            at_us=at_us,
        )
        if report.applied:
            await self.load()
        return report

    async def change_overlay(
        self, brand: str, change: OverlayChange, *, actor: str, at_us: int
    ) -> AuditEntry:
        """Check the change names known games, store and audit it, then swap."""
        self._check(change)
        entry = await self.store.change_overlay(brand, change, actor=actor, at_us=at_us)
        await self.load()
        return entry

    def _check(self, change: OverlayChange) -> None:
        match change:
            case GameSwitch(key):
                self._known(key)
            case GameTitle(key, title):
                self._known(key)
                if title is not None and not _good_title(title):
                    raise InvalidRequest(f"title: 1-{TITLE_LENGTH_MAX} printable characters")
            case PinnedOrder(games):
                self._known_all(games, PINNED_GAMES_MAX, "games")
            case CategoryGames(_, games):
                self._known_all(games, CATEGORY_GAMES_MAX, "games")

    def _known(self, key: GameKey) -> None:
        if self.index.game(key) is None:
            raise GameNotFound(f"no game {key} in the catalogue")

    def _known_all(self, keys: Sequence[GameKey], count_max: int, field: str) -> None:
        if len(keys) > count_max:
            raise InvalidRequest(f"{field}: at most {count_max} games")
        if len(set(keys)) != len(keys):
            raise InvalidRequest(f"{field}: a game is named twice")
        for key in keys:
            self._known(key)


def _good_title(title: str) -> bool:
    return 1 <= len(title) <= TITLE_LENGTH_MAX and title.isprintable()
