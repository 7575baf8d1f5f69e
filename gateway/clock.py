"""The wall clock, injected so that tests can move time (sessions expire, nonces age)."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """Two views of the same instant: float seconds and integer microseconds."""

    def seconds(self) -> float: ...

    def micros(self) -> int: ...


class SystemClock:
    """`time.time_ns()`, the only clock production uses."""

    def seconds(self) -> float:
        return time.time_ns() / 1e9

    def micros(self) -> int:
        return time.time_ns() // 1_000
