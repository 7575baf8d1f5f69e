"""Instructions per wallet operation of the writer's own work, counted by callgrind.

Why: on a shared machine the same code moves by up to 25 % in seconds, while an
instruction count is the same to the instruction run after run. This drives the
writer's work in one thread (bulk prefetch, decide and stage, flush, COMMIT; the
bench_wallet workload, batches of 256) and runs it twice under
`valgrind --tool=callgrind`, with and without the measured batches: the difference
over the measured operations is the count per operation. It cannot see system time
(WAL writes, fsync), so pair it with `bench_wallet`.

    python -m loadtests.writer_instructions            # needs valgrind; ~1 minute
    python -m loadtests.writer_instructions --drive    # the driver alone, CPU µs/op
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adapters.stores.sqlite_ledger import SqliteLedger
from adapters.stores.sqlite_schema import apply_pragmas, create_schema
from core.errors import GatewayError
from loadtests._measure import REPO_ROOT
from loadtests.bench_wallet import Workload, seed_template

__all__ = ["drive", "main"]

BATCH_OPS = 256
WARM_BATCHES = 32
MEASURED_BATCHES = 64
PLAYERS = 10_000
SEED = 7
DEFAULT_TEMPLATE = REPO_ROOT / "var" / "bench" / "writer-template.db"
VALGRIND_TIMEOUT_S = 900
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def drive(template: Path, warm_batches: int, measured_batches: int, players: int) -> float:
    """Run the batches on a copy of `template`; CPU µs per measured operation."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "wallet.db"
        shutil.copyfile(template, path)
        conn = sqlite3.connect(path, isolation_level=None, cached_statements=256)
        try:
            apply_pragmas(conn, synchronous="FULL")
            create_schema(conn)
            ledger = SqliteLedger(conn, lambda: time.time_ns() // 1_000)
            load, rng = Workload(players), random.Random(SEED)
            gc.disable()  # the collector's share is bench_wallet's to measure
            for _ in range(warm_batches):
                _batch(conn, ledger, load, rng)
            started_s = time.thread_time()
            for _ in range(measured_batches):
                _batch(conn, ledger, load, rng)
            elapsed_s = time.thread_time() - started_s
        finally:
            gc.enable()
            conn.close()
    return elapsed_s / max(1, measured_batches * BATCH_OPS) * 1e6


def _batch(
    conn: sqlite3.Connection, ledger: SqliteLedger, load: Workload, rng: random.Random
) -> None:
    """One group commit, as the writer thread runs it."""
    commands = [load.next_command(rng) for _ in range(BATCH_OPS)]
    conn.execute("BEGIN IMMEDIATE")
    ledger.prefetch([[command] for _, command in commands])
    answers = [ledger.apply_or_refuse([command], None, None) for _, command in commands]
    ledger.flush()
    conn.execute("COMMIT")
    ledger.trim_caches()
    for (kind, command), answer in zip(commands, answers, strict=True):
        applied = not isinstance(answer, GatewayError) and not answer[0].replay
        load.completed(kind, command, applied=applied)


def _ensure_template(template: Path, players: int) -> None:
    if template.exists():
        return
    template.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(seed_template(template, players))
    with sqlite3.connect(template) as conn:  # into the main file: a copy is then whole
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _callgrind_total(template: Path, measured_batches: int, players: int) -> int:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "loadtests.writer_instructions", "--drive",
        "--template", str(template), "--measured-batches", str(measured_batches),
        "--players", str(players),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=VALGRIND_TIMEOUT_S
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.writer_instructions")
    parser.add_argument("--drive", action="store_true", help="run the driver alone")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument("--measured-batches", type=int, default=MEASURED_BATCHES)
    parser.add_argument("--players", type=int, default=PLAYERS)
    args = parser.parse_args(argv)
    _ensure_template(args.template, args.players)
    if args.drive:
        cpu_us = drive(args.template, WARM_BATCHES, args.measured_batches, args.players)
        print(f"{cpu_us:.1f} CPU µs/op (single thread, no GC)", file=sys.stderr)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is needed: apt-get install -y valgrind", file=sys.stderr)
        return 2
    without = _callgrind_total(args.template, 0, args.players)
    with_measured = _callgrind_total(args.template, args.measured_batches, args.players)
    per_op = (with_measured - without) / (args.measured_batches * BATCH_OPS)
    print(f"{per_op / 1000:.1f}k instructions/op (callgrind, {args.measured_batches} batches)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
