"""Redis player records: what an older gateway stored reads in today's form, and a change
to an account is one version-checked, durable write with its audit entry.

Redis has no schema to migrate: a player array of 8 items (`kyc_verified` last, status
maybe `blocked`) and a session hash without `vt` are converted when read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from adapters.stores.redis_codec import session_fields, token_digest
from adapters.stores.redis_keys import group_of, player_keys, session_key
from adapters.stores.redis_store import RedisWalletStore
from adapters.stores.redis_verify import verify_redis_wallet
from core.errors import InsufficientFunds
from core.model import Balance, Debit, Deposit, KycState, PlayerStatus
from core.wallet.records import PlayerRecord, SessionRecord
from core.wallet.store import PlayerChange
from tests.conftest import FakeClock
from tests.redis_servers import shared_server, start_server

pytestmark = pytest.mark.redis

BIRTH = datetime.date(1990, 1, 1)


def _old_player(player_id: str, status: str, kyc_verified: bool) -> bytes:
    """A player array as stored before KYC states, limits and identity."""
    return orjson.dumps(
        [player_id, "demo", "MT", "EUR", BIRTH.isoformat(), status, "real_first", kyc_verified]
    )


def _write_old_player(player_id: str, raw: bytes) -> None:
    keys = player_keys(player_id)
    with shared_server().client() as client:
        client.hset(keys.player, mapping={"rec": raw, "v": "1"})
        client.sadd(keys.players, player_id)


def _counting(field: str) -> tuple[list[int], PlayerChange]:
    """A change that adds one to an identity field, and the list of times it ran."""
    calls: list[int] = []

    def change(player: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        calls.append(now_us)
        found = dict(player.identity).get(field, "0")
        after = str(int(found) + 1)
        identity = tuple(sorted({**dict(player.identity), field: after}.items()))
        changed = dataclasses.replace(player, identity=identity)
        return changed, "identity", f'{{"{field}":"{found}"}}', f'{{"{field}":"{after}"}}'

    return calls, change


@pytest.fixture
async def store(clock: FakeClock) -> AsyncIterator[RedisWalletStore]:
    server = shared_server()
    server.flush()
    opened = await RedisWalletStore.open(server.url, clock_us=clock.micros)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.mark.parametrize(
    ("status", "kyc_verified", "expected"),
    [
        ("active", True, (PlayerStatus.ACTIVE, KycState.VERIFIED)),
        ("blocked", False, (PlayerStatus.SUSPENDED, KycState.NONE)),
        ("blocked", True, (PlayerStatus.SUSPENDED, KycState.VERIFIED)),
        ("self_excluded", False, (PlayerStatus.SELF_EXCLUDED, KycState.NONE)),
        ("closed", True, (PlayerStatus.CLOSED, KycState.VERIFIED)),
    ],
)
async def test_a_player_stored_in_the_old_form_reads_in_todays(
    store: RedisWalletStore,
    status: str,
    kyc_verified: bool,
    expected: tuple[PlayerStatus, KycState],
) -> None:
    _write_old_player("old", _old_player("old", status, kyc_verified))
    found = await store.get_player("old")
    assert found == PlayerRecord(
        "old", "demo", "MT", "EUR", BIRTH, status=expected[0], kyc=expected[1]
    )
    assert found.kyc_changed_at_us is None
    assert (found.status_until_us, found.limits, found.identity) == (None, (), ())


async def test_an_old_player_bets_and_its_next_change_rewrites_it_in_todays_form(
    store: RedisWalletStore, clock: FakeClock
) -> None:
    _write_old_player("old", _old_player("old", "active", True))
    await store.apply([Deposit("d1", "old", "EUR", 500)])
    await store.apply([Debit("prov", "b1", "old", "EUR", 200, "r1", "g1")])
    assert await store.balance("old") == Balance("EUR", 300, 0)
    assert (await store.figures("old")).day.wagered_minor == 200
    _, change = _counting("n")
    changed = await store.change_player("old", change, actor="ops", why="moved")
    with shared_server().client() as client:
        stored = orjson.loads(client.hget(player_keys("old").player, "rec"))
    assert len(stored) > 8
    assert stored[7] == "verified"
    assert await store.get_player("old") == changed
    assert changed.kyc is KycState.VERIFIED
    assert changed.identity == (("n", "1"),)
    assert verify_redis_wallet(shared_server().url).ok


async def test_a_session_stored_without_a_vertical_reads_as_unknown(
    store: RedisWalletStore, clock: FakeClock
) -> None:
    now_us = clock.micros()
    session = SessionRecord("tok-old", "p1", "prov", "g1", "EUR", now_us + 10**9, now_us, "mobile")
    fields = session_fields(session)
    at = fields.index("vt")
    del fields[at : at + 2]  # the hash as stored before the vertical was recorded
    with shared_server().client() as client:
        client.hset(session_key(token_digest(session.token)), items=fields)
    assert await store.get_session(session.token) == session
    live = dataclasses.replace(session, token="tok-new", vertical="live")
    await store.create_session(live)
    assert await store.get_session(live.token) == live


async def test_a_change_decided_on_a_moved_version_is_decided_again(
    store: RedisWalletStore,
) -> None:
    await store.create_player(PlayerRecord("p1", "demo", "MT", "EUR", BIRTH))
    calls, counting = _counting("n")
    key = player_keys("p1").player

    def raced(player: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        if not calls:  # another process writes the player between our read and write
            with shared_server().client() as client:
                client.hincrby(key, "v", 1)
        return counting(player, now_us)

    changed = await store.change_player("p1", raced, actor="ops", why="race")
    assert len(calls) == 2
    assert store.conflicts_total == 1
    assert changed.identity == (("n", "1"),)
    [entry] = await store.player_audit("p1", limit=10)
    assert (entry.action, entry.before, entry.after) == ("identity", '{"n":"0"}', '{"n":"1"}')


async def test_changes_and_bets_from_two_processes_lose_neither(
    store: RedisWalletStore, clock: FakeClock
) -> None:
    other = await RedisWalletStore.open(shared_server().url, clock_us=clock.micros)
    try:
        await store.create_player(PlayerRecord("p1", "demo", "MT", "EUR", BIRTH))
        await store.apply([Deposit("d1", "p1", "EUR", 10_000)])
        _, change = _counting("n")

        async def changes() -> None:
            for i in range(20):
                await store.change_player("p1", change, actor="ops", why=f"c{i}")

        async def bets() -> None:
            for i in range(40):
                await other.apply([Debit("prov", f"b{i}", "p1", "EUR", 10, f"r{i}", "g1")])

        await asyncio.gather(changes(), bets(), changes())
    finally:
        await other.close()
    player = await store.get_player("p1")
    assert player is not None
    assert player.identity == (("n", "40"),)
    assert await store.balance("p1") == Balance("EUR", 10_000 - 400, 0)
    assert (await store.figures("p1")).day.wagered_minor == 400
    trail = await store.player_audit("p1", limit=100)
    assert [entry.after for entry in trail] == [f'{{"n":"{n}"}}' for n in range(40, 0, -1)]
    seqs = [entry.seq for entry in trail]
    assert seqs == sorted(set(seqs), reverse=True)
    assert all(seq % 1_024 == group_of("p1") for seq in seqs)  # from the group's counter
    assert verify_redis_wallet(shared_server().url).ok


async def test_a_change_that_refuses_or_changes_nothing_writes_nothing(
    store: RedisWalletStore,
) -> None:
    player = await store.create_player(PlayerRecord("p1", "demo", "MT", "EUR", BIRTH))

    def refuses(stored: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        raise InsufficientFunds("not today")

    def same(stored: PlayerRecord, now_us: int) -> tuple[PlayerRecord, str, str, str]:
        return stored, "status", "{}", "{}"

    with shared_server().client() as client:
        version = client.hget(player_keys("p1").player, "v")
        with pytest.raises(InsufficientFunds):
            await store.change_player("p1", refuses, actor="ops", why="no")
        assert await store.change_player("p1", same, actor="ops", why="no-op") == player
        assert client.hget(player_keys("p1").player, "v") == version
        assert not client.exists(player_keys("p1").audit)


async def test_an_acknowledged_change_survives_a_crash_of_the_server(
    tmp_path: Path, clock: FakeClock
) -> None:
    server = start_server(tmp_path)
    try:
        store = await RedisWalletStore.open(server.url, clock_us=clock.micros)
        try:
            await store.create_player(PlayerRecord("p1", "demo", "MT", "EUR", BIRTH))
            _, change = _counting("n")
            changed = await store.change_player("p1", change, actor="ops", why="kyc")
        finally:
            await store.close()
        server.kill()  # SIGKILL: nothing but the fsynced AOF remains
        server.restart()
        store = await RedisWalletStore.open(server.url, clock_us=clock.micros)
        try:
            assert await store.get_player("p1") == changed
            [entry] = await store.player_audit("p1", limit=1)
            assert (entry.actor, entry.why, entry.at_us) == ("ops", "kyc", clock.micros())
        finally:
            await store.close()
    finally:
        server.stop()
