"""`gamegate serve`'s relay as a child process that holds the reporting store.

Run in serve's own process, the relay's Python work shares the wallet's GIL and costs the
wallet 28-38 % of its throughput; as its own process, 2-8 % (loadtests/RESULTS.md). The
embedded store (DuckDB) may be held by one process only, so the child that runs the
relay also answers serve's request records and reports on a unix socket
(`gateway.reporting_server`; every serve process asks through
`adapters.reporting.socket_client`).

The parent (a single serve, or worker 0 of a group) starts the child without waiting for
it: start-up and `/readyz` never depend on reporting. The child is `python -m gateway
relay --child` with the parent's settings on its stdin (`gateway.relay_child`), in its
own session (signals reach it through the parent only), its stdout read here a
whole line at a time and written among the parent's log lines. An exit nobody asked for
is logged (`relay_process_exited`, with the exit code) and the child restarted after a
backoff that doubles from `RESTART_BACKOFF_S_MIN` to `RESTART_BACKOFF_S_MAX` (back to the
minimum after a run of `RESTART_BACKOFF_RESET_S`). On the way out: SIGTERM, then SIGKILL
after `STOP_TIMEOUT_S`. The child exits by itself when the parent dies (end of its stdin).

The relay's figures are fetched from the child every `STATS_INTERVAL_S` into a
`RelayStats` that serve's `RelayCollector` shows as before (`gamegate_relay_*`); its
counters carry on across restarts of the child, and each unasked-for exit counts as a
relay failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import structlog

from adapters.reporting.socket_client import SocketReporting
from adapters.reporting.wallet_logs import unsupported_reason
from core.errors import StorageUnavailable
from gateway.relay import RelayStats
from gateway.relay_child import settings_line
from gateway.settings import Settings

__all__ = [
    "RESTART_BACKOFF_S_MAX",
    "RESTART_BACKOFF_S_MIN",
    "RelayProcess",
    "StatsMirror",
    "child_relay_wanted",
    "mirror_stats",
    "relay_process",
]

RESTART_BACKOFF_S_MIN = 1.0
RESTART_BACKOFF_S_MAX = 30.0
RESTART_BACKOFF_RESET_S = 60.0
"""A child that ran this long before it exited is restarted after the minimum again."""
STOP_TIMEOUT_S = 15.0
"""How long a stopping child may take (its step under way is bounded at 10 s) before SIGKILL."""
STATS_INTERVAL_S = 1.0
LOG_LINE_BYTES_MAX = 1_048_576
"""A longer line from the child is dropped (its log lines are short)."""

Output = Callable[[bytes], None]
_log = structlog.get_logger("gamegate.relay")


def child_relay_wanted(settings: Settings) -> bool:
    """Whether serve runs the relay as a child: `reporting.relay` on, not
    `relay_in_process`, and a wallet the relay can read."""
    config = settings.reporting
    return (
        config.relay
        and not config.relay_in_process
        and unsupported_reason(settings.wallet.url) is None
    )


class RelayProcess:
    """Keeps one relay child running until `run`'s `stop` is set."""

    def __init__(
        self, settings: Settings, output: Output, on_exit: Callable[[], None] = lambda: None
    ) -> None:
        self._settings = settings
        self._output = output
        self._on_exit = on_exit
        self.pid: int | None = None
        """The running child's process id (tests)."""
        self.starts_total = 0

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        backoff_s = RESTART_BACKOFF_S_MIN
        while not stop.is_set():
            started_s = loop.time()
            code = await self._run_once(stop)
            if stop.is_set():
                return
            if loop.time() - started_s >= RESTART_BACKOFF_RESET_S:
                backoff_s = RESTART_BACKOFF_S_MIN
            _log.warning("relay_process_exited", exit_code=code, restart_in_s=backoff_s)
            self._on_exit()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff_s)
            backoff_s = min(backoff_s * 2, RESTART_BACKOFF_S_MAX)

    async def _run_once(self, stop: asyncio.Event) -> int | None:
        """Start the child and wait for it to exit (None: it could not start), or stop
        it when `stop` is set."""
        try:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway", "relay", "--child",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=LOG_LINE_BYTES_MAX,
                start_new_session=True,  # uvloop has no process_group
            )  # fmt: skip
        except (OSError, ValueError) as error:
            _log.error("relay_process_not_started", error_type=type(error).__name__)
            return None
        self.pid = child.pid
        self.starts_total += 1
        _log.info("relay_process_started", pid=child.pid)
        assert child.stdin is not None
        assert child.stdout is not None
        lines = asyncio.create_task(self._pass_lines(child.stdout))
        try:
            child.stdin.write(settings_line(self._settings))
            with contextlib.suppress(ConnectionError):
                await child.stdin.drain()
            exited = asyncio.create_task(child.wait())
            stopping = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
            if not exited.done():
                await _stop(child, exited)
            return await exited
        finally:
            child.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lines, STOP_TIMEOUT_S)
            self.pid = None

    async def _pass_lines(self, stdout: asyncio.StreamReader) -> None:
        """The child's log lines, whole, into the parent's stream, until end of file."""
        while True:
            try:
                line = await stdout.readline()
            except ValueError:  # longer than LOG_LINE_BYTES_MAX: dropped by the reader
                continue
            if not line:
                return
            self._output(line)


async def _stop(child: asyncio.subprocess.Process, exited: asyncio.Task[int]) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(exited), STOP_TIMEOUT_S)
    except TimeoutError:
        _log.warning("relay_process_stop_timed_out", pid=child.pid, timeout_s=STOP_TIMEOUT_S)
        with contextlib.suppress(ProcessLookupError):
            child.kill()


class StatsMirror:
    """The child's `RelayStats` as fetched, its counters carried on across restarts (a
    new child counts from 0 again)."""

    def __init__(self) -> None:
        self.stats = RelayStats()
        self._seen = {"events_total": 0, "failures_total": 0}
        self._carried = {"events_total": 0, "failures_total": 0}

    def absorb(self, fetched: Mapping[str, Any]) -> None:
        stats = self.stats
        for name in ("events_total", "failures_total"):
            value = _count(fetched, name)
            if value < self._seen[name]:  # a new child
                self._carried[name] += self._seen[name]
            self._seen[name] = value
            setattr(stats, name, self._carried[name] + value)
        stats.cursor = _count(fetched, "cursor")
        stats.last_seq = _count(fetched, "last_seq")
        oldest = fetched.get("oldest_at_us")
        stats.oldest_at_us = oldest if isinstance(oldest, int) else None

    def child_exited(self) -> None:
        """An exit nobody asked for is a relay failure too (GamegateRelayFailing)."""
        self._carried["failures_total"] += 1
        self.stats.failures_total += 1


def _count(fetched: Mapping[str, Any], name: str) -> int:
    value = fetched.get(name)
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"relay stats: {name} is not a count")
    return value


async def mirror_stats(
    client: SocketReporting,
    mirror: StatsMirror,
    stop: asyncio.Event,
    interval_s: float = STATS_INTERVAL_S,
) -> None:
    """Fetch the child's figures every `interval_s` until `stop`; a child that does not
    answer leaves the last figures (the lag in seconds keeps growing with the clock)."""
    while not stop.is_set():
        with contextlib.suppress(StorageUnavailable, ValueError):
            mirror.absorb(await client.relay_stats())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


@contextlib.asynccontextmanager
async def relay_process(
    settings: Settings, client: SocketReporting, output: Output
) -> AsyncIterator[StatsMirror]:
    """The child kept running, and its figures mirrored, while the block runs; the
    mirror's `stats` are for a `RelayCollector`."""
    stop = asyncio.Event()
    mirror = StatsMirror()
    process = RelayProcess(settings, output, mirror.child_exited)
    tasks = [
        asyncio.create_task(process.run(stop), name="gamegate-relay-process"),
        asyncio.create_task(mirror_stats(client, mirror, stop), name="gamegate-relay-stats"),
    ]
    try:
        yield mirror
    finally:
        stop.set()
        for failed in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(failed, Exception):
                _log.error("relay_process_failed", error_type=type(failed).__name__)
