"""One wallet call per player at a time within a process: turns, before the version check.

The commit's version check keeps calls of different processes apart; within one
process, calls of the same player (a burst of bets, 64 deliveries of one bet) would
otherwise all read the same version and all but one redo their step, again and again.
So they take turns here, in arrival order, and version conflicts are left to what only
another process can cause.

A queue of waiters per player with a call in progress, nothing kept for idle players:
the usual call (its player idle) takes its turn without awaiting anything.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

__all__ = ["PlayerTurns"]


class PlayerTurns:
    """Whose turn it is, per player."""

    def __init__(self) -> None:
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        """player -> calls waiting behind the one in progress (present: one in progress)."""

    async def take(self, players: Sequence[str]) -> None:
        """Wait for the turn of every player in `players` (in sorted order: no deadlock).
        Every `take` must be followed by one `give_back` of the same players, even when
        the taking is cancelled."""
        if len(players) == 1:
            await self._take_one(players[0])
            return
        taken: list[str] = []
        try:
            for player_id in sorted(set(players)):
                await self._take_one(player_id)
                taken.append(player_id)
        except BaseException:
            self._give_back(taken)
            raise

    def give_back(self, players: Sequence[str]) -> None:
        self._give_back(sorted(set(players)) if len(players) > 1 else players)

    async def _take_one(self, player_id: str) -> None:
        waiting = self._waiting.get(player_id)
        if waiting is None:
            self._waiting[player_id] = deque()
            return
        turn = asyncio.get_running_loop().create_future()
        waiting.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():  # handed over as it was cancelled
                self._give_back([player_id])
            elif turn in waiting:
                waiting.remove(turn)
            raise

    def _give_back(self, players: Sequence[str]) -> None:
        for player_id in players:
            waiting = self._waiting[player_id]
            while waiting:
                turn = waiting.popleft()
                if not turn.done():
                    turn.set_result(None)  # the next call's turn
                    break
            else:
                del self._waiting[player_id]
