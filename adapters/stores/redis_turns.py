"""One wallet call per player at a time within a process: turns, before the version check.

The commit's version check keeps calls of different processes apart; within one
process, calls of the same player (a burst of bets, 64 deliveries of one bet) would
otherwise all read the same version and all but one redo their step, again and again.
So they take turns here, in arrival order, and version conflicts are left to what only
another process can cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

__all__ = ["PlayerTurns"]


class PlayerTurns:
    """An asyncio lock per player that has a call in progress (none kept when idle)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        """player -> (lock, [calls holding or waiting])"""

    @asynccontextmanager
    async def of(self, players: Sequence[str]) -> AsyncIterator[None]:
        """The turn of every player in `players`, taken in sorted order (no deadlock)."""
        ordered = sorted(set(players))
        entries = []
        for player_id in ordered:
            entry = self._locks.get(player_id)
            if entry is None:
                entry = self._locks[player_id] = (asyncio.Lock(), [0])
            entry[1][0] += 1
            entries.append((player_id, entry))
        taken: list[asyncio.Lock] = []
        try:
            for _, (lock, _count) in entries:
                await lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in taken:
                lock.release()
            for player_id, (_lock, count) in entries:
                count[0] -= 1
                if count[0] == 0:
                    del self._locks[player_id]
