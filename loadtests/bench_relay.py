"""The relay against the wallet: does it keep up at the wallet's full benchmark rate?

Issue 13's goal: the relay keeps up with the wallet at `bench_wallet`'s full rate (c=256,
group commit) with lag below 2 s throughout, and the wallet's own figure drops by at most
10 % while it runs. Each case drives `bench_wallet`'s in-process load (`_drive`: the same
workload, seeds and `SqliteWalletStore` with `synchronous=FULL`) for a fixed duration, in
one of three modes, alternating within each repetition (the machine is shared: only
ratios from one run count):

- `none`: the wallet alone;
- `serve-child`: the relay as `gamegate serve` runs it by default: `python -m gateway
  relay --child`, the settings line on its stdin, the reporting store behind its unix
  socket, its figures fetched over that socket (`gateway.relay_process`);
- `process`: `gateway.relay.Relay` into a DuckDB reporting store in another process (what
  `gamegate relay` runs), competing for the machine's cores, its phases timed;
- `inprocess`: the same relay as a task on the wallet's own event loop (what
  `gamegate serve` runs with `reporting.relay_in_process = true`).

Each case starts from copies of a seeded wallet and of a reporting store already relayed
through it, so the relay starts caught up. A thread beside the relay samples its lag every
100 ms two ways: as `/metrics` shows it (`gamegate_relay_lag_seqs`, `_seconds`: as of the
relay's last look at the wallet), and measured against the wallet file (its last committed
seq minus the relay's cursor; the age of the oldest record after the cursor). After the
load stops the relay drains, and the reporting cursor must equal the wallet's last seq.

    python -m loadtests.bench_relay --cpu 1                       # 3 reps x 3 modes x 10 s
    python -m loadtests.bench_relay --cpu 1 --reps 1 --duration-s 4 --modes none,process
    python -m loadtests.bench_relay --cpu 1 --batch-seqs 20000    # bigger relay transactions

`--cpu N` pins the wallet's process (the loop and the writer) as `bench_wallet --cpu` does;
the relay's process is not pinned. Raw JSON lines go to `loadtests/out/`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import gateway.relay as relay_module
from adapters.reporting.open import open_reporting_store
from adapters.reporting.socket_client import SocketReporting
from adapters.reporting.wallet_logs import open_wallet_log
from adapters.stores.sqlite_store import SqliteWalletStore
from core.reporting.derive import derive
from gateway.relay import Relay, RelayStats, running
from gateway.relay_child import settings_line, socket_path
from gateway.relay_process import StatsMirror, mirror_stats
from gateway.settings import Settings
from loadtests.bench_wallet import (
    DEFAULT_DB_DIR,
    DEFAULT_OUT_DIR,
    Case,
    Options,
    _copy_db,
    _drive,
    _remove_db,
    machine_info,
    pin_to_cpu,
    seed_template,
)

MODES = ("none", "serve-child", "process", "inprocess")
SAMPLE_INTERVAL_S = 0.1
LAG_GOAL_S = 2.0
DROP_GOAL = 0.10
POLL_INTERVAL_S = 0.2
"""`reporting.relay_poll_interval_s`'s default."""
READY_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 300.0


def _now_us() -> int:
    return time.time_ns() // 1_000


# -- the relay and its lag ------------------------------------------------------------


PHASES: dict[str, list[float]] = {"read": [0.0, 0], "derive": [0.0, 0], "apply": [0.0, 0]}
"""Wall seconds and calls per relay phase, in this process (reset per case)."""


def _timed(phase: str, call: Any) -> Any:
    """`call` (sync or async) with its wall time added to `PHASES[phase]`."""
    if asyncio.iscoroutinefunction(call):

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await call(*args, **kwargs)
            finally:
                PHASES[phase][0] += time.perf_counter() - started
                PHASES[phase][1] += 1

        return timed_async

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            PHASES[phase][0] += time.perf_counter() - started
            PHASES[phase][1] += 1

    return timed


STEP_INTERVAL_S = [0.5]
"""`--step-interval-s`: the relay's `reporting.relay_step_interval_s` (one for the run,
the relay's own process included)."""


async def _open_relay(wallet: Path, reporting: Path, batch_seqs: int) -> tuple[Relay, Any]:
    """The relay `gamegate relay` builds (no catalogue: games unknown), its three phases
    timed: the wallet read, the derivation (on a worker thread), the reporting apply."""
    store = await open_reporting_store(f"duckdb://{reporting}", reporting.parent)
    store.apply = _timed("apply", store.apply)  # type: ignore[method-assign]
    relay_module.derive = _timed("derive", derive)  # type: ignore[attr-defined]

    async def open_wallet() -> Any:
        log = await open_wallet_log(f"sqlite://{wallet}", data_dir=wallet.parent)
        log.read = _timed("read", log.read)  # type: ignore[method-assign]
        return log

    relay = Relay(
        open_wallet,
        store,
        lambda key: None,
        batch_seqs_max=batch_seqs,
        poll_interval_s=POLL_INTERVAL_S,
        step_interval_s=STEP_INTERVAL_S[0],
    )
    for totals in PHASES.values():
        totals[:] = [0.0, 0]
    return relay, store


def _phases() -> dict[str, Any]:
    return {name: {"s": round(s, 3), "calls": int(n)} for name, (s, n) in PHASES.items()}


def _runqueue_wait_s() -> float:
    """Time this process's threads have spent runnable but waiting for a core
    (`/proc/self/task/*/schedstat`, second field, ns)."""
    total = 0
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[1])
    return total / 1e9


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class LagSampler:
    """A thread that samples the relay's lag every 100 ms, as the metrics show it and as
    measured against the wallet file (its own read-only connection)."""

    def __init__(self, wallet: Path, stats: RelayStats) -> None:
        self._wallet = wallet
        self._stats = stats
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-sampler", daemon=True)
        self.samples: list[tuple[float, int, float, int, float]] = []
        """(monotonic s, metric seqs, metric s, true seqs, true s)"""

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        uri = f"file:{urllib.parse.quote(str(self._wallet))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            next_at = time.monotonic()
            while not self._stop.is_set():
                stats = self._stats
                cursor = stats.cursor
                now_us = _now_us()
                row = conn.execute(
                    "SELECT last_seq FROM outbox ORDER BY event_id DESC LIMIT 1"
                ).fetchone()
                last = 0 if row is None else int(row[0])
                true_s = 0.0
                if last > cursor:
                    at = conn.execute(
                        "SELECT created_at_us FROM txs WHERE seq = ?", (cursor + 1,)
                    ).fetchone()
                    true_s = 0.0 if at is None else max(0, now_us - int(at[0])) / 1e6
                self.samples.append(
                    (
                        time.monotonic(),
                        stats.lag_seqs,
                        stats.lag_s(now_us),
                        max(0, last - cursor),
                        true_s,
                    )
                )
                next_at += SAMPLE_INTERVAL_S
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            conn.close()


# -- the relay's own process ----------------------------------------------------------


async def _child(wallet: Path, reporting: Path, batch_seqs: int, samples_path: Path) -> int:
    """Relay until stdin closes or says `stop`; then drain, write the samples, say the cursor."""
    relay, store = await _open_relay(wallet, reporting, batch_seqs)
    try:
        await relay.drain()
        print(json.dumps({"ready": relay.stats.cursor}), flush=True)
        with LagSampler(wallet, relay.stats) as sampler:
            async with running(relay):
                await asyncio.to_thread(sys.stdin.readline)
                sampler_stop_at = time.monotonic()
        drain_started = time.monotonic()
        await relay.drain()
        drained_s = time.monotonic() - drain_started
        samples_path.write_text(json.dumps(sampler.samples))
        print(
            json.dumps(
                {
                    "cursor": relay.stats.cursor,
                    "events": relay.stats.events_total,
                    "failures": relay.stats.failures_total,
                    "drain_s": drained_s,
                    "stopped_at": sampler_stop_at,
                    "phases": _phases(),
                }
            ),
            flush=True,
        )
    finally:
        await relay.close()
        await store.close()
    return 0


RELAY_CPU: list[int] = []


def _relay_cpu_prefix() -> list[str]:
    return ["taskset", "-c", str(RELAY_CPU[0])] if RELAY_CPU else []


@contextlib.asynccontextmanager
async def _relay_process(
    wallet: Path, reporting: Path, batch_seqs: int, result: dict[str, Any]
) -> AsyncIterator[None]:
    samples_path = reporting.with_suffix(".samples.json")
    proc = await asyncio.create_subprocess_exec(
        *_relay_cpu_prefix(), sys.executable, "-m", "loadtests.bench_relay", "--child",
        str(wallet), str(reporting), str(batch_seqs), str(samples_path), str(STEP_INTERVAL_S[0]),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT_S)
        assert json.loads(line).get("ready") is not None, line
        cpu_before = _cpu_s(proc.pid)
        started = time.monotonic()
        yield
        result["relay_cores"] = (_cpu_s(proc.pid) - cpu_before) / (time.monotonic() - started)
        proc.stdin.write(b"stop\n")
        await proc.stdin.drain()
        line = await asyncio.wait_for(proc.stdout.readline(), DRAIN_TIMEOUT_S)
        result.update(json.loads(line))
        result["samples"] = json.loads(samples_path.read_text())
        samples_path.unlink()
        assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def _relay_inprocess(
    wallet: Path, reporting: Path, batch_seqs: int, result: dict[str, Any]
) -> AsyncIterator[None]:
    relay, store = await _open_relay(wallet, reporting, batch_seqs)
    try:
        await relay.drain()
        with LagSampler(wallet, relay.stats) as sampler:
            async with running(relay):
                yield
        started = time.monotonic()
        await relay.drain()
        result.update(
            cursor=relay.stats.cursor,
            events=relay.stats.events_total,
            failures=relay.stats.failures_total,
            drain_s=time.monotonic() - started,
            samples=sampler.samples,
            phases=_phases(),
        )
    finally:
        await relay.close()
        await store.close()


# -- the relay as gamegate serve starts it ----------------------------------------------


@contextlib.asynccontextmanager
async def _relay_serve_child(
    wallet: Path, reporting: Path, batch_seqs: int, result: dict[str, Any]
) -> AsyncIterator[None]:
    """`python -m gateway relay --child` with the settings line on its stdin and its
    socket answering, as `gateway.relay_process` starts it; its figures fetched over the
    socket, as serve's `/metrics` shows them."""
    data_dir = reporting.parent / f"{reporting.stem}-data"
    data_dir.mkdir(exist_ok=True)
    settings = Settings(
        data_dir=data_dir,
        wallet={"url": f"sqlite://{wallet}"},  # type: ignore[arg-type]
        reporting={  # type: ignore[arg-type]
            "url": f"duckdb://{reporting}",
            "relay_batch_seqs_max": batch_seqs,
            "relay_step_interval_s": STEP_INTERVAL_S[0],
        },
    )
    proc = await asyncio.create_subprocess_exec(
        *_relay_cpu_prefix(), sys.executable, "-m", "gateway", "relay", "--child",
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(settings_line(settings))
    await proc.stdin.drain()
    client = SocketReporting(socket_path(settings), timeout_s=5.0)
    mirror = StatsMirror()
    stop = asyncio.Event()
    fetching = asyncio.create_task(
        mirror_stats(client, mirror, stop, interval_s=SAMPLE_INTERVAL_S / 2)
    )
    try:
        stats = mirror.stats
        deadline = time.monotonic() + READY_TIMEOUT_S
        while stats.cursor < _last_seq(wallet) or stats.last_seq == 0:  # caught up first
            assert time.monotonic() < deadline, "the relay child did not catch up"
            await asyncio.sleep(0.1)
        cpu_before = _cpu_s(proc.pid)
        started = time.monotonic()
        with LagSampler(wallet, stats) as sampler:
            yield
        result["relay_cores"] = (_cpu_s(proc.pid) - cpu_before) / (time.monotonic() - started)
        drain_started, last = time.monotonic(), _last_seq(wallet)
        while stats.cursor < last:
            assert time.monotonic() - drain_started < DRAIN_TIMEOUT_S, "no drain"
            await asyncio.sleep(0.02)
        result.update(
            cursor=stats.cursor,
            events=stats.events_total,
            failures=stats.failures_total,
            drain_s=time.monotonic() - drain_started,
            samples=sampler.samples,
            phases={},
        )
    finally:
        stop.set()
        await fetching
        await client.close()
        proc.stdin.close()  # the child stops when its parent's pipe closes
        try:
            await asyncio.wait_for(proc.wait(), DRAIN_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


# -- cases ----------------------------------------------------------------------------


def _last_seq(wallet: Path) -> int:
    conn = sqlite3.connect(f"file:{urllib.parse.quote(str(wallet))}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT last_seq FROM outbox ORDER BY event_id DESC LIMIT 1").fetchone()
        return 0 if row is None else int(row[0])
    finally:
        conn.close()


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def run_case(
    rep: int, mode: str, args: argparse.Namespace, templates: tuple[Path, Path], work: Path
) -> dict[str, Any]:
    wallet = work / f"rep{rep}-{mode}.db"
    reporting = (args.reporting_dir or work) / f"rep{rep}-{mode}.duckdb"
    _copy_db(templates[0], wallet)
    shutil.copyfile(templates[1], reporting)
    gc.collect()
    case = Case(rep, args.concurrency, "group")
    opts = Options(args.players, args.duration_s, args.warmup_s, args.seed, None, "cpu")
    relay_result: dict[str, Any] = {}
    try:
        store = await SqliteWalletStore.open(wallet, synchronous="FULL")
        try:
            waited_s, started = _runqueue_wait_s(), time.monotonic()
            if mode == "none":
                result = await _drive(store, case, opts)
            else:
                relay_of = {
                    "serve-child": _relay_serve_child,
                    "process": _relay_process,
                    "inprocess": _relay_inprocess,
                }[mode]
                async with relay_of(wallet, reporting, args.batch_seqs, relay_result):
                    result = await _drive(store, case, opts)
            result["runqueue_wait_cores"] = (_runqueue_wait_s() - waited_s) / (
                time.monotonic() - started
            )
        finally:
            await store.close()
        result.update(
            relay_mode=mode, batch_seqs=args.batch_seqs, step_interval_s=args.step_interval_s
        )
        if mode != "none":
            samples = relay_result.pop("samples")
            last = _last_seq(wallet)
            assert relay_result["cursor"] == last, (relay_result["cursor"], last)
            assert relay_result["failures"] == 0, relay_result
            true_seqs = [s[3] for s in samples]
            true_s = [s[4] for s in samples]
            metric_s = [s[2] for s in samples]
            result.update(
                relay_events=relay_result["events"],
                relay_drain_s=relay_result["drain_s"],
                lag_samples=len(samples),
                lag_seqs_max=max(true_seqs),
                lag_seqs_p99=_quantile(true_seqs, 0.99),
                lag_s_max=max(true_s),
                lag_s_p99=_quantile(true_s, 0.99),
                lag_s_p50=_quantile(true_s, 0.50),
                metric_lag_s_max=max(metric_s),
                metric_lag_seqs_max=max(s[1] for s in samples),
                wallet_last_seq=last,
                relay_cores=relay_result.get("relay_cores"),
                relay_phases=relay_result["phases"],
            )
        return result
    finally:
        _remove_db(wallet)
        for suffix in ("", ".wal"):
            Path(f"{reporting}{suffix}").unlink(missing_ok=True)


async def _templates(work: Path, players: int) -> tuple[Path, Path]:
    """The seeded wallet, and a reporting store relayed through it (built once)."""
    wallet = work / f"relay-template-{players}.db"
    reporting = work / f"relay-template-{players}.duckdb"
    if not wallet.exists() or not reporting.exists():
        _remove_db(wallet)
        reporting.unlink(missing_ok=True)
        await seed_template(wallet, players)
        relay, store = await _open_relay(wallet, reporting, 5_000)
        try:
            await relay.drain()
        finally:
            await relay.close()
            await store.close()
    return wallet, reporting


def _summary(results: Sequence[dict[str, Any]], modes: Sequence[str]) -> str:
    lines = [
        "| mode | wallet ops/s (median) | runs | vs none (paired median) | lag s max | lag s p99 | "
        "lag seqs max | /metrics lag s max | events/s relayed | relay cores | drain after stop s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_rep: dict[int, dict[str, dict[str, Any]]] = {}
    for r in results:
        by_rep.setdefault(r["rep"], {})[r["relay_mode"]] = r
    for mode in modes:
        rows = [r for r in results if r["relay_mode"] == mode]
        ops = statistics.median(r["ops_per_s"] for r in rows)
        paired = [
            reps[mode]["ops_per_s"] / reps["none"]["ops_per_s"]
            for reps in by_rep.values()
            if mode in reps and "none" in reps
        ]
        ratio = f"{statistics.median(paired):.3f}" if paired and mode != "none" else "—"
        if mode == "none":
            lines.append(f"| {mode} | {ops:,.0f} | {len(rows)} | — | | | | | | | |")
            continue
        lines.append(
            f"| {mode} | {ops:,.0f} | {len(rows)} | {ratio} "
            f"| {max(r['lag_s_max'] for r in rows):.2f} "
            f"| {max(r['lag_s_p99'] for r in rows):.2f} "
            f"| {max(r['lag_seqs_max'] for r in rows):,} "
            f"| {max(r['metric_lag_s_max'] for r in rows):.2f} "
            f"| {statistics.median(_events_per_s(r) for r in rows):,.0f} "
            f"| {_cores(rows)} "
            f"| {max(r['relay_drain_s'] for r in rows):.2f} |"
        )
    return "\n".join(lines)


def _cores(rows: Sequence[dict[str, Any]]) -> str:
    """The relay process's CPU (process mode; in-process it is in the wallet's figure)."""
    cores = [r["relay_cores"] for r in rows if r.get("relay_cores") is not None]
    return f"{statistics.median(cores):.2f}" if cores else "in process"


def _events_per_s(result: dict[str, Any]) -> float:
    """Events relayed over the load's warm-up and measured time (the drain is not in it)."""
    return float(result["relay_events"]) / float(result["wall_s"] + result["warmup_s"])


async def main_async(args: argparse.Namespace) -> int:
    work: Path = args.db_dir
    work.mkdir(parents=True, exist_ok=True)
    templates = await _templates(work, args.players)
    modes = [m for m in MODES if m in args.modes.split(",")]
    out = args.out_dir / f"bench_relay-{time.strftime('%Y%m%dT%H%M%S')}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    with out.open("w") as sink:
        sink.write(
            json.dumps({"type": "machine", **machine_info(), "args": vars(args)}, default=str)
            + "\n"
        )
        for rep in range(args.reps):
            order = modes if rep % 2 == 0 else modes[::-1]
            for mode in order:
                result = await run_case(rep, mode, args, templates, work)
                result["warmup_s"] = args.warmup_s
                results.append(result)
                sink.write(json.dumps(result, default=str) + "\n")
                sink.flush()
                extra = (
                    ""
                    if mode == "none"
                    else f" lag max {result['lag_s_max']:.2f} s / {result['lag_seqs_max']} seqs,"
                    f" p99 {result['lag_s_p99']:.2f} s, drain {result['relay_drain_s']:.2f} s,"
                    f" relay cores {result['relay_cores'] or 0:.2f} phases {result['relay_phases']}"
                )
                print(
                    f"rep{rep} {mode:9} {result['ops_per_s']:9,.0f} ops/s"
                    f" cpu {result['process_cores']:.2f}"
                    f" waiting for a core {result['runqueue_wait_cores']:.2f}"
                    f" foreign {result['foreign_cores']:.2f}{extra}",
                    flush=True,
                )
    print(_summary(results, modes))
    print(f"raw: {out}")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", type=int, default=None, help="pin the wallet's process")
    parser.add_argument(
        "--relay-cpu", type=int, default=None, help="pin the relay's process (mode process)"
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--warmup-s", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-seqs", type=int, default=5_000, help="relay_batch_seqs_max")
    parser.add_argument(
        "--step-interval-s",
        type=float,
        default=0.5,
        help="reporting.relay_step_interval_s: while keeping pace, one transaction this often",
    )
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--db-dir", type=Path, default=DEFAULT_DB_DIR)
    parser.add_argument(
        "--reporting-dir",
        type=Path,
        default=None,
        help="where the cases' reporting files go (default: --db-dir; e.g. /dev/shm to take "
        "the reporting store's writes off the wallet's disk)",
    )
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "--child":
        wallet, reporting, batch, samples, step_interval = argv[1:6]
        STEP_INTERVAL_S[0] = float(step_interval)
        return asyncio.run(_child(Path(wallet), Path(reporting), int(batch), Path(samples)))
    args = parse_args(argv)
    STEP_INTERVAL_S[0] = args.step_interval_s
    if args.cpu is not None:
        pin_to_cpu(args.cpu)
    if args.relay_cpu is not None:
        RELAY_CPU.append(args.relay_cpu)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
