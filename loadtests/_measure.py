"""Where the CPU goes: /proc readings and two-thread cProfile, shared by the benchmarks.

Why one home: `bench_wallet.py`, `bench_gateway.py` and `profile_server.py` charge CPU
the same way (thread and process ticks, host busy and steal, one profiler for the event
loop and one for the store's writer thread), so a fix must reach all of them.
"""

from __future__ import annotations

import cProfile
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

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


_Case = TypeVar("_Case")


def record_runs(
    out_path: Path,
    header: Mapping[str, Any],
    cases: Iterator[tuple[int, _Case]],
    run_one: Callable[[_Case, int], dict[str, Any]],
    one_line: Callable[[Mapping[str, Any]], str],
    profile_dir: Path | None,
) -> list[dict[str, Any]]:
    """Run each (rep, case), appending the header and every result to `out_path` as JSON
    lines as they come (a long run interrupted keeps what it measured), one line each on
    stderr; then print the profile summaries, if any were written."""
    results: list[dict[str, Any]] = []
    with out_path.open("a") as out:
        out.write(json.dumps(header) + "\n")
        for rep, case in cases:
            result = run_one(case, rep)
            results.append(result)
            out.write(json.dumps(result) + "\n")
            out.flush()
            print(one_line(result), file=sys.stderr)
    if profile_dir is not None:
        for path in sorted(profile_dir.glob("*.md")):
            print(f"\n## profile {path.stem}\n\n{path.read_text()}")
    return results


def git_output(*args: str) -> str:
    """A read-only git command's output in the repository, stripped; empty if it fails."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def stop_process(process: subprocess.Popen[bytes], timeout_s: float) -> int:
    """SIGTERM, then SIGKILL after `timeout_s`; the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
