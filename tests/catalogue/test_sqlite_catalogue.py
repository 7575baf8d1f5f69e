"""The SQLite catalogue store on real files: syncs, the guard, overlays and their audit,
versions, persistence and file modes."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.catalogue.open import (
    CatalogueAccessError,
    catalogue_path,
    check_catalogue_url,
    open_catalogue_store,
)
from adapters.catalogue.sqlite_catalogue import SqliteCatalogueStore
from core.catalogue.game import Game, GameKey, GameStatus, StakeRange, frozen_mapping
from core.catalogue.overlay import (
    CategoryGames,
    GameSwitch,
    GameTitle,
    OverlayChange,
    PinnedOrder,
    ProviderSwitch,
)
from core.catalogue.store import SyncReport
from core.errors import FeedInvalid, RetirementGuarded
from tests.catalogue.games import INSTANCE, game
from tests.conftest import file_mode

A = GameKey(INSTANCE, "a")
B = GameKey(INSTANCE, "b")
RICH = game(
    "a",
    "Alpha",
    rtp_bp=9650,
    rtp_bp_by_market=frozen_mapping({"GB": 9400}),
    stakes=frozen_mapping({"EUR": StakeRange(10, 10_000)}),
    currencies=frozenset({"EUR"}),
    tags=frozenset({"new"}),
    images=frozen_mapping({"thumbnail": "https://cdn.example/a.png"}),
)


@pytest.fixture
async def catalogue(tmp_path: Path) -> AsyncIterator[SqliteCatalogueStore]:
    store = await SqliteCatalogueStore.open(tmp_path / "catalogue.db")
    try:
        yield store
    finally:
        await store.close()


async def _sync(
    store: SqliteCatalogueStore,
    games: list[Game],
    *,
    full: bool = True,
    share: float = 0.5,
    confirmed: bool = False,
    at_us: int = 1,
) -> SyncReport:
    return await store.sync(
        INSTANCE,
        games,
        full=full,
        source="test",
        retire_share_max=share,
        confirmed=confirmed,
        at_us=at_us,
    )


async def test_new_file_is_empty_at_version_zero(catalogue: SqliteCatalogueStore) -> None:
    snapshot = await catalogue.snapshot()
    assert (snapshot.version, snapshot.games, dict(snapshot.overlays)) == (0, (), {})
    assert await catalogue.version() == 0


async def test_sync_reports_and_stores(catalogue: SqliteCatalogueStore) -> None:
    report = await _sync(catalogue, [RICH, game("b"), game("c")])
    assert (report.added, report.changed, report.retired) == (
        (A, B, GameKey(INSTANCE, "c")),
        (),
        (),
    )
    assert report.version == 1
    assert report.applied
    snapshot = await catalogue.snapshot()
    assert snapshot.version == 1
    assert snapshot.games == (RICH, game("b"), game("c"))


async def test_identical_repeat_keeps_the_version(catalogue: SqliteCatalogueStore) -> None:
    await _sync(catalogue, [RICH, game("b")])
    report = await _sync(catalogue, [RICH, game("b")], at_us=2)
    assert not report.applied
    assert (report.version, report.unchanged) == (1, 2)
    assert await catalogue.version() == 1


async def test_one_change_bumps_the_version_once(catalogue: SqliteCatalogueStore) -> None:
    await _sync(catalogue, [RICH, game("b")])
    report = await _sync(catalogue, [RICH, game("b", "Beta 2"), game("c")], at_us=2)
    assert (report.changed, report.added, report.version) == ((B,), (GameKey(INSTANCE, "c"),), 2)
    assert await catalogue.version() == 2


async def test_retirement_keeps_rows_and_reappearance_restores(
    catalogue: SqliteCatalogueStore,
) -> None:
    await _sync(catalogue, [RICH, game("b")])
    report = await _sync(catalogue, [game("b")])
    assert report.retired == (A,)
    stored = await catalogue.games_of(INSTANCE)
    assert stored[A].status is GameStatus.RETIRED
    assert stored[A].rtp_bp == 9650  # the row is kept whole
    back = await _sync(catalogue, [RICH, game("b")])
    assert back.changed == (A,)
    assert (await catalogue.games_of(INSTANCE))[A] == RICH
    assert await catalogue.version() == 3


async def test_partial_sync_retires_nothing(catalogue: SqliteCatalogueStore) -> None:
    await _sync(catalogue, [RICH, game("b")])
    report = await _sync(catalogue, [game("c")], full=False)
    assert report.retired == ()
    assert len(await catalogue.games_of(INSTANCE)) == 3


async def test_guard_changes_nothing_until_confirmed(catalogue: SqliteCatalogueStore) -> None:
    await _sync(catalogue, [RICH, game("b"), game("c"), game("d")])
    before = await catalogue.snapshot()
    with pytest.raises(RetirementGuarded, match="3 of 4"):
        await _sync(catalogue, [game("d"), game("e")], share=0.5)
    assert await catalogue.snapshot() == before
    assert len(await catalogue.sync_history(10)) == 1
    report = await _sync(catalogue, [game("d"), game("e")], share=0.5, confirmed=True)
    assert (len(report.retired), len(report.added), report.version) == (3, 1, 2)


async def test_invalid_feed_changes_nothing(catalogue: SqliteCatalogueStore) -> None:
    await _sync(catalogue, [RICH])
    with pytest.raises(FeedInvalid, match="record 1"):
        await _sync(catalogue, [game("x"), game("y", instance="other")])
    assert (await catalogue.snapshot()).games == (RICH,)
    assert await catalogue.version() == 1


async def test_instances_are_synced_apart(catalogue: SqliteCatalogueStore) -> None:
    other = game("a", instance="other")
    await catalogue.sync(
        "other", [other], full=True, source="o", retire_share_max=0, confirmed=False, at_us=1
    )
    await _sync(catalogue, [game("b")])
    assert (await catalogue.snapshot()).games == (game("b"), other)  # by key: hub < other


async def test_sync_history_newest_first(catalogue: SqliteCatalogueStore) -> None:
    await _sync(catalogue, [RICH, game("b")], at_us=10)
    await _sync(catalogue, [RICH, game("b")], at_us=20)
    await _sync(catalogue, [RICH], at_us=30)
    history = await catalogue.sync_history(2)
    assert [(entry.at_us, entry.version, entry.retired, entry.unchanged) for entry in history] == [
        (30, 2, 1, 1),
        (20, 1, 0, 2),
    ]
    assert await catalogue.sync_history(10, instance="other") == []


OVERLAY_CHANGES: list[tuple[OverlayChange, str, str, object, object]] = [
    (GameSwitch(A, enabled=False), "game_switch", "hub:a", {"enabled": True}, {"enabled": False}),
    (ProviderSwitch("hub", enabled=False), "provider_switch", "hub", {"enabled": True},
     {"enabled": False}),
    (PinnedOrder((B, A)), "pinned_order", "", [], ["hub:b", "hub:a"]),
    (CategoryGames("popular", (A,)), "category_games", "popular", [], ["hub:a"]),
    (GameTitle(A, "Alpha Deluxe"), "game_title", "hub:a", None, "Alpha Deluxe"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "action", "target", "before", "after"),
    OVERLAY_CHANGES,
    ids=[row[1] for row in OVERLAY_CHANGES],
)
async def test_overlay_change_is_audited(
    catalogue: SqliteCatalogueStore,
    change: OverlayChange,
    action: str,
    target: str,
    before: object,
    after: object,
) -> None:
    entry = await catalogue.change_overlay("brand1", change, actor="ops@x", at_us=5)
    assert (entry.action, entry.target, entry.before, entry.after) == (
        action,
        target,
        before,
        after,
    )
    assert (entry.brand, entry.actor, entry.at_us) == ("brand1", "ops@x", 5)
    assert await catalogue.audit("brand1", limit=10, before_seq=None) == [entry]
    assert await catalogue.version() == 1


async def test_overlay_changes_fold_and_audit_reads_newest_first(
    catalogue: SqliteCatalogueStore,
) -> None:
    first = await catalogue.change_overlay("b1", PinnedOrder((A,)), actor="x", at_us=1)
    second = await catalogue.change_overlay("b1", PinnedOrder((B, A)), actor="y", at_us=2)
    third = await catalogue.change_overlay("b1", GameSwitch(B, enabled=False), actor="z", at_us=3)
    await catalogue.change_overlay("b2", GameSwitch(A, enabled=False), actor="z", at_us=4)
    assert second.before == ["hub:a"]
    assert await catalogue.audit("b1", limit=10, before_seq=None) == [third, second, first]
    assert await catalogue.audit("b1", limit=1, before_seq=third.seq) == [second]
    overlay = (await catalogue.snapshot()).overlays["b1"]
    assert (overlay.pinned, overlay.disabled_games) == ((B, A), frozenset({B}))
    assert await catalogue.version() == 4


async def test_everything_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.db"
    store = await SqliteCatalogueStore.open(path)
    await _sync(store, [RICH, game("b")])
    await store.change_overlay("b1", GameTitle(A, "Renamed"), actor="x", at_us=2)
    before = await store.snapshot()
    await store.close()
    reopened = await SqliteCatalogueStore.open(path)
    try:
        assert await reopened.snapshot() == before
        assert before.version == 2
        assert len(await reopened.audit("b1", limit=5, before_seq=None)) == 1
        assert len(await reopened.sync_history(5)) == 1
    finally:
        await reopened.close()


async def test_two_connections_see_each_others_changes(tmp_path: Path) -> None:
    """Several gateway processes share the file: a write by one moves the other's version."""
    first = await SqliteCatalogueStore.open(tmp_path / "catalogue.db")
    second = await SqliteCatalogueStore.open(tmp_path / "catalogue.db")
    try:
        await _sync(first, [RICH])
        assert await second.version() == 1
        await second.change_overlay("b1", GameSwitch(A, enabled=False), actor="x", at_us=1)
        assert await first.version() == 2
    finally:
        await first.close()
        await second.close()


async def test_file_settings(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "data" / "catalogue.db"
    store = await SqliteCatalogueStore.open(path)
    try:
        await _sync(store, [RICH])
    finally:
        await store.close()
    assert file_mode(path) == 0o600
    assert file_mode(path.parent) == 0o700
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            1,
        )
    conn.close()


async def test_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.db"
    await (await SqliteCatalogueStore.open(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = 99 WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(CatalogueAccessError, match="schema version 99"):
        await open_catalogue_store("", data_dir=tmp_path)


URLS = [
    ("", "data/catalogue.db"),
    ("sqlite:other.db", "data/other.db"),
    ("sub/cat.db", "data/sub/cat.db"),
    ("sqlite:///abs/cat.db", "/abs/cat.db"),
]


@pytest.mark.parametrize(("url", "path"), URLS)
def test_catalogue_paths(url: str, path: str) -> None:
    assert catalogue_path(url, data_dir=Path("data")) == Path(path)


@pytest.mark.parametrize("url", ["redis://localhost/0", "postgres://x/y", "sqlite://host/x.db"])
def test_unknown_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        check_catalogue_url(url)


async def test_open_by_url(tmp_path: Path) -> None:
    store = await open_catalogue_store("sqlite:nested/cat.db", data_dir=tmp_path)
    try:
        assert await store.version() == 0
    finally:
        await store.close()
    assert (tmp_path / "nested" / "cat.db").is_file()


async def test_a_snapshot_from_a_known_one_reads_only_what_changed(
    catalogue: SqliteCatalogueStore,
) -> None:
    """Games unchanged since the known snapshot are its own objects; the result equals a
    full read, retirements, changes and another instance's games included."""
    await _sync(catalogue, [game("a"), game("b"), game("c")])
    known = await catalogue.snapshot()
    await _sync(catalogue, [game("a"), game("b", "Bee")])  # c retired, b changed
    await catalogue.sync(
        "other", [game("z", instance="other")], full=True, source="t",
        retire_share_max=1.0, confirmed=True, at_us=3,
    )  # fmt: skip
    full = await catalogue.snapshot()
    partial = await catalogue.snapshot(known)
    assert partial == full
    reused = {g.code for g in partial.games if any(g is k for k in known.games)}
    assert reused == {"a"}
