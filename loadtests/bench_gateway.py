"""Whole-path benchmark: provider callbacks over HTTP through the gateway, against bare aiohttp.

Why against bare aiohttp: the machine is shared and drifts by 10-25 % between sessions
(`perf-baseline.md`), so the goal is a ratio measured in the same run. Each case starts
its server pinned to one core (`taskset -c 0`, every thread of it), drives it from the
other core with wrk (`-t1`, `wrk_pool.lua` replaying pre-signed requests from
`gen_traffic.py`, each once), warms it up, then measures a fixed duration. Repetitions
are the outer loop and the order of the servers alternates, so drift spreads over both.

- `bare`: `bare_server.py`, the stack's ceiling (reads the body, answers 200).
- `gateway`: `gamegate serve --config config/gamegate.toml --demo` (synchronous=FULL),
  on a fresh copy of a data directory seeded once through the operator API (N players,
  a deposit and a session per instance each), fed the bet/win/rollback/replay mix over
  gamegate, softswiss, hub88, pragmatic and evolution. After each gateway case the
  wallet is checked with `gamegate verify`, and every answer is classified by wrk (ok,
  replay, refused, other HTTP status): only `ok` answers are business successes.
- Decomposition: `gateway:<instance>` cases (`--per-protocol`) feed one protocol only,
  `gateway:healthz` sends `GET /healthz` (the gateway's HTTP edge alone), and
  `gateway+<name>` cases (`--variant name:GAMEGATE_X=V,config=FILE`) run the mix with
  other settings, e.g. `quiet:GAMEGATE_LOG_LEVEL=warning`.

- Redis and workers (`--wallet redis --workers 1,2`): the gateway runs as `gamegate serve
  --workers N` on a `redis://` wallet, and bare aiohttp as N processes on one
  SO_REUSEPORT port (`bare_server.py --workers N`), each N in the same run. The script
  starts its own redis-server (`appendonly yes`, `appendfsync always`, a free loopback
  port): seeded once, stopped, and every gateway case gets a fresh copy of that
  directory on a server of its own, so each case starts from the same wallet. Server
  CPU is then the whole process tree (supervisor and workers); redis-server's CPU is
  reported on its own (`redis_us_per_req`). `--server-cpu` takes a taskset list
  (`0-1`): with N workers on a small machine, pin nothing narrower than the workers.

Per case one JSON line: req/s, latency percentiles, server CPU per request, wrk's CPU,
the CPU of everything else ("foreign"), hypervisor steal and the load average before
the run (a case with foreign > 0.25 cores or steal > 0.05 is marked noisy). The summary
gives medians over repetitions and the paired gateway/bare ratio.

    python -m loadtests.bench_gateway                          # 3 reps x c=64, ~4 min
    python -m loadtests.bench_gateway --concurrency 16,64,256  # the full run, ~8 min
    python -m loadtests.bench_gateway --quick                  # smoke: 1 rep, short cases
    python -m loadtests.bench_gateway --reps 1 --modes gateway --profile var/bench/gw-prof
    python -m loadtests.bench_gateway --summarize loadtests/out/bench_gateway-run1.jsonl
    python -m loadtests.bench_gateway --wallet redis --workers 1,2 --server-cpu 0-1 --load-cpu 0-1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import Any

from loadtests import gen_traffic
from loadtests._measure import (
    cpu_model,
    git_output,
    host_cpu_s,
    record_runs,
    stat_cpu_s,
    stop_process,
)
from loadtests.gateway_ratios import (
    BASELINE_PATH,
    CHECK_DROP_MAX,
    check_against,
    ratios_table,
    write_baseline,
)
from loadtests.gen_traffic import PlannedRequest

__all__ = ["main"]

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG = REPO_ROOT / "config" / "gamegate.toml"
LUA_SCRIPT = Path(__file__).with_name("wrk_pool.lua")
DEFAULT_WORK_DIR = REPO_ROOT / "var" / "bench" / "gateway"
DEFAULT_OUT_DIR = REPO_ROOT / "loadtests" / "out"

SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 30.0
WRK_TIMEOUT = "5s"
NOISY_FOREIGN_CORES = 0.25
NOISY_STEAL_CORES = 0.05
TARGET_CONCURRENCY = 64
HEALTHZ = "healthz"
"""Traffic of `GET /healthz` only: the gateway's HTTP edge (middleware, log line, metrics)."""
_LISTENING = re.compile(r"listening on http://[^:]+:(\d+)")


@dataclass(frozen=True, slots=True)
class Options:
    reps: int
    concurrencies: tuple[int, ...]
    modes: tuple[str, ...]
    duration_s: int
    warmup_s: int
    players: int
    requests: int
    per_protocol: tuple[str, ...]
    per_protocol_requests: int
    server_cpu: str
    load_cpu: str
    work_dir: Path
    out: Path
    profile_dir: Path | None
    sample_dir: Path | None
    """`--sample`: py-spy samples the server while each case is measured."""
    relay_cpu: str | None
    """`--relay-cpu`: where serve's relay child runs (None: beside serve, `--server-cpu`)."""
    keep: bool
    variants: Mapping[str, Mapping[str, str]]
    """Name -> `GAMEGATE_*` environment overrides, plus `config` for another TOML file."""
    quiet_wait_s: float
    summarize_only: Path | None
    wallet: str = "sqlite"
    """`sqlite` (a data directory's wallet.db) or `redis` (a redis-server of the run's own)."""
    workers: tuple[int, ...] = (1,)
    check: bool = False
    """`--check`: compare each case's share of bare with the recorded baseline."""
    record_baseline: bool = False


@dataclass(frozen=True, slots=True)
class Case:
    mode: str
    """`bare` or `gateway`."""
    traffic: str
    """`mix` or one instance name."""
    concurrency: int
    variant: str = ""
    """A named set of gateway settings (`--variant`); empty: the demo configuration."""
    workers: int = 1

    @property
    def label(self) -> str:
        name = self.mode if self.traffic == "mix" else f"{self.mode}:{self.traffic}"
        name += f"+{self.variant}" if self.variant else ""
        name += f"-w{self.workers}" if self.workers > 1 else ""
        return f"{name}-c{self.concurrency}"


@dataclass(slots=True)
class Prepared:
    """The seeded template data directory and the planned traffic per traffic name."""

    template: Path
    plans: dict[str, list[PlannedRequest]]
    gamegate_key: bytes | None
    redis_template: Path | None = None
    """The seeded redis-server directory (its append-only file) of a Redis run."""


# -- processes and /proc -----------------------------------------------------------


def _process_cpu_s(pid: int) -> float:
    """utime + stime of a whole process (all its threads) from /proc."""
    return stat_cpu_s(Path(f"/proc/{pid}/stat"))


def _relay_children(pid: int) -> list[int]:
    """The reporting relay's child processes under `pid` (`gamegate relay --child`)."""
    found = []
    for member in _tree(pid):
        with contextlib.suppress(OSError):
            if b"relay\0--child" in Path(f"/proc/{member}/cmdline").read_bytes():
                found.append(member)
    return found


def _pin_relay_children(pid: int, cpu: str | None) -> list[int]:
    """Move serve's relay child onto `cpu` (`--relay-cpu`): in production it is a process
    of its own that the OS runs on any free core; pinned beside serve, its work and the
    cache misses of every switch are charged to the callback path."""
    children = _relay_children(pid)
    if cpu is not None:
        for child in children:
            subprocess.run(["taskset", "-a", "-p", "-c", cpu, str(child)], check=True,
                           capture_output=True)  # fmt: skip
    return children


def _tree(pid: int) -> set[int]:
    """A process and all its live descendants."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text.rpartition(")")[2].split()[1])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier += children
    return tree


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and all its live descendants (a supervisor's workers, the
    relay child)."""
    total = 0.0
    for member in _tree(pid):
        try:
            total += _process_cpu_s(member)
        except OSError:  # it exited meanwhile
            continue
    return total


def _threads_cpu_s(pid: int) -> tuple[float, float]:
    """(main thread, all other threads) CPU seconds: the event loop against the store's writer."""
    main_s = others_s = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            cpu_s = stat_cpu_s(task / "stat")
        except OSError:  # the thread ended meanwhile
            continue
        if task.name == str(pid):
            main_s += cpu_s
        else:
            others_s += cpu_s
    return main_s, others_s


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _foreign_cores(window_s: float = 1.0) -> float:
    """Cores used by other processes over `window_s` (none of ours runs meanwhile)."""
    busy_0, _ = host_cpu_s()
    time.sleep(window_s)
    busy_1, _ = host_cpu_s()
    return max(0.0, busy_1 - busy_0) / window_s


def _wait_until_quiet(wait_s: float) -> float:
    """Wait up to `wait_s` for other processes to use < NOISY_FOREIGN_CORES; the last reading."""
    deadline = time.monotonic() + wait_s
    foreign = _foreign_cores()
    while foreign > NOISY_FOREIGN_CORES and time.monotonic() < deadline:
        foreign = _foreign_cores()
    return foreign


class Server:
    """A server process pinned to one core; its start-up line names the port."""

    def __init__(
        self, command: Sequence[str], log_dir: Path, cpu: str, env: Mapping[str, str] | None = None
    ) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = log_dir / "server.stdout"
        self.stderr_path = log_dir / "server.stderr"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                ["taskset", "-a", "-c", cpu, *command],
                stdout=out,
                stderr=err,
                cwd=REPO_ROOT,
                env={**os.environ, **(env or {})},
            )
        self.port = self._wait_for_port()

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            with self.stdout_path.open("rb") as file:
                head = file.read(4096).decode(errors="replace")
            found = _LISTENING.search(head)
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start: {self.stderr_path.read_text()[-2000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        return stop_process(self.process, SERVER_STOP_TIMEOUT_S)


class RedisProcess:
    """A redis-server with the durability the Redis wallet demands, on a free port."""

    def __init__(self, directory: Path, cpu: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        command = ["taskset", "-a", "-c", cpu, "redis-server", "--port", str(self.port)]
        command += ["--bind", "127.0.0.1", "--dir", str(directory), "--save", ""]
        command += ["--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"]
        command += ["--loglevel", "warning", "--logfile", str(directory / "redis.log")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=directory)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start in {directory}")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM (it fsyncs the append-only file and exits), by PID."""
        stop_process(self.process, SERVER_STOP_TIMEOUT_S)


def _gateway_command(
    data_dir: Path, profile_out: Path | None, config: Path = CONFIG, workers: int = 1
) -> list[str]:
    serve = ["serve", "--config", str(config), "--data-dir", str(data_dir), "--demo"]
    serve += ["--port", "0"]
    serve += ["--workers", str(workers)] if workers > 1 else []
    if profile_out is None:
        return [sys.executable, "-m", "gateway", *serve]
    profiler = [sys.executable, "-m", "loadtests.profile_server", "--out", str(profile_out)]
    return [*profiler, "--", *serve]


def _bare_command(workers: int = 1) -> list[str]:
    command = [sys.executable, "-m", "loadtests.bare_server", "--port", "0"]
    return command + (["--workers", str(workers)] if workers > 1 else [])


def _wallet_env(redis: RedisProcess | None) -> dict[str, str]:
    return {} if redis is None else {"GAMEGATE_WALLET__URL": redis.url}


# -- preparation -------------------------------------------------------------------


def prepare(opts: Options) -> Prepared:
    """Seed a template data directory through the operator API and plan the traffic."""
    template = opts.work_dir / "template"
    shutil.rmtree(template, ignore_errors=True)
    redis_template = opts.work_dir / "template-redis" if opts.wallet == "redis" else None
    redis = None
    if redis_template is not None:
        shutil.rmtree(redis_template, ignore_errors=True)
        redis = RedisProcess(redis_template, opts.server_cpu)
    try:
        server = Server(
            _gateway_command(template, None),
            opts.work_dir / "template-logs",
            cpu=opts.server_cpu,
            env=_wallet_env(redis),
        )
        try:
            started_s = time.perf_counter()
            players = asyncio.run(
                gen_traffic.seed_players(server.url, opts.players, gen_traffic.INSTANCES)
            )
            seeded_s = time.perf_counter() - started_s
        finally:
            server.stop()
    finally:
        if redis is not None:
            redis.stop()
    print(f"seeded {len(players)} players in {seeded_s:.1f} s", file=sys.stderr)
    secrets = gen_traffic.load_secrets(template, gen_traffic.INSTANCES)
    plans = {"mix": gen_traffic.plan_traffic(players, secrets, opts.requests)}
    variant_traffic = [settings.get("traffic", "mix") for settings in opts.variants.values()]
    for instance in dict.fromkeys([*opts.per_protocol, *variant_traffic]):
        if instance not in (HEALTHZ, "mix"):
            plans[instance] = gen_traffic.plan_traffic(
                players, secrets, opts.per_protocol_requests, instances=[instance]
            )
    for name, plan in plans.items():
        print(f"plan {name}: {gen_traffic.describe(plan)}", file=sys.stderr)
    gen_traffic.save_plan(plans["mix"], opts.work_dir / "plan-mix.jsonl")
    key = secrets.get("gamegate", {}).get("provider_hmac_key")
    return Prepared(template, plans, key, redis_template)


# -- one case ----------------------------------------------------------------------


def _wrk(
    opts: Options, case: Case, url: str, pool: Path, start: int, seconds: int
) -> dict[str, Any]:
    policy = "wrap" if case.mode == "bare" or case.traffic == HEALTHZ else "stop"
    command = ["taskset", "-c", opts.load_cpu, "wrk", "-t1", f"-c{case.concurrency}"]
    command += [f"-d{seconds}s", "--timeout", WRK_TIMEOUT, "-s", str(LUA_SCRIPT), url]
    command += ["--", str(pool), str(start), policy]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            parsed = json.loads(line.removeprefix("WRKJSON "))
            assert isinstance(parsed, dict)
            return parsed
    raise RuntimeError(f"wrk printed no result: {done.stdout[-2000:]} {done.stderr[-2000:]}")


def run_case(opts: Options, prepared: Prepared, case: Case, rep: int) -> dict[str, Any]:
    run_dir = opts.work_dir / f"run-{case.label}-{rep}"
    shutil.rmtree(run_dir, ignore_errors=True)
    pool = _render(opts, prepared, case)
    redis = None
    if case.mode == "gateway":
        shutil.copytree(prepared.template, run_dir / "data")
        profile = opts.profile_dir / case.label if opts.profile_dir else None
        settings = dict(opts.variants.get(case.variant, {}))
        config = Path(settings.pop("config", CONFIG))
        settings.pop("traffic", None)
        command = _gateway_command(run_dir / "data", profile, config, case.workers)
        if prepared.redis_template is not None:
            shutil.copytree(prepared.redis_template, run_dir / "redis")
            redis = RedisProcess(run_dir / "redis", opts.server_cpu)
            settings |= _wallet_env(redis)
    else:
        command, settings = _bare_command(case.workers), {}
    try:
        foreign_before = _wait_until_quiet(opts.quiet_wait_s)
        digest = code_digest()
        loadavg_before = _loadavg()
        server = Server(command, run_dir, cpu=opts.server_cpu, env=settings)
        try:
            warm = _wrk(opts, case, server.url, pool, 0, opts.warmup_s)
            measured = _measure(opts, case, server, pool, warm["next_index"], redis)
        finally:
            status = server.stop()
        verified = _verify(run_dir / "data", _wallet_env(redis)) if case.mode == "gateway" else {}
    finally:
        if redis is not None:
            redis.stop()
    result: dict[str, Any] = {
        "case": case.label,
        "mode": case.mode,
        "traffic": case.traffic,
        "variant": case.variant,
        "concurrency": case.concurrency,
        "workers": case.workers,
        "wallet": opts.wallet if case.mode == "gateway" else "",
        "rep": rep,
        "server_exit": status,
        "foreign_before_cores": round(foreign_before, 3),
        "loadavg_before": loadavg_before,
        "code_digest": digest,
        "warmup_requests": warm["requests"],
        "pool_requests": len(prepared.plans.get(case.traffic, ())),
        **measured,
        **verified,
    }
    clean = result["not_ok_share"] == 0 and result.get("verify_ok", True)
    if clean and not opts.keep:  # else the wallet and the server's log stay for a look
        shutil.rmtree(run_dir, ignore_errors=True)
    result["noisy"] = (
        result["foreign_cores"] > NOISY_FOREIGN_CORES or result["steal_cores"] > NOISY_STEAL_CORES
    )
    return result


def _render(opts: Options, prepared: Prepared, case: Case) -> Path:
    """The wrk pool of the case; gamegate's signatures expire in 300 s: render each time."""
    pool = opts.work_dir / f"pool-{case.traffic}.txt"
    if case.traffic == HEALTHZ:
        raw = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        pool.write_bytes(gen_traffic.pool_record(raw))
    elif case.mode == "gateway" or not pool.exists():
        gen_traffic.render_pool(prepared.plans[case.traffic], pool, prepared.gamegate_key)
    return pool


@contextlib.contextmanager
def _sampled(opts: Options, case: Case, pid: int) -> Iterator[None]:
    """py-spy on the load core, sampling whichever thread of the server holds the GIL
    (`--gil`) without pausing it (`--nonblocking`): shares of the Python work that
    cProfile's per-call overhead does not distort (C code that releases the GIL, SQLite's
    and DuckDB's, is not seen). Collapsed stacks, one file per case."""
    if opts.sample_dir is None:
        yield
        return
    opts.sample_dir.mkdir(parents=True, exist_ok=True)
    out = opts.sample_dir / f"{case.label}.txt"
    command = ["taskset", "-c", opts.load_cpu, "py-spy", "record", "--pid", str(pid)]
    command += ["--rate", "250", "--gil", "--nonblocking", "--threads", "--format", "raw"]
    command += ["--duration", str(opts.duration_s), "--output", str(out)]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.wait(timeout=opts.duration_s + 30)


def _measure(
    opts: Options, case: Case, server: Server, pool: Path, start: int, redis: RedisProcess | None
) -> dict[str, Any]:
    pid = server.process.pid
    relays = _pin_relay_children(pid, opts.relay_cpu) if case.mode == "gateway" else []
    relay_0 = sum(_process_cpu_s(child) for child in relays)
    cpu_0, children_0, (busy_0, steal_0) = _tree_cpu_s(pid), _children_cpu_s(), host_cpu_s()
    redis_0 = _process_cpu_s(redis.process.pid) if redis is not None else 0.0
    main_0, others_0 = _threads_cpu_s(pid)
    counted = case.mode == "gateway" and case.workers == 1  # /metrics is one worker's
    store_0 = _store_counters(server.url) if counted else None
    wall_0 = time.perf_counter()
    with _sampled(opts, case, pid):
        wrk = _wrk(opts, case, server.url, pool, start, opts.duration_s)
    wall_s = time.perf_counter() - wall_0
    cpu_s = _tree_cpu_s(pid) - cpu_0
    redis_s = _process_cpu_s(redis.process.pid) - redis_0 if redis is not None else 0.0
    relay_s = sum(_process_cpu_s(child) for child in relays) - relay_0
    main_1, others_1 = _threads_cpu_s(pid)
    store_1 = _store_counters(server.url) if counted else None
    wrk_cpu_s = _children_cpu_s() - children_0
    busy_1, steal_1 = host_cpu_s()
    duration_s = wrk["duration_us"] / 1e6
    requests = wrk["requests"]
    latency = wrk["latency_us"]
    answered = requests or 1
    return {
        "requests": requests,
        "req_s": round(requests / duration_s, 1),
        "p50_ms": latency["p50"] / 1000,
        "p90_ms": latency["p90"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "p999_ms": latency["p999"] / 1000,
        "max_ms": latency["max"] / 1000,
        "server_cores": round(cpu_s / wall_s, 3),
        "server_us_per_req": round(cpu_s * 1e6 / answered, 1),
        "loop_thread_us_per_req": round((main_1 - main_0) * 1e6 / answered, 1),
        "other_threads_us_per_req": round((others_1 - others_0) * 1e6 / answered, 1),
        "redis_us_per_req": round(redis_s * 1e6 / answered, 1),
        "relay_child_us_per_req": round(relay_s * 1e6 / answered, 1),
        "relay_cpu": opts.relay_cpu,
        "ops_per_commit": _rounded(_per_commit(store_0, store_1, "operations"), 1),
        "commit_ms_mean": _rounded(_per_commit(store_0, store_1, "commit_s"), 3, scale=1000),
        "wrk_cores": round(wrk_cpu_s / wall_s, 3),
        "foreign_cores": round(max(0.0, busy_1 - busy_0 - cpu_s - redis_s - wrk_cpu_s) / wall_s, 3),
        "steal_cores": round((steal_1 - steal_0) / wall_s, 3),
        "ok": wrk["ok"],
        "replay": wrk["replay"],
        "refused": wrk["refused"],
        "other_status": wrk["other"],
        "socket_errors": wrk["errors"],
        "not_ok_share": round(1 - wrk["ok"] / answered, 5),
        "exhausted": wrk["exhausted"],
        "samples": wrk["samples"],
    }


_STORE_COUNTER = re.compile(
    rb"^gamegate_wallet_store_(commits_total|operations_total|commit_duration_seconds_sum) (\S+)$",
    re.M,
)


def _store_counters(url: str) -> dict[str, float] | None:
    """The wallet store's commits, operations and seconds spent committing, from
    `/metrics` (None if absent)."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:  # noqa: S310
            text = answer.read()
    except OSError:
        return None
    found = {name.decode(): float(value) for name, value in _STORE_COUNTER.findall(text)}
    if len(found) != 3:
        return None
    return {
        "commits": found["commits_total"],
        "operations": found["operations_total"],
        "commit_s": found["commit_duration_seconds_sum"],
    }


def _rounded(value: float | None, digits: int, *, scale: float = 1.0) -> float | None:
    return None if value is None else round(value * scale, digits)


def _per_commit(
    before: dict[str, float] | None, after: dict[str, float] | None, counter: str
) -> float | None:
    """`counter`'s increase per durable commit over the measurement (None: no commit)."""
    if before is None or after is None or after["commits"] == before["commits"]:
        return None
    return (after[counter] - before[counter]) / (after["commits"] - before["commits"])


def _verify(data_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "gateway", "verify", "--config", str(CONFIG)]
    command += ["--data-dir", str(data_dir)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    return {"verify_ok": done.returncode == 0, "verify_last": lines[-1] if lines else done.stderr}


# -- the run -----------------------------------------------------------------------


def cases_of(opts: Options, rep: int) -> list[Case]:
    """All cases of one repetition; odd repetitions run the modes in reverse order."""
    cases: list[Case] = []
    for concurrency in opts.concurrencies:
        modes = list(opts.modes) if rep % 2 == 0 else list(reversed(opts.modes))
        for workers in opts.workers:
            for mode in modes:
                cases.append(Case(mode, "mix", concurrency, workers=workers))
        if "gateway" in opts.modes:
            cases += [Case("gateway", name, concurrency) for name in opts.per_protocol]
            cases += [
                Case("gateway", settings.get("traffic", "mix"), concurrency, name)
                for name, settings in opts.variants.items()
            ]
    return cases


def run(opts: Options) -> list[dict[str, Any]]:
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    facts = machine_facts(opts)
    print(json.dumps(facts), file=sys.stderr)
    prepared = prepare(opts)
    cases = ((rep, case) for rep in range(opts.reps) for case in cases_of(opts, rep))
    return record_runs(
        opts.out,
        {"facts": facts},
        cases,
        lambda case, rep: run_case(opts, prepared, case, rep),
        _one_line,
        opts.profile_dir,
    )


def _one_line(r: Mapping[str, Any]) -> str:
    noisy = " NOISY" if r["noisy"] else ""
    verify = "" if "verify_ok" not in r else f" verify={'ok' if r['verify_ok'] else 'FAILED'}"
    commit_ms = r.get("commit_ms_mean")
    commits = "" if commit_ms is None else f" ops/commit {r['ops_per_commit']} at {commit_ms} ms"
    return (
        f"rep {r['rep']} {r['case']:>24}: {r['req_s']:>8.0f} req/s  p50/p99/p999 "
        f"{r['p50_ms']:.2f}/{r['p99_ms']:.2f}/{r['p999_ms']:.2f} ms  {r['server_us_per_req']:.0f} "
        f"µs/req (loop {r['loop_thread_us_per_req']:.0f}, "
        f"redis {r.get('redis_us_per_req', 0):.0f}, relay {r.get('relay_child_us_per_req', 0):.0f})"
        f" srv {r['server_cores']:.2f} "
        f"wrk {r['wrk_cores']:.2f} foreign {r['foreign_cores']:.2f}  "
        f"not-ok {r['not_ok_share']:.2%} exhausted {r['exhausted']}"
        f"{commits}{verify}{noisy}"
    )


def machine_facts(opts: Options) -> dict[str, Any]:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu": cpu_model() or "?",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "aiohttp": metadata.version("aiohttp"),
        "uvloop": metadata.version("uvloop"),
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "?",
        "commit": git_output("rev-parse", "--short", "HEAD"),
        "code_digest": code_digest(),
        "loadavg": _loadavg(),
        "options": {field.name: str(getattr(opts, field.name)) for field in fields(opts)},
    }


def code_digest() -> str:
    """A hash of the gateway's code (`core/`, `adapters/`, `gateway/`, `config/`) as it ran.

    The tree changes under a running benchmark (other sessions commit), so the commit
    alone does not say which code was measured.
    """
    digest = hashlib.sha256()
    for folder in ("core", "adapters", "gateway", "config"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.suffix in {".py", ".toml"} and path.is_file():
                digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# -- summary -----------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: Sequence[float]) -> float:
    """Half the range over the median: the `±` of perf-baseline.md."""
    if len(values) < 2:
        return 0.0
    return (max(values) - min(values)) / 2 / statistics.median(values)


def summarize(results: Sequence[Mapping[str, Any]]) -> str:
    """Medians per case, the mix paired with bare per concurrency, each case's share of
    bare against its floor."""
    rows = [
        "| case | runs | req/s (±) | p50 / p99 / p999 ms | server µs/req (loop thread) "
        "| ops/commit | server cores | foreign cores | not-OK share | replays flagged | verify "
        "| noisy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    labels = sorted({r["case"] for r in results}, key=lambda label: (_conc(results, label), label))
    for label in labels:
        rows.append(_summary_row(label, [r for r in results if r["case"] == label]))
    return "\n".join(rows) + "\n\n" + _ratios(results) + "\n\n" + ratios_table(results)


def _summary_row(label: str, runs: Sequence[Mapping[str, Any]]) -> str:
    def med(key: str) -> float:
        return _median([r[key] for r in runs])

    rate = [r["req_s"] for r in runs]
    verify = [r["verify_ok"] for r in runs if "verify_ok" in r]
    money = runs[0]["mode"] == "gateway" and runs[0]["traffic"] != HEALTHZ
    exhausted = sum(r["exhausted"] for r in runs) if money else 0
    not_ok = f"{max(r['not_ok_share'] for r in runs):.3%}"
    not_ok += f" (pool ran out: {exhausted})" if exhausted else ""
    return (
        f"| {label} | {len(runs)} | {_median(rate):,.0f} (±{_spread(rate):.0%}) "
        f"| {med('p50_ms'):.2f} / {med('p99_ms'):.2f} / {med('p999_ms'):.2f} "
        f"| {med('server_us_per_req'):.0f} ({med('loop_thread_us_per_req'):.0f}) "
        f"| {_ops(runs)} | {med('server_cores'):.2f} | {med('foreign_cores'):.2f} | {not_ok} "
        f"| {sum(r['replay'] for r in runs)} "
        f"| {'-' if not verify else f'{sum(verify)}/{len(verify)} ok'} "
        f"| {sum(r['noisy'] for r in runs)} |"
    )


def _ops(runs: Sequence[Mapping[str, Any]]) -> str:
    values = [r["ops_per_commit"] for r in runs if r.get("ops_per_commit") is not None]
    return f"{_median(values):.1f}" if values else "-"


def _conc(results: Sequence[Mapping[str, Any]], label: str) -> int:
    return int(next(r["concurrency"] for r in results if r["case"] == label))


def _ratios(results: Sequence[Mapping[str, Any]]) -> str:
    """The mix, paired by repetition, per concurrency and number of workers (issue 14's
    verdicts are `ratios_table`'s). The CPU ratio (bare µs/req over gateway µs/req) is
    what the req/s ratio would be if both had a whole core: it holds when other load
    starves one."""
    lines = [
        "| c | gateway/bare req/s, per rep | median | bare µs/req | gateway µs/req "
        "| CPU ratio | p99 ms (closed loop) |",
        "|---|---|---|---|---|---|---|",
    ]
    for concurrency, workers in sorted({(r["concurrency"], r.get("workers", 1)) for r in results}):
        paired = _paired(results, concurrency, workers)
        if not paired:
            continue
        ratios = [gw["req_s"] / bare["req_s"] for bare, gw in paired]
        ratio = _median(ratios)
        bare_us = _median([b["server_us_per_req"] for b, _g in paired])
        gateway_us = _median([g["server_us_per_req"] for _b, g in paired])
        p99 = _median([gw["p99_ms"] for _bare, gw in paired])
        shown = f"{concurrency}" if workers == 1 else f"{concurrency}, {workers} workers"
        lines.append(
            f"| {shown} | {', '.join(f'{x:.0%}' for x in ratios)} | {ratio:.0%} "
            f"| {bare_us:.0f} | {gateway_us:.0f} | {bare_us / gateway_us:.0%} | {p99:.1f} |"
        )
    return "\n".join(lines)


def _paired(
    results: Sequence[Mapping[str, Any]], concurrency: int, workers: int = 1
) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    def pick(mode: str, rep: int) -> Mapping[str, Any] | None:
        return next(
            (
                r
                for r in results
                if r["concurrency"] == concurrency
                and r.get("workers", 1) == workers
                and r["rep"] == rep
                and r["mode"] == mode
                and r["traffic"] == "mix"
                and not r.get("variant")
            ),
            None,
        )

    pairs = []
    for rep in sorted({r["rep"] for r in results}):
        bare, gateway = pick("bare", rep), pick("gateway", rep)
        if bare is not None and gateway is not None:
            pairs.append((bare, gateway))
    return pairs


# -- command line ------------------------------------------------------------------


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part)


def _names(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def _variant(text: str) -> tuple[str, dict[str, str]]:
    """`quiet:GAMEGATE_LOG_LEVEL=warning` -> ("quiet", {"GAMEGATE_LOG_LEVEL": "warning"});
    `traffic=<instance>` runs that protocol's traffic (or healthz) instead of the mix."""
    name, _, pairs = text.partition(":")
    settings = dict(pair.split("=", 1) for pair in pairs.split(",") if pair)
    own = ("config", "traffic")
    bad = [key for key in settings if key not in own and not key.startswith("GAMEGATE_")]
    if not name or not settings or bad:
        raise argparse.ArgumentTypeError(
            f"expected NAME:GAMEGATE_X=V,config=FILE,traffic=NAME, got {text!r}"
        )
    return name, settings


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add = parser.add_argument
    add("--reps", type=int, default=3)
    add("--concurrency", type=_ints, default=(64,), help="comma-separated, e.g. 16,64,256")
    add("--modes", type=_names, default=("bare", "gateway"))
    add("--duration-s", type=int, default=10)
    add("--warmup-s", type=int, default=2)
    add("--players", type=int, default=10_000)
    add("--requests", type=int, default=150_000, help="pool size of the mixed traffic")
    add("--per-protocol", type=_names, default=(), help="also gateway:<instance> (or healthz)")
    add("--per-protocol-requests", type=int, default=60_000)
    add("--server-cpu", default="0", help="taskset CPU list of the server (and redis-server)")
    add("--load-cpu", default="1", help="taskset CPU list of wrk")
    add("--wallet", choices=["sqlite", "redis"], default="sqlite", help="redis: its own server")
    add("--workers", type=_ints, default=(1,), help="comma-separated, e.g. 1,2 (redis only >1)")
    add("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    add("--out", type=Path, default=None, help="JSON lines (default loadtests/out/...)")
    add("--profile", type=Path, default=None, metavar="DIR", help="gateway under cProfile")
    add("--sample", type=Path, default=None, metavar="DIR", help="py-spy samples (on PATH)")
    add("--relay-cpu", default=None, help="taskset CPU list for serve's relay child")
    add("--keep", action="store_true", help="keep each gateway case's data directory")
    add(
        "--variant",
        type=_variant,
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="also run the mix with GAMEGATE_* env overrides (or config=FILE), repeatable",
    )
    add("--quiet-wait-s", type=float, default=10.0, help="wait for other load to drop, per case")
    add("--summarize", type=Path, default=None, metavar="JSONL", help="only print the tables")
    add("--quick", action="store_true", help="smoke run: 1 rep, 1 s warm-up, 3 s, 2,000 players")
    add(
        "--check", action="store_true",
        help="regression guard: a short run of every case; exit 1 if a share of bare fell "
        f"more than {CHECK_DROP_MAX * 100:.0f} %% below {BASELINE_PATH.name}",
    )  # fmt: skip
    add(
        "--record-baseline", action="store_true",
        help=f"write this run's shares of bare to {BASELINE_PATH.name}",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.check or args.record_baseline:  # the same short cases, the relay off serve's core
        args.modes, args.concurrency = ("bare", "gateway"), (TARGET_CONCURRENCY,)
        args.per_protocol = (HEALTHZ, *gen_traffic.INSTANCES)
        args.reps = 1 if args.check else 2
        args.warmup_s, args.duration_s, args.players = 2, 5, 2_000
        args.per_protocol_requests = min(args.per_protocol_requests, 40_000)
        args.relay_cpu = args.load_cpu if args.relay_cpu is None else args.relay_cpu
    if args.quick:
        args.reps, args.warmup_s, args.duration_s, args.players = 1, 1, 3, 2_000
        args.requests = min(args.requests, 40_000)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or DEFAULT_OUT_DIR / f"bench_gateway-{stamp}.jsonl"
    unknown = set(args.per_protocol) - {*gen_traffic.INSTANCES, HEALTHZ}
    if unknown:
        parser.error(f"--per-protocol: unknown instances {sorted(unknown)}")
    traffic = {settings.get("traffic", "mix") for _, settings in args.variant or ()}
    if traffic - {*gen_traffic.INSTANCES, HEALTHZ, "mix"}:
        parser.error(f"--variant traffic=: unknown instances {sorted(traffic)}")
    if max(args.workers) > 1 and args.wallet != "redis" and "gateway" in args.modes:
        parser.error("--workers above 1 needs --wallet redis (a SQLite wallet has one writer)")
    return Options(
        reps=args.reps,
        concurrencies=args.concurrency,
        modes=args.modes,
        duration_s=args.duration_s,
        warmup_s=args.warmup_s,
        players=args.players,
        requests=args.requests,
        per_protocol=args.per_protocol,
        per_protocol_requests=args.per_protocol_requests,
        server_cpu=args.server_cpu,
        load_cpu=args.load_cpu,
        work_dir=args.work_dir,
        out=out,
        profile_dir=args.profile,
        sample_dir=args.sample,
        relay_cpu=args.relay_cpu,
        keep=args.keep,
        variants=dict(args.variant),
        quiet_wait_s=args.quiet_wait_s,
        summarize_only=args.summarize,
        wallet=args.wallet,
        workers=args.workers,
        check=args.check,
        record_baseline=args.record_baseline,
    )


@contextmanager
def _work_dir(opts: Options) -> Iterator[None]:
    opts.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        yield
    finally:
        if not opts.keep:
            for pool in opts.work_dir.glob("pool-*.txt"):
                pool.unlink(missing_ok=True)
            shutil.rmtree(opts.work_dir / "template", ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_options(argv)
    if opts.summarize_only is not None:
        lines = opts.summarize_only.read_text().splitlines()
        print(summarize([row for row in map(json.loads, lines) if "case" in row]))
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 2
    with _work_dir(opts):
        results = run(opts)
    print(summarize(results))
    print(f"\nraw results: {opts.out}")
    failed = [str(r["case"]) for r in results if r.get("verify_ok") is False]
    if opts.record_baseline:
        print(f"recorded in {BASELINE_PATH}: {write_baseline(results)}")
    if opts.check:
        lines, fallen = check_against(results)
        print("\n".join(["", f"check against {BASELINE_PATH.name}:", *lines]))
        failed += fallen
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
