"""The daily GGR report over 10,000,000 events on the embedded DuckDB store, one core.

Issue 13's goal: day x brand x market x provider x currency with exact active players
in < 0.25 s on one core (first bar < 0.5 s). How the events get there: DuckDB itself
generates them, a million at a time, into the store's staging table, and the store's
own apply SQL (`adapters.reporting.duckdb_rollups.apply_staged`, what `apply` runs after
its appender) moves them into `events` and the rollups, one transaction per chunk; the
cursor moves with each. So the file is what the relay would have built, without 10M
Python objects. The shape follows the reference measurement
(`../shared/reference/reporting.md` §5.4): 30 days, 4 brands, 9 markets, 20 providers,
2,000 games, 200,000 players (each of one brand, market and currency), 48 % bets, 40 %
wins, 2 % rollbacks, the rest deposits, refusals and state changes.

Then, with `SET threads = 1`: the report through `DuckDbReportingStore.ggr` (end to
end: the store's thread, SQL, rows to `GgrRow`), its SQL alone, a coarser report
(market x currency over the month, distinct players from the set), and for comparison
the plain GROUP BY over the raw events without and with exact distinct players. Last,
what `apply` costs for a relay batch of 5,000 Python events on the full file.

    python -m loadtests.bench_reporting                        # 10M events, 7 repeats
    python -m loadtests.bench_reporting --events 1000000 --keep /tmp/r.duckdb
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from adapters.reporting.duckdb_ggr import ggr_sql
from adapters.reporting.duckdb_rollups import STAGE_DDL, apply_staged
from adapters.reporting.duckdb_schema import open_schema
from adapters.reporting.duckdb_store import DuckDbReportingStore
from core.reporting.events import EventKind, ReportEvent
from core.reporting.store import GgrQuery
from loadtests._measure import cpu_model

DAY0 = date(2026, 11, 1)
DAYS = 30
DAY0_US = 1_793_491_200_000_000  # 2026-11-01T00:00:00Z
CHUNK_EVENTS = 1_000_000
BATCH_EVENTS = 5_000
DAILY = ("day", "brand", "market", "provider", "currency")

_GENERATE = """INSERT INTO stage_events
SELECT i + 1, 0, $day0_us + i * $step_us,
    CASE WHEN k < 48 THEN 'bet' WHEN k < 88 THEN 'win' WHEN k < 90 THEN 'rollback'
         WHEN k < 94 THEN 'deposit' WHEN k < 97 THEN 'refusal' ELSE 'settled' END,
    'p' || p,
    ['brand-a', 'brand-b', 'brand-c', 'brand-d'][p % 4 + 1],
    ['MT', 'GB', 'SE', 'DE', 'NL', 'DK', 'ES', 'CA-ON', 'IT'][p % 9 + 1],
    ['EUR', 'GBP', 'SEK', 'EUR', 'EUR', 'DKK', 'EUR', 'CAD', 'EUR'][p % 9 + 1],
    CASE WHEN k >= 90 AND k < 94 THEN '_cashier' ELSE 'prov-' || (g % 20) END,
    'tx-' || i,
    CASE WHEN k < 88 OR k >= 94 THEN 'game-' || g ELSE '' END,
    'slots',
    CASE WHEN k < 90 THEN 'r' || (i // 3) ELSE '' END,
    100 + a,
    CASE WHEN k < 48 THEN -(100 + a) WHEN k < 88 THEN 2 * a WHEN k < 90 THEN 100 + a
         WHEN k < 94 THEN 10000 ELSE 0 END,
    CASE WHEN k < 48 AND b = 0 THEN -50 ELSE 0 END,
    a * 10, 0, CASE WHEN k >= 94 AND k < 97 THEN 'insufficient_funds' ELSE '' END, '',
    NULL
FROM (
    SELECT i, CAST(hash(i) % 100 AS INTEGER) AS k, CAST(hash(i * 8 + 1) % 200000 AS BIGINT) AS p,
        CAST(hash(i * 8 + 2) % 2000 AS BIGINT) AS g, CAST(hash(i * 8 + 3) % 1000 AS BIGINT) AS a,
        CAST(hash(i * 8 + 4) % 10 AS INTEGER) AS b
    FROM range($first, $end) AS t(i)
)"""

_RAW = """SELECT day, brand, market, provider, currency,
    count(*) FILTER (WHERE kind = 'bet') AS bets,
    sum(-real_delta_minor) FILTER (WHERE kind = 'bet') AS stake_real,
    sum(-bonus_delta_minor) FILTER (WHERE kind = 'bet') AS stake_bonus,
    sum(real_delta_minor) FILTER (WHERE kind = 'win') AS win_real,
    sum(bonus_delta_minor) FILTER (WHERE kind = 'win') AS win_bonus,
    sum(real_delta_minor) FILTER (WHERE kind = 'rollback') AS back_real,
    sum(bonus_delta_minor) FILTER (WHERE kind = 'rollback') AS back_bonus,
    sum(-real_delta_minor - bonus_delta_minor) AS ggr{players}
FROM events WHERE kind IN ('bet', 'win', 'rollback') AND day BETWEEN ? AND ?
GROUP BY ALL"""


def build(path: Path, events: int) -> float:
    """Fill a new file with `events` generated events through the store's apply SQL."""
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    try:
        open_schema(con, f"duckdb {path}")
        con.execute(STAGE_DDL)
        step_us = DAYS * 86_400_000_000 // events
        for first in range(0, events, CHUNK_EVENTS):
            end = min(first + CHUNK_EVENTS, events)
            con.execute("BEGIN TRANSACTION")
            con.execute(
                _GENERATE,
                {"day0_us": DAY0_US, "step_us": step_us, "first": first, "end": end},
            )
            apply_staged(con)
            con.execute("UPDATE cursor SET seq = ? WHERE id = 1", [end])
            con.execute("COMMIT")
            print(f"  {end:>11,} events  {time.perf_counter() - started:6.1f} s", flush=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return time.perf_counter() - started


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """(median s, min s, last result) of `repeats` calls after one warm-up call."""
    result = fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), result


def relay_batch(first_seq: int) -> list[ReportEvent]:
    """A relay-sized batch of Python events, past the generated ones, on the last day."""
    at_us = DAY0_US + (DAYS - 1) * 86_400_000_000
    return [
        ReportEvent(first_seq + n, 0, at_us + n, EventKind.BET if n % 2 else EventKind.WIN,
                    f"p{n * 7919 % 200_000}", "brand-a", "MT", "EUR", f"prov-{n % 20}",
                    f"bx-{first_seq + n}", f"game-{n % 2000}", "slots", f"br{(first_seq + n) // 2}",
                    100, -100 if n % 2 else 150, 0, 1_000, 0, "", "", None)
        for n in range(BATCH_EVENTS)
    ]  # fmt: skip


async def measure(path: Path, repeats: int) -> None:
    store = await DuckDbReportingStore.open(path, threads_max=1)
    try:
        last_day = DAY0 + timedelta(days=DAYS - 1)
        daily = GgrQuery(DAY0, last_day, DAILY)
        coarse = GgrQuery(DAY0, last_day, ("market", "currency"))

        def on_thread(fn: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
            return asyncio.run_coroutine_threadsafe(store._thread.call(fn), loop).result()

        async def sql_timed(sql: str, params: list[Any], times: int) -> tuple[float, float, Any]:
            def run() -> Any:
                return on_thread(lambda con: con.execute(sql, params).fetchall())

            return await asyncio.to_thread(timed, run, times)

        loop = asyncio.get_running_loop()
        report = await asyncio.to_thread(
            timed, lambda: asyncio.run_coroutine_threadsafe(store.ggr(daily), loop).result(),
            repeats,
        )  # fmt: skip
        print(f"daily GGR report, store.ggr() end to end: median {report[0]:.3f} s, "
              f"min {report[1]:.3f} s, {len(report[2]):,} rows")  # fmt: skip
        for name, query in (("daily", daily), ("market x currency, month", coarse)):
            sql, params = ggr_sql(query)
            median, fastest, rows = await sql_timed(sql, params, repeats)
            print(f"{name} report SQL on the rollups: median {median:.3f} s, "
                  f"min {fastest:.3f} s, {len(rows):,} rows")  # fmt: skip
        distinct = ",\n    count(DISTINCT player_id) FILTER (WHERE kind = 'bet')"
        for label, players in (("", ""), (" + COUNT(DISTINCT player_id)", distinct)):
            raw = _RAW.format(players=players)
            median, fastest, rows = await sql_timed(raw, [DAY0, last_day], max(3, repeats // 2))
            print(f"plain GROUP BY over raw events{label}: median {median:.3f} s, "
                  f"min {fastest:.3f} s, {len(rows):,} rows")  # fmt: skip
        through = await store.cursor()
        times = []
        for _ in range(repeats):
            batch = relay_batch(through + 1)
            through += BATCH_EVENTS
            started = time.perf_counter()
            await store.apply(batch, through, {("p1", "EUR"): (1, 0)})
            times.append(time.perf_counter() - started)
        print(f"apply() of {BATCH_EVENTS:,} Python events on the full file: median "
              f"{statistics.median(times):.3f} s, min {min(times):.3f} s")  # fmt: skip
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the file here")
    args = parser.parse_args(argv)
    print("command: python -m loadtests.bench_reporting " + " ".join(argv or sys.argv[1:]))
    print(f"duckdb {duckdb.__version__}, cpu {cpu_model()}")
    directory = Path(tempfile.mkdtemp(prefix="bench_reporting-"))
    path = args.keep or directory / "reporting.duckdb"
    try:
        if not path.exists():
            print(f"building {args.events:,} events in {path} (chunks of {CHUNK_EVENTS:,})")
            seconds = build(path, args.events)
            print(f"built in {seconds:.1f} s ({args.events / seconds:,.0f} events/s), "
                  f"file {path.stat().st_size / 1e6:,.0f} MB")  # fmt: skip
        asyncio.run(measure(path, args.repeats))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
