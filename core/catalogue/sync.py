"""What a provider feed changes in the catalogue: the plan a store applies in one step.

A feed is a list of games of one provider instance. Games it brings that the catalogue
lacks are added, games it brings differently are changed (a retired game that comes
back is a change), and, only when the feed is full, games it omits are retired: kept
with status `retired`, never deleted, so history, rounds and overlays still resolve.
A partial feed (a delta) never retires anything.

A full feed that omits a large share of an instance's games is more often a provider's
half-loaded list than a real withdrawal, so beyond `retire_share_max` the plan is
refused (`RetirementGuarded`) until an operator confirms it. The plan is pure: the
store runs it inside its write transaction against the instance's stored games.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from core.catalogue.game import Game, GameKey, GameStatus
from core.errors import FeedInvalid, RetirementGuarded

__all__ = ["SyncHistoryEntry", "SyncPlan", "plan_sync"]


@dataclass(frozen=True, slots=True)
class SyncPlan:
    added: tuple[Game, ...]
    changed: tuple[Game, ...]
    retired: tuple[Game, ...]
    """Copies of the stored games with status `retired`."""
    unchanged: int

    @property
    def empty(self) -> bool:
        """Nothing to write: an identical repeat of a feed plans this."""
        return not (self.added or self.changed or self.retired)


@dataclass(frozen=True, slots=True)
class SyncHistoryEntry:
    """One sync as the operator API lists it: counts, not the games."""

    version: int
    """The catalogue version after the sync (the one before when nothing changed)."""
    instance: str
    source: str
    at_us: int
    full: bool
    added: int
    changed: int
    retired: int
    unchanged: int


def plan_sync(
    current: Mapping[GameKey, Game],
    feed: Sequence[Game],
    *,
    instance: str,
    full: bool,
    retire_share_max: float,
    confirmed: bool,
) -> SyncPlan:
    """The changes `feed` makes to `instance`'s games in `current`.

    `current` may hold other instances' games; they are ignored. Raises `FeedInvalid`
    for a game of another instance or a key the feed repeats, `RetirementGuarded` for
    a full feed that would retire more than `retire_share_max` of the instance's
    listed (not retired) games, unless `confirmed`.
    """
    assert 0.0 <= retire_share_max <= 1.0, retire_share_max
    mine = {key: game for key, game in current.items() if key.instance == instance}
    seen: set[GameKey] = set()
    added: list[Game] = []
    changed: list[Game] = []
    unchanged = 0
    for index, game in enumerate(feed):
        if game.instance != instance:
            raise FeedInvalid(
                f"record {index} (code {game.code!r}) belongs to provider instance "
                f"{game.instance!r}, not {instance!r}"
            )
        if game.key in seen:
            raise FeedInvalid(f"record {index} (code {game.code!r}) repeats a game code")
        seen.add(game.key)
        stored = mine.get(game.key)
        if stored is None:
            added.append(game)
        elif stored != game:
            changed.append(game)
        else:
            unchanged += 1
    retired: tuple[Game, ...] = ()
    if full:
        retired = tuple(
            replace(game, status=GameStatus.RETIRED)
            for key, game in sorted(mine.items())
            if key not in seen and game.status is not GameStatus.RETIRED
        )
    if retired and not confirmed:
        _guard(instance, mine.values(), len(retired), retire_share_max)
    return SyncPlan(tuple(added), tuple(changed), retired, unchanged)


def _guard(instance: str, stored: Iterable[Game], retiring: int, share_max: float) -> None:
    listed = sum(1 for game in stored if game.status is not GameStatus.RETIRED)
    assert listed >= retiring > 0
    # The share as the operator wrote it (0.3, not the binary float just below it), so
    # retiring exactly 3 of 10 games passes a limit of 0.3.
    if Fraction(retiring, listed) > Fraction(repr(share_max)):
        raise RetirementGuarded(
            f"the feed would retire {retiring} of {listed} listed games of {instance} "
            f"({retiring / listed:.1%}), more than the {share_max:.1%} allowed; "
            "confirm the sync to apply it"
        )
