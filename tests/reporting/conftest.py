"""The reporting suite's `reporting_store`: the same tests run against every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.reporting.store import ReportingStore
from tests.reporting.stores import STORES, ReportingStoreFactory


@pytest.fixture(params=STORES)
def reporting_factory(request: pytest.FixtureRequest) -> ReportingStoreFactory:
    factory: ReportingStoreFactory = request.param
    return factory


@pytest.fixture
async def reporting_store(
    reporting_factory: ReportingStoreFactory, tmp_path: Path
) -> AsyncIterator[ReportingStore]:
    async with reporting_factory(tmp_path / "reporting") as opened:
        yield opened
