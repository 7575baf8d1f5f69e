"""The contract suite's `store` fixture: the same tests run against every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.wallet.store import WalletStore
from tests.conftest import FakeClock
from tests.contract.stores import STORES, StoreFactory


@pytest.fixture(params=STORES)
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    factory: StoreFactory = request.param
    return factory


@pytest.fixture
async def store(
    store_factory: StoreFactory, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[WalletStore]:
    """Overrides the root fixture: `make_player` and the tests use each backend in turn."""
    async with store_factory(tmp_path, clock.micros) as opened:
        yield opened
