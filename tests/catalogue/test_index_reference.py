"""The lobby index against an independent reference: a plain filter over a list.

For random catalogues, overlays and queries, the index must return the same games in the
same order over every page, the same total and the same facet counts, and its launch
check (`playable`) must agree with what it lists.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from core.catalogue.game import Device, Feature, Game, GameKey, GameStatus, Vertical
from core.catalogue.index import CatalogueIndex
from core.catalogue.overlay import BrandOverlay
from core.catalogue.query import LobbyQuery, MarketFilter, decode_cursor, encode_cursor
from core.catalogue.store import CatalogueSnapshot
from core.errors import GatewayError

TODAY = date(2026, 12, 5)
NEW_GAMES_DAYS = 30
INSTANCES = ("alpha", "beta")
STUDIOS = ("Northwind", "Bluefin")
MARKETS = ("MT", "GB", "CA-ON")
VERTICALS = (Vertical.SLOTS, Vertical.LIVE, Vertical.TABLE)
FEATURES = (Feature.AUTOPLAY, Feature.JACKPOT, Feature.BONUS_BUY)
CURRENCIES = ("EUR", "GBP")
TITLE_WORDS = ("Gold", "gold", "Dragon", "Fruit", "Ägypt")


@st.composite
def games(draw: st.DrawFn) -> list[Game]:
    count = draw(st.integers(0, 40))
    found: dict[GameKey, Game] = {}
    for _ in range(count):
        instance = draw(st.sampled_from(INSTANCES))
        code = f"g{draw(st.integers(0, 60))}"
        released = draw(st.one_of(st.none(), st.integers(0, 90)))
        game = Game(
            instance=instance,
            code=code,
            title=" ".join(draw(st.lists(st.sampled_from(TITLE_WORDS), min_size=1, max_size=3))),
            studio=draw(st.sampled_from(STUDIOS)),
            vertical=draw(st.sampled_from(VERTICALS)),
            features=frozenset(draw(st.sets(st.sampled_from(FEATURES)))),
            devices=frozenset(draw(st.sets(st.sampled_from(tuple(Device)), min_size=1))),
            markets=frozenset(draw(st.sets(st.sampled_from(MARKETS)))),
            currencies=frozenset(draw(st.sets(st.sampled_from(CURRENCIES)))),
            release_date=None if released is None else TODAY - timedelta(days=released),
            status=draw(st.sampled_from((GameStatus.ACTIVE,) * 4 + tuple(GameStatus))),
        )
        found[game.key] = game
    return list(found.values())


@st.composite
def overlays(draw: st.DrawFn, keys: list[GameKey]) -> dict[str, BrandOverlay]:
    if not draw(st.booleans()) or not keys:
        return {}
    some_keys = st.lists(st.sampled_from(keys), max_size=6)
    overlay = BrandOverlay(
        brand="b1",
        disabled_instances=frozenset(draw(st.sets(st.sampled_from(INSTANCES), max_size=1))),
        disabled_games=frozenset(draw(some_keys)),
        pinned=tuple(draw(some_keys)),
        categories=MappingProxyType(
            {
                name: tuple(draw(some_keys))
                for name in draw(st.sets(st.sampled_from(("top", "new"))))
            }
        ),
        titles=MappingProxyType({key: "Renamed gold" for key in draw(some_keys)}),
    )
    return {"b1": overlay}


@st.composite
def queries(draw: st.DrawFn) -> LobbyQuery:
    def some(values: tuple[str, ...] | tuple[Vertical, ...] | tuple[Feature, ...]) -> frozenset:  # type: ignore[type-arg]
        return frozenset(draw(st.sets(st.sampled_from(values), max_size=2)))

    return LobbyQuery(
        brand=draw(st.sampled_from(("b1", "b2"))),
        market=draw(st.sampled_from(MARKETS)),
        device=draw(st.sampled_from(tuple(Device))),
        verticals=some(VERTICALS),
        providers=some(INSTANCES),
        studios=some(STUDIOS),
        features=some(FEATURES),
        features_excluded=some(FEATURES),
        category=draw(st.sampled_from((None, "new", "live", "top", "nothing"))),
        currency=draw(st.sampled_from((None, *CURRENCIES))),
        text=draw(st.sampled_from((None, "gold", "GOLD", "ägypt", "renamed", "zzz"))),
        market_filter=draw(st.one_of(st.none(), market_filters())),
        limit=draw(st.integers(1, 7)),
    )


@st.composite
def market_filters(draw: st.DrawFn) -> MarketFilter:
    """A market's rules as the lobby sees them: allowed verticals, features banned per
    vertical."""
    allowed = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(VERTICALS))))
    banned = draw(
        st.dictionaries(
            st.sampled_from(VERTICALS), st.frozensets(st.sampled_from(FEATURES), max_size=2)
        )
    )
    return MarketFilter(allowed, banned)


def _order_key(game: Game) -> tuple[int, str]:
    day = game.release_date.toordinal() if game.release_date else 0
    return (-day, f"{game.instance}:{game.code}")


def reference(
    catalogue: list[Game], overlays: dict[str, BrandOverlay], query: LobbyQuery
) -> tuple[list[tuple[GameKey, str]], dict[str, dict[str, int]]]:
    """Games (key, title) in lobby order and the facets, by filtering a list."""
    overlay = overlays.get(query.brand)

    def title(game: Game) -> str:
        return overlay.titles.get(game.key, game.title) if overlay else game.title

    def in_category(game: Game) -> bool:
        category = query.category or ""
        if overlay is not None and category in overlay.categories:
            return game.key in overlay.categories[category]
        if query.category == "live":
            return game.vertical is Vertical.LIVE
        if query.category == "new":
            new_since = TODAY - timedelta(days=NEW_GAMES_DAYS)
            return game.release_date is not None and game.release_date >= new_since
        return False

    def base(game: Game) -> bool:
        switched_off = overlay is not None and (
            game.key in overlay.disabled_games or game.instance in overlay.disabled_instances
        )
        return (
            game.status is GameStatus.ACTIVE
            and not switched_off
            and query.market in game.markets
            and query.device in game.devices
            and (query.currency is None or query.currency in game.currencies)
            and (query.category is None or in_category(game))
            and (not query.text or query.text.casefold() in title(game).casefold())
            and query.features <= game.features
            and not query.features_excluded & game.features
            and (not query.studios or game.studio in query.studios)
            and not (
                query.market_filter is not None
                and (
                    (
                        query.market_filter.verticals is not None
                        and game.vertical not in query.market_filter.verticals
                    )
                    or query.market_filter.banned_features.get(game.vertical, frozenset())
                    & game.features
                )
            )
        )

    def vertical_ok(game: Game) -> bool:
        return not query.verticals or game.vertical in query.verticals

    def provider_ok(game: Game) -> bool:
        return not query.providers or game.instance in query.providers

    ordered = sorted(catalogue, key=_order_key)
    candidates = [game for game in ordered if base(game)]
    result = [game for game in candidates if vertical_ok(game) and provider_ok(game)]
    pinned_keys = list(dict.fromkeys(overlay.pinned)) if overlay else []
    in_result = {game.key: game for game in result}
    pinned = [in_result[key] for key in pinned_keys if key in in_result]
    rest = [game for game in result if game.key not in set(pinned_keys)]
    listed = [(game.key, title(game)) for game in pinned + rest]

    def count(games: list[Game], value_of: object) -> dict[str, int]:
        counts: dict[str, int] = {}
        for game in games:
            for value in value_of(game):  # type: ignore[operator]
                counts[value] = counts.get(value, 0) + 1
        return counts

    facets = {
        "vertical": count([g for g in candidates if provider_ok(g)], lambda g: [g.vertical.value]),
        "provider": count([g for g in candidates if vertical_ok(g)], lambda g: [g.instance]),
        "feature": count(result, lambda g: [f.value for f in g.features]),
    }
    return listed, facets


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_index_pages_match_reference(data: st.DataObject) -> None:
    catalogue = data.draw(games())
    brand_overlays = data.draw(overlays([game.key for game in catalogue]))
    query = data.draw(queries())
    snapshot = CatalogueSnapshot(7, tuple(catalogue), MappingProxyType(brand_overlays))
    index = CatalogueIndex.build(snapshot, today=TODAY, new_games_days=NEW_GAMES_DAYS)
    expected, expected_facets = reference(catalogue, brand_overlays, query)

    seen: list[tuple[GameKey, str]] = []
    page = index.query(query)
    assert page.total == len(expected)
    assert {name: dict(counts) for name, counts in page.facets.items()} == expected_facets
    while True:
        assert len(page.games) <= query.limit
        seen.extend((listed.game.key, listed.title) for listed in page.games)
        if page.next_cursor is None:
            break
        cursor = decode_cursor(encode_cursor(page.next_cursor))
        page = index.query(replace(query, after=cursor))
    assert seen == expected


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_playable_agrees_with_listing(data: st.DataObject) -> None:
    """A game is launchable exactly when an unfiltered lobby query lists it."""
    catalogue = data.draw(games())
    brand_overlays = data.draw(overlays([game.key for game in catalogue]))
    snapshot = CatalogueSnapshot(1, tuple(catalogue), MappingProxyType(brand_overlays))
    index = CatalogueIndex.build(snapshot, today=TODAY, new_games_days=NEW_GAMES_DAYS)
    for market in MARKETS:
        for device in Device:
            query = LobbyQuery(brand="b1", market=market, device=device, limit=200)
            listed = {item.game.key for item in index.query(query).games}
            for game in catalogue:
                try:
                    index.playable(game.key, brand="b1", market=market, device=device)
                    playable = True
                except GatewayError:
                    playable = False
                assert playable == (game.key in listed), game
