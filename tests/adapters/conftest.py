"""Adapter test fixtures: `wire`, each provider protocol in turn (see `wires`)."""

from __future__ import annotations

import pytest

from tests.adapters.wires import WIRES, Wire
from tests.conftest import FakeClock


@pytest.fixture(params=sorted(WIRES))
def wire(request: pytest.FixtureRequest, clock: FakeClock) -> Wire:
    return WIRES[request.param](clock)
