"""One time limit shared by many requests, enforced with a single loop timer.

`asyncio.timeout()` arms and cancels a loop timer per request: about 4-5 us of event-loop
CPU each under uvloop, on the thread that is the gateway's bottleneck. Every request has
the same limit here, so deadlines expire in arrival order, and one timer armed at the
oldest pending deadline serves them all. An expired request's task is cancelled, as
`asyncio.timeout()` would; leaving then tells whether the cancellation was this limit's
(and not, say, the client's), with the same `cancelling()`/`uncancel()` bookkeeping, and
turns it into `TimeLimitExpired`:

    with time_limit.within():
        return await work()       # TimeLimitExpired once the limit is over
"""

from __future__ import annotations

import asyncio
from types import TracebackType

__all__ = ["SharedTimeLimit", "TimeLimitEntry", "TimeLimitExpired"]

_CLOCK_SLACK_S = 0.001
"""A timer may fire up to a clock tick early (uvloop's clock counts milliseconds)."""


class TimeLimitExpired(TimeoutError):
    """The shared limit cancelled this work (a `TimeoutError` the work raised itself is not
    this)."""


class TimeLimitEntry:
    """One task's stay under the limit; a context manager that leaves on exit."""

    __slots__ = ("cancelling", "deadline_s", "expired", "limit", "task")

    def __init__(self, limit: SharedTimeLimit, task: asyncio.Task[object], deadline_s: float):
        self.limit = limit
        self.task = task
        self.deadline_s = deadline_s
        self.cancelling = task.cancelling()
        self.expired = False

    def __enter__(self) -> TimeLimitEntry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        ours = self.limit._leave(self)
        if ours and exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            raise TimeLimitExpired(f"took longer than {self.limit.limit_s} s") from exc


class SharedTimeLimit:
    """`with limit.within():` around the work."""

    def __init__(self, limit_s: float) -> None:
        assert limit_s > 0
        self.limit_s = limit_s
        self._pending: dict[TimeLimitEntry, None] = {}
        """Insertion order is deadline order: the same limit, a monotonic clock."""
        self._timer: asyncio.TimerHandle | None = None

    def within(self) -> TimeLimitEntry:
        """The current task under the limit until the `with` block ends."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        assert task is not None, "a time limit needs a task to cancel"
        entry = TimeLimitEntry(self, task, loop.time() + self.limit_s)
        self._pending[entry] = None
        if self._timer is None:
            self._timer = loop.call_at(entry.deadline_s, self._expire, loop)
        return entry

    def _leave(self, entry: TimeLimitEntry) -> bool:
        """True if the limit expired and no other cancellation is pending: a
        `CancelledError` the task is handling is then this limit's, to answer as a timeout."""
        if not entry.expired:
            del self._pending[entry]
            return False
        return entry.task.uncancel() <= entry.cancelling

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now_s = loop.time() + _CLOCK_SLACK_S
        pending = self._pending
        while pending:
            entry = next(iter(pending))
            if entry.deadline_s > now_s:
                self._timer = loop.call_at(entry.deadline_s, self._expire, loop)
                return
            del pending[entry]
            entry.expired = True
            entry.task.cancel()
