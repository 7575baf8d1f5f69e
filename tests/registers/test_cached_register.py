"""Register answers cached: hits, expiry by answer kind, an entry bound, failures never
kept, and one call in flight per subject."""

from __future__ import annotations

import asyncio

import pytest

from core.registers import CachedRegister, RegisterUnavailable, Verdict
from tests.registers.fakes import ScriptedRegister, subject


class Clock:
    def __init__(self) -> None:
        self.now_s = 1_000.0

    def __call__(self) -> float:
        return self.now_s


def _cached(inner: ScriptedRegister, clock: Clock, *, entries_max: int = 100) -> CachedRegister:
    return CachedRegister(
        inner, ttl_s=60.0, excluded_ttl_s=600.0, entries_max=entries_max, clock_s=clock
    )


async def test_a_repeated_lookup_is_answered_from_the_cache() -> None:
    inner = ScriptedRegister(Verdict.NOT_EXCLUDED, name="gamstop")
    cached = _cached(inner, Clock())
    assert await cached.lookup(subject()) is Verdict.NOT_EXCLUDED
    assert await cached.lookup(subject()) is Verdict.NOT_EXCLUDED
    assert len(inner.asked) == 1
    assert cached.name == "gamstop"


async def test_another_subject_is_asked_for() -> None:
    inner = ScriptedRegister(Verdict.NOT_EXCLUDED, Verdict.EXCLUDED)
    cached = _cached(inner, Clock())
    assert await cached.lookup(subject("p-1")) is Verdict.NOT_EXCLUDED
    assert await cached.lookup(subject("p-1", identity={"email": "other@example.com"})) is (
        Verdict.EXCLUDED
    )
    assert len(inner.asked) == 2


async def test_not_excluded_expires_after_ttl_s() -> None:
    inner = ScriptedRegister(Verdict.NOT_EXCLUDED, Verdict.EXCLUDED)
    clock = Clock()
    cached = _cached(inner, clock)
    await cached.lookup(subject())
    clock.now_s += 59.9
    assert await cached.lookup(subject()) is Verdict.NOT_EXCLUDED
    clock.now_s += 0.1
    assert await cached.lookup(subject()) is Verdict.EXCLUDED
    assert len(inner.asked) == 2


async def test_excluded_is_kept_for_excluded_ttl_s() -> None:
    inner = ScriptedRegister(Verdict.EXCLUDED, Verdict.NOT_EXCLUDED)
    clock = Clock()
    cached = _cached(inner, clock)
    await cached.lookup(subject())
    clock.now_s += 599.0
    assert await cached.lookup(subject()) is Verdict.EXCLUDED
    clock.now_s += 1.0
    assert await cached.lookup(subject()) is Verdict.NOT_EXCLUDED


async def test_the_least_recently_used_answer_goes_past_entries_max() -> None:
    inner = ScriptedRegister(*[Verdict.NOT_EXCLUDED] * 4)
    cached = _cached(inner, Clock(), entries_max=2)
    await cached.lookup(subject("a"))
    await cached.lookup(subject("b"))
    await cached.lookup(subject("a"))  # a is now the most recently used
    await cached.lookup(subject("c"))  # b goes
    assert len(cached) == 2
    await cached.lookup(subject("a"))
    assert [asked.player_id for asked in inner.asked] == ["a", "b", "c"]
    await cached.lookup(subject("b"))
    assert [asked.player_id for asked in inner.asked] == ["a", "b", "c", "b"]


async def test_a_failure_is_not_kept() -> None:
    inner = ScriptedRegister(RegisterUnavailable("down"), Verdict.NOT_EXCLUDED)
    cached = _cached(inner, Clock())
    with pytest.raises(RegisterUnavailable):
        await cached.lookup(subject())
    assert await cached.lookup(subject()) is Verdict.NOT_EXCLUDED
    assert len(inner.asked) == 2


async def test_concurrent_lookups_of_one_subject_share_one_call() -> None:
    inner = ScriptedRegister(Verdict.EXCLUDED)
    inner.gate.clear()
    cached = _cached(inner, Clock())
    waiting = [asyncio.create_task(cached.lookup(subject())) for _ in range(5)]
    await asyncio.sleep(0)
    inner.gate.set()
    assert await asyncio.gather(*waiting) == [Verdict.EXCLUDED] * 5
    assert len(inner.asked) == 1


async def test_concurrent_lookups_share_a_failure_and_the_next_one_asks_again() -> None:
    inner = ScriptedRegister(RegisterUnavailable("down"), Verdict.NOT_EXCLUDED)
    inner.gate.clear()
    cached = _cached(inner, Clock())
    waiting = [asyncio.create_task(cached.lookup(subject())) for _ in range(3)]
    await asyncio.sleep(0)
    inner.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, RegisterUnavailable) for result in results)
    assert len(inner.asked) == 1
    assert await cached.lookup(subject()) is Verdict.NOT_EXCLUDED


async def test_a_cancelled_waiter_does_not_cancel_the_call_for_the_others() -> None:
    inner = ScriptedRegister(Verdict.NOT_EXCLUDED)
    inner.gate.clear()
    cached = _cached(inner, Clock())
    first = asyncio.create_task(cached.lookup(subject()))
    second = asyncio.create_task(cached.lookup(subject()))
    await asyncio.sleep(0)
    first.cancel()
    inner.gate.set()
    assert await second is Verdict.NOT_EXCLUDED
    assert first.cancelled()
    assert len(cached) == 1
