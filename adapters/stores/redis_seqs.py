"""Seqs for the Redis wallet: unique everywhere, increasing per player, no shared counter.

A seq is `counter * GROUPS + group` (`redis_keys.seq_for`), the counter a group's own
(`{gg:n}:seq`), so two groups never collide and no key is written by every wallet
call. A process reserves a block of counter values at a time (`INCRBY`) and hands them
out locally, which makes most steps free of any seq round trip. Reserved values that
are never used are gaps: the log pages by seq and needs no density.

Per player, seqs must rise in commit order. A step takes seqs above its players' newest
seq as read (`floor`), and the commit checks that the players' versions have not moved
since that read, so whatever another process committed in between makes this step read
again rather than write a lower seq. When a block's values are not above the floor
(another process reserved later and wrote for this player), a fresh block is reserved:
INCRBY only ever moves forward, so it ends above every value handed out before.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.stores.redis_keys import GROUPS, group_keys, seq_for
from adapters.stores.redis_link import Link

__all__ = ["SeqBlocks"]

BLOCK_COUNTERS = 256
"""Counter values reserved per INCRBY: one round trip per about a hundred steps of a
group, and at most this many unused values per group when a process stops."""


class SeqBlocks:
    """Counter blocks this process holds, by group."""

    def __init__(self, link: Link, block: int = BLOCK_COUNTERS) -> None:
        assert block >= 1
        self._link = link
        self._block = block
        self._blocks: dict[int, list[int]] = {}
        """group -> [next counter, last counter] of the block held."""
        self.reservations_total = 0

    def ready(self, group: int, floor: int, count: int) -> bool:
        """Does the block of `group` hold `count` seqs above `floor` right now?"""
        held = self._blocks.get(group)
        if held is None:
            return False
        first = max(held[0], _min_counter(group, floor))
        return held[1] - first + 1 >= count

    async def reserve(self, group: int, floor: int, count: int) -> None:
        """Reserve a block that holds `count` seqs above `floor`."""
        assert 1 <= count <= self._block
        key = group_keys(group).seq
        needed_last = _min_counter(group, floor) + count - 1
        size = self._block
        while not self.ready(group, floor, count):
            last = int(await self._link.call(key, "INCRBY", key, size))
            self.reservations_total += 1
            self._blocks[group] = [last - size + 1, last]  # INCRBY's range is ours alone
            # Still below the floor: the next range starts above `last` and is big
            # enough to reach `count` values past the floor.
            size = max(needed_last - last, 0) + self._block

    def taker(self, group: int, floor: int) -> Callable[[], int]:
        """`new_seq` for one step: the next seqs of the block above `floor`. Call
        `ready` (or `reserve`) first; running dry raises `SeqsExhausted`."""
        held = self._blocks[group]
        held[0] = max(held[0], _min_counter(group, floor))

        def new_seq() -> int:
            counter = held[0]
            if counter > held[1]:
                raise SeqsExhausted
            held[0] = counter + 1
            return seq_for(counter, group)

        return new_seq


class SeqsExhausted(Exception):
    """The step took more seqs than were made ready: reserve more and decide again."""


def _min_counter(group: int, floor: int) -> int:
    """The smallest counter whose seq in `group` is above `floor`."""
    assert 0 <= group < GROUPS
    return max(1, (floor - group) // GROUPS + 1)
