"""Lobby benchmark: GET /v1/lobby/games over the 10,000-game catalogue, against bare aiohttp.

Why against bare aiohttp: the machine is shared and drifts, so (as in `bench_gateway.py`)
the goal is a ratio measured side by side in one run. Each case starts its server pinned
to one core (`taskset -a -c 0`) and drives it from the other with wrk (`-t1`, c=64,
replaying a pool of raw GET requests in `wrk_pool.lua`'s pool format, wrapping; by
LUA_SCRIPT below, which reads no answer bodies), warms it up, then measures.
Repetitions are the outer loop; the order of the cases alternates.

Cases (one pool: QUERY_MIX below, drawn at random by weight):
- `bare`: `bare_server.py` (answers every request 200 with a 15-byte body): the ceiling.
- `gateway:memory`: the demo configuration (`catalogue.answers_cached_max = 4096`), no
  If-None-Match: after the warm-up every answer comes from the in-memory answer cache.
- `gateway:computed`: `GAMEGATE_CATALOGUE__ANSWERS_CACHED_MAX=0`: every answer is
  computed from the index (filter masks, ordering, facets, JSON).
- `gateway:304`: the same queries with `If-None-Match` set to the current ETag (fetched
  from that server just before the warm-up): every answer is a 304.
- `sync` (the sync under load): the demo configuration under the plain pool at c=64 in
  1 s wrk slices, back to back; after `--slices-before` slices a full sync of every
  instance's feed (all 10,000 games, 5 % of them changed, gzip'd gamegate_json through
  the import endpoint, one instance after another) starts in a thread; once it is done
  `--slices-after` more slices run. p99 per window: before, during (a slice that
  overlaps the sync), after.

The gateway is `gamegate serve --config config/gamegate.toml --demo` as in
`bench_gateway.py` (log level as configured: `info`, one log line per request), on a
fresh copy of a data directory prepared once: the demo start-up (which seeds the demo
catalogue when demo seeding is present), then every instance's part of
`demo_games(instances, count=10_000, today=today)` imported as a full feed through the
operator API, so the catalogue is the same either way. The lobby key is demo mode's.

Per case one JSON line (req/s, latency percentiles, server CPU per request, foreign
cores, wrk's errors, the gateway's lobby answer counters), then the summary.

    python -m loadtests.bench_lobby                 # 3 reps, 10 s cases, ~8 min
    python -m loadtests.bench_lobby --quick         # smoke: 1 rep, short cases
    python -m loadtests.bench_lobby --reps 1 --cases computed --profile var/bench/lobby-prof
    python -m loadtests.bench_lobby --summarize loadtests/out/bench_lobby-<stamp>.jsonl
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from adapters.catalogue.feeds.gamegate_json import record_of
from core.catalogue.game import Game
from core.money import CurrencyTable
from gateway.demo import DEMO_LOBBY_KEY, DEMO_OPERATOR_KEY
from gateway.demo_catalogue import demo_games
from loadtests._measure import git_output, host_cpu_s, record_runs
from loadtests.bench_gateway import (
    CONFIG,
    REPO_ROOT,
    Server,
    _bare_command,
    _children_cpu_s,
    _gateway_command,
    _loadavg,
    _process_cpu_s,
    _wait_until_quiet,
    code_digest,
)
from loadtests.gen_traffic import pool_record

__all__ = ["QUERY_MIX", "main"]

# -- the query mix ------------------------------------------------------------------
#
# (group, share of requests in %, filters, pages). Every query also gets brand=demo and
# limit=48. `pages` are the page numbers asked for (page n > 1 by the cursor of page
# n - 1, walked once while preparing); a row's share is split evenly over its pages.
QUERY_MIX: tuple[tuple[str, float, str, tuple[int, ...]], ...] = (
    # first pages of the common views: 70 %
    ("first", 10.0, "market=MT&device=desktop&currency=EUR", (1,)),
    ("first", 7.0, "market=MT&device=mobile&currency=EUR", (1,)),
    ("first", 4.0, "market=GB&device=mobile&currency=GBP", (1,)),
    ("first", 2.0, "market=SE&device=desktop&vertical=slots&currency=SEK", (1,)),
    ("first", 1.0, "market=CA-ON&device=mobile&currency=CAD", (1,)),
    ("first", 7.0, "market=MT&device=desktop&vertical=slots&currency=EUR", (1,)),
    ("first", 5.0, "market=MT&device=mobile&vertical=slots&currency=EUR", (1,)),
    ("first", 5.0, "market=MT&device=desktop&vertical=live&currency=EUR", (1,)),
    ("first", 3.0, "market=MT&device=mobile&vertical=live&currency=EUR", (1,)),
    ("first", 5.0, "market=MT&device=desktop&category=new&currency=EUR", (1,)),
    ("first", 3.0, "market=MT&device=mobile&category=new&currency=EUR", (1,)),
    ("first", 2.0, "market=MT&device=desktop&vertical=table&currency=EUR", (1,)),
    ("first", 2.0, "market=MT&device=desktop&vertical=crash&vertical=instant&currency=EUR", (1,)),
    ("first", 2.25, "market=MT&device=desktop&provider=gamegate&currency=EUR", (1,)),
    ("first", 2.25, "market=MT&device=desktop&provider=hub88&currency=EUR", (1,)),
    ("first", 2.25, "market=MT&device=desktop&provider=pragmatic&currency=EUR", (1,)),
    ("first", 2.25, "market=MT&device=desktop&provider=evolution&currency=EUR", (1,)),
    ("first", 2.25, "market=MT&device=desktop&provider=softswiss&currency=EUR", (1,)),
    ("first", 2.25, "market=MT&device=desktop&provider=betsoft&currency=EUR", (1,)),
    ("first", 0.5, "market=MT&device=desktop&provider=betby&currency=EUR", (1,)),
    # deeper pages, by cursor: 15 %
    ("deep", 5.0, "market=MT&device=desktop&currency=EUR", (2, 3, 4, 5)),
    ("deep", 4.0, "market=MT&device=desktop&vertical=slots&currency=EUR", (2, 3, 4, 6, 8)),
    ("deep", 2.0, "market=MT&device=mobile&vertical=slots&currency=EUR", (2, 3)),
    ("deep", 2.0, "market=MT&device=desktop&vertical=live&currency=EUR", (2, 3)),
    ("deep", 2.0, "market=MT&device=desktop&provider=pragmatic&currency=EUR", (2, 3, 4)),
    # text searches: 10 %
    ("search", 1.5, "market=MT&device=desktop&currency=EUR&q=megaways", (1,)),
    ("search", 1.0, "market=MT&device=desktop&currency=EUR&q=golden", (1,)),
    ("search", 1.0, "market=MT&device=mobile&currency=EUR&q=wild", (1,)),
    ("search", 1.5, "market=MT&device=desktop&vertical=live&currency=EUR&q=roulette", (1,)),
    ("search", 1.0, "market=MT&device=desktop&currency=EUR&q=blackjack", (1,)),
    ("search", 1.0, "market=MT&device=mobile&currency=EUR&q=lucky", (1,)),
    ("search", 0.5, "market=MT&device=desktop&currency=EUR&q=santa", (1,)),
    ("search", 0.5, "market=MT&device=desktop&currency=EUR&q=bonanza", (1,)),
    ("search", 0.5, "market=MT&device=mobile&currency=EUR&q=fro", (1,)),
    ("search", 0.5, "market=MT&device=desktop&currency=EUR&q=rocket", (1,)),
    ("search", 0.5, "market=MT&device=desktop&currency=EUR&q=leprechaun", (1,)),
    ("search", 0.5, "market=GB&device=desktop&currency=GBP&q=baccarat", (1,)),
    # feature include / exclude: 5 %
    ("feature", 1.5, "market=MT&device=desktop&vertical=slots&feature=jackpot&currency=EUR", (1,)),
    (
        "feature",
        1.0,
        "market=MT&device=desktop&vertical=slots&exclude_feature=bonus_buy&currency=EUR",
        (1,),
    ),
    ("feature", 1.0, "market=MT&device=mobile&feature=megaways&currency=EUR", (1,)),
    ("feature", 1.0, "market=MT&device=mobile&vertical=slots&feature=bonus_buy&currency=EUR", (1,)),
    (
        "feature",
        0.5,
        "market=MT&device=desktop&feature=jackpot&exclude_feature=bonus_buy&currency=EUR",
        (1,),
    ),
)
BRAND = "demo"
PAGE_LIMIT = 48
LOBBY_PATH = "/v1/lobby/games"

CATALOGUE_GAMES = 10_000
CHANGED_SHARE = 0.05
POOL_SEED = 11
POOL_REQUESTS = 20_000
CONCURRENCY = 64
WRK_TIMEOUT = "5s"
TARGET_MISS_RATIO = 0.40
TARGET_304_RATIO = 0.70
TARGET_P99_MS = 20.0
NOISY_FOREIGN_CORES = 0.25
NOISY_STEAL_CORES = 0.05
GATEWAY_CASES = ("memory", "computed", "304")
CACHE_OFF = {"GAMEGATE_CATALOGUE__ANSWERS_CACHED_MAX": "0"}
DEFAULT_WORK_DIR = REPO_ROOT / "var" / "bench" / "lobby"
LUA_SCRIPT = """
-- Written by loadtests/bench_lobby.py: replay a pool file (`<length>\\n<raw request>`
-- records, as wrk_pool.lua reads them) from START_INDEX, wrapping, without a response()
-- hook: wrk then hands no body to Lua (wrk_pool.lua scans every 24 kB lobby answer for
-- success markers, ~150 us of the load core per answer, enough to saturate it).
local find, sub = string.find, string.sub
local pool, count = {}, 0
local threads = {}
local verified = false
index = 0
function setup(thread) table.insert(threads, thread) end
function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  local pos = 1
  while pos <= #data do
    local newline = find(data, "\\n", pos, true)
    local length = tonumber(sub(data, pos, newline - 1))
    count = count + 1
    pool[count] = sub(data, newline + 1, newline + length)
    pos = newline + 1 + length
  end
  index = tonumber(args[2] or "0") % count
end
function request()
  if not verified then
    verified = true
    return pool[index + 1]
  end
  if index >= count then index = 0 end
  index = index + 1
  return pool[index]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"next_index":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\\n',
    summary.requests, summary.duration, summary.bytes, threads[1]:get("index"),
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
"""
DEFAULT_OUT_DIR = REPO_ROOT / "loadtests" / "out"


@dataclass(frozen=True, slots=True)
class Options:
    reps: int
    cases: tuple[str, ...]
    duration_s: int
    warmup_s: int
    slices_before: int
    slices_after: int
    server_cpu: str
    load_cpu: str
    work_dir: Path
    out: Path
    profile_dir: Path | None
    quiet_wait_s: float
    sync_via: str = "api"
    """`api`: each feed is POSTed to the import endpoint (parsed, planned and written in
    the serving process). `cli`: each is applied by `gamegate catalogue import` in its own
    process at nice 10 on the server's core, the server only noticing the new version and
    rebuilding: what moving that work out of the serving process would give."""


SYNC_CLI_NICE = 10


@dataclass(frozen=True, slots=True)
class Target:
    """One distinct lobby request: its path and query, and its share of the pool."""

    group: str
    path: str
    weight: float
    total: int = -1
    """Games matching it (read while preparing)."""


@dataclass(slots=True)
class Prepared:
    template: Path
    targets: list[Target]
    sequence: list[int]
    """Indexes into `targets`, in pool order."""
    feeds: dict[str, bytes]
    """Instance -> the gzip'd full gamegate_json feed of the sync (5 % changed)."""
    changed: int
    instances: list[str]


# -- HTTP helpers --------------------------------------------------------------------


def _get(url: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=dict(headers))  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _lobby_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {DEMO_LOBBY_KEY}"}


def _import(base: str, instance: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310
        f"{base}/v1/catalogue/instances/{instance}/import?confirm=true",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {DEMO_OPERATOR_KEY}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            report = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"import {instance}: {error.code} {error.read()[:500]!r}") from None
    assert isinstance(report, dict)
    return report


def _import_by_cli(
    data_dir: Path, cpu: str, instance: str, body: bytes, work_dir: Path
) -> dict[str, Any]:
    """The same feed applied by the command line, niced, on the server's core."""
    feed = work_dir / f"feed-{instance}.json"
    feed.write_bytes(gzip.decompress(body))
    command = ["taskset", "-c", cpu, "nice", "-n", str(SYNC_CLI_NICE), *_gamegate_cli(),
               "catalogue", "import", instance, str(feed), "--format", "gamegate_json",
               "--confirm", "--config", str(CONFIG), "--data-dir", str(data_dir)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import {instance}: exit {done.returncode}: {done.stderr[-500:]}")
    report = json.loads(done.stdout)
    assert isinstance(report, dict)
    return report


def _gamegate_cli() -> list[str]:
    script = Path(sys.executable).with_name("gamegate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]


def _metric_values(base: str) -> dict[str, float]:
    """The lobby answer counters and the index build histogram from `/metrics`."""
    _status, _headers, body = _get(f"{base}/metrics", {})
    wanted = {
        'gamegate_lobby_answers_total{served="computed"}': "computed",
        'gamegate_lobby_answers_total{served="memory"}': "memory",
        'gamegate_lobby_answers_total{served="not_modified"}': "not_modified",
        "gamegate_catalogue_index_build_seconds_sum": "build_s",
        "gamegate_catalogue_index_build_seconds_count": "builds",
    }
    found: dict[str, float] = {}
    for line in body.decode().splitlines():
        name, _, value = line.rpartition(" ")
        if name in wanted:
            found[wanted[name]] = float(value)
    return found


def _delta(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: round(after.get(name, 0.0) - before.get(name, 0.0), 6) for name in after}


# -- the catalogue and its feeds -------------------------------------------------------


def _instances() -> list[str]:
    config = tomllib.loads(CONFIG.read_text())
    providers: Mapping[str, Mapping[str, Any]] = config.get("providers", {})
    return [name for name, table in providers.items() if table.get("enabled", True)]


def _feeds(games: Sequence[Game], instances: Sequence[str]) -> dict[str, bytes]:
    currencies = CurrencyTable()
    by_instance: dict[str, list[dict[str, Any]]] = {name: [] for name in instances}
    for game in games:
        by_instance[game.instance].append(record_of(game, currencies))
    return {
        name: gzip.compress(orjson.dumps({"games": records, "partial": False}), 6)
        for name, records in by_instance.items()
    }


def _changed(games: Sequence[Game], share: float, seed: int) -> list[Game]:
    """The same catalogue with `share` of the games changed (RTP down 0.05 pp or, without
    an RTP, a tag added): what a provider's weekly feed typically changes."""
    rng = random.Random(seed)
    picked = set(rng.sample(range(len(games)), round(len(games) * share)))
    out = []
    for position, game in enumerate(games):
        if position in picked:
            if game.rtp_bp is not None:
                game = replace(game, rtp_bp=game.rtp_bp - 5)
            else:
                game = replace(game, tags=game.tags | {"refreshed"})
        out.append(game)
    return out


# -- preparation ------------------------------------------------------------------------


def _query(filters: str) -> str:
    return f"{LOBBY_PATH}?brand={BRAND}&{filters}&limit={PAGE_LIMIT}"


def _targets(base: str) -> list[Target]:
    """Every distinct request of QUERY_MIX, each checked to answer 200; cursors walked."""
    targets: list[Target] = []
    for group, share, filters, pages in QUERY_MIX:
        path = _query(filters)
        page = 1
        while True:
            status, _headers, body = _get(base + path, _lobby_headers())
            if status != 200:
                raise RuntimeError(f"{path}: HTTP {status} {body[:300]!r}")
            answer = orjson.loads(body)
            if page in pages:
                targets.append(Target(group, path, share / len(pages), answer["total"]))
            if page >= max(pages):
                break
            cursor = answer["next_cursor"]
            if cursor is None:
                raise RuntimeError(f"{filters}: no page {page + 1} ({answer['total']} games)")
            path = _query(filters) + "&" + urlencode({"cursor": cursor})
            page += 1
    empty = [t.path for t in targets if t.total == 0]
    if empty:
        print(f"warning: queries with no games: {empty}", file=sys.stderr)
    return targets


def prepare(opts: Options) -> Prepared:
    template = opts.work_dir / "template"
    shutil.rmtree(template, ignore_errors=True)
    instances = _instances()
    today = datetime.datetime.now(datetime.UTC).date()
    games = demo_games(instances, count=CATALOGUE_GAMES, today=today)
    changed = _changed(games, CHANGED_SHARE, POOL_SEED)
    server = Server(
        _gateway_command(template, None), opts.work_dir / "template-logs", cpu=opts.server_cpu
    )
    try:
        started = time.perf_counter()
        reports = [
            _import(server.url, name, body) for name, body in _feeds(games, instances).items()
        ]
        imported_s = time.perf_counter() - started
        targets = _targets(server.url)
    finally:
        server.stop()
    counts = {r["instance"]: (len(r["added"]), len(r["changed"]), r["unchanged"]) for r in reports}
    print(
        f"catalogue of {len(games)} games imported in {imported_s:.1f} s "
        f"(instance: added, changed, unchanged): {counts}",
        file=sys.stderr,
    )
    weights = [target.weight for target in targets]
    rng = random.Random(POOL_SEED)
    sequence = rng.choices(range(len(targets)), weights=weights, k=POOL_REQUESTS)
    return Prepared(
        template=template,
        targets=targets,
        sequence=sequence,
        feeds=_feeds(changed, instances),
        changed=sum(a != b for a, b in zip(games, changed, strict=True)),
        instances=instances,
    )


def _render_pool(path: Path, prepared: Prepared, etags: Sequence[str] | None) -> None:
    auth = f"Authorization: Bearer {DEMO_LOBBY_KEY}\r\n"
    raws = []
    for position, target in enumerate(prepared.targets):
        extra = "" if etags is None else f"If-None-Match: {etags[position]}\r\n"
        head = f"GET {target.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{extra}\r\n"
        raws.append(pool_record(head.encode("ascii")))
    with path.open("wb") as file:
        for index in prepared.sequence:
            file.write(raws[index])


def _etags(base: str, targets: Sequence[Target]) -> list[str]:
    etags = []
    for target in targets:
        status, headers, _body = _get(base + target.path, _lobby_headers())
        if status != 200 or "ETag" not in headers:
            raise RuntimeError(f"{target.path}: HTTP {status} without an ETag")
        etags.append(headers["ETag"])
    return etags


# -- wrk and one case ---------------------------------------------------------------------


def _wrk(opts: Options, url: str, pool: Path, start: int, seconds: int) -> dict[str, Any]:
    command = ["taskset", "-c", opts.load_cpu, "wrk", "-t1", f"-c{CONCURRENCY}"]
    script = opts.work_dir / "lobby_pool.lua"
    if not script.exists():
        script.write_text(LUA_SCRIPT)
    command += [f"-d{seconds}s", "--timeout", WRK_TIMEOUT, "-s", str(script), url]
    command += ["--", str(pool), str(start), "wrap"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            parsed = json.loads(line.removeprefix("WRKJSON "))
            assert isinstance(parsed, dict)
            return parsed
    raise RuntimeError(f"wrk printed no result: {done.stdout[-2000:]} {done.stderr[-2000:]}")


def _answers(wrk: Mapping[str, Any]) -> dict[str, int]:
    """wrk's error counts: `status` is answers of HTTP 400 and above (200 against 304 is
    told apart by the gateway's lobby answer counters)."""
    return {name: int(n) for name, n in wrk["errors"].items() if n}


def _server_for(opts: Options, case: str, run_dir: Path, template: Path) -> Server:
    if case == "bare":
        return Server(_bare_command(), run_dir, cpu=opts.server_cpu)
    shutil.copytree(template, run_dir / "data")
    profile = opts.profile_dir / case if opts.profile_dir is not None else None
    env = CACHE_OFF if case == "computed" else {}
    return Server(_gateway_command(run_dir / "data", profile), run_dir, opts.server_cpu, env)


def run_case(opts: Options, prepared: Prepared, case: str, rep: int) -> dict[str, Any]:
    run_dir = opts.work_dir / f"run-{case}-{rep}"
    shutil.rmtree(run_dir, ignore_errors=True)
    pool = opts.work_dir / f"pool-{case}.txt"
    foreign_before = _wait_until_quiet(opts.quiet_wait_s)
    loadavg_before = _loadavg()
    digest = code_digest()
    server = _server_for(opts, case, run_dir, prepared.template)
    try:
        etags = _etags(server.url, prepared.targets) if case == "304" else None
        _render_pool(pool, prepared, etags)
        warm = _wrk(opts, server.url, pool, 0, opts.warmup_s)
        gateway = case != "bare"
        metrics_0 = _metric_values(server.url) if gateway else {}
        measured = _measure(opts, server, pool, warm["next_index"] % POOL_REQUESTS)
        metrics_1 = _metric_values(server.url) if gateway else {}
    finally:
        status = server.stop()
    answers = measured.pop("answers")
    served = _delta(metrics_0, metrics_1) if metrics_1 else {}
    wrong = {"memory": ("computed", "not_modified"), "computed": ("memory", "not_modified")}
    wrong["304"] = ("computed", "memory")
    unexpected = sum(answers.values()) + sum(served.get(k, 0) for k in wrong.get(case, ()))
    result: dict[str, Any] = {
        "case": case,
        "rep": rep,
        "server_exit": status,
        "foreign_before_cores": round(foreign_before, 3),
        "loadavg_before": loadavg_before,
        "code_digest": digest,
        **measured,
        "answers": answers,
        "unexpected": int(unexpected),
        "lobby_served": served,
    }
    result["noisy"] = (
        result["foreign_cores"] > NOISY_FOREIGN_CORES or result["steal_cores"] > NOISY_STEAL_CORES
    )
    if result["unexpected"] == 0:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result


def _measure(opts: Options, server: Server, pool: Path, start: int) -> dict[str, Any]:
    pid = server.process.pid
    cpu_0, children_0, (busy_0, steal_0) = _process_cpu_s(pid), _children_cpu_s(), host_cpu_s()
    wall_0 = time.perf_counter()
    wrk = _wrk(opts, server.url, pool, start, opts.duration_s)
    wall_s = time.perf_counter() - wall_0
    cpu_s = _process_cpu_s(pid) - cpu_0
    wrk_cpu_s = _children_cpu_s() - children_0
    busy_1, steal_1 = host_cpu_s()
    requests = wrk["requests"] or 1
    latency = wrk["latency_us"]
    return {
        "requests": wrk["requests"],
        "req_s": round(wrk["requests"] / (wrk["duration_us"] / 1e6), 1),
        "p50_ms": latency["p50"] / 1000,
        "p90_ms": latency["p90"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "p999_ms": latency["p999"] / 1000,
        "max_ms": latency["max"] / 1000,
        "bytes_per_answer": round(wrk["bytes"] / requests),
        "server_cores": round(cpu_s / wall_s, 3),
        "server_us_per_req": round(cpu_s * 1e6 / requests, 1),
        "wrk_cores": round(wrk_cpu_s / wall_s, 3),
        "foreign_cores": round(max(0.0, busy_1 - busy_0 - cpu_s - wrk_cpu_s) / wall_s, 3),
        "steal_cores": round((steal_1 - steal_0) / wall_s, 3),
        "answers": _answers(wrk),
    }


# -- the sync under load -------------------------------------------------------------------


@dataclass(slots=True)
class SyncRun:
    started: float = 0.0
    ended: float = 0.0
    imports: list[dict[str, Any]] | None = None
    error: str = ""


def _sync(
    apply: Callable[[str, bytes], dict[str, Any]], feeds: Mapping[str, bytes], run: SyncRun
) -> None:
    run.imports = []
    run.started = time.perf_counter()
    try:
        for instance, body in feeds.items():
            began = time.perf_counter()
            report = apply(instance, body)
            run.imports.append(
                {
                    "instance": instance,
                    "seconds": round(time.perf_counter() - began, 3),
                    "changed": len(report["changed"]),
                    "unchanged": report["unchanged"],
                    "version": report["version"],
                }
            )
    except (OSError, RuntimeError) as error:
        run.error = str(error)
    finally:
        run.ended = time.perf_counter()


def run_sync_case(opts: Options, prepared: Prepared, rep: int) -> dict[str, Any]:
    run_dir = opts.work_dir / f"run-sync-{rep}"
    shutil.rmtree(run_dir, ignore_errors=True)
    pool = opts.work_dir / "pool-sync.txt"
    _render_pool(pool, prepared, None)
    foreign_before = _wait_until_quiet(opts.quiet_wait_s)
    loadavg_before = _loadavg()
    server = _server_for(opts, "sync", run_dir, prepared.template)
    apply: Callable[[str, bytes], dict[str, Any]]
    if opts.sync_via == "cli":

        def apply(instance: str, body: bytes) -> dict[str, Any]:
            return _import_by_cli(run_dir / "data", opts.server_cpu, instance, body, run_dir)

    else:

        def apply(instance: str, body: bytes) -> dict[str, Any]:
            return _import(server.url, instance, body)

    slices: list[dict[str, Any]] = []
    sync = SyncRun()
    try:
        warm = _wrk(opts, server.url, pool, 0, opts.warmup_s)
        index = warm["next_index"] % POOL_REQUESTS
        metrics_0 = _metric_values(server.url)
        thread: threading.Thread | None = None
        after = 0
        while after < opts.slices_after:
            if len(slices) == opts.slices_before:
                thread = threading.Thread(target=_sync, args=(apply, prepared.feeds, sync))
                thread.start()
            began = time.perf_counter()
            wrk = _wrk(opts, server.url, pool, index, 1)
            ended = time.perf_counter()
            index = wrk["next_index"] % POOL_REQUESTS
            slices.append(_slice(wrk, began, ended))
            if thread is not None and not thread.is_alive() and sync.ended < began:
                after += 1
        if thread is not None:
            thread.join()
        metrics_1 = _metric_values(server.url)
    finally:
        status = server.stop()
    shutil.rmtree(run_dir, ignore_errors=True)
    for piece in slices:
        if piece["end"] <= sync.started:
            piece["window"] = "before"
        elif piece["start"] >= sync.ended:
            piece["window"] = "after"
        else:
            piece["window"] = "during"
        piece["start"] = round(piece["start"] - sync.started, 3)
        piece["end"] = round(piece["end"] - sync.started, 3)
    served = _delta(metrics_0, metrics_1)
    return {
        "case": "sync",
        "sync_via": opts.sync_via,
        "rep": rep,
        "server_exit": status,
        "foreign_before_cores": round(foreign_before, 3),
        "loadavg_before": loadavg_before,
        "code_digest": code_digest(),
        "sync_s": round(sync.ended - sync.started, 3),
        "sync_error": sync.error,
        "imports": sync.imports,
        "changed_games": prepared.changed,
        "index_builds": served.get("builds", 0),
        "index_build_s": served.get("build_s", 0),
        "lobby_served": served,
        "windows": _windows(slices),
        "slices": slices,
    }


def _slice(wrk: Mapping[str, Any], began: float, ended: float) -> dict[str, Any]:
    latency = wrk["latency_us"]
    return {
        "start": began,
        "end": ended,
        "requests": wrk["requests"],
        "req_s": round(wrk["requests"] / (wrk["duration_us"] / 1e6), 1),
        "p50_ms": latency["p50"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "max_ms": latency["max"] / 1000,
        "answers": _answers(wrk),
    }


def _windows(slices: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per window: slices, the median and worst slice p99, median req/s, wrk's errors."""
    out = {}
    for window in ("before", "during", "after"):
        chosen = [s for s in slices if s["window"] == window]
        if not chosen:
            continue
        out[window] = {
            "slices": len(chosen),
            "p99_median_ms": statistics.median(s["p99_ms"] for s in chosen),
            "p99_max_ms": max(s["p99_ms"] for s in chosen),
            "max_ms": max(s["max_ms"] for s in chosen),
            "req_s_median": statistics.median(s["req_s"] for s in chosen),
            "errors": sum(n for s in chosen for n in s["answers"].values()),
        }
    return out


# -- the run and its summary ----------------------------------------------------------------


def cases_of(opts: Options, rep: int) -> list[str]:
    """One repetition's cases; odd repetitions run the throughput cases in reverse."""
    cases = [case for case in ("bare", *GATEWAY_CASES) if case in opts.cases]
    if rep % 2:
        cases.reverse()
    return cases + (["sync"] if "sync" in opts.cases else [])


def run(opts: Options) -> list[dict[str, Any]]:
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.work_dir.mkdir(parents=True, exist_ok=True)
    facts = machine_facts(opts)
    print(json.dumps(facts), file=sys.stderr)
    prepared = prepare(opts)
    header = {"facts": facts, "targets": [repr(target) for target in prepared.targets]}
    cases = ((rep, case) for rep in range(opts.reps) for case in cases_of(opts, rep))

    def run_one(case: str, rep: int) -> dict[str, Any]:
        if case == "sync":
            return run_sync_case(opts, prepared, rep)
        return run_case(opts, prepared, case, rep)

    return record_runs(opts.out, header, cases, run_one, _one_line, opts.profile_dir)


def _one_line(r: Mapping[str, Any]) -> str:
    if r["case"] == "sync":
        windows = ", ".join(
            f"{name} p99 {w['p99_median_ms']:.1f} (max {w['p99_max_ms']:.1f}) ms "
            f"{w['req_s_median']:.0f} req/s"
            for name, w in r["windows"].items()
        )
        return (
            f"rep {r['rep']} sync: {r['sync_s']:.2f} s, {r['index_builds']:.0f} index builds "
            f"{r['index_build_s']:.2f} s; {windows} {r['sync_error']}"
        )
    noisy = " NOISY" if r["noisy"] else ""
    return (
        f"rep {r['rep']} {r['case']:>9}: {r['req_s']:>8.0f} req/s  p50/p99 "
        f"{r['p50_ms']:.2f}/{r['p99_ms']:.2f} ms  {r['server_us_per_req']:.0f} µs/req "
        f"srv {r['server_cores']:.2f} wrk {r['wrk_cores']:.2f} foreign {r['foreign_cores']:.2f} "
        f"answers {r['answers']} served {r['lobby_served']}{noisy}"
    )


def machine_facts(opts: Options) -> dict[str, Any]:
    dirty = git_output("status", "--porcelain", "--", "core", "adapters", "gateway", "config")
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "commit": git_output("rev-parse", "--short", "HEAD"),
        "uncommitted_code": dirty.split("\n") if dirty else [],
        "code_digest": code_digest(),
        "loadavg": _loadavg(),
        "options": {name: str(getattr(opts, name)) for name in opts.__slots__},
    }


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(results: Sequence[Mapping[str, Any]]) -> str:
    plain = [r for r in results if r["case"] != "sync"]
    bare = {r["rep"]: r for r in plain if r["case"] == "bare"}
    lines = [
        "| case | runs | req/s median (per rep) | % of bare, per rep (median) | p50 / p99 ms "
        "| server µs/req | bytes/answer | served (last rep) | foreign cores | noisy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for case in ("bare", *GATEWAY_CASES):
        runs = [r for r in plain if r["case"] == case]
        if not runs:
            continue
        rates = [r["req_s"] for r in runs]
        ratios = [r["req_s"] / bare[r["rep"]]["req_s"] for r in runs if r["rep"] in bare]
        ratio = _median(ratios)
        p99 = _median([r["p99_ms"] for r in runs])
        shown = "-" if case == "bare" else f"{', '.join(f'{x:.0%}' for x in ratios)} ({ratio:.0%})"
        served = {k: int(v) for k, v in runs[-1]["lobby_served"].items() if k not in {"build_s"}}
        rates_shown = ", ".join(f"{x:,.0f}" for x in rates)
        foreign = ", ".join(f"{r['foreign_cores']:.2f}" for r in runs)
        p50 = _median([r["p50_ms"] for r in runs])
        cpu_us = _median([r["server_us_per_req"] for r in runs])
        size = _median([r["bytes_per_answer"] for r in runs])
        lines.append(
            f"| {case} | {len(runs)} | {_median(rates):,.0f} ({rates_shown}) | {shown} "
            f"| {p50:.1f} / {p99:.1f} | {cpu_us:.0f} | {size:,.0f} | {served or '-'} "
            f"| {foreign} | {sum(r['noisy'] for r in runs)} |"
        )
        if case != "bare" and ratios:
            goal = TARGET_304_RATIO if case == "304" else TARGET_MISS_RATIO
            hit = ratio >= goal and p99 < TARGET_P99_MS
            verdicts.append(
                f"- {case}: {'MET' if hit else 'MISSED'} (ratio {ratio:.0%} vs ≥ {goal:.0%}, "
                f"p99 {p99:.1f} ms vs < {TARGET_P99_MS:g} ms)"
            )
        unexpected = sum(r["unexpected"] for r in runs)
        if unexpected:
            verdicts.append(
                f"- {case}: {unexpected} unexpected answers (wrk errors, or served otherwise)"
            )
    text = "\n".join(lines) + "\n\n" + "\n".join(verdicts)
    syncs = [r for r in results if r["case"] == "sync"]
    if syncs:
        text += "\n\n" + _summarize_sync(syncs)
    return text


def _summarize_sync(syncs: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| rep | sync s (per instance) | index builds, s | before p99 ms (median / max "
        "slice), req/s | during | after | during / before p99 (median slices) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in syncs:
        w = r["windows"]

        def cell(name: str, w: Mapping[str, Any] = w) -> str:
            if name not in w:
                return "-"
            x = w[name]
            return (
                f"{x['p99_median_ms']:.1f} / {x['p99_max_ms']:.1f} ({x['slices']} slices), "
                f"{x['req_s_median']:,.0f}"
            )

        before = w.get("before", {}).get("p99_median_ms", float("nan"))
        during = w.get("during", {}).get("p99_median_ms", float("nan"))
        factor = during / before if before else float("nan")
        per = ", ".join(f"{i['instance']} {i['seconds']:.2f}" for i in r["imports"] or [])
        verdict = "MET" if factor <= 2.0 and not r["sync_error"] else "MISSED"
        lines.append(
            f"| {r['rep']} | {r['sync_s']:.2f} ({per}) | {r['index_builds']:.0f}, "
            f"{r['index_build_s']:.2f} | {cell('before')} | {cell('during')} | {cell('after')} "
            f"| {factor:.2f}x | {verdict} {r['sync_error']} |"
        )
    return "\n".join(lines)


# -- command line ----------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None) -> tuple[Options, Path | None]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add = parser.add_argument
    add("--reps", type=int, default=3)
    add("--cases", default="bare,memory,computed,304,sync", help="comma-separated")
    add("--duration-s", type=int, default=10)
    add("--warmup-s", type=int, default=2)
    add("--slices-before", type=int, default=8, help="1 s wrk slices before the sync")
    add("--slices-after", type=int, default=8, help="1 s wrk slices after the sync")
    add("--server-cpu", default="0", help="taskset CPU list of the server")
    add("--load-cpu", default="1", help="taskset CPU list of wrk (and this script)")
    add("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    add("--out", type=Path, default=None, help="JSON lines (default loadtests/out/...)")
    add("--profile", type=Path, default=None, metavar="DIR", help="gateway under cProfile")
    add("--quiet-wait-s", type=float, default=10.0, help="wait for other load to drop, per case")
    add("--summarize", type=Path, default=None, metavar="JSONL", help="only print the tables")
    add("--quick", action="store_true", help="smoke run: 1 rep, 1 s warm-up, 3 s, 3+3 slices")
    add(
        "--sync-via",
        choices=("api", "cli"),
        default="api",
        help="sync case: the import endpoint, or the command line niced on the server core",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.warmup_s, args.duration_s = 1, 1, 3
        args.slices_before, args.slices_after, args.quiet_wait_s = 3, 3, 2.0
    cases = tuple(part for part in args.cases.split(",") if part)
    unknown = set(cases) - {"bare", *GATEWAY_CASES, "sync"}
    if unknown:
        parser.error(f"--cases: unknown {sorted(unknown)}")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    opts = Options(
        reps=args.reps,
        cases=cases,
        duration_s=args.duration_s,
        warmup_s=args.warmup_s,
        slices_before=args.slices_before,
        slices_after=args.slices_after,
        server_cpu=args.server_cpu,
        load_cpu=args.load_cpu,
        work_dir=args.work_dir,
        out=args.out or DEFAULT_OUT_DIR / f"bench_lobby-{stamp}.jsonl",
        profile_dir=args.profile,
        quiet_wait_s=args.quiet_wait_s,
        sync_via=args.sync_via,
    )
    return opts, args.summarize


def _cpus(text: str) -> set[int]:
    """A taskset CPU list (`1`, `0-1`, `0,2`) as a set."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def main(argv: Sequence[str] | None = None) -> int:
    opts, summarize_only = parse_options(argv)
    if summarize_only is not None:
        rows = [json.loads(line) for line in summarize_only.read_text().splitlines()]
        print(summarize([row for row in rows if "case" in row]))
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 2
    # This script's own work (the sync's uploads, /metrics) stays off the server's core.
    os.sched_setaffinity(0, _cpus(opts.load_cpu))
    try:
        results = run(opts)
    finally:
        shutil.rmtree(opts.work_dir / "template", ignore_errors=True)
    print(summarize(results))
    print(f"\nraw results: {opts.out}")
    bad = [r for r in results if r.get("unexpected") or r.get("sync_error")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
