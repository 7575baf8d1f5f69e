"""The embedded reporting store: one DuckDB file in the data directory, no server.

DuckDB lets one process hold a file read-write, so the process running the relay is
the one that serves reports from this store. Every call runs on one thread that owns
the connection (`adapters.reporting.duckdb_thread`); the tables and the rollups are in
`duckdb_schema` and `duckdb_rollups`, the report in `duckdb_ggr`.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from adapters.reporting.duckdb_extracts import day_sums, market_day_events, open_rounds
from adapters.reporting.duckdb_ggr import ggr_sql
from adapters.reporting.duckdb_rollups import STAGE_DDL, apply_staged
from adapters.reporting.duckdb_schema import open_schema
from adapters.reporting.duckdb_thread import DuckDbThread
from adapters.reporting.reporting_ggr import ggr_rows
from adapters.reporting.store_rules import (
    check_cursor_forward,
    check_events_through,
    known_balances,
    request_rows,
)
from core.reporting.events import ReportEvent, RequestRecord
from core.reporting.store import (
    DaySum,
    GgrQuery,
    GgrRow,
    OpenRound,
    OpenRoundsQuery,
    ReportingStoreInUse,
)

__all__ = ["DEFAULT_STORE_TIMEOUT_S", "DuckDbReportingStore"]

DEFAULT_STORE_TIMEOUT_S = 30.0
"""Per call: far above an `apply` of a relay batch (milliseconds), enough for a report
over months of rollups."""

_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600


class DuckDbReportingStore:
    """`ReportingStore` over one DuckDB file. Create with `await DuckDbReportingStore.open`."""

    def __init__(self, path: Path, thread: DuckDbThread) -> None:
        self.path = path
        self._thread = thread

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        store_timeout_s: float = DEFAULT_STORE_TIMEOUT_S,
        threads_max: int | None = None,
    ) -> DuckDbReportingStore:
        """Open (or create) the file at `path`, migrating its schema.

        `threads_max` caps DuckDB's worker threads (default: one per core), so a long
        report cannot take every core from the gateway in the same process. Raises
        `ReportingSchemaError` for a file written by a newer build."""
        thread = DuckDbThread(store_timeout_s)
        await thread.start(lambda: _connect(path, threads_max))
        return cls(path, thread)

    async def cursor(self) -> int:
        return await self._thread.call(_cursor)

    async def positions(self) -> Mapping[str, str]:
        return dict(await self._thread.call(_positions))

    async def balances(
        self, keys: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[int, int]]:
        wanted = list(keys)

        def read(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, int]]:
            return con.execute(
                "SELECT b.player_id, b.currency, b.real_minor, b.bonus_minor FROM balances AS b "
                "JOIN (SELECT unnest(?::VARCHAR[]) AS player_id, unnest(?::VARCHAR[]) AS currency)"
                " AS k USING (player_id, currency)",
                [[player for player, _ in wanted], [currency for _, currency in wanted]],
            ).fetchall()

        return known_balances(wanted, await self._thread.call(read))

    async def apply(
        self,
        events: Sequence[ReportEvent],
        through_seq: int,
        balances: Mapping[tuple[str, str], tuple[int, int]],
        positions: Mapping[str, str] | None = None,
    ) -> None:
        check_events_through(events, through_seq)
        rows = list(events)
        balance_rows = [(p, c, real, bonus) for (p, c), (real, bonus) in balances.items()]
        position_rows = sorted((positions or {}).items())

        def write(con: duckdb.DuckDBPyConnection) -> None:
            with _transaction(con):
                check_cursor_forward(_cursor(con), through_seq)
                if rows:
                    with con.appender("stage_events") as staged:
                        staged.append_rows(rows)
                    apply_staged(con)
                if balance_rows:
                    with con.appender("balances", action="upsert") as upserted:
                        upserted.append_rows(balance_rows)
                if position_rows:
                    con.executemany(_POSITION_WRITE, position_rows)
                con.execute("UPDATE cursor SET seq = ? WHERE id = 1", [through_seq])

        await self._thread.call(write)

    async def add_requests(self, requests: Sequence[RequestRecord]) -> None:
        rows = request_rows(requests)
        if not rows:
            return

        def write(con: duckdb.DuckDBPyConnection) -> None:
            with _transaction(con), con.appender("requests") as appended:
                appended.append_rows(rows)

        await self._thread.call(write)

    async def ggr(self, query: GgrQuery) -> list[GgrRow]:
        sql, parameters = ggr_sql(query)

        def read(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
            return con.execute(sql, parameters).fetchall()

        return ggr_rows(query, await self._thread.call(read))

    async def open_rounds(self, query: OpenRoundsQuery) -> list[OpenRound]:
        return await self._thread.call(lambda con: open_rounds(con, query))

    async def day_sums(self, first_day: date, last_day: date) -> list[DaySum]:
        return await self._thread.call(lambda con: day_sums(con, first_day, last_day))

    async def market_day_events(self, market: str, day: date) -> list[ReportEvent]:
        return await self._thread.call(lambda con: market_day_events(con, market, day))

    def describe(self) -> str:
        return f"duckdb {self.path}"

    async def close(self) -> None:
        await self._thread.stop()


_LOCK_HELD = "Could not set lock on file"
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")
"""DuckDB's words when another process holds the file, and the holder's PID in them."""


def _connect(path: Path, threads_max: int | None) -> duckdb.DuckDBPyConnection:
    """On the store's thread: the directory 0700, the file 0600 (it names players)."""
    path.parent.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as error:
        said = str(error)
        if _LOCK_HELD not in said:
            raise
        holder = _LOCK_HOLDER.search(said)
        by = f"process {holder.group(1)}" if holder else "another process"
        raise ReportingStoreInUse(
            f"the reporting file {path} is open in {by}; DuckDB lets one process at a time open it"
        ) from error
    try:
        if threads_max is not None:
            con.execute(f"SET threads = {int(threads_max)}")
        con.execute(STAGE_DDL)
        open_schema(con, f"duckdb {path}")
        _private(path)
    except BaseException:
        con.close()
        raise
    return con


def _private(path: Path) -> None:
    """Drop group and other bits from the file and its WAL, where we own them."""
    for file in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            status = file.stat()
            if status.st_uid == os.geteuid() and stat.S_IMODE(status.st_mode) & 0o077:
                file.chmod(stat.S_IMODE(status.st_mode) & _FILE_MODE)


_POSITION_WRITE = (
    "INSERT INTO relay_positions VALUES (?, ?) "
    "ON CONFLICT (source) DO UPDATE SET position = excluded.position"
)


def _positions(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute("SELECT source, position FROM relay_positions").fetchall()
    return [(source, position) for source, position in rows]


def _cursor(con: duckdb.DuckDBPyConnection) -> int:
    ((seq,),) = con.execute("SELECT seq FROM cursor WHERE id = 1").fetchall()
    return int(seq)


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
