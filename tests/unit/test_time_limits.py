"""The shared per-request time limit: expiry, order, and whose cancellation it was."""

from __future__ import annotations

import asyncio

import pytest

from core.time_limits import SharedTimeLimit, TimeLimitExpired


async def _guarded(limit: SharedTimeLimit, work_s: float) -> str:
    try:
        with limit.within():
            await asyncio.sleep(work_s)
    except TimeLimitExpired:
        return "timed out"
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


async def test_a_timeout_the_work_raises_itself_is_not_the_limits() -> None:
    limit = SharedTimeLimit(5)

    async def work() -> None:
        with limit.within():
            raise TimeoutError("the work's own")

    with pytest.raises(TimeoutError, match="the work's own") as caught:
        await work()
    assert not isinstance(caught.value, TimeLimitExpired)
