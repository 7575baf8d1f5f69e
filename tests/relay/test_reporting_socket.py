"""The relay child's socket API (`gateway.reporting_server`) and serve's client of it
(`adapters.reporting.socket_client`), over a real unix socket and a real DuckDB store:
request records go in, reports and the relay's figures come out, the socket is the
owner's alone and gone afterwards, a stale one is replaced, and a socket nobody serves
is `StorageUnavailable`."""

from __future__ import annotations

import asyncio
import datetime
import socket
import stat
from pathlib import Path

import pytest

from adapters.reporting.open import open_reporting_store
from adapters.reporting.socket_client import SocketReporting
from core.errors import StorageUnavailable
from core.reporting.events import RequestRecord
from core.reporting.store import GgrQuery, OpenRoundsQuery
from gateway.relay import RelayStats
from gateway.reporting_server import serve_reporting

RECORD = RequestRecord(1_000, "r1", "POST", "/x", "prov", "bet", "ok", 200, 35, "pl")


async def test_records_in_reports_and_figures_out(tmp_path: Path) -> None:
    path = tmp_path / "reporting.sock"
    with socket.socket(socket.AF_UNIX) as stale:  # a crashed run's socket file
        stale.bind(str(path))
    store = await open_reporting_store("", tmp_path)
    stats = RelayStats(events_total=7, cursor=5, last_seq=9, oldest_at_us=123)
    client = SocketReporting(path, timeout_s=5.0)
    try:
        async with serve_reporting(store, stats, path):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            await client.add_requests([RECORD, RECORD._replace(request_id="r2")])
            day = datetime.date(2026, 1, 1)
            assert await client.ggr(GgrQuery(day, day)) == await store.ggr(GgrQuery(day, day))
            assert await client.open_rounds(OpenRoundsQuery(10**18)) == []
            assert await client.relay_stats() == {
                "events_total": 7, "failures_total": 0, "cursor": 5, "last_seq": 9,
                "oldest_at_us": 123,
            }  # fmt: skip
        assert not path.exists()
        with pytest.raises(StorageUnavailable):
            await client.add_requests([RECORD])
    finally:
        await client.close()
        await store.close()


async def test_records_wait_for_a_process_that_is_starting(tmp_path: Path) -> None:
    path = tmp_path / "reporting.sock"
    store = await open_reporting_store("", tmp_path)
    client = SocketReporting(path, timeout_s=1.0, start_wait_s=10.0)
    try:
        writing = asyncio.create_task(client.add_requests([RECORD]))
        await asyncio.sleep(0.3)
        assert not writing.done()
        async with serve_reporting(store, RelayStats(), path):
            await asyncio.wait_for(writing, 5.0)
            day = datetime.date(2026, 1, 1)
            await client.ggr(GgrQuery(day, day))
    finally:
        await client.close()
        await store.close()


async def test_a_socket_nobody_serves_is_storage_unavailable(tmp_path: Path) -> None:
    client = SocketReporting(tmp_path / "none.sock", timeout_s=1.0)
    try:
        with pytest.raises(StorageUnavailable):
            await client.ggr(GgrQuery(datetime.date(2026, 1, 1), datetime.date(2026, 1, 1)))
    finally:
        await client.close()


async def test_a_file_that_is_no_socket_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "reporting.sock"
    path.write_text("not a socket")
    store = await open_reporting_store("", tmp_path)
    try:
        with pytest.raises(FileExistsError):
            async with serve_reporting(store, RelayStats(), path):
                pass
    finally:
        await store.close()
    assert path.read_text() == "not a socket"
