"""Schema 6 on a wallet file the schema-5 store really wrote (`fixtures/wallet-v5.db`,
see `fixtures/README.md`): opened, it is migrated in place; every player, session,
balance and transaction reads back as written, `kyc_verified` as a KYC state and
`blocked` as `suspended`; money still moves; `gamegate verify` passes."""

from __future__ import annotations

import dataclasses
import datetime
import shutil
import sqlite3
from pathlib import Path

import pytest

from adapters.stores.sqlite_migrations import migrate
from adapters.stores.sqlite_schema import SCHEMA_VERSION
from adapters.stores.sqlite_store import SqliteWalletStore
from adapters.stores.sqlite_verify import verify_wallet
from core.errors import PlayerBlocked
from core.model import Balance, Credit, Debit, FundingOrder, KycState, PlayerStatus, Rollback
from core.pam import check_may_play, status_change
from core.wallet.figures import NO_FIGURES
from core.wallet.records import PlayerRecord, SessionRecord
from tests.conftest import FakeClock
from tests.contract.wallet_files import VERSION_5_FILE

NOW_US = 1_800_000_000_000_000
"""The fixture's clock, and `FakeClock`'s start: its sessions are live."""
HOUR_US = 3_600_000_000
BORN = datetime.date(1990, 1, 1)
PLAYERS = {
    "p-kyc": PlayerRecord("p-kyc", "demo", "MT", "EUR", BORN, kyc=KycState.VERIFIED),
    "p-new": PlayerRecord(
        "p-new", "demo", "SE", "SEK", datetime.date(2000, 2, 29),
        funding_order=FundingOrder.BONUS_FIRST,
    ),
    "p-blocked": PlayerRecord("p-blocked", "demo", "MT", "EUR", BORN, PlayerStatus.SUSPENDED),
}  # fmt: skip
BALANCES = {
    "p-kyc": Balance("EUR", 8_400, 0),
    "p-new": Balance("SEK", 49_500, 0),
    "p-blocked": Balance("EUR", 2_300, 0),
}
SESSIONS = {
    token: SessionRecord(token, player_id, "prov", "g1", currency, NOW_US + HOUR_US, NOW_US, device)
    for token, player_id, currency, device in (
        ("tok-kyc", "p-kyc", "EUR", "desktop"),
        ("tok-new", "p-new", "SEK", "mobile"),
        ("tok-blocked", "p-blocked", "EUR", ""),
    )
}
HISTORIES = {
    "p-kyc": ["b5", "wd1", "w1", "b1", "d1"],
    "p-new": ["w3", "b3", "rb2", "b2", "g2", "d2"],
    "p-blocked": ["b4", "d3"],
}


@pytest.fixture
def version_5(tmp_path: Path) -> Path:
    """A copy of the fixture (the store migrates in place)."""
    path = tmp_path / "wallet.db"
    shutil.copyfile(VERSION_5_FILE, path)
    return path


def _schema(path: Path) -> tuple[str, list[tuple[str, str]]]:
    with sqlite3.connect(path) as conn:
        (version,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        objects = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
    return str(version), objects


def _columns(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA table_info({table})").fetchall()


async def test_the_fixture_is_what_the_version_5_store_wrote(version_5: Path) -> None:
    version, _ = _schema(version_5)
    assert version == "5"
    assert [column[1] for column in _columns(version_5, "players")][-1] == "kyc_verified"
    with sqlite3.connect(version_5) as conn:
        statuses = dict(conn.execute("SELECT player_id, status FROM players").fetchall())
    assert statuses["p-blocked"] == "blocked"


async def test_a_version_5_file_reads_back_whole_after_the_migration(
    version_5: Path, clock: FakeClock
) -> None:
    store = await SqliteWalletStore.open(version_5, clock_us=clock.micros)
    try:
        for player_id, player in PLAYERS.items():
            assert await store.get_player(player_id) == player
            assert await store.balance(player_id) == BALANCES[player_id]
            history = await store.transactions(player_id, limit=10)
            assert [record.tx_id for record in history] == HISTORIES[player_id]
            assert await store.figures(player_id) == NO_FIGURES
            assert await store.player_audit(player_id, limit=10) == []
        for token, session in SESSIONS.items():
            assert await store.get_session(token) == session
        open_round = await store.get_round("prov", "r5")
        closed_round = await store.get_round("prov", "r1")
    finally:
        await store.close()
    assert open_round is not None
    assert (open_round.closed, open_round.stake_real_minor) == (False, 300)
    assert closed_round is not None
    assert (closed_round.closed, closed_round.win_real_minor) == (True, 1_200)
    assert _schema(version_5)[0] == str(SCHEMA_VERSION) == "6"
    report = verify_wallet(version_5)
    assert report.ok, report.lines()


async def test_money_moves_on_a_migrated_file_and_counts_in_the_figures(
    version_5: Path, clock: FakeClock
) -> None:
    store = await SqliteWalletStore.open(version_5, clock_us=clock.micros)
    try:
        [replayed] = await store.apply([Debit("prov", "b1", "p-kyc", "EUR", 500, "r1", "g1")])
        assert replayed.replay
        await store.apply([Credit("prov", "w5", "p-kyc", "EUR", 600, "r5", "g1")])
        await store.apply([Debit("prov", "b6", "p-new", "SEK", 1_000, "r6", "g1")])
        await store.apply([Rollback("prov", "rb4", "p-blocked", "b4", "r4")])
        assert await store.balance("p-kyc") == Balance("EUR", 9_000, 0)
        assert await store.balance("p-new") == Balance("SEK", 48_500, 0)
        assert await store.balance("p-blocked") == Balance("EUR", 3_000, 0)
        suspended = await store.get_player("p-blocked")
        assert suspended is not None
        with pytest.raises(PlayerBlocked):
            check_may_play(suspended, clock.micros())
        await store.change_player(
            "p-blocked", status_change(PlayerStatus.ACTIVE), actor="ops", why="appeal upheld"
        )
    finally:
        await store.close()

    store = await SqliteWalletStore.open(version_5, clock_us=clock.micros)  # from the file
    try:
        won, bet, rolled_back = [
            (await store.figures(p)).day for p in ("p-kyc", "p-new", "p-blocked")
        ]
        assert (await store.figures("p-new")).last_bet_us == clock.micros()
        active = await store.get_player("p-blocked")
        [entry] = await store.player_audit("p-blocked", limit=10)
    finally:
        await store.close()
    assert (won.wagered_minor, won.lost_minor) == (0, -600)
    assert (bet.wagered_minor, bet.lost_minor) == (1_000, 1_000)
    assert (rolled_back.wagered_minor, rolled_back.lost_minor) == (-700, -700)
    assert active == dataclasses.replace(PLAYERS["p-blocked"], status=PlayerStatus.ACTIVE)
    assert (entry.action, entry.before) == (
        "status",
        '{"status":"suspended","status_until_us":null}',
    )
    report = verify_wallet(version_5)
    assert report.ok, report.lines()


async def test_a_migrated_file_has_the_layout_of_a_new_one(
    version_5: Path, tmp_path: Path, clock: FakeClock
) -> None:
    new = tmp_path / "new.db"
    for path in (version_5, new):
        store = await SqliteWalletStore.open(path, clock_us=clock.micros)
        await store.close()
    assert _schema(version_5) == _schema(new)
    for table in ("players", "sessions", "player_figures", "player_audit"):
        assert _columns(version_5, table) == _columns(new, table), table


def test_a_migration_that_fails_leaves_the_file_at_version_5(version_5: Path) -> None:
    with sqlite3.connect(version_5, isolation_level=None) as conn:
        conn.execute("CREATE TABLE player_audit (x)")  # the step's own CREATE will fail
        with pytest.raises(sqlite3.OperationalError, match="player_audit"):
            migrate(conn)
    version, objects = _schema(version_5)
    assert version == "5"
    assert ("table", "players_v6") not in objects
    assert [column[1] for column in _columns(version_5, "players")][-1] == "kyc_verified"
    assert [column[1] for column in _columns(version_5, "sessions")][-1] == "device"


def test_the_audit_trail_refuses_to_be_rewritten(version_5: Path) -> None:
    with sqlite3.connect(version_5, isolation_level=None) as conn:
        migrate(conn)
        conn.execute(
            "INSERT INTO player_audit (player_id, at_us, actor, action, why, before, after)"
            " VALUES ('p-kyc', 1, 'ops', 'kyc', 'w', '{}', '{}')"
        )
        for statement in ("UPDATE player_audit SET why = 'other'", "DELETE FROM player_audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT why FROM player_audit").fetchall() == [("w",)]
