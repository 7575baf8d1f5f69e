"""The one thread that owns the DuckDB connection, so the event loop never waits on it.

DuckDB calls are synchronous and can take a while (a report over months, a big batch);
they run here, one at a time, in submission order. Each call is bounded by
`store_timeout_s`: past it the caller gets `StorageUnavailable` and the running
statement is interrupted (its transaction rolls back), so a stuck report cannot hold the
relay's writes behind it forever. DuckDB's own errors reach the caller as
`StorageUnavailable` too (the relay retries); anything else (a `ValueError` for a bad
argument) as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import duckdb

from core.errors import StorageUnavailable

__all__ = ["THREAD_NAME", "DuckDbThread"]

THREAD_NAME = "gamegate-duckdb"

T = TypeVar("T")


class DuckDbThread:
    """Start with `start(connect)`, run work with `call(fn)`, end with `stop()`."""

    def __init__(self, store_timeout_s: float) -> None:
        assert store_timeout_s > 0
        self.store_timeout_s = store_timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._running: object | None = None
        """The token of the call the thread is in, so a timeout interrupts only its own."""

    async def start(self, connect: Callable[[], duckdb.DuckDBPyConnection]) -> None:
        """Open the connection on the thread (no time limit: opening replays the WAL)."""
        loop = asyncio.get_running_loop()
        try:
            self._con = await loop.run_in_executor(self._executor, connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    async def call(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`fn(connection)` on the thread, within `store_timeout_s`."""
        loop = asyncio.get_running_loop()
        token = object()
        future = loop.run_in_executor(self._executor, self._run, token, fn)
        try:
            return await asyncio.wait_for(future, self.store_timeout_s)
        except TimeoutError:
            if self._running is token and self._con is not None:
                self._con.interrupt()
            raise StorageUnavailable(
                f"the reporting store did not answer within {self.store_timeout_s} s"
            ) from None
        except duckdb.Error as error:
            raise StorageUnavailable(f"reporting store: {error}") from error

    def _run(self, token: object, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        con = self._con
        if con is None:
            raise StorageUnavailable("the reporting store is closed")
        self._running = token
        try:
            return fn(con)
        finally:
            self._running = None

    async def stop(self) -> None:
        """Close the connection after the calls already queued; idempotent."""
        if self._con is None:
            return
        con, loop = self._con, asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, con.close)
        self._con = None
        self._executor.shutdown(wait=False)
