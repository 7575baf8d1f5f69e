"""The lobby API over HTTP with the real SQLite stores: filters, caching validators,
cursor pages, roles, launch (real and demo), session and launch refusals, the overlay
audit trail and the catalogue metrics.

Every test starts from the same small catalogue, imported through the operator API as a
`gamegate_json` feed (then a second full feed that retires one game).
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from core.model import PlayerStatus
from core.wallet.records import PlayerRecord
from gateway.keys import SERVICE, STORE
from tests.gateway.conftest import (
    ADMIN,
    ADMIN_KEY,
    VIEWER,
    VIEWER_KEY,
    Client,
    MakeClient,
    app_of,
)
from tests.gateway.fake_protocol import FAKE_PROTOCOL
from tests.gateway.helpers import new_player

LOBBY_KEY = "lobby-key-0123456789"
LOBBY = {"Authorization": f"Bearer {LOBBY_KEY}"}
KEYS = f"{ADMIN_KEY}:admin,{VIEWER_KEY}:viewer,{LOBBY_KEY}:lobby"
LAUNCH_URL = "https://games.example/{code}?token={token}&lang={language}&return={return_url}"
IMPORT = "/v1/catalogue/instances/fake/import"
BASE = "brand=demo&market=MT&device=desktop"

Json = Any


def _game(code: str, vertical: str, studio: str, **extra: Json) -> dict[str, Json]:
    return {"code": code, "title": f"{code.title()} Game", "studio": studio,
            "vertical": vertical, "markets": ["MT"], **extra}  # fmt: skip


FEED: list[dict[str, Json]] = [
    _game("slot1", "slots", "Nova", features=["bonus_buy", "turbo"], markets=["MT", "GB"],
          stakes={"EUR": {"min": "0.20", "max": "50.00"}}, release_date="2027-01-01"),
    _game("slot2", "slots", "Nova", features=["jackpot"], devices=["mobile"],
          release_date="2026-09-01"),
    _game("slot3", "slots", "Orbit", title="Dragon Orbit", features=["megaways", "bonus_buy"],
          release_date="2026-08-01"),
    _game("live1", "live", "LiveCo", devices=["desktop"], demo=False, release_date="2026-07-01"),
    _game("table1", "table", "Orbit", markets=["MT", "GB"], release_date="2026-06-01"),
    _game("rocket/1", "crash", "Nova", markets=["GB"]),
    _game("off1", "slots", "Nova", status="disabled"),
]  # fmt: skip
GONE = _game("gone1", "slots", "Nova")
MT_DESKTOP = ["slot1", "slot3", "live1", "table1"]
"""What brand `demo` shows in MT on a desktop, newest release first."""


def keys(codes: list[str]) -> list[str]:
    return [f"fake:{code}" for code in codes]


async def _import(client: Client, games: list[dict[str, Json]], query: str = "") -> Json:
    response = await client.post(f"{IMPORT}{query}", json={"games": games}, headers=ADMIN)
    assert response.status == 200, await response.text()
    return await response.json()


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    """`fake` with a launch URL, keys of every role, the catalogue imported (`gone1`
    added, then retired by a full feed without it) and player `p1` (demo, MT, EUR)."""
    fake = {"protocol": FAKE_PROTOCOL, "launch_url": LAUNCH_URL}
    client = await make_client(providers={"fake": fake}, operator_api_keys=KEYS)
    await _import(client, [*FEED, GONE])
    assert (await _import(client, FEED))["retired"] == ["fake:gone1"]
    await new_player(client, "p1")
    return client


async def lobby(client: Client, query: str, headers: dict[str, str] = LOBBY) -> Json:
    response = await client.get(f"/v1/lobby/games?{query}", headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


# -- filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (BASE, MT_DESKTOP),
        (f"{BASE}&vertical=slots", ["slot1", "slot3"]),
        (f"{BASE}&vertical=table&vertical=slots", ["slot1", "slot3", "table1"]),
        (f"{BASE}&provider=fake", MT_DESKTOP),
        (f"{BASE}&provider=other", []),
        (f"{BASE}&studio=Orbit", ["slot3", "table1"]),
        (f"{BASE}&feature=bonus_buy", ["slot1", "slot3"]),
        (f"{BASE}&feature=bonus_buy&feature=megaways", ["slot3"]),
        (f"{BASE}&exclude_feature=bonus_buy", ["live1", "table1"]),
        (f"{BASE}&currency=EUR", ["slot1"]),
        (f"{BASE}&q=DRAGON", ["slot3"]),
        (f"{BASE}&category=new", ["slot1"]),
        (f"{BASE}&vertical=slots&studio=Orbit", ["slot3"]),
        ("brand=demo&market=MT&device=mobile", ["slot1", "slot2", "slot3", "table1"]),
        ("brand=demo&market=GB&device=desktop", ["slot1", "table1", "rocket/1"]),
        ("brand=demo&market=DE&device=desktop", []),
    ],
)
async def test_filters_narrow_the_lobby(client: Client, query: str, expected: list[str]) -> None:
    page = await lobby(client, query)
    assert [game["key"] for game in page["items"]] == keys(expected)
    assert page["total"] == len(expected)


async def test_a_page_shows_stakes_in_the_asked_currency_and_disjunctive_facets(
    client: Client,
) -> None:
    page = await lobby(client, f"{BASE}&currency=EUR&vertical=slots")
    [game] = page["items"]
    assert game["stake"] == {"currency": "EUR", "min": "0.20", "min_minor": 20,
                             "max": "50.00", "max_minor": 5_000}  # fmt: skip
    page = await lobby(client, f"{BASE}&vertical=slots")
    assert page["facets"]["vertical"] == {"slots": 2, "live": 1, "table": 1}
    assert page["facets"]["provider"] == {"fake": 2}
    assert page["facets"]["feature"] == {"bonus_buy": 2, "turbo": 1, "megaways": 1}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        (f"{BASE}&verticle=live", "verticle: not a lobby filter"),
        (f"{BASE}&vertical=slot", "vertical: unknown value 'slot'"),
        (f"{BASE}&feature=autospin", "feature: unknown value"),
        ("brand=demo&market=MT&device=tv", "device: unknown value"),
        ("brand=demo&market=malta&device=desktop", "market:"),
        ("market=MT&device=desktop", "brand: required"),
        (f"{BASE}&brand=other", "brand: give it once"),
        (f"{BASE}&limit=2&limit=3", "limit: give it once"),
        (f"{BASE}&limit=0", "limit: a whole number from 1 to 200"),
        (f"{BASE}&limit=201", "limit: a whole number from 1 to 200"),
        (f"{BASE}&cursor=not-a-cursor", "cursor: not a cursor"),
        (f"{BASE}&category=Top!", "category:"),
    ],
)
async def test_a_bad_filter_is_refused_naming_it(client: Client, query: str, named: str) -> None:
    response = await client.get(f"/v1/lobby/games?{query}", headers=LOBBY)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "invalid_request"
    assert named in error["message"]


# -- caching validators ----------------------------------------------------------------


async def _etag_of(client: Client, query: str = BASE) -> str:
    response = await client.get(f"/v1/lobby/games?{query}", headers=LOBBY)
    assert response.status == 200
    return response.headers["ETag"]


async def test_a_repeated_query_with_its_etag_is_not_modified(client: Client) -> None:
    first = await client.get(f"/v1/lobby/games?{BASE}&vertical=slots&vertical=live", headers=LOBBY)
    assert first.status == 200
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, max-age=60"
    assert first.headers["Vary"] == "Authorization"
    reordered = f"vertical=live&{BASE}&vertical=slots"
    again = await client.get(
        f"/v1/lobby/games?{reordered}", headers={**LOBBY, "If-None-Match": f'"x", {etag}'}
    )
    assert again.status == 304
    assert await again.read() == b""
    shown = {name: again.headers[name] for name in ("ETag", "Cache-Control", "Vary")}
    assert shown == {"ETag": etag, "Cache-Control": "private, max-age=60", "Vary": "Authorization"}
    other = await client.get(f"/v1/lobby/games?{BASE}", headers={**LOBBY, "If-None-Match": etag})
    assert other.status == 200
    assert other.headers["ETag"] != etag


async def test_an_overlay_change_or_an_import_gives_every_answer_a_new_etag(
    client: Client,
) -> None:
    before = await _etag_of(client)
    switch = {"enabled": False}
    response = await client.put("/v1/brands/other/games/fake:slot1", json=switch, headers=ADMIN)
    assert response.status == 200
    after_overlay = await _etag_of(client)
    await _import(client, [_game("new1", "slots", "Nova")], "?partial=true")
    after_import = await _etag_of(client)
    assert len({before, after_overlay, after_import}) == 3
    stale = await client.get(f"/v1/lobby/games?{BASE}", headers={**LOBBY, "If-None-Match": before})
    assert stale.status == 200
    assert "fake:new1" in [game["key"] for game in (await stale.json())["items"]]


async def test_a_bad_query_stays_refused_and_a_reordered_one_shares_the_answer(
    client: Client,
) -> None:
    """Query strings seen before skip the strict parse: only ones that passed it."""
    for _ in range(2):
        refused = await client.get(f"/v1/lobby/games?{BASE}&verticle=slots", headers=LOBBY)
        assert refused.status == 400
    first = await client.get(f"/v1/lobby/games?{BASE}&vertical=slots&q=dragon", headers=LOBBY)
    again = await client.get(f"/v1/lobby/games?q=dragon&vertical=slots&{BASE}", headers=LOBBY)
    assert (first.status, again.status) == (200, 200)
    assert first.headers["ETag"] == again.headers["ETag"]
    assert await first.read() == await again.read()
    text = await (await client.get("/metrics")).text()
    assert 'gamegate_lobby_answers_total{served="computed"} 1.0' in text
    assert 'gamegate_lobby_answers_total{served="memory"} 1.0' in text


async def test_an_unchanged_import_keeps_the_etag(client: Client) -> None:
    before = await _etag_of(client)
    assert (await _import(client, FEED))["added"] == []
    assert await _etag_of(client) == before


# -- cursor pages --------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 3, 200])
@pytest.mark.parametrize("query", [BASE, "brand=demo&market=MT&device=mobile"])
async def test_next_cursor_walks_every_game_once(client: Client, query: str, limit: int) -> None:
    await client.put("/v1/brands/demo/pinned", json={"games": ["fake:table1"]}, headers=ADMIN)
    whole = await lobby(client, query)
    assert whole["items"][0]["key"] == "fake:table1"
    walked: list[str] = []
    cursor = ""
    for _ in range(len(whole["items"]) + 1):
        page = await lobby(client, f"{query}&limit={limit}{cursor}")
        assert page["total"] == whole["total"]
        assert len(page["items"]) <= limit
        walked += [game["key"] for game in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert walked == [game["key"] for game in whole["items"]]


# -- roles -----------------------------------------------------------------------------


_ROLE_CASES: list[tuple[str, str, dict[str, str], Json, int]] = [
    ("get", f"/v1/lobby/games?{BASE}", LOBBY, None, 200),
    ("get", f"/v1/lobby/games/fake:slot1?{BASE}", LOBBY, None, 200),
    ("post", "/v1/launch", LOBBY, {"game": "fake:slot1", "player_id": "p1", "device": "desktop"},
     201),
    ("get", "/v1/players/p1/balance", LOBBY, None, 403),
    ("post", "/v1/players", LOBBY, {"player_id": "p2"}, 403),
    ("post", "/v1/sessions", LOBBY, {"player_id": "p1"}, 403),
    ("put", "/v1/brands/demo/games/fake:slot1", LOBBY, {"enabled": False}, 403),
    ("put", "/v1/brands/demo/pinned", LOBBY, {"games": []}, 403),
    ("get", "/v1/brands/demo/audit", LOBBY, None, 403),
    ("post", IMPORT, LOBBY, {"games": []}, 403),
    ("get", "/v1/catalogue/syncs", LOBBY, None, 403),
    ("get", f"/v1/lobby/games?{BASE}", VIEWER, None, 200),
    ("post", "/v1/launch", VIEWER, {"game": "fake:slot1", "player_id": "p1", "device": "desktop"},
     403),
    ("put", "/v1/brands/demo/games/fake:slot1", VIEWER, {"enabled": False}, 403),
    ("get", "/v1/brands/demo/overlay", VIEWER, None, 200),
    ("get", "/v1/catalogue/syncs", VIEWER, None, 200),
]  # fmt: skip
"""(method, url, headers, JSON body, expected status): 403 is `forbidden`."""


@pytest.mark.parametrize(("method", "url", "headers", "body", "status"), _ROLE_CASES)
async def test_each_role_reaches_only_its_part_of_the_api(
    client: Client, method: str, url: str, headers: dict[str, str], body: Json, status: int
) -> None:
    response = await client.request(method, url, json=body, headers=headers)
    assert response.status == status, await response.text()
    if status == 403:
        assert (await response.json())["error"]["code"] == "forbidden"


# -- launch ------------------------------------------------------------------------------


async def _launch(client: Client, **body: Json) -> ClientResponse:
    return await client.post("/v1/launch", json=body, headers=LOBBY)


async def test_a_real_launch_opens_a_session_on_the_device_and_fills_the_url(
    client: Client,
) -> None:
    response = await _launch(
        client, game="fake:slot1", player_id="p1", device="mobile", language="de-AT",
        return_url="https://casino.example/lobby?a=1&b=two words",
    )  # fmt: skip
    assert response.status == 201, await response.text()
    shown = await response.json()
    session = shown["session"]
    assert (shown["mode"], shown["game"]) == ("real", "fake:slot1")
    assert {k: v for k, v in session.items() if k not in ("token", "expires_at")} == {
        "player_id": "p1", "provider": "fake", "game_id": "slot1", "currency": "EUR",
        "device": "mobile", "reality_check_s": None,
    }  # fmt: skip
    token = session["token"]
    assert shown["url"] == (
        f"https://games.example/slot1?token={token}&lang=de-AT"
        "&return=https%3A%2F%2Fcasino.example%2Flobby%3Fa%3D1%26b%3Dtwo%20words"
    )
    stored = await app_of(client)[SERVICE].session("fake", token, allow_expired=False)
    assert (stored.player_id, stored.game_id, stored.device) == ("p1", "slot1", "mobile")
    auth = await client.post("/providers/fake/auth", json={"token": token})
    assert await auth.json() == {"player_id": "p1"}


async def test_a_demo_launch_needs_no_player_and_opens_no_session(client: Client) -> None:
    response = await _launch(
        client, game="fake:rocket/1", mode="demo", device="desktop", brand="demo", market="GB"
    )
    assert response.status == 201, await response.text()
    shown = await response.json()
    assert shown == {
        "url": "https://games.example/rocket%2F1?token=&lang=en&return=",
        "mode": "demo",
        "game": "fake:rocket/1",
        "session": None,
    }
    with_player = await _launch(
        client, game="fake:slot1", mode="demo", player_id="p1", device="desktop",
        brand="demo", market="MT",
    )  # fmt: skip
    assert with_player.status == 400


_LAUNCH_REFUSALS: list[tuple[str, dict[str, Json], int, str]] = [
    ("switched off for the brand", {"game": "fake:slot3"}, 422, "game_unavailable"),
    ("provider switched off for the brand", {"game": "fake:table1", "player_id": "p-off"}, 422,
     "game_unavailable"),
    ("disabled by its provider", {"game": "fake:off1"}, 422, "game_unavailable"),
    ("retired", {"game": "fake:gone1"}, 422, "game_unavailable"),
    ("not certified for the player's market", {"game": "fake:rocket/1"}, 403, "game_not_allowed"),
    ("not certified for the market asked", {"game": "fake:slot2", "device": "mobile",
     "market": "GB"}, 403, "game_not_allowed"),
    ("not made for the device", {"game": "fake:live1", "device": "mobile"}, 403,
     "game_not_allowed"),
    ("unknown game", {"game": "fake:nope"}, 404, "game_not_found"),
    ("unknown player", {"game": "fake:slot1", "player_id": "ghost"}, 404, "player_not_found"),
    ("self-excluded player", {"game": "fake:slot1", "player_id": "p-x"}, 403, "self_excluded"),
    ("blocked player", {"game": "fake:slot1", "player_id": "p-b"}, 403, "account_suspended"),
    ("another brand than the player's", {"game": "fake:slot1", "brand": "other"}, 400,
     "invalid_request"),
    ("demo of a game without fun mode", {"game": "fake:live1", "mode": "demo", "player_id": None,
     "brand": "demo", "market": "MT"}, 422, "game_unavailable"),
    ("demo without a market", {"game": "fake:slot1", "mode": "demo", "player_id": None,
     "brand": "demo"}, 400, "invalid_request"),
    ("a return URL that is not http(s)", {"game": "fake:slot1",
     "return_url": "javascript:alert(1)"}, 400, "invalid_request"),
]  # fmt: skip
"""(case, body over a real desktop launch of p1, status, code)."""


async def _refusing_world(client: Client) -> None:
    """`slot3` switched off for `demo`, the `fake` provider switched off for brand `off`
    (player `p-off`), and players `p-x` (self-excluded) and `p-b` (blocked)."""
    put = client.put
    assert (await put("/v1/brands/demo/games/fake:slot3", json={"enabled": False},
                      headers=ADMIN)).status == 200  # fmt: skip
    assert (await put("/v1/brands/off/providers/fake", json={"enabled": False},
                      headers=ADMIN)).status == 200  # fmt: skip
    store = app_of(client)[STORE]
    born = date(1990, 1, 1)
    await store.create_player(PlayerRecord("p-off", "off", "MT", "EUR", born))
    for player_id, status in (("p-x", PlayerStatus.SELF_EXCLUDED), ("p-b", PlayerStatus.SUSPENDED)):
        await store.create_player(PlayerRecord(player_id, "demo", "MT", "EUR", born, status=status))


@pytest.mark.parametrize(
    ("case", "body", "status", "code"), _LAUNCH_REFUSALS, ids=[row[0] for row in _LAUNCH_REFUSALS]
)
async def test_launch_refuses(
    client: Client, case: str, body: dict[str, Json], status: int, code: str
) -> None:
    await _refusing_world(client)
    sent = {"player_id": "p1", "device": "desktop", **body}
    response = await _launch(client, **{k: v for k, v in sent.items() if v is not None})
    assert response.status == status, (case, await response.text())
    assert (await response.json())["error"]["code"] == code


@pytest.mark.parametrize(
    ("game_id", "device", "status", "code"),
    [
        ("nope", None, 404, "game_not_found"),
        ("gone1", None, 422, "game_unavailable"),
        ("off1", None, 422, "game_unavailable"),
        ("rocket/1", None, 403, "game_not_allowed"),
        ("live1", "mobile", 403, "game_not_allowed"),
        ("live1", "desktop", 201, None),
        ("slot1", None, 201, None),
    ],
)
async def test_sessions_are_opened_only_on_games_the_player_may_play(
    client: Client, game_id: str, device: str | None, status: int, code: str | None
) -> None:
    body = {"player_id": "p1", "provider": "fake", "game_id": game_id, "device": device}
    response = await client.post("/v1/sessions", json=body, headers=ADMIN)
    assert response.status == status, await response.text()
    shown = await response.json()
    if code is None:
        assert (shown["game_id"], shown["device"]) == (game_id, device)
    else:
        assert shown["error"]["code"] == code


# -- the audit trail -----------------------------------------------------------------------


def _fingerprint(key: str) -> str:
    return f"key-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


@pytest.mark.parametrize(
    ("key_file", "actor"),
    [
        (None, _fingerprint(ADMIN_KEY)),
        (f"{ADMIN_KEY} admin ops-alice\n", "ops-alice"),
        (f"{ADMIN_KEY} admin\n", _fingerprint(ADMIN_KEY)),
    ],
    ids=["environment", "named in the key file", "unnamed in the key file"],
)
async def test_the_audit_says_who_changed_what_newest_first(
    make_client: MakeClient, tmp_path: Path, key_file: str | None, actor: str
) -> None:
    keys_setting: str | None = KEYS
    if key_file is not None:
        (tmp_path / "data" / "secrets").mkdir(parents=True)
        (tmp_path / "data" / "secrets" / "operator_api_keys").write_text(key_file)
        keys_setting = None
    client = await make_client(operator_api_keys=keys_setting)
    await _import(client, FEED)
    changes = [
        ("/v1/brands/demo/games/fake:slot1", {"enabled": False}),
        ("/v1/brands/demo/games/fake:slot3", {"title": "Orbit of Dragons"}),
        ("/v1/brands/demo/pinned", {"games": ["fake:table1", "fake:slot3"]}),
        ("/v1/brands/other/categories/top", {"games": ["fake:live1"]}),
    ]
    for url, body in changes:
        response = await client.put(url, json=body, headers=ADMIN)
        assert response.status == 200, await response.text()
        assert [entry["actor"] for entry in (await response.json())["changes"]] == [actor]
    response = await client.get("/v1/brands/demo/audit", headers=ADMIN)
    audit = await response.json()
    shown = [
        (e["actor"], e["action"], e["target"], e["before"], e["after"]) for e in audit["items"]
    ]
    assert shown == [
        (actor, "pinned_order", "", [], ["fake:table1", "fake:slot3"]),
        (actor, "game_title", "fake:slot3", None, "Orbit of Dragons"),
        (actor, "game_switch", "fake:slot1", {"enabled": True}, {"enabled": False}),
    ]
    assert audit["next_before"] is None
    older = await client.get("/v1/brands/demo/audit?limit=1&before=" + str(
        audit["items"][0]["seq"]), headers=ADMIN)  # fmt: skip
    page = await older.json()
    assert [e["action"] for e in page["items"]] == ["game_title"]
    assert page["next_before"] == page["items"][0]["seq"]
    lobby_page = await lobby(client, BASE, ADMIN)
    assert [game["key"] for game in lobby_page["items"]][:2] == ["fake:table1", "fake:slot3"]
    assert lobby_page["items"][1]["title"] == "Orbit of Dragons"
    assert "fake:slot1" not in [game["key"] for game in lobby_page["items"]]


# -- metrics -----------------------------------------------------------------------------


async def test_metrics_count_lobby_answers_syncs_and_games(client: Client) -> None:
    etag = await _etag_of(client)
    await _etag_of(client)
    response = await client.get(f"/v1/lobby/games?{BASE}", headers={**LOBBY, "If-None-Match": etag})
    assert response.status == 304
    bad = {"games": [{"code": "x", "title": "X", "vertical": "slot"}]}
    assert (await client.post(IMPORT, json=bad, headers=ADMIN)).status == 422
    guarded = await client.post(IMPORT, json={"games": FEED[:1]}, headers=ADMIN)
    assert guarded.status == 409
    version = (await lobby(client, BASE))["version"]
    text = await (await client.get("/metrics")).text()
    for line in (
        'gamegate_lobby_answers_total{served="computed"} 1.0',
        'gamegate_lobby_answers_total{served="memory"} 2.0',
        'gamegate_lobby_answers_total{served="not_modified"} 1.0',
        'gamegate_catalogue_syncs_total{provider="fake",result="applied"} 2.0',
        'gamegate_catalogue_syncs_total{provider="fake",result="invalid"} 1.0',
        'gamegate_catalogue_syncs_total{provider="fake",result="guarded"} 1.0',
        f"gamegate_catalogue_version {float(version)}",
        'gamegate_catalogue_games{status="active"} 6.0',
        'gamegate_catalogue_games{status="disabled"} 1.0',
        'gamegate_catalogue_games{status="retired"} 1.0',
    ):
        assert line in text, line


async def test_a_launch_refused_for_want_of_a_launch_url_opens_no_session(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(operator_api_keys=KEYS)
    await _import(client, FEED)
    await new_player(client, "p1")
    response = await _launch(client, game="fake:slot1", player_id="p1", device="desktop")
    assert response.status == 422
    assert "no launch URL" in (await response.json())["error"]["message"]
    with sqlite3.connect(tmp_path / "data" / "wallet.db") as wallet:
        assert wallet.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
