"""A bug under an adapter: its protocol's generic internal error, or the gateway's 500.

A store that cannot confirm durability raises `StorageUnavailable`, and each protocol
answers that with its retryable error. An exception of any other kind is a bug, and no
adapter may dress it up as that retryable storage failure: it answers with its protocol's
own internal error where the protocol has one (labelled `internal_error` and logged), and
raises it to the gateway where it has none (gamegate, Betby). The bug is planted in the
wallet store, under the service, where an unexpected exception would come from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from structlog.testing import capture_logs

from core.money import CurrencyTable
from core.service import WalletService
from core.wallet.store import WalletStore
from tests.adapters.wires import Wire, build_adapter
from tests.conftest import FakeClock


class BuggyStore:
    """A wallet store every call of which fails with an exception no store may raise."""

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        async def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"a bug in {name}")

        return fail


@pytest.fixture
def buggy_service(clock: FakeClock) -> WalletService:
    return WalletService(cast(WalletStore, BuggyStore()), CurrencyTable(), clock.micros)


async def test_a_bug_is_the_protocols_internal_error_never_its_retryable_answer(
    wire: Wire, buggy_service: WalletService, clock: FakeClock, tmp_path: Path
) -> None:
    adapter = build_adapter(wire, buggy_service, clock, tmp_path)
    if wire.internal_error is None:
        with pytest.raises(RuntimeError, match="a bug"):
            await adapter.handle(wire.request())
        return
    with capture_logs() as logs:
        response = await adapter.handle(wire.request())
    assert (wire.answer(response), response.outcome) == (wire.internal_error, "internal_error")
    assert b"retransmission" not in response.body
    assert [log["event"] for log in logs if log["log_level"] == "error"] == [
        "provider_internal_error"
    ]
