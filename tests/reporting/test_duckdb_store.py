"""What only the DuckDB reporting store does: its file, its schema version, its URLs,
its thread's time limit."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from adapters.reporting.duckdb_schema import SCHEMA_V1, SCHEMA_VERSION, ReportingSchemaError
from adapters.reporting.duckdb_store import DuckDbReportingStore
from adapters.reporting.open import check_reporting_url, open_reporting_store
from core.errors import StorageUnavailable
from core.reporting.events import EventKind
from tests.conftest import file_mode
from tests.reporting.events import event


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "reporting.duckdb"
    store = await DuckDbReportingStore.open(path)
    await store.close()
    with duckdb.connect(str(path)) as con:
        rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        assert rows == [(str(SCHEMA_VERSION),)]
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ReportingSchemaError, match=r"version 99, newer than this build knows"):
        await DuckDbReportingStore.open(path)
    with duckdb.connect(str(path)) as con:  # the refused open let go of the file
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]


@pytest.mark.usefixtures("open_umask")
async def test_the_file_is_private(tmp_path: Path) -> None:
    store = await open_reporting_store("", tmp_path / "data")
    await store.apply([event(1, EventKind.BET, real_delta_minor=-1)], 1, {})
    await store.close()
    assert file_mode(tmp_path / "data") == 0o700
    assert file_mode(tmp_path / "data" / "reporting.duckdb") == 0o600


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("", "data/reporting.duckdb"),
        ("duckdb:reports/r.duckdb", "data/reports/r.duckdb"),
        ("duckdb://{tmp}/abs.duckdb", "abs.duckdb"),  # {tmp} starts with /
    ],
)
async def test_urls_name_files(tmp_path: Path, url: str, where: str) -> None:
    store = await open_reporting_store(url.format(tmp=tmp_path), tmp_path / "data")
    try:
        assert store.describe() == f"duckdb {tmp_path / where}"
    finally:
        await store.close()
    assert (tmp_path / where).exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://report:secret@127.0.0.1/gamegate?bogus=1", "not a PostgreSQL URL"),
        ("sqlite:reporting.db", "scheme 'sqlite' is unknown"),
        ("duckdb:", "names no file"),
        ("duckdb://host/file.duckdb", "takes no host"),
    ],
)
def test_unusable_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_reporting_url(url)


async def test_a_call_past_its_time_limit_is_interrupted(tmp_path: Path) -> None:
    store = await DuckDbReportingStore.open(tmp_path / "r.duckdb", store_timeout_s=0.2)
    try:
        endless = "SELECT count(*) FROM range(1000000000000) AS a(x) WHERE x % 7 = 3"
        with pytest.raises(StorageUnavailable, match=r"within 0.2 s"):
            await store._thread.call(lambda con: con.execute(endless).fetchall())
        assert await store.cursor() == 0
    finally:
        await store.close()


async def test_a_version_1_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "reporting.duckdb"
    with duckdb.connect(str(path)) as con:  # a file as version 1 wrote it, with data
        for statement in SCHEMA_V1:
            con.execute(statement)
        con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        con.execute("UPDATE cursor SET seq = 7 WHERE id = 1")
    store = await DuckDbReportingStore.open(path)
    try:
        assert (await store.cursor(), await store.positions()) == (7, {})
        await store.apply([event(8, EventKind.BET, real_delta_minor=-1)], 8, {}, {"redis:3": "5-0"})
        assert await store.positions() == {"redis:3": "5-0"}
    finally:
        await store.close()
    with duckdb.connect(str(path)) as con:
        rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        assert rows == [("2",)] == [(str(SCHEMA_VERSION),)]
