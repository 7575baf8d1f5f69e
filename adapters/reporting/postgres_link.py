"""One PostgreSQL connection the reporting store runs its work on, one call at a time.

The store holds two: the relay's (cursor, balances, apply) and the reports' (read
only), so a long report never holds the relay back, and no pool is needed. Each call is
bounded by `store_timeout_s`: the server cancels any statement past it
(`statement_timeout`) and the client gives up on the whole call a moment later. A
PostgreSQL error, a lost server or a timeout reaches the caller as `StorageUnavailable`
(the relay retries); a connection that broke or timed out is dropped and the next call
connects again. Anything else (a `ValueError` for a bad argument) passes as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict

from core.errors import StorageUnavailable

__all__ = ["CLIENT_GRACE_S", "PostgresLink"]

CLIENT_GRACE_S = 2.0
"""How long past `store_timeout_s` the client waits for the server's own cancel."""

T = TypeVar("T")


class PostgresLink:
    """`run(work)` runs `work(connection)` alone on this link; `close()` ends it."""

    def __init__(
        self,
        conninfo: str,
        describe: str,
        *,
        store_timeout_s: float,
        connect_timeout_s: float,
        read_only: bool = False,
        schema: str | None = None,
    ) -> None:
        assert store_timeout_s > 0
        assert connect_timeout_s > 0
        self.store_timeout_s = store_timeout_s
        self._conninfo = conninfo
        self._describe = describe
        self._connect_timeout_s = connect_timeout_s
        given = conninfo_to_dict(conninfo).get("options")  # the URL's own come first
        settings = [] if given is None else [str(given)]
        settings += [f"-c statement_timeout={max(1, round(store_timeout_s * 1000))}"]
        if read_only:
            settings.append("-c default_transaction_read_only=on")
        if schema is not None:
            settings.append(f"-c search_path={schema}")
        self._options = " ".join(settings)
        self._con: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work(connection)` within `store_timeout_s`, connecting first if needed."""
        async with self._lock:
            con = await self._connection()
            try:
                async with asyncio.timeout(self.store_timeout_s + CLIENT_GRACE_S):
                    return await work(con)
            except TimeoutError:
                await self._drop()
                raise StorageUnavailable(self._late()) from None
            except psycopg.errors.QueryCanceled as error:
                raise StorageUnavailable(self._late()) from error
            except psycopg.Error as error:
                if con.broken or con.closed:
                    await self._drop()
                raise StorageUnavailable(f"{self._describe}: {error}") from error

    async def close(self) -> None:
        """Close the connection; idempotent."""
        async with self._lock:
            await self._drop()

    async def _connection(self) -> AsyncConnection:
        if self._con is not None and not self._con.closed:
            return self._con
        try:
            async with asyncio.timeout(self._connect_timeout_s + CLIENT_GRACE_S):
                self._con = await AsyncConnection.connect(
                    self._conninfo,
                    autocommit=True,
                    connect_timeout=max(1, round(self._connect_timeout_s)),
                    options=self._options,
                    application_name="gamegate-reporting",
                )
        except (psycopg.Error, TimeoutError) as error:
            raise StorageUnavailable(
                f"{self._describe} cannot be reached within {self._connect_timeout_s} s: "
                f"{str(error) or type(error).__name__}"
            ) from error
        return self._con

    async def _drop(self) -> None:
        con, self._con = self._con, None
        if con is not None:
            await con.close()

    def _late(self) -> str:
        return f"{self._describe} did not answer within {self.store_timeout_s} s"
