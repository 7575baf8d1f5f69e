"""The reporting stores the contract suite runs against: adding a backend is one entry.

Each entry is a factory: `factory(directory)` opens the store that belongs to
`directory` and closes it on exit. The first open for a directory finds an empty store;
a later open for the same directory reopens what the earlier one wrote (the reopen
test). A server-backed store (PostgreSQL) derives its database or schema name from
`directory` and drops it when the directory is first seen.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.reporting.open import open_reporting_store
from core.reporting.store import ReportingStore
from tests.postgres_schemas import POSTGRES_URL, fresh_schema

__all__ = ["STORES", "ReportingStoreFactory", "by_url", "postgres"]

ReportingStoreFactory = Callable[[Path], contextlib.AbstractAsyncContextManager[ReportingStore]]


def by_url(url: str, **options: Any) -> ReportingStoreFactory:
    """A factory opening `url` (relative paths under `directory`) as the gateway does."""

    @contextlib.asynccontextmanager
    async def factory(directory: Path) -> AsyncIterator[ReportingStore]:
        store = await open_reporting_store(url, directory, **options)
        try:
            yield store
        finally:
            await store.close()

    return factory


def postgres(**options: Any) -> ReportingStoreFactory:
    """A factory opening the test server in the schema that belongs to `directory`
    (`tests.postgres_schemas`: fresh the first time, dropped at exit)."""

    @contextlib.asynccontextmanager
    async def factory(directory: Path) -> AsyncIterator[ReportingStore]:
        schema = fresh_schema(directory)
        async with by_url(POSTGRES_URL, schema=schema, **options)(directory) as store:
            yield store

    return factory


STORES = [
    pytest.param(by_url(""), id="duckdb"),
    pytest.param(postgres(), id="postgres"),
]
"""Every reporting backend, in its default configuration."""
