"""The demo catalogue: ten thousand invented games over the configured provider instances.

Demo mode has no provider feeds to sync, yet the lobby, its filters, facets, paging and the
market rules need a catalogue of realistic size and spread to show anything. The games are
generated from the tables below with `random.Random(seed)`, so one seed always yields the
same catalogue (stable keys for links, tests and screenshots). Studios and titles are
invented; no real studio or game name is used.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TypeVar

from core.catalogue.game import (
    Device,
    Feature,
    Game,
    GameStatus,
    StakeRange,
    Vertical,
    Volatility,
    frozen_mapping,
)
from core.money import CurrencyTable

__all__ = ["VERTICAL_SHARES", "demo_games"]

V = Vertical
_T = TypeVar("_T")

VERTICAL_SHARES: Mapping[Vertical, float] = {
    V.SLOTS: 0.71, V.LIVE: 0.10, V.TABLE: 0.08, V.CRASH: 0.02, V.INSTANT: 0.03,
    V.BINGO: 0.03, V.VIRTUAL: 0.02, V.POKER: 0.01,
}  # fmt: skip
"""Share of each vertical in the catalogue; sportsbook is one game per betby-like instance."""

INSTANCE_AFFINITY: Mapping[str, Mapping[Vertical, int]] = {
    "gamegate": {V.SLOTS: 3, V.LIVE: 1, V.TABLE: 3, V.CRASH: 3, V.INSTANT: 3, V.BINGO: 3,
                 V.VIRTUAL: 3, V.POKER: 3},
    "hub88": {V.SLOTS: 4, V.LIVE: 2, V.TABLE: 2, V.CRASH: 2, V.INSTANT: 2, V.BINGO: 1,
              V.VIRTUAL: 2},
    "pragmatic": {V.SLOTS: 4, V.LIVE: 3, V.TABLE: 1, V.CRASH: 1, V.BINGO: 2},
    "evolution": {V.SLOTS: 1, V.LIVE: 10, V.TABLE: 2},
    "softswiss": {V.SLOTS: 4, V.TABLE: 1, V.CRASH: 3, V.INSTANT: 3, V.VIRTUAL: 1, V.POKER: 1},
    "betsoft": {V.SLOTS: 2, V.TABLE: 2, V.INSTANT: 1, V.POKER: 1},
}  # fmt: skip
"""Relative weight of an instance within a vertical: evolution is mostly live, gamegate has
a share of everything (so the demo lobby has plenty of playable gamegate games)."""
DEFAULT_AFFINITY: Mapping[Vertical, int] = dict.fromkeys(VERTICAL_SHARES, 1)
SPORTSBOOK_MARK = "betby"
"""An instance whose name contains this serves exactly one game, its sportsbook, and no other."""

CODE_PREFIXES: Mapping[str, str] = {
    "gamegate": "gg", "hub88": "hb", "pragmatic": "pp", "evolution": "evo",
    "softswiss": "ss", "betby": "bb", "betsoft": "bs",
}  # fmt: skip
CODE_SLUGS: Mapping[Vertical, str] = {
    V.SLOTS: "slot", V.LIVE: "live", V.TABLE: "table", V.CRASH: "crash", V.INSTANT: "instant",
    V.BINGO: "bingo", V.VIRTUAL: "virtual", V.POKER: "poker", V.SPORTSBOOK: "sports",
}  # fmt: skip

STUDIOS: Mapping[Vertical, tuple[str, ...]] = {
    V.SLOTS: (
        "Brightreel Studios", "Copperfox Gaming", "Lanternfish Games", "Northwind Reels",
        "Quartzlight", "Tidewater Play", "Emberline", "Silverbirch Interactive", "Moonmoth Games",
        "Pinecone Labs", "Velvet Owl", "Glasshouse Gaming", "Cobalt Canyon", "Saltmarsh Studios",
        "Ironbark Play", "Honeycomb Reels", "Starling Forge", "Bluefern Games",
        "Marigold Mechanics", "Driftwood Digital", "Oakhollow Games", "Rustbelt Reels",
        "Snowcap Interactive", "Tangerine Tiger",
    ),
    V.LIVE: ("Foxglove Live", "Grayhaven Live", "Larkspur Live", "Harborlight Studios"),
    V.TABLE: ("Dovetail Tables", "Blackthorn Dice", "Amberwick"),
    V.CRASH: ("Kiteflyer Games", "Cinderpeak"),
    V.INSTANT: ("Kiteflyer Games", "Juniper Jolt", "Cinderpeak"),
    V.BINGO: ("Umberline Bingo", "Wavecrest Gaming"),
    V.VIRTUAL: ("Zephyr Lane", "Yellowpine Studios"),
    V.POKER: ("Paper Lantern Poker",),
    V.SPORTSBOOK: ("Touchline Trading",),
}  # fmt: skip
"""About forty invented studios, each in the verticals it makes."""

SLOT_THEMES: Mapping[str, tuple[str, ...]] = {
    "egypt": ("Pharaoh", "Sphinx", "Scarab", "Pyramid", "Nile", "Anubis"),
    "asian": ("Dragon", "Panda", "Lotus", "Koi", "Jade", "Tiger"),
    "fruits": ("Fruit", "Cherry", "Melon", "Lemon", "Plum", "Berry"),
    "classic": ("Sevens", "Bars", "Bells", "Reels", "Stars"),
    "christmas": ("Santa", "Snowflake", "Reindeer", "Sleigh"),
    "norse": ("Viking", "Rune", "Thunder", "Valkyrie", "Fjord"),
    "irish": ("Leprechaun", "Clover", "Rainbow", "Shamrock"),
    "ocean": ("Pearl", "Kraken", "Reef", "Mermaid", "Treasure"),
    "gems": ("Diamond", "Ruby", "Sapphire", "Emerald", "Crystal"),
    "wild_west": ("Outlaw", "Saloon", "Sheriff", "Bandit", "Mustang"),
    "animals": ("Buffalo", "Wolf", "Lion", "Eagle", "Rhino"),
    "horror": ("Vampire", "Crypt", "Phantom", "Raven"),
}
"""Slot theme (also its tag) -> title nouns."""
SLOT_ADJECTIVES = (
    "Golden", "Lucky", "Mighty", "Wild", "Hot", "Royal", "Mystic", "Blazing", "Super", "Big",
    "Crazy", "Sticky", "Ancient", "Fiery", "Magic", "Silver", "Electric", "Frozen", "Hidden",
)  # fmt: skip
SLOT_SUFFIXES = ("Deluxe", "Riches", "Rush", "Bonanza", "Hold & Win", "Link", "Unleashed")
SLOT_SUFFIX_ODDS = 0.35
OTHER_PREFIXES = (
    "Grand", "Velvet", "Emerald", "Salon", "Midnight", "Prestige", "Riviera", "Harbour",
    "Speedy", "Classic", "Rocket", "Comet", "Neon", "Turbo", "Atlas",
)  # fmt: skip
GAME_TYPES: Mapping[Vertical, tuple[tuple[str, str], ...]] = {
    V.LIVE: (("roulette", "Roulette"), ("blackjack", "Blackjack"), ("baccarat", "Baccarat"),
             ("game_show", "Wheel Show"), ("dice", "Dice"), ("casino_holdem", "Hold'em")),
    V.TABLE: (("roulette", "Roulette"), ("blackjack", "Blackjack"), ("baccarat", "Baccarat"),
              ("video_poker", "Video Poker"), ("craps", "Craps")),
    V.CRASH: (("crash", "Crash"), ("crash", "Climb"), ("crash", "Flight")),
    V.INSTANT: (("mines", "Mines"), ("plinko", "Plinko"), ("scratch", "Scratch"),
                ("dice", "Dice"), ("keno", "Keno")),
    V.BINGO: (("bingo_75", "75-Ball Bingo"), ("bingo_90", "90-Ball Bingo")),
    V.VIRTUAL: (("virtual_football", "Football League"), ("virtual_horses", "Derby"),
                ("virtual_greyhounds", "Dogs")),
    V.POKER: (("texas_holdem", "Hold'em Tables"), ("omaha", "Omaha Tables")),
    V.SPORTSBOOK: (("sportsbook", "Sportsbook"),),
}  # fmt: skip
"""Non-slot verticals: (game_type, title noun) pairs; slots are video_slot or classic_slot."""
VERTICAL_TAGS: Mapping[Vertical, str] = {
    V.LIVE: "live_dealer", V.TABLE: "rng_table", V.CRASH: "multiplier", V.INSTANT: "quick",
    V.BINGO: "bingo", V.VIRTUAL: "virtual_sports", V.POKER: "p2p", V.SPORTSBOOK: "sports",
}  # fmt: skip
POPULAR_ODDS = 0.1

FEATURE_ODDS: Mapping[Vertical, Mapping[Feature, float]] = {
    V.SLOTS: {Feature.AUTOPLAY: 0.9, Feature.TURBO: 0.6, Feature.FREE_ROUNDS: 0.7,
              Feature.BONUS_BUY: 0.25, Feature.ANTE_BET: 0.15, Feature.MEGAWAYS: 0.08,
              Feature.JACKPOT: 0.05, Feature.SLAM_STOP: 0.2},
    V.LIVE: {Feature.JACKPOT: 0.02},
    V.TABLE: {Feature.AUTOPLAY: 0.3, Feature.TURBO: 0.2},
    V.CRASH: {Feature.AUTOPLAY: 0.6},
    V.INSTANT: {Feature.AUTOPLAY: 0.4, Feature.TURBO: 0.3},
    V.BINGO: {Feature.AUTOPLAY: 0.5, Feature.JACKPOT: 0.2},
    V.POKER: {Feature.JACKPOT: 0.1},
}  # fmt: skip
"""Independent odds of each feature per vertical (market rules may ban some of them)."""

RTP_BP: Mapping[Vertical, tuple[int, int]] = {
    V.SLOTS: (9400, 9700), V.LIVE: (9500, 9950), V.TABLE: (9500, 9950), V.CRASH: (9600, 9900),
    V.INSTANT: (9500, 9800), V.BINGO: (9000, 9500), V.VIRTUAL: (9000, 9500),
}  # fmt: skip
"""RTP range in basis points; poker (rake) and the sportsbook have none."""
RTP_VARIANT_ODDS = 0.1
RTP_VARIANT_CUT_BP = (100, 200, 300, 400)
"""A slot with a market variant runs lower there, never below 90 % (the Italian floor)."""
VOLATILITIES: Mapping[Volatility, int] = {
    Volatility.LOW: 15, Volatility.MEDIUM: 35, Volatility.HIGH: 35, Volatility.VERY_HIGH: 15,
}  # fmt: skip

BOTH_DEVICES = frozenset(Device)
DEVICES: Mapping[frozenset[Device], int] = {
    BOTH_DEVICES: 87, frozenset({Device.DESKTOP}): 10, frozenset({Device.MOBILE}): 3,
}  # fmt: skip

MARKET_ODDS: Mapping[str, float] = {
    "MT": 0.97, "CW": 0.95, "GB": 0.75, "SE": 0.55, "DE": 0.5, "NL": 0.45, "CA-ON": 0.4,
    "DK": 0.4, "ES": 0.35, "IT": 0.3,
}  # fmt: skip
"""Odds that a game is certified for a market; demo players are MT, so nearly all are."""
FALLBACK_MARKET = "MT"
MARKET_CURRENCIES: Mapping[str, str] = {"GB": "GBP", "SE": "SEK", "CA-ON": "CAD", "DK": "DKK"}
"""A game certified for a market takes its currency; EUR is always offered."""
EXTRA_CURRENCY_ODDS: Mapping[str, float] = {"USD": 0.8, "JPY": 0.3, "KWD": 0.1}

STAKES_EUR_CENTS: Mapping[Vertical, tuple[tuple[int, ...], tuple[int, ...]]] = {
    V.SLOTS: ((10, 20, 25), (2_000, 5_000, 10_000, 25_000)),
    V.LIVE: ((50, 100, 500), (50_000, 200_000, 500_000)),
    V.TABLE: ((10, 50, 100), (10_000, 50_000, 100_000)),
    V.CRASH: ((10,), (10_000, 50_000)),
    V.INSTANT: ((10, 20), (5_000, 10_000)),
    V.BINGO: ((5, 10), (2_000, 5_000)),
    V.VIRTUAL: ((10, 50), (10_000, 50_000)),
    V.POKER: ((2, 10), (20_000, 100_000)),
    V.SPORTSBOOK: ((10,), (1_000_000,)),
}  # fmt: skip
"""(smallest stakes, largest stakes) to pick from, in euro cents."""
STAKE_SCALE: Mapping[str, tuple[int, int]] = {
    "EUR": (1, 1), "GBP": (1, 1), "USD": (1, 1), "CAD": (1, 1), "SEK": (10, 1), "DKK": (10, 1),
    "JPY": (100, 1), "KWD": (3, 10),
}  # fmt: skip
"""Stake ladders per currency as a ratio to EUR (providers use round numbers, not FX rates):
EUR 0.10 is SEK 1.00, JPY 10, KWD 0.030."""

RELEASE_YEARS = 6
NEW_DAYS = 60
NEW_ODDS = 0.05
"""Share of games released in the last NEW_DAYS on top of the even spread over the years."""
DISABLED_ODDS = 0.02
DEMO_ODDS: Mapping[Vertical, float] = {
    V.SLOTS: 0.95, V.TABLE: 0.9, V.CRASH: 0.8, V.INSTANT: 0.9, V.BINGO: 0.5, V.VIRTUAL: 0.7,
}  # fmt: skip
"""Odds of fun mode; live tables, poker and the sportsbook have none."""

_EXPONENTS = CurrencyTable()


def demo_games(
    instances: Sequence[str], *, count: int = 10_000, seed: int = 2026, today: date
) -> list[Game]:
    """`count` games over `instances` (one sportsbook per betby-like instance among them).

    The verticals follow VERTICAL_SHARES exactly (largest remainder); the instance of each
    game is drawn by INSTANCE_AFFINITY. With only betby-like instances there is nothing to
    carry casino games, and the list holds just their sportsbooks.
    """
    rng = random.Random(seed)
    sportsbooks = [name for name in instances if SPORTSBOOK_MARK in name]
    casinos = [name for name in instances if SPORTSBOOK_MARK not in name]
    plan = [(name, V.SPORTSBOOK) for name in sportsbooks]
    if casinos:
        for vertical, n in _vertical_counts(max(0, count - len(plan))).items():
            weights = [_affinity(name, vertical) for name in casinos]
            if not any(weights):
                weights = [1] * len(casinos)
            plan.extend((name, vertical) for name in rng.choices(casinos, weights, k=n))
    rng.shuffle(plan)
    maker = _Maker(rng, today)
    return [maker.game(instance, vertical) for instance, vertical in plan]


def _vertical_counts(total: int) -> dict[Vertical, int]:
    """Split `total` by VERTICAL_SHARES so the counts add up exactly."""
    whole = sum(VERTICAL_SHARES.values())
    raw = {vertical: total * share / whole for vertical, share in VERTICAL_SHARES.items()}
    counts = {vertical: int(value) for vertical, value in raw.items()}
    by_remainder = sorted(raw, key=lambda vertical: counts[vertical] - raw[vertical])
    for vertical in by_remainder[: total - sum(counts.values())]:
        counts[vertical] += 1
    return counts


def _affinity(instance: str, vertical: Vertical) -> int:
    return INSTANCE_AFFINITY.get(instance, DEFAULT_AFFINITY).get(vertical, 0)


class _Maker:
    """Draws one game at a time; keeps the per-instance serials and titles that make codes
    and titles unique within an instance."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self._rng = rng
        self._today = today
        self._serials: Counter[str] = Counter()
        self._titles: Counter[tuple[str, str]] = Counter()

    def game(self, instance: str, vertical: Vertical) -> Game:
        rng = self._rng
        self._serials[instance] += 1
        prefix = CODE_PREFIXES.get(instance, instance[:16])
        code = f"{prefix}-{CODE_SLUGS[vertical]}-{self._serials[instance]:05d}"
        features = frozenset(f for f, odds in FEATURE_ODDS.get(vertical, {}).items()
                             if rng.random() < odds)  # fmt: skip
        title, game_type, tag = self._title(vertical, features)
        self._titles[instance, title] += 1
        if (seen := self._titles[instance, title]) > 1:
            title = f"{title} {seen}"
        markets = self._markets()
        rtp_bp, rtp_by_market = self._rtp(vertical, markets)
        stakes = self._stakes(vertical, markets)
        return Game(
            instance=instance,
            code=code,
            title=title,
            studio=rng.choice(STUDIOS[vertical]),
            vertical=vertical,
            game_type=game_type,
            features=features,
            rtp_bp=rtp_bp,
            rtp_bp_by_market=frozen_mapping(rtp_by_market),
            volatility=_pick(rng, VOLATILITIES) if vertical is V.SLOTS else None,
            devices=_pick(rng, DEVICES),
            currencies=frozenset(stakes),
            markets=frozenset(markets),
            stakes=frozen_mapping(stakes),
            release_date=self._release_date(),
            tags=frozenset({tag, "popular"} if rng.random() < POPULAR_ODDS else {tag}),
            images=frozen_mapping({"thumbnail": f"/lobby/images/{instance}/{code}.svg"}),
            status=GameStatus.DISABLED if rng.random() < DISABLED_ODDS else GameStatus.ACTIVE,
            demo=rng.random() < DEMO_ODDS.get(vertical, 0.0),
        )

    def _title(self, vertical: Vertical, features: frozenset[Feature]) -> tuple[str, str, str]:
        """(title without uniqueness number, game_type, tag)."""
        rng = self._rng
        if vertical is not V.SLOTS:
            game_type, noun = rng.choice(GAME_TYPES[vertical])
            title = noun if vertical is V.SPORTSBOOK else f"{rng.choice(OTHER_PREFIXES)} {noun}"
            return title, game_type, VERTICAL_TAGS[vertical]
        theme = rng.choice(tuple(SLOT_THEMES))
        title = f"{rng.choice(SLOT_ADJECTIVES)} {rng.choice(SLOT_THEMES[theme])}"
        if Feature.MEGAWAYS in features:
            title += " Megaways"
        elif rng.random() < SLOT_SUFFIX_ODDS:
            title += f" {rng.choice(SLOT_SUFFIXES)}"
        return title, "classic_slot" if theme == "classic" else "video_slot", theme

    def _markets(self) -> list[str]:
        """Certified markets in MARKET_ODDS order (a list: set order would vary by process)."""
        markets = [market for market, odds in MARKET_ODDS.items() if self._rng.random() < odds]
        return markets or [FALLBACK_MARKET]

    def _rtp(self, vertical: Vertical, markets: list[str]) -> tuple[int | None, dict[str, int]]:
        bounds = RTP_BP.get(vertical)
        if bounds is None:
            return None, {}
        rtp_bp = self._rng.randint(*bounds)
        others = [market for market in markets if market != FALLBACK_MARKET]
        if vertical is not V.SLOTS or not others or self._rng.random() >= RTP_VARIANT_ODDS:
            return rtp_bp, {}
        return rtp_bp, {self._rng.choice(others): rtp_bp - self._rng.choice(RTP_VARIANT_CUT_BP)}

    def _stakes(self, vertical: Vertical, markets: list[str]) -> dict[str, StakeRange]:
        rng = self._rng
        currencies = ["EUR"] + [MARKET_CURRENCIES[m] for m in markets if m in MARKET_CURRENCIES]
        currencies += [code for code, odds in EXTRA_CURRENCY_ODDS.items() if rng.random() < odds]
        mins, maxes = STAKES_EUR_CENTS[vertical]
        low, high = rng.choice(mins), rng.choice(maxes)
        return {code: StakeRange(_minor(low, code), _minor(high, code)) for code in currencies}

    def _release_date(self) -> date:
        days = NEW_DAYS if self._rng.random() < NEW_ODDS else RELEASE_YEARS * 365
        return self._today - timedelta(days=self._rng.randrange(days))


@functools.cache
def _minor(eur_cents: int, currency: str) -> int:
    """A euro-cent stake in `currency`'s minor units, by its STAKE_SCALE ratio (at least 1)."""
    numerator, denominator = STAKE_SCALE[currency]
    scale: int = 10 ** _EXPONENTS.get(currency).exponent
    return max(1, eur_cents * numerator * scale // (denominator * 100))


def _pick(rng: random.Random, weights: Mapping[_T, int]) -> _T:
    return rng.choices(tuple(weights), tuple(weights.values()))[0]
