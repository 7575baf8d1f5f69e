# ruff: noqa: E501 -- the case table reads best one case a line
"""Acceptance: a player in market X with profile P, game G, stake S, the previous game
cycle T ms ago, at date D -> the decision and its reason code.

Played through the whole gateway with the shipped rule files (`config/jurisdictions`):
the operator API opens the session (refusals there are the market's session rules),
the `gamegate` provider protocol (signed JSON) places the bet and answers the exact
reason code, and the lobby must agree: a game the market's rules keep out is never
listed. Each row is a case; the harness below it is the same for all.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pytest_aiohttp import AiohttpClient

from adapters.conformance.games import import_path
from adapters.providers.gamegate_wire import new_nonce, sign_request
from core.limits import Limit, LimitKind, LimitPeriod
from core.model import Deposit, KycState, PlayerStatus
from core.wallet.records import PlayerRecord
from gateway.app import create_app
from gateway.keys import STORE
from tests.conftest import FakeClock
from tests.gateway.conftest import ADMIN, Client, MakeSettings, app_of

DAY_US = 86_400 * 1_000_000
RULES_DIR = Path(__file__).parents[2] / "config" / "jurisdictions"
INSTANCE = "gamegate"
HMAC_KEY = b"acceptance-hmac-key"
BRAND = "acme"
"""A brand without an overlay: the markets' own rules."""
CURRENCY_OF = {"GB": "GBP", "DE": "EUR", "NL": "EUR", "SE": "SEK", "ES": "EUR", "CA-ON": "CAD",
               "CW": "USD", "MT": "EUR"}  # fmt: skip
MARKETS = sorted(CURRENCY_OF)

# The catalogue: code -> (vertical, features); every game certified for every market
# but `mt-only` (certified for MT alone).
GAMES: dict[str, tuple[str, list[str]]] = {
    "slot": ("slots", []),
    "slot-autoplay": ("slots", ["autoplay"]),
    "slot-buy": ("slots", ["bonus_buy"]),
    "slot-jackpot": ("slots", ["jackpot"]),
    "roulette": ("table", []),
    "live-blackjack": ("live", []),
    "crash": ("crash", []),
    "mt-only": ("slots", []),
}


@dataclass(frozen=True)
class Profile:
    age_years: int = 40
    """On the case's date: the date of birth is derived from it."""
    birthday_in_days: int | None = None
    """Born so that the next birthday is this many days after the case's date."""
    kyc: KycState = KycState.VERIFIED
    status: PlayerStatus = PlayerStatus.ACTIVE
    status_until_days: int | None = None
    limits: tuple[Limit, ...] = ()
    currency: str | None = None
    """None: the market's currency."""


@dataclass(frozen=True)
class Case:
    name: str
    market: str
    game: str
    stake: int
    """Minor units of the player's currency."""
    expected: str
    """`ok` or the exact reason code."""
    profile: Profile = field(default_factory=Profile)
    on: str = "2026-06-01"
    previous_cycle_ms_ago: int | None = None
    """A bet on the same game opened a cycle this long before (in another round)."""
    earlier_stakes: int = 0
    """Lost earlier today (one bet, no win), before the case's bet."""


ADULT_GB_18_24 = Profile(age_years=22)
DEPOSIT_LIMIT = (Limit(LimitKind.DEPOSIT, LimitPeriod.MONTH, 100_000),)
NL_LIMITS = (*DEPOSIT_LIMIT, Limit(LimitKind.SESSION_TIME, LimitPeriod.DAY, 7_200))
V, ST = KycState, PlayerStatus

CASES = [
    # GB: the 5.00 slot cap from 2025-04-09, 2.00 for 18-24 from 2025-05-21
    Case("gb slot at the cap", "GB", "slot", 500, "ok"),
    Case("gb slot above the cap", "GB", "slot", 501, "stake_above_limit"),
    Case("gb slot before the cap existed", "GB", "slot", 1_000, "ok", on="2025-04-08"),
    Case("gb 22-year-old at the young cap", "GB", "slot", 200, "ok", ADULT_GB_18_24),
    Case("gb 22-year-old above the young cap", "GB", "slot", 201, "stake_above_limit", ADULT_GB_18_24),
    Case("gb 22-year-old before the young cap", "GB", "slot", 400, "ok", ADULT_GB_18_24, on="2025-05-20"),
    Case("gb turns 25 today: the adult cap", "GB", "slot", 400, "ok", Profile(age_years=25, birthday_in_days=0)),
    Case("gb turns 25 tomorrow: still the young cap", "GB", "slot", 400, "stake_above_limit", Profile(age_years=24, birthday_in_days=1)),
    Case("gb table game has no cap", "GB", "roulette", 50_000, "ok"),
    Case("gb unverified player", "GB", "slot", 100, "kyc_required", Profile(kyc=V.PENDING)),
    Case("gb autoplay slot", "GB", "slot-autoplay", 100, "feature_banned"),
    Case("gb bonus-buy slot", "GB", "slot-buy", 100, "feature_banned"),
    Case("gb autoplay slot before the ban", "GB", "slot-autoplay", 100, "ok", on="2021-10-30"),
    Case("gb slot cycle after 1 s", "GB", "slot", 100, "game_cycle_too_fast", previous_cycle_ms_ago=1_000),
    Case("gb slot cycle after 2.5 s", "GB", "slot", 100, "ok", previous_cycle_ms_ago=2_500),
    Case("gb table cycle after 3 s", "GB", "roulette", 100, "game_cycle_too_fast", previous_cycle_ms_ago=3_000),
    Case("gb table cycle after 3 s before 2025-01-17", "GB", "roulette", 100, "ok", on="2025-01-16", previous_cycle_ms_ago=3_000),
    Case("gb 17-year-old", "GB", "slot", 100, "underage", Profile(age_years=17)),
    Case("gb self-excluded", "GB", "slot", 100, "self_excluded", Profile(status=ST.SELF_EXCLUDED)),
    Case("gb on a break", "GB", "slot", 100, "cooling_off", Profile(status=ST.COOLING_OFF, status_until_days=1)),
    Case("gb after the break ended", "GB", "slot", 100, "ok", Profile(status=ST.COOLING_OFF, status_until_days=0)),
    Case("gb restricted", "GB", "slot", 100, "account_restricted", Profile(status=ST.RESTRICTED)),
    Case("gb game not certified for GB", "GB", "mt-only", 100, "game_not_allowed"),
    Case("gb player in euros", "GB", "slot", 100, "currency_not_allowed", Profile(currency="EUR")),
    # the player's own limits, counted from the wallet
    Case("gb loss limit reached", "GB", "roulette", 300, "loss_limit_reached",
         Profile(limits=(Limit(LimitKind.LOSS, LimitPeriod.DAY, 1_000),)), earlier_stakes=800),
    Case("gb loss limit not reached", "GB", "roulette", 200, "ok",
         Profile(limits=(Limit(LimitKind.LOSS, LimitPeriod.DAY, 1_000),)), earlier_stakes=800),
    Case("gb wager limit reached", "GB", "roulette", 300, "wager_limit_reached",
         Profile(limits=(Limit(LimitKind.WAGER, LimitPeriod.WEEK, 1_000),)), earlier_stakes=800),
    Case("gb raised limit not yet in force", "GB", "roulette", 300, "loss_limit_reached",
         Profile(limits=(Limit(LimitKind.LOSS, LimitPeriod.DAY, 1_000, 5_000, 2**62),)), earlier_stakes=800),
    # DE: 1.00 slots, 5 s, slots/poker/sportsbook only, a deposit limit before play
    Case("de slot at the cap", "DE", "slot", 100, "ok", Profile(limits=DEPOSIT_LIMIT)),
    Case("de slot above the cap", "DE", "slot", 101, "stake_above_limit", Profile(limits=DEPOSIT_LIMIT)),
    Case("de without a deposit limit", "DE", "slot", 100, "limits_not_set"),
    Case("de live casino", "DE", "live-blackjack", 100, "vertical_not_allowed", Profile(limits=DEPOSIT_LIMIT)),
    Case("de jackpot slot", "DE", "slot-jackpot", 100, "feature_banned", Profile(limits=DEPOSIT_LIMIT)),
    Case("de slot cycle after 4 s", "DE", "slot", 100, "game_cycle_too_fast", Profile(limits=DEPOSIT_LIMIT), previous_cycle_ms_ago=4_000),
    Case("de slot cycle after 5 s", "DE", "slot", 100, "ok", Profile(limits=DEPOSIT_LIMIT), previous_cycle_ms_ago=5_000),
    # CA-ON: 19
    Case("ontario 18-year-old", "CA-ON", "slot", 100, "underage", Profile(age_years=18)),
    Case("ontario 19-year-old", "CA-ON", "slot", 10_000, "ok", Profile(age_years=19)),
    Case("ontario crash game", "CA-ON", "crash", 100, "vertical_not_allowed"),
    # NL, SE, ES, CW, MT
    Case("nl autoplay roulette", "NL", "roulette", 100, "limits_not_set"),
    Case("nl with limits, autoplay slot", "NL", "slot-autoplay", 100, "feature_banned", Profile(limits=NL_LIMITS)),
    Case("nl with limits, plain slot", "NL", "slot", 10_000, "ok", Profile(limits=NL_LIMITS)),
    Case("se without a deposit limit", "SE", "slot", 100, "limits_not_set"),
    Case("se slot cycle after 2.5 s", "SE", "slot", 100, "game_cycle_too_fast", Profile(limits=DEPOSIT_LIMIT), previous_cycle_ms_ago=2_500),
    Case("es unverified may play", "ES", "slot", 100, "ok", Profile(kyc=V.PENDING)),
    Case("curacao anything goes", "CW", "slot-buy", 100_000, "ok", Profile(kyc=V.NONE)),
    Case("malta unverified may play", "MT", "slot-autoplay", 100, "ok", Profile(kyc=V.NONE)),
]  # fmt: skip

GAME_RULE_REASONS = frozenset({"feature_banned", "vertical_not_allowed", "game_not_certified"})
"""Refusals the lobby applies too: such a game is never listed for the market."""


def _us(day: str) -> int:
    moment = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def _born(profile: Profile, on: date) -> date:
    """A date of birth that makes the player `age_years` old on `on` (turning a year
    older `birthday_in_days` after it, when given)."""
    if profile.birthday_in_days is None:
        return date.fromordinal(on.replace(year=on.year - profile.age_years).toordinal() - 1)
    birthday = date.fromordinal(on.toordinal() + profile.birthday_in_days)
    years = profile.age_years + (1 if profile.birthday_in_days else 0)
    return birthday.replace(year=birthday.year - years)


@dataclass
class World:
    client: Client
    clock: FakeClock
    ids: itertools.count[int] = field(default_factory=itertools.count)

    async def operator(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = await self.client.request(method, path, json=body, headers=ADMIN)
        return response.status, await response.json()

    async def provider(self, operation: str, fields: dict[str, Any]) -> dict[str, Any]:
        body = orjson.dumps(fields)
        headers = sign_request(
            HMAC_KEY, body, operation=operation, timestamp=int(self.clock.seconds()),
            nonce=new_nonce(),
        )  # fmt: skip
        response = await self.client.post(f"/providers/{INSTANCE}/{operation}", data=body,
                                          headers=headers)  # fmt: skip
        shown: dict[str, Any] = orjson.loads(await response.read())
        return shown

    async def bet(self, token: str, player_id: str, game: str, currency: str, amount: int) -> str:
        """The bet's answer: `ok` or the reason code."""
        number = next(self.ids)
        shown = await self.provider("bet", {
            "session_token": token, "player_id": player_id, "transaction_id": f"tx-{number}",
            "round_id": f"round-{number}", "game_id": game, "currency": currency,
            "amount": amount,
        })  # fmt: skip
        return "ok" if shown["status"] == "ok" else str(shown["code"])

    async def listed(self, market: str, game: str) -> bool:
        status, shown = await self.operator(
            "GET", f"/v1/lobby/games?brand={BRAND}&market={market}&device=desktop&limit=200"
        )
        assert status == 200, shown
        return f"{INSTANCE}:{game}" in {item["key"] for item in shown["items"]}


@pytest.fixture
async def world(
    make_settings: MakeSettings, aiohttp_client: AiohttpClient, clock: FakeClock
) -> World:
    settings = make_settings(
        providers={INSTANCE: {"protocol": "gamegate", "launch_url": "/play?game={game}"}},
        secret_env={"GAMEGATE_SECRET_GAMEGATE_HMAC_KEY": HMAC_KEY.decode()},
        jurisdictions={"dir": RULES_DIR},
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    games = [
        {"code": code, "title": code, "studio": "Acceptance", "vertical": vertical,
         "features": features, "markets": ["MT"] if code == "mt-only" else MARKETS}
        for code, (vertical, features) in GAMES.items()
    ]  # fmt: skip
    response = await client.post(import_path(INSTANCE), json={"games": games}, headers=ADMIN)
    assert response.status == 200, await response.text()
    return World(client, clock)


async def _decide(world: World, case: Case) -> str:
    """Open the session (the operator API), then bet (the provider); the first refusal."""
    profile = case.profile
    currency = profile.currency or CURRENCY_OF[case.market]
    now_us = _us(case.on)
    world.clock.now_s = now_us / 1_000_000
    until_us = None
    if profile.status_until_days is not None:  # 0: the break ended a moment ago
        until_us = now_us + profile.status_until_days * DAY_US or now_us - 1
    player = PlayerRecord(
        "player", BRAND, case.market, currency, _born(profile, date.fromisoformat(case.on)),
        status=profile.status, status_until_us=until_us, kyc=profile.kyc,
        kyc_changed_at_us=now_us - DAY_US, limits=profile.limits,
    )  # fmt: skip
    # As the PAM holds the player (not every profile could register today), funded
    # straight through the store (a deposit would meet the market's deposit rules).
    store = app_of(world.client)[STORE]
    await store.create_player(player)
    await store.apply([Deposit("fund", player.player_id, currency, 1_000_000)])
    status, shown = await world.operator("POST", "/v1/sessions", {
        "player_id": "player", "provider": INSTANCE, "game_id": case.game, "device": "desktop",
    })  # fmt: skip
    if status != 201:
        return str(shown["error"]["code"])
    token = shown["token"]
    if case.earlier_stakes:  # earlier today: no cycle-time rule in the way
        world.clock.now_s -= 600
        assert await world.bet(token, "player", case.game, currency, case.earlier_stakes) == "ok"
        world.clock.now_s += 600
    if case.previous_cycle_ms_ago is not None:
        world.clock.now_s -= case.previous_cycle_ms_ago / 1_000
        assert await world.bet(token, "player", case.game, currency, 1) == "ok"
        world.clock.now_s += case.previous_cycle_ms_ago / 1_000
    return await world.bet(token, "player", case.game, currency, case.stake)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_decision(world: World, case: Case) -> None:
    assert await _decide(world, case) == case.expected
    if case.expected in GAME_RULE_REASONS:
        assert not await world.listed(case.market, case.game), "the lobby lists a refused game"
    elif case.expected == "ok":
        assert await world.listed(case.market, case.game), "the lobby hides a playable game"


def test_the_table_is_big_enough_and_covers_every_shipped_market() -> None:
    assert len(CASES) >= 30
    shipped = {path.stem for path in RULES_DIR.glob("*.toml")}
    assert shipped <= {case.market for case in CASES}


FUN_PLAY = [
    ("GB", "slot", "kyc_required"),  # GB: verified identity before any play, free included
    ("CA-ON", "slot", "kyc_required"),
    ("NL", "slot-autoplay", "feature_banned"),  # the game rules hold in fun mode too
    ("DE", "live-blackjack", "vertical_not_allowed"),
    ("NL", "slot", "ok"),
    ("MT", "slot-autoplay", "ok"),
]


@pytest.mark.parametrize(("market", "game", "expected"), FUN_PLAY)
async def test_fun_play(world: World, market: str, game: str, expected: str) -> None:
    body = {"game": f"{INSTANCE}:{game}", "device": "desktop", "mode": "demo",
            "brand": BRAND, "market": market}  # fmt: skip
    status, shown = await world.operator("POST", "/v1/launch", body)
    assert (status, shown.get("error", {}).get("code", "ok")) == (
        201 if expected == "ok" else 403, expected)  # fmt: skip
