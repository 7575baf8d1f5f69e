"""The served catalogue: swapped whole after a change, shared through the store by every
process, checked before an overlay change is stored, and read by the debit path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from adapters.catalogue.sqlite_catalogue import SqliteCatalogueStore
from core.catalogue.game import Device, Feature, Game, GameKey, Vertical
from core.catalogue.live import LiveCatalogue
from core.catalogue.overlay import CategoryGames, GameSwitch, GameTitle, PinnedOrder
from core.catalogue.query import LobbyQuery
from core.errors import GameNotFound, GameUnavailable, InvalidRequest
from core.model import Debit
from core.money import CurrencyTable
from core.service import WalletService
from core.wallet.store import GuardContext, WalletStore
from tests.catalogue.games import INSTANCE, game
from tests.conftest import FakeClock, MakePlayer, MakeSession

TODAY = date(2026, 12, 5)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[list[SqliteCatalogueStore]]:
    """Two connections to one catalogue file, as two gateway processes hold it."""
    path = tmp_path / "catalogue.db"
    opened = [await SqliteCatalogueStore.open(path), await SqliteCatalogueStore.open(path)]
    yield opened
    for store in opened:
        await store.close()


async def _live(store: SqliteCatalogueStore, today: date = TODAY) -> LiveCatalogue:
    live = LiveCatalogue(store, today=lambda: today, new_games_days=30)
    await live.load()
    return live


async def _sync(live: LiveCatalogue, *games: Game) -> None:
    await live.sync(
        INSTANCE,
        games,
        full=True,
        source="test",
        retire_share_max=1.0,
        confirmed=True,
        at_us=1,
    )


def _listed(live: LiveCatalogue, brand: str = "b1") -> list[str]:
    page = live.index.query(LobbyQuery(brand=brand, market="MT", device=Device.DESKTOP))
    return [item.game.code for item in page.games]


async def test_a_sync_swaps_the_index_and_another_process_sees_it_on_refresh(
    stores: list[SqliteCatalogueStore],
) -> None:
    first, second = await _live(stores[0]), await _live(stores[1])
    old_index = second.index
    await _sync(first, game("a"), game("b"))
    assert sorted(_listed(first)) == ["a", "b"]
    assert _listed(second) == []
    assert second.index is old_index
    assert await second.refresh() is True
    assert sorted(_listed(second)) == ["a", "b"]
    assert await second.refresh() is False
    assert second.index.version == first.index.version


async def test_an_unchanged_sync_keeps_the_index(stores: list[SqliteCatalogueStore]) -> None:
    live = await _live(stores[0])
    await _sync(live, game("a"))
    index = live.index
    await _sync(live, game("a"))
    assert live.index is index


async def test_a_game_another_process_just_added_is_found_at_once(
    stores: list[SqliteCatalogueStore],
) -> None:
    first, second = await _live(stores[0]), await _live(stores[1])
    await _sync(first, game("fresh"))
    key = GameKey(INSTANCE, "fresh")
    found = await second.playable(key, brand="b1", market="MT", device=None)
    assert found.code == "fresh"
    with pytest.raises(GameNotFound):
        await second.playable(GameKey(INSTANCE, "never"), brand="b1", market="MT", device=None)


async def test_a_new_day_rebuilds_the_new_category(stores: list[SqliteCatalogueStore]) -> None:
    days = [TODAY]
    live = LiveCatalogue(stores[0], today=lambda: days[0], new_games_days=30)
    await live.load()
    await _sync(live, game("recent", release_date=TODAY - timedelta(days=29)))
    new = LobbyQuery(brand="b1", market="MT", device=Device.DESKTOP, category="new")
    assert live.index.query(new).total == 1
    days[0] = TODAY + timedelta(days=2)
    assert await live.refresh() is True
    assert live.index.query(new).total == 0


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (GameSwitch(GameKey(INSTANCE, "ghost"), enabled=False), GameNotFound),
        (GameTitle(GameKey(INSTANCE, "ghost"), "Renamed"), GameNotFound),
        (GameTitle(GameKey(INSTANCE, "a"), "\x07bell"), InvalidRequest),
        (GameTitle(GameKey(INSTANCE, "a"), "x" * 121), InvalidRequest),
        (PinnedOrder((GameKey(INSTANCE, "a"), GameKey(INSTANCE, "a"))), InvalidRequest),
        (PinnedOrder((GameKey(INSTANCE, "a"), GameKey(INSTANCE, "ghost"))), GameNotFound),
        (CategoryGames("top", (GameKey(INSTANCE, "ghost"),)), GameNotFound),
    ],
)
async def test_an_overlay_change_naming_what_is_not_there_changes_nothing(
    stores: list[SqliteCatalogueStore], change: object, error: type[Exception]
) -> None:
    live = await _live(stores[0])
    await _sync(live, game("a"))
    version = live.index.version
    with pytest.raises(error):
        await live.change_overlay("b1", change, actor="ops", at_us=2)  # type: ignore[arg-type]
    assert await stores[0].version() == version
    assert await stores[0].audit("b1", limit=10, before_seq=None) == []


async def test_an_overlay_change_is_served_at_once(stores: list[SqliteCatalogueStore]) -> None:
    live = await _live(stores[0])
    await _sync(live, game("a"), game("b"))
    await live.change_overlay("b1", GameSwitch(GameKey(INSTANCE, "a"), False), actor="x", at_us=2)
    assert _listed(live) == ["b"]
    assert sorted(_listed(live, brand="b2")) == ["a", "b"]
    with pytest.raises(GameUnavailable):
        live.index.playable(GameKey(INSTANCE, "a"), brand="b1", market="MT", device=None)


async def test_the_debit_path_sees_the_sessions_game(
    stores: list[SqliteCatalogueStore],
    store: WalletStore,
    clock: FakeClock,
    make_player: MakePlayer,
    make_session: MakeSession,
) -> None:
    """A debit policy (the market rules of the compliance path) is handed the catalogue
    record of the session's game: its vertical and features."""
    live = await _live(stores[0])
    await _sync(live, game("bb", vertical=Vertical.SLOTS, features=frozenset({Feature.BONUS_BUY})))
    seen: list[Game | None] = []

    class Recorder:
        def check(self, debit: Debit, context: GuardContext, game: Game | None) -> None:
            seen.append(game)

    service = WalletService(
        store,
        CurrencyTable(),
        clock.micros,
        debit_policies=[Recorder()],
        games=lambda key: live.index.game(key),
    )
    await make_player("p1", real=1_000)
    await make_session("tok", "p1", provider=INSTANCE, game_id="bb")
    debit = Debit(INSTANCE, "tx-1", "p1", "EUR", 100, round_id="r-1", game_id="bb")
    await service.debit(debit, session_token="tok")
    assert [g.code if g else None for g in seen] == ["bb"]
    assert seen[0] is not None
    assert seen[0].features == frozenset({Feature.BONUS_BUY})
