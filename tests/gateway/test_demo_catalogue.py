"""The demo catalogue: deterministic, valid keys and stakes, realistic spread over the demo
config's provider instances, enough playable MT games on every device for the demo lobby."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from core.catalogue.game import (
    GAME_CODE_PATTERN,
    Device,
    Feature,
    Game,
    GameKey,
    GameStatus,
    Vertical,
)
from core.money import CurrencyTable, to_decimal
from gateway.demo_catalogue import demo_games

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = tuple(tomllib.loads((ROOT / "config" / "gamegate.toml").read_text())["providers"])
TODAY = date(2026, 6, 1)
COUNT = 10_000
SHARES = {
    Vertical.SLOTS: 0.70, Vertical.LIVE: 0.10, Vertical.TABLE: 0.08, Vertical.BINGO: 0.03,
    Vertical.VIRTUAL: 0.02, Vertical.POKER: 0.01,
}  # fmt: skip
"""The spread the lobby is designed for (crash and instant together: 5 %)."""
SHARE_TOLERANCE = 0.015
STAKE_RATIO_TO_EUR = {
    "EUR": Decimal(1), "GBP": Decimal(1), "USD": Decimal(1), "CAD": Decimal(1),
    "SEK": Decimal(10), "DKK": Decimal(10), "JPY": Decimal(100), "KWD": Decimal("0.3"),
}  # fmt: skip
PLAYABLE_MT_PER_DEVICE_MIN = 8_000
GAMEGATE_PLAYABLE_MIN = 1_000


@pytest.fixture(scope="module")
def games() -> list[Game]:
    return demo_games(INSTANCES, count=COUNT, today=TODAY)


def _digest(games: list[Game]) -> str:
    """Every field, with sets and mappings sorted: equal catalogues give equal digests in any
    process, whatever its hash seed."""

    def canonical(value: object) -> object:
        if isinstance(value, Mapping):
            return sorted(map(repr, value.items()))
        if isinstance(value, frozenset):
            return sorted(map(repr, value))
        return value

    rows = [[canonical(getattr(g, f.name)) for f in dataclasses.fields(g)] for g in games]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_the_demo_config_has_the_instances_the_spread_is_made_for() -> None:
    assert {"gamegate", "evolution", "betby", "pragmatic"} <= set(INSTANCES)


def test_same_seed_same_catalogue_also_in_another_process(games: list[Game]) -> None:
    assert demo_games(INSTANCES, count=COUNT, today=TODAY) == games
    assert demo_games(INSTANCES, count=COUNT, seed=7, today=TODAY) != games
    # Another hash seed reorders sets: a draw that iterates a set would differ here.
    script = (
        "import sys; from datetime import date;"
        "from gateway.demo_catalogue import demo_games;"
        "from tests.gateway.test_demo_catalogue import _digest, INSTANCES, COUNT, TODAY;"
        "sys.stdout.write(_digest(demo_games(INSTANCES, count=COUNT, today=TODAY)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, check=True
    )
    assert other.stdout.decode() == _digest(games)


def test_generation_is_fast() -> None:
    started = time.process_time()
    demo_games(INSTANCES, count=COUNT, seed=99, today=TODAY)
    assert time.process_time() - started < 2.0


def test_count_and_unique_valid_keys(games: list[Game]) -> None:
    assert len(games) == COUNT
    keys = [g.key for g in games]
    assert len(set(keys)) == COUNT
    for key in keys:
        assert GAME_CODE_PATTERN.match(key.code)
        assert GameKey.parse(str(key)) == key


def test_titles_are_unique_within_an_instance_and_numbered_only_on_repeats(
    games: list[Game],
) -> None:
    titles = Counter((g.instance, g.title) for g in games)
    assert max(titles.values()) == 1
    numbered = [g for g in games if g.title.rsplit(" ", 1)[-1].isdigit()]
    assert numbered, "some repeats are expected in 10,000 games"
    for game in numbered:
        base = game.title.rsplit(" ", 1)[0]
        assert titles[game.instance, base] == 1, game.title


def test_vertical_shares(games: list[Game]) -> None:
    verticals = Counter(g.vertical for g in games)
    for vertical, share in SHARES.items():
        assert abs(verticals[vertical] / COUNT - share) <= SHARE_TOLERANCE, vertical
    crash_instant = (verticals[Vertical.CRASH] + verticals[Vertical.INSTANT]) / COUNT
    assert abs(crash_instant - 0.05) <= SHARE_TOLERANCE
    assert verticals[Vertical.SPORTSBOOK] == 1


def test_every_instance_has_games_and_each_its_profile(games: list[Game]) -> None:
    by_instance = Counter(g.instance for g in games)
    assert set(by_instance) == set(INSTANCES)
    assert by_instance["gamegate"] >= GAMEGATE_PLAYABLE_MIN
    assert [g.vertical for g in games if g.instance == "betby"] == [Vertical.SPORTSBOOK]
    evolution = Counter(g.vertical for g in games if g.instance == "evolution")
    assert evolution.most_common(1)[0][0] is Vertical.LIVE
    gamegate = {g.vertical for g in games if g.instance == "gamegate"}
    assert gamegate == set(Vertical) - {Vertical.SPORTSBOOK}


def test_no_sportsbook_without_a_betby_instance() -> None:
    games = demo_games(["gamegate", "hub88"], count=500, today=TODAY)
    assert len(games) == 500
    assert all(g.vertical is not Vertical.SPORTSBOOK for g in games)
    assert demo_games(["betby"], count=500, today=TODAY)[0].vertical is Vertical.SPORTSBOOK


def test_stakes_per_currency_respect_its_exponent(games: list[Game]) -> None:
    table = CurrencyTable()
    for game in games:
        assert game.currencies == set(game.stakes)
        assert "EUR" in game.currencies
        eur = game.stakes["EUR"]
        for code, stake in game.stakes.items():
            assert 0 < stake.min_minor < stake.max_minor, (game.key, code)
            currency = table.get(code)
            low, high = (to_decimal(amount, currency) for amount in stake)
            euro = table.get("EUR")
            ratio = STAKE_RATIO_TO_EUR[code]
            assert low == to_decimal(eur.min_minor, euro) * ratio, (game.key, code)
            assert high == to_decimal(eur.max_minor, euro) * ratio, (game.key, code)
    slots = [g.stakes["EUR"] for g in games if g.vertical is Vertical.SLOTS]
    assert min(s.min_minor for s in slots) == 10  # EUR 0.10
    live = [g.stakes["EUR"] for g in games if g.vertical is Vertical.LIVE]
    assert min(s.max_minor for s in live) > max(s.max_minor for s in slots)
    currencies = Counter(code for g in games for code in g.currencies)
    assert {"GBP", "SEK", "CAD", "USD", "DKK", "JPY", "KWD"} <= set(currencies)


def test_market_certified_currencies_follow_markets(games: list[Game]) -> None:
    for game in games:
        assert game.markets
        assert ("GB" in game.markets) <= ("GBP" in game.currencies)
        assert ("SE" in game.markets) <= ("SEK" in game.currencies)
    markets = Counter(m for g in games for m in g.markets)
    assert markets["MT"] >= 0.95 * COUNT
    assert 0.65 * COUNT <= markets["GB"] <= 0.85 * COUNT
    assert 0.40 * COUNT <= markets["DE"] <= 0.60 * COUNT
    assert set(markets) == {"MT", "GB", "DE", "NL", "SE", "ES", "CA-ON", "CW", "DK", "IT"}


def test_plenty_of_playable_mt_games_on_every_device(games: list[Game]) -> None:
    playable = [g for g in games if g.status is GameStatus.ACTIVE and "MT" in g.markets]
    for device in Device:
        on_device = sum(device in g.devices for g in playable)
        assert on_device >= PLAYABLE_MT_PER_DEVICE_MIN, device
    gamegate = [g for g in playable if g.instance == "gamegate"]
    assert len(gamegate) >= GAMEGATE_PLAYABLE_MIN
    devices = Counter(g.devices for g in games)
    assert 0.05 * COUNT <= devices[frozenset({Device.DESKTOP})] <= 0.15 * COUNT
    assert 0.01 * COUNT <= devices[frozenset({Device.MOBILE})] <= 0.05 * COUNT


def test_statuses_and_demo_mode(games: list[Game]) -> None:
    disabled = sum(g.status is GameStatus.DISABLED for g in games)
    assert 0.01 * COUNT <= disabled <= 0.03 * COUNT
    assert all(g.status is not GameStatus.RETIRED for g in games)
    assert not any(g.demo for g in games if g.vertical is Vertical.LIVE)
    slots = [g for g in games if g.vertical is Vertical.SLOTS]
    assert sum(g.demo for g in slots) >= 0.9 * len(slots)


def test_slots_rtp_volatility_and_features(games: list[Game]) -> None:
    slots = [g for g in games if g.vertical is Vertical.SLOTS]
    for game in slots:
        assert game.rtp_bp is not None
        assert 9400 <= game.rtp_bp <= 9700
        assert game.volatility is not None
        for market, rtp_bp in game.rtp_bp_by_market.items():
            assert market in game.markets
            assert 9000 <= rtp_bp < game.rtp_bp
    assert 0.07 <= sum(bool(g.rtp_bp_by_market) for g in slots) / len(slots) <= 0.13
    features = Counter(f for g in slots for f in g.features)
    assert 0.03 <= features[Feature.JACKPOT] / len(slots) <= 0.07
    assert 0.15 <= features[Feature.SLAM_STOP] / len(slots) <= 0.25
    assert features[Feature.AUTOPLAY] > features[Feature.TURBO] > features[Feature.BONUS_BUY]
    megaways = [g for g in slots if Feature.MEGAWAYS in g.features]
    assert megaways
    assert all("Megaways" in g.title for g in megaways)
    live = [g for g in games if g.vertical is Vertical.LIVE]
    assert sum(not g.features for g in live) >= 0.9 * len(live)


def test_release_dates_spread_with_some_new(games: list[Game]) -> None:
    dates = [g.release_date for g in games]
    assert all(d is not None and TODAY - timedelta(days=6 * 365) < d <= TODAY for d in dates)
    new = sum(d is not None and d > TODAY - timedelta(days=60) for d in dates)
    assert 0.06 * COUNT <= new <= 0.10 * COUNT  # 5 % plus the even spread's 2.6 %
    years = Counter(d.year for d in dates if d is not None)
    assert len(years) == 7  # 2020 (from June) to 2026


def test_tags_types_and_images(games: list[Game]) -> None:
    tags = Counter(t for g in games for t in g.tags)
    assert {"classic", "fruits", "egypt", "asian", "christmas", "live_dealer"} <= set(tags)
    types = {g.game_type for g in games}
    assert {"video_slot", "roulette", "blackjack", "baccarat", "game_show", "crash"} <= types
    for game in games:
        assert game.images == {"thumbnail": f"/lobby/images/{game.instance}/{game.code}.svg"}
    studios = {g.studio for g in games}
    assert 30 <= len(studios) <= 50
