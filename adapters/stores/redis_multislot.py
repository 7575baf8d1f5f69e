"""A wallet step whose players live in different cluster slots: locks, intent, roll forward.

One Lua call cannot span slots, so such a step (a job naming several players, which
no provider protocol sends but the `WalletStore` contract allows) commits in phases,
each one atomic on its own slot:

1. the intent: every player's part (the exact `gg_apply_v2` arguments) under
   `gg:step:<id>`, state `prepared`;
2. locks, player by player in sorted order (`gg_lock_v2`): each checks the version the
   step was decided on and sets `lk`, which bumps the version, so every other step of
   that player fails its version check until the lock is gone. If one version moved,
   the locks taken are released and the step is decided again;
3. the commit point: `prepared` -> `committed` (`gg_step_state_v2`);
4. each part applied under its lock (`l:<lock>` guard), which clears it;
5. the intent deleted.

A process that dies midway leaves locks. A step that finds a player locked for longer
than `LOCK_STALE_S` recovers it: if the intent is still `prepared` it turns it
`aborted` and releases the locks (nothing was written); if `committed` it applies the
parts still locked. The state change is the one atomic decision between the step's
own process and any recovery, so exactly one of them decides, and a part is applied
at most once (its lock is its guard).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from adapters.stores.redis_commit import Part, function_args
from adapters.stores.redis_functions import Functions
from adapters.stores.redis_keys import step_key
from adapters.stores.redis_link import Link, ReplyError
from adapters.stores.redis_lua import APPLY, LOCK, STEP_STATE, UNLOCK

__all__ = ["LOCK_STALE_S", "commit_across_slots", "lock_age_s", "recover"]

LOCK_STALE_S = 5.0
"""A lock older than this is taken for an abandoned step and recovered. A live step
holds its locks for a few round trips; a step slower than this is aborted by the
recovery (and its own commit point then fails, so it decides again)."""

PREPARED = "prepared"
COMMITTED = "committed"
ABORTED = "aborted"


def lock_age_s(lock: bytes, now_s: float) -> float:
    """How long ago the step holding `lock` (`<id> <since µs>`) took it."""
    _, _, since_us = lock.decode().partition(" ")
    return now_s - int(since_us) / 1e6


async def commit_across_slots(
    link: Link, functions: Functions, parts: Sequence[Part], versions: Sequence[bytes]
) -> bool:
    """Commit `parts` decided on `versions`; False if a version moved (nothing written)."""
    step_id = uuid.uuid4().hex
    lock = f"{step_id} {time.time_ns() // 1_000}"
    intent = step_key(step_id)
    encoded = _encode(parts, lock)
    await link.call(intent, "HSET", intent, "state", PREPARED, "parts", encoded)
    locked: list[str] = []
    for part, version in sorted(zip(parts, versions, strict=True), key=lambda p: p[0].player_id):
        key = part.keys.player
        if await functions.call(LOCK, [key], [version, lock]) != 1:
            await _release(functions, locked, lock)
            await link.call(intent, "DEL", intent)
            return False
        locked.append(key)
    if await functions.call(STEP_STATE, [intent], [PREPARED, COMMITTED]) != 1:
        return False  # a recovery took the step for abandoned and aborted it
    await _apply_locked(functions, orjson.loads(encoded))
    await link.call(intent, "DEL", intent)
    return True


async def recover(link: Link, functions: Functions, lock: bytes, player_key: str) -> None:
    """Finish or undo the abandoned step holding `lock` (found on `player_key`),
    whatever state it died in."""
    step_id, _, _ = lock.decode().partition(" ")
    intent = step_key(step_id)
    found = await link.call(intent, "HGETALL", intent)
    fields = dict(zip(found[::2], found[1::2], strict=True))
    state = fields.get(b"state", b"").decode()
    parts: list[dict[str, Any]] = orjson.loads(fields[b"parts"]) if b"parts" in fields else []
    if state == PREPARED and await functions.call(STEP_STATE, [intent], [PREPARED, ABORTED]) == 1:
        state = ABORTED
    elif state == PREPARED:  # its process reached the commit point meanwhile
        state = COMMITTED
    if state == COMMITTED:
        await _apply_locked(functions, parts)
    else:  # aborted, or no intent left (its locks outlived it)
        keys = [part["keys"][0] for part in parts]
        await _release(functions, [*keys, player_key], lock.decode())
    if parts:
        await link.call(intent, "DEL", intent)


async def _apply_locked(functions: Functions, parts: list[dict[str, Any]]) -> None:
    """Apply each part still holding the step's lock (another recovery may have done some)."""
    for part in parts:
        reply = await functions.call_raw(APPLY, part["keys"], part["args"])
        if isinstance(reply, ReplyError):
            raise reply
        if reply[0] not in (b"ok", b"lost-lock"):
            raise RuntimeError(f"a locked part was refused: {reply!r}")


async def _release(functions: Functions, keys: list[str], lock: str) -> None:
    for key in keys:
        await functions.call(UNLOCK, [key], [lock])


def _encode(parts: Sequence[Part], lock: str) -> bytes:
    """Each part's exact `gg_apply_v2` call under the lock guard, for any process to run."""
    encoded = []
    for part in parts:
        keys, args = function_args([part], [f"l:{lock}"])
        encoded.append({"keys": keys, "args": [_text(arg) for arg in args]})
    return orjson.dumps(encoded)


def _text(value: Any) -> str | int:
    if isinstance(value, bytes):
        return value.decode()  # encoded records are JSON: UTF-8
    assert isinstance(value, str | int)
    return value
