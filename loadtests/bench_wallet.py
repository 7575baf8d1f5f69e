"""In-process wallet benchmark: throughput and latency of `SqliteWalletStore.apply`.

Why in-process: it measures the store alone (engine rules, ledger caches, the writer
thread and SQLite's WAL fsync) without HTTP or protocol costs, so the gain of group
commit can be read directly. Each case runs N asyncio tasks that loop
build command -> `await store.apply([cmd])` (one command per call, as the gateway does)
over a mixed workload, on a fresh copy of a seeded database with `synchronous=FULL`.
Group commit and one operation per transaction run side by side in the same run, with
repetitions as the outer loop, because this machine is shared and drifts (see
`perf-baseline.md`): only ratios measured together are trustworthy.

    python -m loadtests.bench_wallet --cpu 1             # 3 reps x c=1,64,256 x group/single
    python -m loadtests.bench_wallet --cpu 1 --quick     # smoke run: 1 rep, 2 s per case
    python -m loadtests.bench_wallet --cpu 1 --reps 1 --concurrency 256 --modes group \\
        --profile var/bench/profile                      # one case under cProfile, both threads
    python -m loadtests.bench_wallet --cpu 1 --concurrency 256 --modes group \\
        --store sqlite --store redis://127.0.0.1:6390/0  # SQLite and Redis in the same run

`--store` names the backends to run (default: `sqlite` alone): SQLite runs its modes, a
`redis://` URL runs the same workload on the Redis store (`RedisWalletStore`, a mode of
its own, `redis`). That server's keys are flushed before each Redis case and the players
seeded again; its CPU (from `/proc/<pid>/stat`, so it must run on this machine) is
reported next to the benchmark process's. Start it with AOF fsynced always on the other
core, e.g. `taskset -c 0 redis-server --port 6390 --appendonly yes --appendfsync always
--save '' --dir /tmp/bench-redis`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import hashlib
import json
import math
import os
import platform
import pstats
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis

from adapters.stores.redis_store import RedisWalletStore
from adapters.stores.redis_url import parse_redis_url
from adapters.stores.sqlite_store import DEFAULT_BATCH_OPS_MAX, SqliteWalletStore
from core.errors import GatewayError
from core.model import Credit, Debit, Deposit, KycState, MoneyCommand, Rollback
from core.wallet.records import PlayerRecord
from gateway.gc_policy import apply_serving_gc_policy
from loadtests._measure import (
    REPO_ROOT,
    WRITER_THREAD_NAME,
    cpu_model,
    git_output,
    host_cpu_s,
    profiler,
    profiling,
    short_path,
    stat_cpu_s,
)

__all__ = ["main"]

DEFAULT_DB_DIR = REPO_ROOT / "var" / "bench"
DEFAULT_OUT_DIR = REPO_ROOT / "loadtests" / "out"

PROVIDER = "bench"
GAME_ID = "bench-slot"
CURRENCY = "EUR"
SEED_DEPOSIT_MINOR = 1_000_000_000  # 10M EUR: bets of 0.10-10.00 EUR never run a player dry
BET_MINOR_MIN = 10
BET_MINOR_MAX = 1_000
RING_ENTRIES_MAX = 4_096  # rollbacks and replays pick among this many recent commands
SEED_CHUNK_OPS = 1_000

BET_SHARE = 0.50
WIN_SHARE = 0.40
ROLLBACK_SHARE = 0.05  # the remaining 5 % are exact replays

MODES = {"group": DEFAULT_BATCH_OPS_MAX, "single": 1}
REDIS_MODE = "redis"
"""The mode of a case on a Redis store (no group commit to choose: one Lua call a step)."""
MODE_ORDER = [*MODES, REDIS_MODE]
SQLITE_STORE = "sqlite"
TARGET_REDIS_SHARE = 0.5
"""Redis's ops/s at the target concurrency, as a share of SQLite's (group commit)."""

TARGET_OPS_PER_S = 20_000
TARGET_CONCURRENCY = 256
TARGET_GROUP_RATIO = 5.0

T = TypeVar("T")


# -- workload ------------------------------------------------------------------


class Ring(Generic[T]):
    """The newest `entries_max` items; random picks favour nothing but recency."""

    def __init__(self, entries_max: int) -> None:
        assert entries_max >= 1
        self._items: list[T] = []
        self._entries_max = entries_max
        self._next = 0

    def add(self, item: T) -> None:
        if len(self._items) < self._entries_max:
            self._items.append(item)
            return
        self._items[self._next] = item
        self._next = (self._next + 1) % self._entries_max

    def pick(self, rng: random.Random) -> T | None:
        return rng.choice(self._items) if self._items else None


class Workload:
    """The shared command generator of one case: 50 % bets, 40 % wins, 5 % rollbacks, 5 % replays.

    A win settles an applied, not yet settled bet (by `ref_tx_id`, closing its round). A
    rollback targets one of the recent bets, which may be settled already: the store then
    refuses it, and that refusal is counted as an outcome. A replay resends an earlier
    command object unchanged. When a class has nothing to target yet (at the start), a bet
    is sent instead; the outcome counts show the mix that actually ran.
    """

    def __init__(self, players: int) -> None:
        assert players >= 1
        self._player_ids = [player_id(i) for i in range(players)]
        self._ids = 0
        self._open_bets: list[Debit] = []
        self._recent_bets: Ring[Debit] = Ring(RING_ENTRIES_MAX)
        self._recent_commands: Ring[MoneyCommand] = Ring(RING_ENTRIES_MAX)

    def next_command(self, rng: random.Random) -> tuple[str, MoneyCommand]:
        roll = rng.random()
        command: MoneyCommand | None = None
        kind = "bet"
        if BET_SHARE <= roll < BET_SHARE + WIN_SHARE:
            kind, command = "win", self._win(rng)
        elif BET_SHARE + WIN_SHARE <= roll < BET_SHARE + WIN_SHARE + ROLLBACK_SHARE:
            kind, command = "rollback", self._rollback(rng)
        elif roll >= BET_SHARE + WIN_SHARE + ROLLBACK_SHARE:
            kind, command = "replay", self._recent_commands.pick(rng)
        if command is None:
            kind, command = "bet", self._bet(rng)
        return kind, command

    def completed(self, kind: str, command: MoneyCommand, *, applied: bool) -> None:
        """Make a finished command available to later wins, rollbacks and replays."""
        if kind == "replay":
            return
        self._recent_commands.add(command)
        if applied and isinstance(command, Debit):
            self._open_bets.append(command)
            self._recent_bets.add(command)

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    def _bet(self, rng: random.Random) -> Debit:
        return Debit(
            provider=PROVIDER,
            tx_id=self._next_id("b"),
            player_id=rng.choice(self._player_ids),
            currency=CURRENCY,
            amount_minor=rng.randint(BET_MINOR_MIN, BET_MINOR_MAX),
            round_id=self._next_id("r"),
            game_id=GAME_ID,
        )

    def _win(self, rng: random.Random) -> Credit | None:
        if not self._open_bets:
            return None
        index = rng.randrange(len(self._open_bets))
        bet = self._open_bets[index]
        self._open_bets[index] = self._open_bets[-1]
        self._open_bets.pop()
        return Credit(
            provider=PROVIDER,
            tx_id=self._next_id("w"),
            player_id=bet.player_id,
            currency=CURRENCY,
            amount_minor=rng.randint(0, 2 * bet.amount_minor),
            round_id=bet.round_id,
            game_id=GAME_ID,
            ref_tx_id=bet.tx_id,
            close_round=True,
        )

    def _rollback(self, rng: random.Random) -> Rollback | None:
        bet = self._recent_bets.pick(rng)
        if bet is None:
            return None
        return Rollback(
            provider=PROVIDER,
            tx_id=self._next_id("x"),
            player_id=bet.player_id,
            ref_tx_id=bet.tx_id,
            round_id=bet.round_id,
        )


def player_id(index: int) -> str:
    return f"p{index:06d}"


# -- measurement -------------------------------------------------------------


@dataclass(slots=True)
class Meter:
    """Latencies and outcome counts of the commands that finish inside the measured window."""

    recording: bool = False
    stopping: bool = False
    latencies_ns: list[int] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def record(self, kind: str, outcome: str, latency_ns: int) -> None:
        if self.recording:
            self.latencies_ns.append(latency_ns)
            self.outcomes[f"{kind}:{outcome}"] += 1


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Counters read at the edges of the measured window."""

    wall_ns: int
    cpu_s: float
    user_s: float
    sys_s: float
    writer_cpu_s: float | None
    server_cpu_s: float | None
    """The Redis server's CPU (None for SQLite, whose writer is a thread of this process)."""
    host_busy_s: float
    host_steal_s: float
    commits: int


def _thread_cpu_s(native_id: int | None) -> float | None:
    """CPU of one thread of this process from /proc (10 ms resolution)."""
    if native_id is None:
        return None
    try:
        return stat_cpu_s(Path(f"/proc/self/task/{native_id}/stat"))
    except OSError:
        return None


def _writer_native_id() -> int | None:
    for thread in threading.enumerate():
        if thread.name == WRITER_THREAD_NAME:
            return thread.native_id
    return None


def _snapshot(
    store: SqliteWalletStore | RedisWalletStore, writer_id: int | None, server_pid: int | None
) -> Snapshot:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    busy_s, steal_s = host_cpu_s()
    return Snapshot(
        wall_ns=time.perf_counter_ns(),
        cpu_s=time.process_time(),
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        writer_cpu_s=_thread_cpu_s(writer_id),
        server_cpu_s=None if server_pid is None else stat_cpu_s(Path(f"/proc/{server_pid}/stat")),
        host_busy_s=busy_s,
        host_steal_s=steal_s,
        commits=store.stats().commits_total,
    )


def percentile_ms(sorted_ns: Sequence[int], quantile: float) -> float:
    """Nearest-rank percentile of sorted nanosecond latencies, in milliseconds."""
    if not sorted_ns:
        return math.nan
    rank = max(1, math.ceil(quantile * len(sorted_ns)))
    return sorted_ns[min(rank, len(sorted_ns)) - 1] / 1e6


def generator_cost_us(players: int, seed: int, ops: int = 50_000) -> float:
    """CPU µs per op of the load generator alone (built, completed, recorded; no store).

    It runs in the loop thread during every case, so it is part of "CPU µs/op".
    """
    load = Workload(players)
    meter = Meter(recording=True)
    rng = random.Random(f"{seed}:calibration")
    started_s = time.process_time()
    for _ in range(ops):
        started_ns = time.perf_counter_ns()
        kind, command = load.next_command(rng)
        load.completed(kind, command, applied=True)
        meter.record(kind, "ok", time.perf_counter_ns() - started_ns)
    return (time.process_time() - started_s) / ops * 1e6


# -- one case ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    rep: int
    concurrency: int
    mode: str
    store: str = SQLITE_STORE
    """`sqlite`, or the URL of the Redis store (mode `redis`)."""

    @property
    def batch_ops_max(self) -> int:
        return MODES.get(self.mode, 0)

    @property
    def label(self) -> str:
        return f"rep{self.rep}-c{self.concurrency}-{self.mode}"


@dataclass(frozen=True, slots=True)
class Options:
    players: int
    duration_s: float
    warmup_s: float
    seed: int
    profile_dir: Path | None
    profile_clock: str


async def _worker(
    store: SqliteWalletStore | RedisWalletStore, load: Workload, meter: Meter, rng: random.Random
) -> None:
    while not meter.stopping:
        kind, command = load.next_command(rng)
        started_ns = time.perf_counter_ns()
        try:
            outcomes = await store.apply([command])
        except GatewayError as error:
            latency_ns = time.perf_counter_ns() - started_ns
            prefix = "replayed-refusal:" if error.replay else "refused:"
            load.completed(kind, command, applied=False)
            meter.record(kind, prefix + type(error).__name__, latency_ns)
            continue
        latency_ns = time.perf_counter_ns() - started_ns
        outcome = outcomes[0]
        load.completed(kind, command, applied=not outcome.replay)
        label = "replay" if outcome.replay else "tombstone" if outcome.tombstone else "ok"
        meter.record(kind, label, latency_ns)


async def _drive(
    store: SqliteWalletStore | RedisWalletStore,
    case: Case,
    opts: Options,
    server_pid: int | None = None,
) -> dict[str, Any]:
    load = Workload(opts.players)
    meter = Meter()
    tasks = [
        asyncio.create_task(
            _worker(store, load, meter, random.Random(f"{opts.seed}:{case.label}:{i}"))
        )
        for i in range(case.concurrency)
    ]
    writer_id = _writer_native_id()
    await asyncio.sleep(opts.warmup_s)
    _raise_if_failed(tasks)
    load_avg = os.getloadavg()
    before = _snapshot(store, writer_id, server_pid)
    meter.recording = True
    await asyncio.sleep(opts.duration_s)
    after = _snapshot(store, writer_id, server_pid)
    meter.recording = False
    meter.stopping = True
    await asyncio.gather(*tasks)
    return _case_result(case, meter, before, after, load_avg)


def _raise_if_failed(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Stop early if a worker died: an unexpected error (not a refusal) is a store bug."""
    for task in tasks:
        if task.done():
            task.result()


def _case_result(
    case: Case, meter: Meter, before: Snapshot, after: Snapshot, load_avg: tuple[float, ...]
) -> dict[str, Any]:
    wall_s = (after.wall_ns - before.wall_ns) / 1e9
    latencies = sorted(meter.latencies_ns)
    ops = len(latencies)
    commits = after.commits - before.commits
    cpu_s = after.cpu_s - before.cpu_s
    writer_s = (
        None
        if after.writer_cpu_s is None or before.writer_cpu_s is None
        else after.writer_cpu_s - before.writer_cpu_s
    )
    server_s = (
        None
        if after.server_cpu_s is None or before.server_cpu_s is None
        else after.server_cpu_s - before.server_cpu_s
    )
    return {
        "type": "case",
        "rep": case.rep,
        "concurrency": case.concurrency,
        "mode": case.mode,
        "store": case.store,
        "batch_ops_max": case.batch_ops_max,
        "wall_s": round(wall_s, 4),
        "ops": ops,
        "ops_per_s": ops / wall_s,
        "p50_ms": percentile_ms(latencies, 0.50),
        "p99_ms": percentile_ms(latencies, 0.99),
        "p999_ms": percentile_ms(latencies, 0.999),
        "max_ms": percentile_ms(latencies, 1.0),
        "commits": commits,
        "ops_per_commit": ops / commits if commits else math.nan,
        "cpu_us_per_op": cpu_s / ops * 1e6 if ops else math.nan,
        "user_us_per_op": (after.user_s - before.user_s) / ops * 1e6 if ops else math.nan,
        "sys_us_per_op": (after.sys_s - before.sys_s) / ops * 1e6 if ops else math.nan,
        "process_cores": cpu_s / wall_s,
        "writer_cores": None if writer_s is None else writer_s / wall_s,
        "writer_us_per_op": None if writer_s is None or not ops else writer_s / ops * 1e6,
        "server_cores": None if server_s is None else server_s / wall_s,
        "server_us_per_op": None if server_s is None or not ops else server_s / ops * 1e6,
        "foreign_cores": (after.host_busy_s - before.host_busy_s - cpu_s - (server_s or 0.0))
        / wall_s,
        "steal_cores": (after.host_steal_s - before.host_steal_s) / wall_s,
        "load_avg_1m": load_avg[0],
        "outcomes": dict(sorted(meter.outcomes.items())),
    }


async def run_case(case: Case, template: Path, work_dir: Path, opts: Options) -> dict[str, Any]:
    """Copy the seeded template to a fresh file, open the store, drive it, remove the file
    (a Redis case: empty the server, seed it, drive the store)."""
    if case.mode == REDIS_MODE:
        return await run_redis_case(case, opts)
    path = work_dir / f"{case.label}.db"
    _copy_db(template, path)
    gc.collect()
    with _profiled(opts.profile_dir, opts.profile_clock, case.label):
        store = await SqliteWalletStore.open(
            path, synchronous="FULL", batch_ops_max=case.batch_ops_max
        )
        try:
            result = await _drive(store, case, opts)
        finally:
            await store.close()
    _remove_db(path)
    result["profiled"] = opts.profile_dir is not None
    return result


async def run_redis_case(case: Case, opts: Options) -> dict[str, Any]:
    """Flush the Redis server, seed the players through the store, then drive it."""
    await _flush_redis(case.store)
    gc.collect()
    with _profiled(opts.profile_dir, opts.profile_clock, case.label):
        store = await RedisWalletStore.open(case.store)
        try:
            await _seed(store, opts.players)
            result = await _drive(store, case, opts, await _redis_pid(case.store))
        finally:
            await store.close()
    result["profiled"] = opts.profile_dir is not None
    return result


def _redis_client(url: str) -> aioredis.Redis:
    """A plain client for the server a wallet URL names (its options are the store's)."""
    endpoint = parse_redis_url(url).endpoints[0]
    return aioredis.Redis(
        host=endpoint.host,
        port=endpoint.port,
        db=endpoint.db,
        username=endpoint.username,
        password=endpoint.password,
    )


async def _flush_redis(url: str) -> None:
    client = _redis_client(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def _redis_pid(url: str) -> int | None:
    """The server's PID if it runs on this machine (its CPU is then measured)."""
    client = _redis_client(url)
    try:
        pid = int((await client.info("server"))["process_id"])
    finally:
        await client.aclose()
    return pid if Path(f"/proc/{pid}/stat").exists() else None


# -- database files ------------------------------------------------------------


async def seed_template(path: Path, players: int) -> None:
    """Create the players and fund them once; every case starts from a copy of this file."""
    store = await SqliteWalletStore.open(path, synchronous="FULL")
    try:
        await _seed(store, players)
    finally:
        await store.close()


async def _seed(store: SqliteWalletStore | RedisWalletStore, players: int) -> None:
    for start in range(0, players, SEED_CHUNK_OPS):
        indexes = range(start, min(players, start + SEED_CHUNK_OPS))
        await asyncio.gather(*(store.create_player(_player(i)) for i in indexes))
        await asyncio.gather(
            *(
                store.apply([Deposit(f"seed-{i}", player_id(i), CURRENCY, SEED_DEPOSIT_MINOR)])
                for i in indexes
            )
        )


def _player(index: int) -> PlayerRecord:
    return PlayerRecord(
        player_id=player_id(index),
        brand="bench",
        jurisdiction="MT",
        currency=CURRENCY,
        date_of_birth=datetime.date(1990, 1, 1),
        kyc=KycState.VERIFIED,
    )


def _copy_db(template: Path, path: Path) -> None:
    """Copy and fsync, so the copy's dirty pages are not written back during the case."""
    for suffix in ("", "-wal"):
        source = Path(f"{template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{path}{suffix}")
            fd = os.open(f"{path}{suffix}", os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# -- profiling -------------------------------------------------------------------


@contextmanager
def _profiled(profile_dir: Path | None, clock: str, label: str) -> Iterator[None]:
    """cProfile the loop thread and the store's writer thread (each profiler sees one thread).

    `clock="cpu"` charges each function its thread's CPU time; `"wall"` also charges it
    the time spent waiting (fsync, the GIL held by the other thread).
    """
    if profile_dir is None:
        yield
        return
    loop_prof, writer_prof = profiler(clock), profiler(clock)
    with profiling(loop_prof, writer_prof):
        yield
    profile_dir.mkdir(parents=True, exist_ok=True)
    for thread, prof in (("loop", loop_prof), ("writer", writer_prof)):
        path = profile_dir / f"{label}.{thread}.prof"
        prof.dump_stats(path)
        _print_profile(f"{label} {thread} thread", pstats.Stats(prof), path)


def _print_profile(title: str, stats: pstats.Stats, path: Path) -> None:
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    entries = stats.stats  # type: ignore[attr-defined]  # -- documented, not in typeshed
    total_s: float = sum(entry[2] for entry in entries.values()) or math.nan
    print(f"\n### {title}: {total_s:.2f} s own time; raw profile in {path}\n", file=sys.stderr)
    by_file: dict[str, float] = {}
    for (filename, _line, func), entry in entries.items():
        name = short_path(filename) if filename != "~" else func
        by_file[name] = by_file.get(name, 0.0) + entry[2]
    print("| own time by file | s | % |\n|---|---|---|", file=sys.stderr)
    for name, own_s in sorted(by_file.items(), key=lambda item: item[1], reverse=True)[:15]:
        print(f"| {name} | {own_s:.3f} | {own_s / total_s:.1%} |", file=sys.stderr)
    print("\n| function | calls | own s | cum s | own % |\n|---|---|---|---|---|", file=sys.stderr)
    top = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:25]
    for (filename, line, func), (_cc, calls, own_s, cum_s, _callers) in top:
        where = func if filename == "~" else f"{short_path(filename)}:{line}({func})"
        print(
            f"| {where} | {calls} | {own_s:.3f} | {cum_s:.3f} | {own_s / total_s:.1%} |",
            file=sys.stderr,
        )


def summarise(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median over repetitions of every case (concurrency x mode)."""
    keys = sorted({(r["concurrency"], r["mode"]) for r in results}, key=_case_order)
    rows: list[dict[str, Any]] = []
    metrics = ("ops_per_s", "p50_ms", "p99_ms", "p999_ms", "ops_per_commit", "cpu_us_per_op")
    for concurrency, mode in keys:
        runs = [r for r in results if r["concurrency"] == concurrency and r["mode"] == mode]
        row: dict[str, Any] = {"type": "summary", "concurrency": concurrency, "mode": mode}
        row["batch_ops_max"] = MODES.get(mode, 0)
        row["reps"] = len(runs)
        for metric in (*metrics, "process_cores", "foreign_cores"):
            row[metric] = statistics.median(r[metric] for r in runs)
        writer = [r["writer_us_per_op"] for r in runs if r["writer_us_per_op"] is not None]
        row["writer_us_per_op"] = statistics.median(writer) if writer else math.nan
        for name in ("server_cores", "server_us_per_op"):
            found = [r[name] for r in runs if r.get(name) is not None]
            row[name] = statistics.median(found) if found else math.nan
        row["ops_per_s_min"] = min(r["ops_per_s"] for r in runs)
        row["ops_per_s_max"] = max(r["ops_per_s"] for r in runs)
        rows.append(row)
    return rows


def ratios(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group-commit / one-per-transaction ops/s, paired within each repetition."""
    rows: list[dict[str, Any]] = []
    for concurrency in sorted({r["concurrency"] for r in results}):
        paired: list[float] = []
        for rep in sorted({r["rep"] for r in results}):
            by_mode = {
                r["mode"]: r["ops_per_s"]
                for r in results
                if r["rep"] == rep and r["concurrency"] == concurrency
            }
            if "group" in by_mode and by_mode.get("single"):
                paired.append(by_mode["group"] / by_mode["single"])
        if paired:
            rows.append(
                {
                    "type": "ratio",
                    "concurrency": concurrency,
                    "median": statistics.median(paired),
                    "min": min(paired),
                    "max": max(paired),
                    "reps": len(paired),
                }
            )
    return rows


def _case_order(key: tuple[int, str]) -> tuple[int, int]:
    return key[0], MODE_ORDER.index(key[1])


def markdown(summary: Sequence[dict[str, Any]], ratio_rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| c | mode (batch_ops_max) | ops/s median (min-max) | p50 ms | p99 ms | p999 ms "
        "| ops/commit | CPU µs/op | writer µs/op | process cores | Redis server µs/op, cores "
        "| foreign cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary:
        server = "-"
        if not math.isnan(row.get("server_cores", math.nan)):
            server = f"{row['server_us_per_op']:.0f}, {row['server_cores']:.2f}"
        lines.append(
            f"| {row['concurrency']} | {row['mode']} ({row['batch_ops_max']}) "
            f"| {row['ops_per_s']:,.0f} ({row['ops_per_s_min']:,.0f}-{row['ops_per_s_max']:,.0f}) "
            f"| {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['p999_ms']:.2f} "
            f"| {row['ops_per_commit']:.1f} | {row['cpu_us_per_op']:.0f} "
            f"| {row['writer_us_per_op']:.0f} "
            f"| {row['process_cores']:.2f} | {server} | {row['foreign_cores']:.2f} |"
        )
    if ratio_rows:
        lines += ["", "| c | group / single ops/s (median of paired reps, min-max) |", "|---|---|"]
        for ratio in ratio_rows:
            lines.append(
                f"| {ratio['concurrency']} | {ratio['median']:.2f}× "
                f"({ratio['min']:.2f}-{ratio['max']:.2f}, {ratio['reps']} reps) |"
            )
    return "\n".join(lines)


def verdicts(summary: Sequence[dict[str, Any]], ratio_rows: Sequence[dict[str, Any]]) -> list[str]:
    """The issue's two targets, checked against this run's medians."""
    lines: list[str] = []
    group = [r for r in summary if r["concurrency"] == TARGET_CONCURRENCY and r["mode"] == "group"]
    if group:
        ops = group[0]["ops_per_s"]
        verdict = "MET" if ops >= TARGET_OPS_PER_S else "MISSED"
        lines.append(
            f"target ≥ {TARGET_OPS_PER_S:,} ops/s at c={TARGET_CONCURRENCY} (group): "
            f"{ops:,.0f} -> {verdict}"
        )
    redis = [r for r in summary if r["concurrency"] == TARGET_CONCURRENCY and r["mode"] == "redis"]
    if group and redis:
        share = redis[0]["ops_per_s"] / group[0]["ops_per_s"]
        verdict = "MET" if share >= TARGET_REDIS_SHARE else "MISSED"
        lines.append(
            f"target Redis ≥ {TARGET_REDIS_SHARE:.0%} of SQLite (group) ops/s at "
            f"c={TARGET_CONCURRENCY}: {share:.0%} -> {verdict}"
        )
    paired = [r for r in ratio_rows if r["concurrency"] == TARGET_CONCURRENCY]
    if paired:
        ratio = paired[0]["median"]
        verdict = "MET" if ratio >= TARGET_GROUP_RATIO else "MISSED"
        lines.append(
            f"target group/single ≥ {TARGET_GROUP_RATIO:.0f}× at c={TARGET_CONCURRENCY}: "
            f"{ratio:.2f}× -> {verdict}"
        )
    return lines


# -- environment -----------------------------------------------------------------


def pin_to_cpu(cpu: int) -> None:
    """Pin every thread of this process (threads started later inherit it)."""
    for tid in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(tid), {cpu})


def machine_info() -> dict[str, Any]:
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "cpu_model": cpu_model() or "",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_avg": os.getloadavg(),
        "git": _git_state(),
        "store_digest": _store_digest(),
    }


STORE_SOURCES = ("adapters/stores/*.py", "core/wallet/*.py", "core/model.py", "core/errors.py")


def _store_digest() -> str:
    """Short hash of the measured store and engine sources (the tree changes between runs)."""
    digest = hashlib.blake2b(digest_size=8)
    paths = sorted({path for pattern in STORE_SOURCES for path in REPO_ROOT.glob(pattern)})
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _git_state() -> str:
    """Commit and whether the store code is modified (read-only git commands)."""
    head = git_output("rev-parse", "--short", "HEAD")
    if not head:
        return "unknown"
    dirty = git_output("status", "--porcelain", "--", *STORE_SOURCES)
    return f"{head}{' +uncommitted store/core changes' if dirty else ''}"


# -- driver ----------------------------------------------------------------------


def plan_cases(
    reps: int,
    concurrencies: Sequence[int],
    modes: Sequence[str],
    stores: Sequence[str] = (SQLITE_STORE,),
) -> list[Case]:
    """Repetitions outermost; the order of the modes (SQLite's, then one per Redis store)
    flips every repetition so drift hits all of them."""
    kinds = [(mode, SQLITE_STORE) for mode in modes] if SQLITE_STORE in stores else []
    kinds += [(REDIS_MODE, store) for store in stores if store != SQLITE_STORE]
    cases: list[Case] = []
    for rep in range(reps):
        ordered = kinds if rep % 2 == 0 else list(reversed(kinds))
        for concurrency in concurrencies:
            cases.extend(Case(rep, concurrency, mode, store) for mode, store in ordered)
    return cases


async def run_benchmark(
    cases: Sequence[Case], opts: Options, db_dir: Path, emit: Callable[[dict[str, Any]], None]
) -> list[dict[str, Any]]:
    db_dir.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-wallet-", dir=db_dir))
    try:
        template = work_dir / "template.db"
        started = time.perf_counter()
        if any(case.mode != REDIS_MODE for case in cases):
            await seed_template(template, opts.players)
            print(
                f"seeded {opts.players} players in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
        results: list[dict[str, Any]] = []
        for number, case in enumerate(cases, 1):
            result = await run_case(case, template, work_dir, opts)
            emit(result)
            results.append(result)
            server = result.get("server_us_per_op")
            print(
                f"[{number}/{len(cases)}] {case.label}: {result['ops_per_s']:,.0f} ops/s "
                f"p50 {result['p50_ms']:.2f} ms p99 {result['p99_ms']:.2f} ms "
                f"{result['ops_per_commit']:.1f} ops/commit "
                f"{result['cpu_us_per_op']:.0f} µs CPU/op"
                + ("" if server is None else f" (Redis server {server:.0f} µs/op)")
                + f" load {result['load_avg_1m']:.2f}",
                file=sys.stderr,
            )
        return results
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_wallet",
        description="In-process throughput and latency of SqliteWalletStore.apply "
        "(synchronous=FULL), group commit vs one operation per transaction, and of "
        "RedisWalletStore.apply beside it (--store).",
    )
    add = parser.add_argument
    add("--reps", type=int, default=3, help="repetitions (outer loop), default 3")
    add("--duration-s", type=float, default=5.0, help="measured seconds per case")
    add("--warmup-s", type=float, default=1.0, help="unmeasured seconds before each case")
    add("--concurrency", type=int, nargs="+", default=[1, 64, 256], help="tasks per case")
    add("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    add(
        "--store",
        action="append",
        dest="stores",
        metavar="sqlite|redis://HOST:PORT/DB",
        help="a backend to run (repeat for several; default sqlite): SQLite in each mode, "
        "or the Redis store on that server (flushed before each case)",
    )
    add("--players", type=int, default=10_000)
    add("--cpu", type=int, default=None, help="pin the process to this core")
    add("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    add(
        "--gc",
        choices=["serving", "default"],
        default="serving",
        help="garbage-collector policy: the one `gamegate serve` applies, or CPython's default",
    )
    add("--quick", action="store_true", help="smoke run: 1 repetition, 2 s per case")
    add("--seed", type=int, default=1)
    add("--db-dir", type=Path, default=DEFAULT_DB_DIR, help="where the DB files go")
    add("--out", type=Path, default=None, help="JSON lines file (default loadtests/out/...)")
    add("--profile", type=Path, default=None, metavar="DIR", help="cProfile every case into DIR")
    add("--profile-clock", choices=["cpu", "wall"], default="cpu", help="time charged to functions")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.duration_s, args.warmup_s = 1, 2.0, min(args.warmup_s, 1.0)
    if args.reps < 1 or args.duration_s <= 0 or args.warmup_s < 0 or args.players < 1:
        parser.error("--reps and --players must be ≥ 1, --duration-s > 0, --warmup-s ≥ 0")
    if min(args.concurrency) < 1:
        parser.error("--concurrency values must be ≥ 1")
    args.stores = args.stores or [SQLITE_STORE]
    for store in args.stores:
        if store != SQLITE_STORE and not store.startswith("redis://"):
            parser.error(f"--store takes sqlite or a redis:// URL, not {store!r}")
    return args


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "asyncio":
        return None
    import uvloop  # optional: imported only when asked for

    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cpu is not None:
        pin_to_cpu(args.cpu)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or DEFAULT_OUT_DIR / f"bench_wallet-{stamp}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    opts = Options(
        args.players, args.duration_s, args.warmup_s, args.seed, args.profile, args.profile_clock
    )
    cases = plan_cases(args.reps, args.concurrency, args.modes, args.stores)
    if args.gc == "serving":
        apply_serving_gc_policy()
    meta = {"type": "meta", "argv": sys.argv, "loop": args.loop, "gc": args.gc, **machine_info()}
    meta["generator_us_per_op"] = generator_cost_us(args.players, args.seed)
    with out.open("w") as sink:

        def emit(row: dict[str, Any]) -> None:
            sink.write(json.dumps(row, sort_keys=True) + "\n")
            sink.flush()

        emit(meta)
        with asyncio.Runner(loop_factory=_loop_factory(args.loop)) as runner:
            results = runner.run(run_benchmark(cases, opts, args.db_dir, emit))
        summary, ratio_rows = summarise(results), ratios(results)
        for row in (*summary, *ratio_rows):
            emit(row)
    print(
        f"\n{meta['date_utc']} · {meta['cpu_model']} · nproc {meta['nproc']} · pinned to "
        f"{meta['affinity']} · Python {meta['python']} · SQLite {meta['sqlite']} · "
        f"loop {args.loop} · gc {args.gc} · load avg at start {meta['load_avg'][0]:.2f} · "
        f"git {meta['git']} · store digest {meta['store_digest']} · "
        f"load generator {meta['generator_us_per_op']:.1f} µs CPU/op (included below)"
    )
    print(f"\n{markdown(summary, ratio_rows)}\n")
    for line in verdicts(summary, ratio_rows):
        print(line)
    print(f"\nraw results: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
