"""One writer thread that owns the only SQLite connection and group-commits.

Why one connection: the SQLite bundled with Python 3.11 here (3.40) can corrupt a WAL
database when two connections write or checkpoint at once (fixed in 3.51.3), and one
writer is what WAL allows anyway. Reads go through the same thread; they are served
from the writer's caches and are cheap.

Each loop iteration takes every queued job (up to `batch_ops_max`), runs each in its own
SAVEPOINT inside one `BEGIN IMMEDIATE` transaction, commits once (one WAL fsync with
`synchronous=FULL`) and only then resolves the callers' futures, in one hop back to
the event loop. A job that raises rolls back alone; a failed COMMIT fails the batch
with `StorageUnavailable`, since its outcome is then unknown to the callers.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from core.errors import StorageUnavailable

__all__ = ["Job", "SqliteWriter"]

_log = structlog.get_logger("gamegate.sqlite")

JobFn = Callable[[], Any]


@dataclass(slots=True)
class Job:
    """A unit of work for the writer thread; `fn` runs inside its own savepoint."""

    fn: JobFn
    future: asyncio.Future[Any]
    writes: bool = True
    on_rollback: Callable[[], None] | None = None
    result: Any = None
    error: BaseException | None = field(default=None)


_STOP = object()


class SqliteWriter:
    """The writer thread and its queue. Create with `start()`, stop with `stop()`."""

    def __init__(
        self,
        conn_factory: Callable[[], sqlite3.Connection],
        *,
        batch_ops_max: int,
        queue_depth_max: int,
    ) -> None:
        assert batch_ops_max >= 1
        assert queue_depth_max >= 1
        self._conn_factory = conn_factory
        self.batch_ops_max = batch_ops_max
        self.queue_depth_max = queue_depth_max
        self._queue: queue.SimpleQueue[Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._depth = 0
        self.conn: sqlite3.Connection | None = None
        self.on_batch_failed: Callable[[], None] = lambda: None
        self.commits = 0
        self.ops = 0

    async def start(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        """Open the connection in the writer thread and run `setup` there."""
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(setup, ready), name="gamegate-sqlite-writer", daemon=True
        )
        self._thread.start()
        await ready

    async def stop(self) -> None:
        if self._thread is None:
            return
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    def submit(
        self, fn: JobFn, *, writes: bool = True, on_rollback: Callable[[], None] | None = None
    ) -> asyncio.Future[Any]:
        """Queue `fn`; the future resolves after the batch that ran it is durable."""
        assert self._loop is not None, "writer not started"
        if self._thread is None:
            raise StorageUnavailable("wallet store is closed")
        if self._depth >= self.queue_depth_max:
            raise StorageUnavailable("wallet store queue is full")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._depth += 1
        self._queue.put(Job(fn, future, writes, on_rollback))
        return future

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
        while True:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            stop = self._drain(batch)
            self._run_batch(batch)  # type: ignore[arg-type]  # -- _STOP never enters a batch
            if stop:
                break
        self.conn.close()

    def _drain(self, batch: list[Job | object]) -> bool:
        while len(batch) < self.batch_ops_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)
        return False

    def _run_batch(self, batch: list[Job]) -> None:
        conn = self.conn
        assert conn is not None
        writes = any(job.writes for job in batch)
        try:
            if writes:
                conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                self._run_job(conn, job)
            if writes:
                conn.execute("COMMIT")
                self.commits += 1
        except sqlite3.Error as exc:
            self._fail_batch(conn, batch, exc)
        self.ops += len(batch)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._deliver, batch)

    def _run_job(self, conn: sqlite3.Connection, job: Job) -> None:
        if not job.writes:
            try:
                job.result = job.fn()
            except Exception as exc:  # noqa: BLE001 -- delivered to the caller
                job.error = exc
            return
        conn.execute("SAVEPOINT op")
        try:
            job.result = job.fn()
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
            if not isinstance(exc, sqlite3.IntegrityError):
                self._rollback_job(conn, job)
                raise
            _log.error("wallet_job_integrity_error", error=str(exc))
            job.error = StorageUnavailable("wallet store refused the write")
            self._rollback_job(conn, job)
        except Exception as exc:  # noqa: BLE001 -- delivered to the caller
            job.error = exc
            self._rollback_job(conn, job)
        conn.execute("RELEASE op")

    @staticmethod
    def _rollback_job(conn: sqlite3.Connection, job: Job) -> None:
        """Undo one job: its savepoint in the database and its cache changes."""
        conn.execute("ROLLBACK TO op")
        if job.on_rollback is not None:
            job.on_rollback()

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


def _set_result(future: asyncio.Future[None], value: None) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
