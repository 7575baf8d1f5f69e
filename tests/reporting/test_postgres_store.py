"""What only the PostgreSQL reporting store does: its schema version, its URLs, its time
limit, a server that is gone or drops the connection."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import AsyncConnection, sql

from adapters.reporting.open import check_reporting_url, open_reporting_store
from adapters.reporting.postgres_schema import SCHEMA_V1, SCHEMA_VERSION, ReportingSchemaError
from adapters.reporting.postgres_store import PostgresReportingStore
from core.errors import StorageUnavailable
from core.reporting.events import EventKind
from tests.postgres_schemas import POSTGRES_URL, fresh_schema
from tests.redis_servers import free_port
from tests.reporting.events import event


def _version(schema: str) -> list[tuple[str]]:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as con:
        query = sql.SQL("SELECT value FROM {}.meta WHERE key = 'schema_version'")
        return con.execute(query.format(sql.Identifier(schema))).fetchall()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    schema = fresh_schema(tmp_path)
    store = await PostgresReportingStore.open(POSTGRES_URL, schema=schema)
    await store.close()
    assert _version(schema) == [(str(SCHEMA_VERSION),)]
    store = await PostgresReportingStore.open(POSTGRES_URL, schema=schema)  # reopened as is
    await store.close()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as con:
        update = sql.SQL("UPDATE {}.meta SET value = '99' WHERE key = 'schema_version'")
        con.execute(update.format(sql.Identifier(schema)))
    with pytest.raises(ReportingSchemaError, match=r"version 99, newer than this build knows"):
        await PostgresReportingStore.open(POSTGRES_URL, schema=schema)
    assert _version(schema) == [("99",)]


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
async def test_urls_open_and_describe_without_secrets(tmp_path: Path, scheme: str) -> None:
    url = POSTGRES_URL.replace("postgresql://", f"{scheme}://", 1)
    url = url.replace("postgres@", "postgres:not-a-secret@", 1)  # trust auth ignores it
    check_reporting_url(url)
    store = await open_reporting_store(url, tmp_path, schema=fresh_schema(tmp_path))
    try:
        assert store.describe().startswith("postgresql 127.0.0.1:5432/test schema gg_test_")
        assert "secret" not in store.describe()
        assert "postgres@" not in store.describe()
    finally:
        await store.close()


async def test_a_bad_schema_name_is_refused() -> None:
    with pytest.raises(ValueError, match="reporting schema"):
        await PostgresReportingStore.open(POSTGRES_URL, schema='x"; DROP TABLE events; --')


async def test_a_server_that_does_not_answer_is_storage_unavailable() -> None:
    url = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/test"
    with pytest.raises(StorageUnavailable, match="cannot be reached within 1") as caught:
        await PostgresReportingStore.open(url, connect_timeout_s=1)
    assert "secret" not in str(caught.value)


async def test_a_call_past_its_time_limit_is_cancelled(tmp_path: Path) -> None:
    store = await PostgresReportingStore.open(
        POSTGRES_URL, schema=fresh_schema(tmp_path), store_timeout_s=0.2
    )

    async def sleep(con: AsyncConnection) -> None:
        await con.execute("SELECT pg_sleep(5)")

    try:
        with pytest.raises(StorageUnavailable, match=r"did not answer within 0.2 s"):
            await store._reader.run(sleep)
        with pytest.raises(StorageUnavailable, match=r"did not answer within 0.2 s"):
            await store._writer.run(sleep)
        assert await store.cursor() == 0
    finally:
        await store.close()


async def test_a_dropped_connection_is_made_again(tmp_path: Path) -> None:
    store = await PostgresReportingStore.open(POSTGRES_URL, schema=fresh_schema(tmp_path))

    async def backend(con: AsyncConnection) -> int:
        return con.info.backend_pid

    try:
        pid = await store._writer.run(backend)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(StorageUnavailable):
            await store.cursor()
        await store.apply([event(1, EventKind.BET, real_delta_minor=-5)], 1, {})
        assert await store.cursor() == 1
        assert await store._writer.run(backend) != pid
    finally:
        await store.close()


async def test_a_version_1_schema_is_migrated(tmp_path: Path) -> None:
    schema = fresh_schema(tmp_path)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as con:  # as version 1 made it
        con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        con.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for statement in SCHEMA_V1:
            con.execute(statement)
        con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        con.execute("UPDATE cursor SET seq = 7 WHERE id = 1")
    store = await PostgresReportingStore.open(POSTGRES_URL, schema=schema)
    try:
        assert (await store.cursor(), await store.positions()) == (7, {})
        await store.apply([event(8, EventKind.BET, real_delta_minor=-1)], 8, {}, {"redis:3": "5-0"})
        assert await store.positions() == {"redis:3": "5-0"}
    finally:
        await store.close()
    assert _version(schema) == [("2",)] == [(str(SCHEMA_VERSION),)]
