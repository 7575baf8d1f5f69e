"""Player accounts in every store: the fields a player is created with, changes to them
with their audit trail (`WalletStore.change_player`, `player_audit`), and the game
vertical of a session."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest

from core.errors import ConflictingReplay, CoolingOff, PlayerNotFound
from core.limits import Limit, LimitKind, LimitPeriod
from core.model import Debit, Deposit, FundingOrder, KycState, PlayerStatus
from core.pam import identity_change, kyc_change, limit_change, status_change, take_break_change
from core.wallet.records import PlayerRecord, SessionRecord
from core.wallet.store import DebitGuard, GuardContext, GuardedCommand, WalletStore
from tests.conftest import FakeClock

HOUR_US = 3_600_000_000


def _player(player_id: str = "p1") -> PlayerRecord:
    return PlayerRecord(player_id, "demo", "MT", "EUR", datetime.date(1990, 1, 1))


def _every_field(now_us: int) -> PlayerRecord:
    """A player with every field away from its default, and text worth escaping."""
    return PlayerRecord(
        player_id="p-full",
        brand="demo",
        jurisdiction="ES",
        currency="EUR",
        date_of_birth=datetime.date(2000, 2, 29),
        status=PlayerStatus.COOLING_OFF,
        funding_order=FundingOrder.BONUS_FIRST,
        kyc=KycState.PENDING,
        kyc_changed_at_us=now_us - HOUR_US,
        status_until_us=now_us + 24 * HOUR_US,
        limits=(
            Limit(LimitKind.DEPOSIT, LimitPeriod.DAY, 5_000),
            Limit(LimitKind.LOSS, LimitPeriod.WEEK, 10_000, 20_000, now_us + 24 * HOUR_US),
            Limit(LimitKind.SESSION_TIME, LimitPeriod.MONTH, 3_600, None, now_us + HOUR_US),
        ),
        identity=(
            ("email", "zoe@example.com"),
            ("first_name", "Zoë"),
            ("last_name", 'O\'Brien "Ó Briain"'),
            ("postcode", "28001"),
        ),
    )


async def test_a_player_with_every_field_reads_back_as_created(
    store: WalletStore, clock: FakeClock
) -> None:
    player = _every_field(clock.micros())
    assert await store.create_player(player) == player
    assert await store.get_player(player.player_id) == player
    assert await store.create_player(player) == player  # idempotent: the whole record
    with pytest.raises(ConflictingReplay):
        await store.create_player(dataclasses.replace(player, limits=player.limits[:1]))
    with pytest.raises(ConflictingReplay):
        await store.create_player(dataclasses.replace(player, kyc_changed_at_us=None))
    assert await store.get_player(player.player_id) == player


async def test_a_player_created_with_defaults_reads_back_with_them(store: WalletStore) -> None:
    player = _player()
    await store.create_player(player)
    found = await store.get_player("p1")
    assert found == player
    assert found is not None
    assert (found.kyc, found.kyc_changed_at_us, found.status_until_us) == (
        KycState.NONE,
        None,
        None,
    )
    assert (found.limits, found.identity) == ((), ())


async def test_a_change_writes_the_player_and_its_audit_entry(
    store: WalletStore, clock: FakeClock
) -> None:
    await store.create_player(_player())
    clock.advance(5)
    changed = await store.change_player(
        "p1", kyc_change(KycState.VERIFIED), actor="ops-key", why="documents checked"
    )
    assert changed == dataclasses.replace(
        _player(), kyc=KycState.VERIFIED, kyc_changed_at_us=clock.micros()
    )
    assert await store.get_player("p1") == changed
    [entry] = await store.player_audit("p1", limit=10)
    assert entry.seq > 0
    assert entry[1:] == (
        "p1",
        clock.micros(),
        "ops-key",
        "kyc",
        "documents checked",
        json.dumps({"kyc": "none", "kyc_changed_at_us": None}, separators=(",", ":")),
        json.dumps({"kyc": "verified", "kyc_changed_at_us": clock.micros()}, separators=(",", ":")),
    )


async def test_the_audit_trail_pages_newest_first(store: WalletStore, clock: FakeClock) -> None:
    await store.create_player(_player("p1"))
    await store.create_player(_player("p2"))
    changes = [
        ("p1", limit_change(LimitKind.DEPOSIT, LimitPeriod.DAY, 1_000, increase_delay_s=0)),
        ("p2", status_change(PlayerStatus.RESTRICTED)),
        ("p1", status_change(PlayerStatus.SUSPENDED)),
        ("p1", identity_change({"email": "p1@example.com"})),
        ("p1", status_change(PlayerStatus.ACTIVE)),
    ]
    for number, (player_id, change) in enumerate(changes):
        clock.advance(1)
        await store.change_player(player_id, change, actor="ops", why=f"change {number}")

    first = await store.player_audit("p1", limit=2)
    assert [entry.why for entry in first] == ["change 4", "change 3"]
    rest = await store.player_audit("p1", limit=10, before_seq=first[-1].seq)
    assert [entry.why for entry in rest] == ["change 2", "change 0"]
    seqs = [entry.seq for entry in (*first, *rest)]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == 4
    assert [entry.action for entry in (*first, *rest)] == ["status", "identity", "status", "limit"]
    assert await store.player_audit("p1", limit=10, before_seq=rest[-1].seq) == []
    [other] = await store.player_audit("p2", limit=10)
    assert (other.player_id, other.why) == ("p2", "change 1")
    assert await store.player_audit("nobody", limit=10) == []


async def test_the_audit_keeps_which_identity_fields_changed_never_their_values(
    store: WalletStore,
) -> None:
    await store.create_player(_player())
    changed = await store.change_player(
        "p1", identity_change({"last_name": "Doe", "email": "jd@example.com"}), actor="a", why="w"
    )
    assert changed.identity == (("email", "jd@example.com"), ("last_name", "Doe"))
    assert await store.get_player("p1") == changed
    [entry] = await store.player_audit("p1", limit=1)
    assert "Doe" not in entry.after
    assert "jd@example.com" not in entry.after


async def test_a_refused_change_writes_nothing(store: WalletStore) -> None:
    await store.create_player(_player())
    on_break = await store.change_player("p1", take_break_change(86_400), actor="p1", why="panic")
    with pytest.raises(CoolingOff):
        await store.change_player(
            "p1", status_change(PlayerStatus.ACTIVE), actor="ops", why="cut it short"
        )
    assert await store.get_player("p1") == on_break
    assert [entry.why for entry in await store.player_audit("p1", limit=10)] == ["panic"]


async def test_a_change_that_changes_nothing_is_not_audited(store: WalletStore) -> None:
    player = _player()
    await store.create_player(player)
    same = await store.change_player("p1", kyc_change(KycState.NONE), actor="ops", why="noop")
    assert same == player
    assert (
        await store.change_player(
            "p1", status_change(PlayerStatus.ACTIVE), actor="ops", why="already active"
        )
        == player
    )
    assert await store.player_audit("p1", limit=10) == []


async def test_changing_an_unknown_player_is_player_not_found(store: WalletStore) -> None:
    with pytest.raises(PlayerNotFound):
        await store.change_player(
            "nobody", status_change(PlayerStatus.SUSPENDED), actor="ops", why="w"
        )
    assert await store.get_player("nobody") is None
    assert await store.player_audit("nobody", limit=10) == []


async def test_the_money_step_sees_a_changed_player_at_once(store: WalletStore) -> None:
    """A store that caches players (SQLite's writer) must not hand its guard the record
    from before the change."""
    await store.create_player(_player())
    await store.apply([Deposit("d1", "p1", "EUR", 1_000)])
    seen: list[PlayerStatus] = []

    def guard(_command: GuardedCommand, context: GuardContext) -> None:
        seen.append(context.player.status)

    await store.apply(
        [Debit("prov", "b1", "p1", "EUR", 100, "r1", "g1")], guard=DebitGuard(None, guard)
    )
    await store.change_player("p1", status_change(PlayerStatus.RESTRICTED), actor="o", why="w")
    await store.apply(
        [Debit("prov", "b2", "p1", "EUR", 100, "r2", "g1")], guard=DebitGuard(None, guard)
    )
    assert seen == [PlayerStatus.ACTIVE, PlayerStatus.RESTRICTED]


async def test_a_sessions_vertical_reads_back(store: WalletStore, clock: FakeClock) -> None:
    now_us = clock.micros()
    live = SessionRecord("tok-live", "p1", "prov", "g1", "EUR", now_us + HOUR_US, now_us,
                         "mobile", "live")  # fmt: skip
    unknown = SessionRecord("tok-plain", "p1", "prov", "g1", "EUR", now_us + HOUR_US, now_us)
    await store.create_session(live)
    await store.create_session(unknown)
    assert await store.get_session("tok-live") == live
    assert await store.get_session("tok-plain") == unknown
    rotated = dataclasses.replace(live, token="tok-live-2", created_at_us=now_us + 1)
    await store.rotate_session("tok-live", rotated)
    assert await store.get_session("tok-live-2") == rotated
    old = await store.get_session("tok-live")
    assert old is not None
    assert (old.device, old.vertical) == ("mobile", "live")
