"""Where the CPU goes: /proc readings and two-thread cProfile, shared by the benchmarks.

Why one home: `bench_wallet.py`, `bench_gateway.py` and `profile_server.py` charge CPU
the same way (thread and process ticks, host busy and steal, one profiler for the event
loop and one for the store's writer thread), so a fix must reach all of them.
"""

from __future__ import annotations

import cProfile
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from adapters.stores.sqlite_writer import WRITER_THREAD_NAME

__all__ = [
    "REPO_ROOT",
    "WRITER_THREAD_NAME",
    "cpu_model",
    "host_cpu_s",
    "profiler",
    "profiling",
    "short_path",
    "stat_cpu_s",
]

REPO_ROOT = Path(__file__).resolve().parents[1]


def _ticks_s() -> float:
    return 1.0 / os.sysconf("SC_CLK_TCK")


def stat_cpu_s(path: Path) -> float:
    """utime + stime of a `/proc/.../stat` file (a process or one thread), in seconds."""
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _ticks_s()


def host_cpu_s() -> tuple[float, float]:
    """(busy, steal) seconds of all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq) * _ticks_s(), steal * _ticks_s()


def cpu_model() -> str | None:
    """The first `model name` of /proc/cpuinfo; None when it has none."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def profiler(clock: str) -> cProfile.Profile:
    """`cpu` charges each function its thread's CPU time; `wall` also the waits."""
    if clock == "cpu":
        return cProfile.Profile(time.thread_time_ns, 1e-9)
    return cProfile.Profile()


@contextmanager
def profiling(loop_prof: cProfile.Profile, writer_prof: cProfile.Profile) -> Iterator[None]:
    """Profile the calling (event-loop) thread and the store's writer thread started meanwhile.

    cProfile sees one thread per profiler; other threads started meanwhile are not profiled.
    """

    def start_in_thread(_frame: FrameType, _event: str, _arg: Any) -> None:
        # Runs as the first profile event of every new thread: the writer thread hands
        # itself to cProfile (which replaces this hook), others switch profiling off.
        if threading.current_thread().name == WRITER_THREAD_NAME:
            writer_prof.enable()
        else:
            sys.setprofile(None)

    threading.setprofile(start_in_thread)
    loop_prof.enable()
    try:
        yield
    finally:
        loop_prof.disable()
        threading.setprofile(None)


def short_path(filename: str) -> str:
    """A profiled file as summaries show it: relative to the repository, else its last two parts."""
    path = Path(filename)
    if path.is_relative_to(REPO_ROOT):
        return str(path.relative_to(REPO_ROOT))
    return "/".join(path.parts[-2:])
