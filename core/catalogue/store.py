"""The catalogue's storage port: what a catalogue store keeps and how it changes.

The store is the durable truth (games per provider instance, brand overlays, the audit
trail, one version number); the lobby never reads it per request but serves an
immutable index built from a `CatalogueSnapshot`, rebuilt when `version()` moves.
Every change (a sync that changed something, one overlay change) bumps the version once,
in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from core.catalogue.game import Game, GameKey
from core.catalogue.overlay import BrandOverlay, OverlayChange
from core.catalogue.sync import SyncHistoryEntry

__all__ = ["AuditEntry", "CatalogueSnapshot", "CatalogueStore", "SyncReport"]


@dataclass(frozen=True, slots=True)
class CatalogueSnapshot:
    version: int
    games: tuple[Game, ...]
    """Every game of every instance, retired and disabled ones included."""
    overlays: Mapping[str, BrandOverlay]


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one feed sync did to one provider instance's games."""

    instance: str
    source: str
    version: int
    """The catalogue version after the sync (unchanged when nothing changed)."""
    added: tuple[GameKey, ...]
    changed: tuple[GameKey, ...]
    retired: tuple[GameKey, ...]
    unchanged: int
    full: bool
    """A full feed retires what it omits; a partial one (a delta) only adds and changes."""

    @property
    def applied(self) -> bool:
        return bool(self.added or self.changed or self.retired)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One overlay change: who made it, when, and the overlay's part before and after."""

    seq: int
    brand: str
    at_us: int
    actor: str
    action: str
    """`game_switch`, `provider_switch`, `pinned_order`, `category_games`, `game_title`."""
    target: str
    """The game key, instance or category the change is about (empty for the order)."""
    before: Any
    """JSON-ready values: what the changed part of the overlay held before and after."""
    after: Any


class CatalogueStore(Protocol):
    async def version(self) -> int:
        """Cheap: lets every process notice a change another one made."""
        ...

    async def snapshot(self, known: CatalogueSnapshot | None = None) -> CatalogueSnapshot:
        """Everything, at one version. With `known`, an earlier snapshot of this store,
        games unchanged since may be taken from it instead of read again."""
        ...

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
        """Plan (`core.catalogue.sync.plan_sync`) and apply in one transaction against the
        instance's stored games. Raises `FeedInvalid` or `RetirementGuarded`, changing
        nothing; an identical repeat changes nothing and keeps the version."""
        ...

    async def change_overlay(
        self, brand: str, change: OverlayChange, *, actor: str, at_us: int
    ) -> AuditEntry:
        """Apply one change to the brand's overlay and record it, in one transaction."""
        ...

    async def audit(self, brand: str, *, limit: int, before_seq: int | None) -> list[AuditEntry]:
        """The brand's overlay changes, newest first."""
        ...

    async def sync_history(
        self, limit: int, *, instance: str | None = None
    ) -> list[SyncHistoryEntry]:
        """Applied syncs, newest first (refused ones change nothing and are not kept)."""
        ...

    async def close(self) -> None: ...
