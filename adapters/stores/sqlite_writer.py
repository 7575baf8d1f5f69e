"""One writer thread that owns the only SQLite connection and group-commits.

Why one connection: the SQLite bundled with Python 3.11 here (3.40) can corrupt a WAL
database when two connections write or checkpoint at once (fixed in 3.51.3), and one
writer is what WAL allows anyway. Reads go through the same thread; they are served
from the writer's caches and are cheap. A batch's reads run first and are answered at
once, from the last commit: a balance asked for while others bet does not wait for
their fsync.

Jobs submitted during one turn of the event loop reach the writer's queue together, at
the start of the next turn (`_hand_over`): a writer woken by the first job of a burst
would otherwise take the GIL as soon as the loop released it (uvloop does, between
callbacks) and commit half the burst. Each writer iteration takes every queued job (up
to `batch_ops_max`) and runs its writes in one `BEGIN IMMEDIATE` transaction: jobs
decide against in-memory state and stage their rows, `flush` writes them in bulk, the
batch commits once (one WAL fsync with `synchronous=FULL`) and only then are the
writers' futures resolved, in one hop back to the event loop. A job refuses by raising
a `GatewayError` (or returning one) and has then staged at most its stored refusal: the
ledger decides a whole job (`core.wallet.step`) before it stages anything. If the
database refuses a row, or a job fails with any other exception (a bug, after which its
in-memory changes cannot be trusted), the batch is replayed with a SAVEPOINT per job so
that job fails alone. A failed COMMIT fails the batch with `StorageUnavailable`: the
callers' outcome is unknown.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from core.duration_buckets import COMMIT_SECONDS_BOUNDS, DurationBuckets
from core.errors import GatewayError, StorageUnavailable

__all__ = ["WRITER_THREAD_NAME", "Job", "SqliteWriter"]

WRITER_THREAD_NAME = "gamegate-sqlite-writer"
"""The writer thread's name (profilers and benchmarks find its CPU time by it)."""

_log = structlog.get_logger("gamegate.sqlite")

JobFn = Callable[..., Any]


@dataclass(slots=True)
class Job:
    """A unit of work for the writer thread: `fn(*args)`, undone alone if it raises."""

    fn: JobFn
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    writes: bool = True
    prefetch: Any = None
    """What the job will look up, handed to the `prefetch` hook with the rest of its batch."""
    result: Any = None
    error: BaseException | None = field(default=None)


_STOP = object()
COALESCE_OPS_TARGET = 32
"""A waiting batch commits as soon as it holds this many operations."""
COMMIT_DELAY_S_MAX = 0.01


class SqliteWriter:
    """The writer thread and its queue. Create with `start()`, stop with `stop()`."""

    def __init__(
        self,
        conn_factory: Callable[[], sqlite3.Connection],
        *,
        batch_ops_max: int,
        queue_depth_max: int,
        commit_delay_s: float = 0.0,
    ) -> None:
        assert batch_ops_max >= 1
        assert queue_depth_max >= 1
        self._conn_factory = conn_factory
        self.batch_ops_max = batch_ops_max
        self.queue_depth_max = queue_depth_max
        assert 0 <= commit_delay_s <= COMMIT_DELAY_S_MAX
        self.commit_delay_s = commit_delay_s
        self._queue: queue.SimpleQueue[Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._depth = 0
        self._pending: list[Job] = []
        """Jobs submitted in this turn of the event loop, not yet handed to the writer."""
        self.conn: sqlite3.Connection | None = None
        self.flush: Callable[[], None] = lambda: None
        """Writes what the jobs staged; runs in the writer thread inside the transaction."""
        self.on_batch_failed: Callable[[], None] = lambda: None
        """Forgets in-memory state after a rollback (the database is the truth): of the
        batch, or, when isolating, of the job rolled back to its savepoint."""
        self.after_batch: Callable[[], None] = lambda: None
        """Runs after every batch, before its writes' callers are answered (its reads'
        may have been answered already)."""
        self.prefetch: Callable[[list[Any]], None] = lambda _keys: None
        """Bulk-loads what a batch's jobs will look up, before they run."""
        self.commits = 0
        self.ops = 0
        self.commit_durations = DurationBuckets(COMMIT_SECONDS_BOUNDS)
        """Each COMMIT: the WAL written and fsynced, and a checkpoint when one is due."""

    async def start(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        """Open the connection in the writer thread and run `setup` there."""
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(setup, ready), name=WRITER_THREAD_NAME, daemon=True
        )
        self._thread.start()
        await ready

    async def stop(self) -> None:
        if self._thread is None:
            return
        self._hand_over()  # what was submitted before stop runs first
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    @property
    def queue_depth(self) -> int:
        """Jobs submitted and not yet answered (read on the event loop's thread)."""
        return self._depth

    def submit(
        self,
        fn: JobFn,
        args: tuple[Any, ...] = (),
        *,
        writes: bool = True,
        prefetch: Any = None,
    ) -> asyncio.Future[Any]:
        """Queue `fn(*args)`; the future resolves after the batch that ran it is durable."""
        assert self._loop is not None, "writer not started"
        if self._thread is None:
            raise StorageUnavailable("wallet store is closed")
        if self._depth >= self.queue_depth_max:
            raise StorageUnavailable("wallet store queue is full")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._depth += 1
        pending = self._pending
        pending.append(Job(fn, args, future, writes, prefetch))
        if len(pending) == 1:
            self._loop.call_soon(self._hand_over)
        return future

    def _hand_over(self) -> None:
        """Queue this turn's jobs in one go (no GIL release between the puts)."""
        jobs, self._pending = self._pending, []
        put = self._queue.put
        for job in jobs:
            put(job)

    # -- writer thread ---------------------------------------------------------

    def _run(
        self, setup: Callable[[sqlite3.Connection], None], ready: asyncio.Future[None]
    ) -> None:
        assert self._loop is not None
        try:
            self.conn = self._conn_factory()
            setup(self.conn)
        except BaseException as exc:  # noqa: BLE001 -- handed to the starting coroutine
            self._loop.call_soon_threadsafe(_set_exception, ready, exc)
            return
        self._loop.call_soon_threadsafe(_set_result, ready, None)
        previous_batch_ops = 0
        while True:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            stop = self._drain(batch)
            if not stop and self._should_wait_for_more(batch, previous_batch_ops):
                stop = self._drain(batch, wait_s=self.commit_delay_s)
            previous_batch_ops = len(batch)
            self._run_batch(batch)  # type: ignore[arg-type]  # -- _STOP never enters a batch
            if stop:
                break
        self.conn.close()

    def _should_wait_for_more(self, batch: list[Job | object], previous_batch_ops: int) -> bool:
        """Wait briefly for company only under concurrent load (the last batch had some).

        A lone caller (previous batch of one) never waits, so single-request latency is
        unchanged; under load a commit that would carry a handful of operations waits up
        to `commit_delay_s` to carry more, since each durable commit costs far more CPU
        than an operation in it.
        """
        return (
            self.commit_delay_s > 0
            and previous_batch_ops > 1
            and len(batch) < min(self.batch_ops_max, COALESCE_OPS_TARGET)
            and any(isinstance(job, Job) and job.writes for job in batch)
        )

    def _drain(self, batch: list[Job | object], *, wait_s: float = 0.0) -> bool:
        """Take queued jobs into `batch`; with `wait_s`, keep taking until that deadline."""
        deadline_s = time.monotonic() + wait_s
        while len(batch) < self.batch_ops_max:
            try:
                if wait_s > 0:
                    remaining_s = deadline_s - time.monotonic()
                    if remaining_s <= 0:
                        return False
                    item = self._queue.get(timeout=remaining_s)
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)
            if wait_s > 0 and len(batch) >= COALESCE_OPS_TARGET:
                return False
        return False

    def _run_batch(self, batch: list[Job]) -> None:
        conn = self.conn
        assert conn is not None
        assert self._loop is not None
        writes = [job for job in batch if job.writes]
        if len(writes) < len(batch):
            # Reads first, answered at once: they see the last commit (memory and file
            # agree between batches), and need not wait for this batch's decisions and
            # its fsync. Every job here was submitted before any of them ran, so none
            # was waiting for another's answer: any order of them is a valid one.
            reads = [job for job in batch if not job.writes]
            for job in reads:
                self._run_read(job)
            self._loop.call_soon_threadsafe(self._deliver, reads)
        if writes:
            self._run_write_batch(conn, writes)
        self.after_batch()
        self.ops += len(batch)
        if writes:
            self._loop.call_soon_threadsafe(self._deliver, writes)

    def _run_write_batch(self, conn: sqlite3.Connection, batch: list[Job]) -> None:
        """One transaction for the whole batch; one SAVEPOINT per job only if needed.

        Jobs are decided against the in-memory state and stage their rows, which are
        written in bulk by `flush` before COMMIT. If the database refuses a row (an
        IntegrityError: a bug or a foreign writer) or a job raises something other than
        a refusal, the transaction is rolled back and the batch replayed one SAVEPOINT
        per job, so only the offending job fails.
        """
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._prefetch(batch)
            try:
                for job in batch:
                    self._run_staged(job)
                self.flush()
            except sqlite3.IntegrityError as exc:
                self._isolate(conn, batch, exc)
            except sqlite3.Error:
                raise
            except Exception as exc:  # noqa: BLE001 -- a job's bug: it fails alone
                self._isolate(conn, batch, exc)
            with self.commit_durations.timing():
                conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            self._fail_batch(conn, batch, exc)

    def _prefetch(self, batch: list[Job]) -> None:
        """Load what the jobs will look up. Only an optimisation: a job whose keys cannot
        even be looked up (a bug upstream let a string SQLite cannot encode through) must
        fail alone, in its own lookup, not take the writer thread down with the batch."""
        try:
            self.prefetch([job.prefetch for job in batch if job.prefetch is not None])
        except sqlite3.Error:
            raise
        except Exception as exc:  # noqa: BLE001 -- the jobs repeat the lookups themselves
            _log.warning("wallet_prefetch_failed", error=type(exc).__name__, ops=len(batch))

    def _isolate(self, conn: sqlite3.Connection, batch: list[Job], exc: Exception) -> None:
        _log.warning("wallet_batch_isolating", error=repr(exc), ops=len(batch))
        conn.execute("ROLLBACK")
        self.on_batch_failed()
        conn.execute("BEGIN IMMEDIATE")
        for job in batch:
            self._run_isolated(conn, job)

    @staticmethod
    def _run_read(job: Job) -> None:
        try:
            job.result = job.fn(*job.args)
        except Exception as exc:  # noqa: BLE001 -- delivered to the caller
            job.error = _delivered(exc)

    @staticmethod
    def _run_staged(job: Job) -> None:
        """Run a job whose writes are staged. A refusal changed nothing; anything else a
        job raises propagates, and the caller isolates the batch."""
        job.result, job.error = None, None
        try:
            job.result = job.fn(*job.args)
        except GatewayError as exc:  # a refusal, delivered to the caller
            job.error = _delivered(exc)

    def _run_isolated(self, conn: sqlite3.Connection, job: Job) -> None:
        """Run and write one job inside its own SAVEPOINT; a refused row fails it alone."""
        if not job.writes:
            self._run_read(job)
            return
        conn.execute("SAVEPOINT op")
        try:
            self._run_staged(job)
            self.flush()
        except sqlite3.IntegrityError as exc:
            _log.error("wallet_job_integrity_error", error=str(exc))
            self._roll_back_job(conn, job, StorageUnavailable("wallet store refused the write"))
        except sqlite3.Error:
            raise
        except Exception as exc:  # noqa: BLE001 -- a bug: delivered to the caller
            _log.error("wallet_job_failed", exc_info=exc)
            self._roll_back_job(conn, job, exc)
        conn.execute("RELEASE op")

    def _roll_back_job(self, conn: sqlite3.Connection, job: Job, error: Exception) -> None:
        conn.execute("ROLLBACK TO op")
        self.on_batch_failed()  # the job's in-memory changes went with its savepoint
        job.result = None
        job.error = error

    def _fail_batch(self, conn: sqlite3.Connection, batch: list[Job], exc: sqlite3.Error) -> None:
        _log.error("wallet_batch_failed", error=str(exc), ops=len(batch))
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as rollback_exc:
            _log.error("wallet_rollback_failed", error=str(rollback_exc))
        for job in batch:
            if job.writes or job.error is None:
                job.result = None
                job.error = StorageUnavailable("wallet store failed; outcome unknown, retry")
        self.on_batch_failed()

    def _deliver(self, batch: list[Job]) -> None:
        self._depth -= len(batch)
        for job in batch:
            if job.future.done():
                continue
            if job.error is not None:
                job.future.set_exception(job.error)
            else:
                job.future.set_result(job.result)


def _delivered(exc: Exception) -> Exception:
    """A refusal travels without its traceback, whose frames reach this thread's whole
    batch: kept, they would make every job of the batch cyclic garbage. Anything else
    is a bug and keeps its traceback for the log."""
    return exc.with_traceback(None) if isinstance(exc, GatewayError) else exc


def _set_result(future: asyncio.Future[None], value: None) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
