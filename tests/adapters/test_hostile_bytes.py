"""Hostile bytes in every adapter: the caller's own refusal, never a 5xx, a retry or a move.

aiohttp hands header bytes over as UTF-8 with surrogateescape (`\\xff` arrives as
'\\udcff'), its pure-Python parser does the same with the query string, and a body is
whatever bytes were sent. For each protocol this sends a bet whose credentials (signature,
token, timestamp and nonce headers; hash, token and timestamp parameters) carry text that
is not clean printable ASCII, and bets whose body is garbage: invalid UTF-8, or valid
JSON/form text with a lone surrogate, signed correctly where the protocol signs bodies.
Every answer must be in that protocol's short list of bad-signature and invalid-request
answers (so never its retryable or internal-error answer), `handle` must not raise, the
answer's headers must be sendable, and the player's balance must not move.

One table (`tests.adapters.wires`) says per protocol how a valid bet is built and signed,
where its credentials are, and which answers are refusals; Hypothesis draws the hostile
values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.providers.base import ProviderAdapter, ProviderRequest
from adapters.stores.sqlite_store import SqliteWalletStore
from core.service import WalletService
from tests.adapters.wires import BALANCE_MINOR, Wire, build_adapter, total_minor
from tests.conftest import FakeClock, MakePlayer, MakeSession


@pytest.fixture
async def adapter(
    wire: Wire,
    service: WalletService,
    clock: FakeClock,
    tmp_path: Path,
    make_player: MakePlayer,
    make_session: MakeSession,
) -> ProviderAdapter:
    """The wire's adapter, its player funded with `BALANCE_MINOR` and in a session."""
    await wire.setup(make_player, make_session)
    return build_adapter(wire, service, clock, tmp_path)


async def _refused(
    wire: Wire, adapter: ProviderAdapter, store: SqliteWalletStore, request: ProviderRequest
) -> None:
    """`request` gets one of the protocol's refusals, sendable headers, and moves nothing."""
    before = await total_minor(store, wire)
    response = await adapter.handle(request)
    answer = wire.answer(response)
    assert answer in wire.refusals, f"{wire.instance}: {answer} is not a refusal: {request}"
    for name, value in response.headers.items():
        assert value.isascii(), f"unsendable header {name}: {value!r}"
        assert value.isprintable(), f"unsendable header {name}: {value!r}"
    assert await total_minor(store, wire) == before


async def test_the_untouched_bet_debits_so_the_refusals_below_mean_something(
    wire: Wire, adapter: ProviderAdapter, store: SqliteWalletStore
) -> None:
    response = await adapter.handle(wire.request())
    assert wire.answer(response) not in wire.refusals
    assert await total_minor(store, wire) < BALANCE_MINOR


def _not_clean(text: str) -> bool:
    return not (text.isascii() and text.isprintable())


HOSTILE_TEXT = st.one_of(
    st.binary(min_size=1, max_size=24).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.text(min_size=1, max_size=24),
    st.sampled_from(["\udcff", "\udcff\udcfe", "\n", "\x00", "é", "\u2028", "\ufeff"]),
).filter(_not_clean)
"""Header bytes as aiohttp decodes them (surrogates for non-UTF-8), any Unicode, controls."""

HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@HYPOTHESIS
@given(data=st.data(), hostile=HOSTILE_TEXT, at=st.integers(0, 80), replace=st.booleans())
async def test_a_credential_that_is_not_printable_ascii_is_refused(
    wire: Wire,
    adapter: ProviderAdapter,
    store: SqliteWalletStore,
    data: st.DataObject,
    hostile: str,
    at: int,
    replace: bool,
) -> None:
    slot = data.draw(st.sampled_from(wire.credentials), label="credential")

    def mangle(value: str) -> str:
        return hostile if replace else value[:at] + hostile + value[at:]

    await _refused(wire, adapter, store, wire.request(mangle={slot: mangle}))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@HYPOTHESIS
@given(
    junk=st.binary(min_size=1, max_size=32),
    at=st.integers(0, 400),
    signed=st.booleans(),
)
async def test_a_body_that_is_not_utf8_is_refused(
    wire: Wire,
    adapter: ProviderAdapter,
    store: SqliteWalletStore,
    junk: bytes,
    at: int,
    signed: bool,
) -> None:
    valid = wire.payload()
    garbage = valid[:at] + junk + valid[at:]
    assume(not _is_utf8(garbage))
    request = wire.request(garbage) if signed else wire.request(wire_body=garbage)
    await _refused(wire, adapter, store, request)


@HYPOTHESIS
@given(code=st.integers(0xD800, 0xDFFF))
async def test_a_lone_surrogate_in_a_signed_body_is_refused(
    wire: Wire, adapter: ProviderAdapter, store: SqliteWalletStore, code: int
) -> None:
    payload = wire.with_lone_surrogate(wire.payload(), code)
    await _refused(wire, adapter, store, wire.request(payload))
