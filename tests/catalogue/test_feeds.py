"""Feed formats: a realistic sample of each read into the expected games; malformed
samples refuse the whole feed with a message naming record, code and field."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from adapters.catalogue.feeds import FEED_FORMATS, FeedContext, feed_parser
from adapters.catalogue.feeds.base import GAMES_PER_FEED_MAX
from adapters.catalogue.feeds.gamegate_json import record_of
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
from core.errors import FeedInvalid
from core.money import CurrencyTable
from gateway.demo_catalogue import demo_games

CONTEXT = FeedContext(
    instance="feed", currencies=CurrencyTable(), markets_default=frozenset({"MT", "EE"})
)
BOTH = frozenset(Device)

GAMEGATE_JSON: dict[str, Any] = {
    "partial": False,
    "unknown_top_level": 1,
    "games": [
        {
            "code": "vs20olympgate",
            "title": "Gates of Olympus",
            "studio": "Pragmatic Play",
            "vertical": "slots",
            "game_type": "video_slot",
            "features": ["bonus_buy", "ante_bet"],
            "rtp": "96.50",
            "rtp_by_market": {"GB": "94.00"},
            "volatility": "very_high",
            "devices": ["desktop", "mobile"],
            "currencies": ["EUR"],
            "markets": ["GB", "MT", "CA-ON"],
            "stakes": {
                "EUR": {"min": "0.20", "max": "100.00"},
                "JPY": {"min": "20", "max": "10000"},
            },
            "release_date": "2021-02-25",
            "tags": ["greek", "popular"],
            "images": {"thumbnail": "https://cdn.example/olympus.png", "bad": "javascript:x"},
            "demo": True,
            "something_new": {"ignored": True},
        },
        {
            "code": "lightning-roulette",
            "title": "Lightning Roulette",
            "vertical": "live",
            "status": "disabled",
            "demo": False,
        },
    ],
}

EXPECTED_GAMEGATE = (
    Game(
        instance="feed",
        code="vs20olympgate",
        title="Gates of Olympus",
        studio="Pragmatic Play",
        vertical=Vertical.SLOTS,
        game_type="video_slot",
        features=frozenset({Feature.BONUS_BUY, Feature.ANTE_BET}),
        rtp_bp=9650,
        rtp_bp_by_market=frozen_mapping({"GB": 9400}),
        volatility=Volatility.VERY_HIGH,
        devices=BOTH,
        currencies=frozenset({"EUR", "JPY"}),
        markets=frozenset({"GB", "MT", "CA-ON"}),
        stakes=frozen_mapping({"EUR": StakeRange(20, 10_000), "JPY": StakeRange(20, 10_000)}),
        release_date=date(2021, 2, 25),
        tags=frozenset({"greek", "popular"}),
        images=frozen_mapping({"thumbnail": "https://cdn.example/olympus.png"}),
        demo=True,
    ),
    Game(
        instance="feed",
        code="lightning-roulette",
        title="Lightning Roulette",
        studio="",
        vertical=Vertical.LIVE,
        markets=frozenset({"MT", "EE"}),
        status=GameStatus.DISABLED,
        demo=False,
    ),
)

GAMEGATE_CSV = (
    "\ufeffcode,title,studio,vertical,features,rtp,rtp_by_market,volatility,devices,"
    "currencies,markets,stakes,release_date,tags,images,demo,comment\n"
    "vs20olympgate,Gates of Olympus,Pragmatic Play,slots,bonus_buy|ante_bet,96.50,GB:94.00,"
    "very_high,desktop|mobile,EUR,GB|MT|CA-ON,EUR:0.20-100.00|JPY:20-10000,2021-02-25,"
    "greek|popular,thumbnail=https://cdn.example/olympus.png,yes,ignored\n"
    '"lightning-roulette","Lightning Roulette",,live,,,,,,,,,,,,no,\n'
    ",,,,,,,,,,,,,,,,\n"
)

EXPECTED_CSV = (
    replace(EXPECTED_GAMEGATE[0], game_type=""),  # the CSV sample has no game_type column
    replace(EXPECTED_GAMEGATE[1], status=GameStatus.ACTIVE),  # nor a status column
)

HUB88: list[dict[str, Any]] = [
    {
        "game_code": "clt_dragonrising",
        "name": "Dragon Rising",
        "product": "Caleta",
        "category": "Video Slots",
        "platforms": ["GPL_DESKTOP", "GPL_MOBILE"],
        "enabled": True,
        "blocked_countries": ["US", "MT"],
        "certifications": ["uk", "MT", "SE"],
        "features": ["Bonus Buy", "Sticky Wilds"],
        "rtp": "96.1",
        "volatility": 3,
        "paylines": 20,
        "hit_ratio": "25%",
        "freebet_support": True,
        "phoenix_jackpot_support": None,
        "release_date": "2023-06-01",
        "languages": ["en"],
        "technology": ["html5"],
        "url_thumb": "https://cdn.hub88.example/dragon.png",
        "url_background": "http://cdn.hub88.example/dragon-bg.png",
        "supplier_identifier": {"game_id": "1"},
    },
    {
        "game_code": "evo_crazytime",
        "name": "Crazy Time",
        "product": "Evolution",
        "category": "Live Game Shows",
        "platforms": ["GPL_MOBILE"],
        "enabled": False,
        "blocked_countries": None,
        "certifications": None,
        "features": None,
        "rtp": None,
        "volatility": None,
        "release_date": None,
        "url_thumb": "https://cdn.hub88.example/crazy.png",
        "url_background": None,
    },
    {"game_code": "xyz_fish", "name": "Fish Hunter", "category": "Fishing", "enabled": True},
]

EXPECTED_HUB88 = (
    Game(
        instance="feed",
        code="clt_dragonrising",
        title="Dragon Rising",
        studio="Caleta",
        vertical=Vertical.SLOTS,
        game_type="Video Slots",
        features=frozenset({Feature.BONUS_BUY, Feature.FREE_ROUNDS}),
        rtp_bp=9610,
        volatility=Volatility.HIGH,
        devices=BOTH,
        markets=frozenset({"GB", "SE"}),
        release_date=date(2023, 6, 1),
        images=frozen_mapping({"thumbnail": "https://cdn.hub88.example/dragon.png"}),
    ),
    Game(
        instance="feed",
        code="evo_crazytime",
        title="Crazy Time",
        studio="Evolution",
        vertical=Vertical.LIVE,
        game_type="Live Game Shows",
        devices=frozenset({Device.MOBILE}),
        markets=frozenset({"MT", "EE"}),
        images=frozen_mapping({"thumbnail": "https://cdn.hub88.example/crazy.png"}),
        status=GameStatus.DISABLED,
    ),
    Game(
        instance="feed",
        code="xyz_fish",
        title="Fish Hunter",
        studio="",
        vertical=Vertical.SLOTS,
        game_type="Fishing",
        markets=frozenset({"MT", "EE"}),
    ),
)

PRAGMATIC: dict[str, Any] = {
    "error": "0",
    "description": "OK",
    "gameList": [
        {
            "gameID": "vs20bonzanza",
            "gameName": "Sweet Bonanza",
            "gameTypeID": "vs",
            "typeDescription": "Video Slots",
            "technology": "html5",
            "technologyID": "H5",
            "platform": "WEB,MOBILE",
            "demoGameAvailable": True,
            "gameIdNumeric": 1234,
            "frbAvailable": True,
            "variableFrbAvailable": True,
            "fcAvailable": False,
            "lines": 20,
            "features": ["ANTE_BET", "BUY_FEATURE"],
        },
        {
            "gameID": "401",
            "gameName": "Mega Roulette",
            "gameTypeID": "lg",
            "typeDescription": "Live games",
            "platform": "MOBILE",
            "demoGameAvailable": False,
            "frbAvailable": False,
        },
        {"gameID": "rla", "gameName": "Roulette", "gameTypeID": "rl", "typeDescription": ""},
    ],
}

EXPECTED_PRAGMATIC = (
    Game(
        instance="feed",
        code="vs20bonzanza",
        title="Sweet Bonanza",
        studio="Pragmatic Play",
        vertical=Vertical.SLOTS,
        game_type="Video Slots",
        features=frozenset({Feature.ANTE_BET, Feature.BONUS_BUY, Feature.FREE_ROUNDS}),
        devices=BOTH,
        markets=frozenset({"MT", "EE"}),
        demo=True,
    ),
    Game(
        instance="feed",
        code="401",
        title="Mega Roulette",
        studio="Pragmatic Play",
        vertical=Vertical.LIVE,
        game_type="Live games",
        devices=frozenset({Device.MOBILE}),
        markets=frozenset({"MT", "EE"}),
        demo=False,
    ),
    Game(
        instance="feed",
        code="rla",
        title="Roulette",
        studio="Pragmatic Play",
        vertical=Vertical.TABLE,
        markets=frozenset({"MT", "EE"}),
    ),
)


def _json(document: Any) -> bytes:
    return json.dumps(document).encode()


SAMPLES = [
    ("gamegate_json", _json(GAMEGATE_JSON), EXPECTED_GAMEGATE, True),
    ("gamegate_json", _json({**GAMEGATE_JSON, "partial": True}), EXPECTED_GAMEGATE, False),
    ("gamegate_csv", GAMEGATE_CSV.encode(), EXPECTED_CSV, True),
    ("hub88", _json(HUB88), EXPECTED_HUB88, True),
    ("hub88_latest", _json(HUB88), EXPECTED_HUB88, False),
    ("pragmatic", _json(PRAGMATIC), EXPECTED_PRAGMATIC, True),
]


@pytest.mark.parametrize(
    ("name", "body", "expected", "full"),
    SAMPLES,
    ids=[f"{sample[0]}-{'full' if sample[3] else 'partial'}" for sample in SAMPLES],
)
def test_sample(name: str, body: bytes, expected: tuple[Game, ...], full: bool) -> None:
    parsed = FEED_FORMATS[name](body, CONTEXT)
    assert parsed.games == expected
    assert parsed.full is full


def _gamegate(**changes: Any) -> bytes:
    """The gamegate_json sample with its first record changed (None removes a field)."""
    first = {**GAMEGATE_JSON["games"][0], **changes}
    first = {key: value for key, value in first.items() if value is not None}
    return _json({"games": [GAMEGATE_JSON["games"][1], first]})


def _hub88(**changes: Any) -> bytes:
    return _json([HUB88[1], HUB88[2], {**HUB88[0], **changes}])


def _pragmatic(**changes: Any) -> bytes:
    records = PRAGMATIC["gameList"]
    return _json({**PRAGMATIC, "gameList": [records[1], {**records[0], **changes}]})


def _csv(**cells: str) -> bytes:
    lines = GAMEGATE_CSV.splitlines()
    header = lines[0].lstrip("\ufeff").split(",")
    row = dict(zip(header, lines[1].split(","), strict=True)) | cells
    return "\n".join([lines[0], lines[2], ",".join(row[name] for name in header)]).encode()


MALFORMED = [
    # name, format, body, words the message must hold
    ("no code", "gamegate_json", _gamegate(code=None), ["record 1 (no code)", "field code"]),
    (
        "blank title",
        "gamegate_json",
        _gamegate(title=" "),
        ["record 1 (code 'vs20olympgate')", "field title"],
    ),
    ("code with space", "gamegate_json", _gamegate(code="a b"), ["record 1", "field code"]),
    ("rtp too fine", "gamegate_json", _gamegate(rtp="96.505"), ["record 1", "field rtp", "96.505"]),
    ("rtp above 100", "gamegate_json", _gamegate(rtp="100.01"), ["field rtp"]),
    ("rtp as float", "gamegate_json", _gamegate(rtp=96.5), ["field rtp"]),
    ("rtp zero", "gamegate_json", _gamegate(rtp="0"), ["field rtp"]),
    (
        "market rtp bad",
        "gamegate_json",
        _gamegate(rtp_by_market={"GB": "x"}),
        ["field rtp_by_market"],
    ),
    (
        "stake too fine",
        "gamegate_json",
        _gamegate(stakes={"EUR": {"min": "0.001", "max": "1"}}),
        ["field stakes", "EUR"],
    ),
    (
        "stake number",
        "gamegate_json",
        _gamegate(stakes={"EUR": {"min": 0.1, "max": "1"}}),
        ["field stakes"],
    ),
    (
        "stake negative",
        "gamegate_json",
        _gamegate(stakes={"EUR": {"min": "-1", "max": "1"}}),
        ["field stakes"],
    ),
    (
        "stake min above max",
        "gamegate_json",
        _gamegate(stakes={"EUR": {"min": "5", "max": "1"}}),
        ["field stakes"],
    ),
    (
        "stake currency",
        "gamegate_json",
        _gamegate(stakes={"XYZ": {"min": "1", "max": "2"}}),
        ["field stakes", "XYZ"],
    ),
    ("currency unknown", "gamegate_json", _gamegate(currencies=["EURO"]), ["field currencies"]),
    ("market lower case", "gamegate_json", _gamegate(markets=["gb"]), ["field markets", "'gb'"]),
    ("date", "gamegate_json", _gamegate(release_date="2021-02-30"), ["field release_date"]),
    ("date shape", "gamegate_json", _gamegate(release_date="25/02/2021"), ["field release_date"]),
    ("vertical", "gamegate_json", _gamegate(vertical="pachinko"), ["field vertical", "pachinko"]),
    ("no vertical", "gamegate_json", _gamegate(vertical=None), ["field vertical"]),
    ("feature", "gamegate_json", _gamegate(features=["wild"]), ["field features"]),
    ("status retired", "gamegate_json", _gamegate(status="retired"), ["field status"]),
    ("other instance", "gamegate_json", _gamegate(instance="other"), ["field instance"]),
    ("no devices", "gamegate_json", _gamegate(devices=[]), ["field devices"]),
    ("title too long", "gamegate_json", _gamegate(title="x" * 201), ["field title"]),
    (
        "record not object",
        "gamegate_json",
        _json({"games": [GAMEGATE_JSON["games"][0], 7]}),
        ["record 1", "field record"],
    ),
    (
        "duplicate",
        "gamegate_json",
        _json({"games": [GAMEGATE_JSON["games"][0]] * 2}),
        ["record 1 (code 'vs20olympgate')", "repeats", "record 0"],
    ),
    ("not json", "gamegate_json", b"{", ["not JSON"]),
    ("no games list", "gamegate_json", b'{"items": []}', ['"games"']),
    ("partial not bool", "gamegate_json", b'{"games": [], "partial": "no"}', ['"partial"']),
    ("csv stake syntax", "gamegate_csv", _csv(stakes="EUR 0.10-1"), ["record 1", "field stakes"]),
    ("csv stake range", "gamegate_csv", _csv(stakes="EUR:0.10"), ["record 1", "field stakes"]),
    ("csv stake amount", "gamegate_csv", _csv(stakes="EUR:0.105-1"), ["record 1", "field stakes"]),
    ("csv rtp", "gamegate_csv", _csv(rtp="96,5"), ["record 1"]),
    ("csv demo", "gamegate_csv", _csv(demo="maybe"), ["record 1", "field demo"]),
    ("csv no code column", "gamegate_csv", b"title,vertical\nA,slots\n", ['"code" column']),
    (
        "csv short row",
        "gamegate_csv",
        b"code,title,vertical\nabc,A\n",
        ["record 0 (code 'abc')", "field row"],
    ),
    ("csv not utf-8", "gamegate_csv", b"code,title\n\xff,A\n", ["not UTF-8"]),
    ("hub88 no code", "hub88", _hub88(game_code=None), ["record 2 (no code)", "field game_code"]),
    (
        "hub88 no name",
        "hub88",
        _hub88(name=""),
        ["record 2 (code 'clt_dragonrising')", "field name"],
    ),
    ("hub88 rtp", "hub88", _hub88(rtp="96.1%"), ["record 2", "field rtp"]),
    (
        "hub88 market",
        "hub88",
        _hub88(certifications=["Malta"]),
        ["field certifications", "'MALTA'"],
    ),
    ("hub88 blocked", "hub88", _hub88(blocked_countries=["U"]), ["field blocked_countries"]),
    ("hub88 date", "hub88", _hub88(release_date="soon"), ["field release_date"]),
    ("hub88 enabled", "hub88", _hub88(enabled="yes"), ["field enabled"]),
    (
        "hub88 duplicate",
        "hub88",
        _hub88(game_code="evo_crazytime"),
        ["record 2 (code 'evo_crazytime')", "repeats"],
    ),
    ("hub88 not array", "hub88", b'{"games": []}', ["not a JSON array"]),
    (
        "pragmatic error",
        "pragmatic",
        b'{"error": "2", "description": "Invalid hash", "gameList": []}',
        ["error 2", "Invalid hash"],
    ),
    ("pragmatic numeric error", "pragmatic", b'{"error": 5, "description": "x"}', ["error 5"]),
    ("pragmatic no list", "pragmatic", b'{"error": "0"}', ['"gameList"']),
    (
        "pragmatic no code",
        "pragmatic",
        _pragmatic(gameID=""),
        ["record 1 (no code)", "field gameID"],
    ),
    (
        "pragmatic no name",
        "pragmatic",
        _pragmatic(gameName=None),
        ["record 1 (code 'vs20bonzanza')", "field gameName"],
    ),
    ("pragmatic demo", "pragmatic", _pragmatic(demoGameAvailable="Y"), ["field demoGameAvailable"]),
]


@pytest.mark.parametrize(
    ("name", "body", "words"), [row[1:] for row in MALFORMED], ids=[row[0] for row in MALFORMED]
)
def test_malformed_feed_is_refused_whole(name: str, body: bytes, words: list[str]) -> None:
    with pytest.raises(FeedInvalid) as caught:
        FEED_FORMATS[name](body, CONTEXT)
    for word in words:
        assert word in caught.value.message


def test_too_many_games() -> None:
    records = [{"code": f"g{index}", "title": "G", "vertical": "slots"} for index in range(3)]
    body = _json({"games": records * (GAMES_PER_FEED_MAX // 3 + 1)})
    with pytest.raises(FeedInvalid, match="more than 100000"):
        FEED_FORMATS["gamegate_json"](body, CONTEXT)


def test_every_format_reads_an_empty_list() -> None:
    empties = {
        "gamegate_json": b'{"games": []}',
        "gamegate_csv": b"code,title,vertical\n",
        "hub88": b"[]",
        "hub88_latest": b"[]",
        "pragmatic": b'{"error": "0", "description": "OK", "gameList": []}',
    }
    assert set(empties) == set(FEED_FORMATS)
    for name, body in empties.items():
        assert FEED_FORMATS[name](body, CONTEXT).games == ()


def test_unknown_format_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown feed format 'xml'.*hub88"):
        feed_parser("xml")


@pytest.mark.parametrize("instance", ["gamegate", "evolution"])
def test_record_of_reads_back_to_the_same_games(instance: str) -> None:
    """The gamegate_json writer and parser agree on every field of a realistic
    catalogue: RTP variants, stakes in 0, 2 and 3 decimal currencies, statuses."""
    instances = ["gamegate", "hub88", "evolution"]
    games = [g for g in demo_games(instances, count=1_500, today=date(2026, 12, 5))
             if g.instance == instance]  # fmt: skip
    currencies = CurrencyTable()
    body = json.dumps({"games": [record_of(game, currencies) for game in games]}).encode()
    parsed = feed_parser("gamegate_json")(body, FeedContext(instance, currencies))
    assert parsed.full
    assert parsed.games == tuple(games)
