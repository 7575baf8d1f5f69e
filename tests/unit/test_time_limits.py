"""The shared per-request time limit: expiry, order, and whose cancellation it was."""

from __future__ import annotations

import asyncio

from core.time_limits import SharedTimeLimit


async def _guarded(limit: SharedTimeLimit, work_s: float) -> str:
    entry = limit.enter()
    try:
        await asyncio.sleep(work_s)
    except asyncio.CancelledError:
        if limit.leave(entry):
            return "timed out"
        raise
    limit.leave(entry)
    return "done"


async def test_work_within_the_limit_is_left_alone() -> None:
    limit = SharedTimeLimit(0.2)
    assert await _guarded(limit, 0.01) == "done"
    await asyncio.sleep(0.25)  # the timer fires with nothing pending left


async def test_work_past_the_limit_is_cancelled_and_reported_as_a_timeout() -> None:
    limit = SharedTimeLimit(0.05)
    started = asyncio.get_running_loop().time()
    assert await _guarded(limit, 5) == "timed out"
    assert 0.04 <= asyncio.get_running_loop().time() - started < 1
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0  # the limit took back the cancellation it made


async def test_each_request_gets_its_own_deadline() -> None:
    limit = SharedTimeLimit(0.1)
    first = asyncio.create_task(_guarded(limit, 5))
    await asyncio.sleep(0.06)
    quick = asyncio.create_task(_guarded(limit, 0.01))
    second = asyncio.create_task(_guarded(limit, 5))
    assert await first == "timed out"
    assert not second.done()  # its deadline is 60 ms later
    assert await second == "timed out"
    assert await quick == "done"


async def test_a_cancellation_from_elsewhere_is_not_claimed() -> None:
    limit = SharedTimeLimit(5)
    task = asyncio.create_task(_guarded(limit, 5))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
