"""The demo lobby's server side in process: the demo provider plays real rounds through
the gamegate mount (signed bet and win, the wallet moves), fun play moves nothing, and
the page's backend refuses what a browser must not do. The catalogue and launch parts
are covered with the real lobby API by `tests/browser`."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from adapters.conformance.games import import_path, single_game_feed
from gateway import demo
from gateway.app import create_app
from gateway.demo_lobby import add_demo_lobby_routes
from gateway.keys import SERVICE
from gateway.settings import Settings
from tests.conftest import FakeClock
from tests.gateway.conftest import Client

ADMIN = {"Authorization": f"Bearer {demo.DEMO_OPERATOR_KEY}"}
GAME = "gamegate:gg-slot-00001"
SPINS = 12


@pytest.fixture
async def lobby(tmp_path: Path, aiohttp_client: AiohttpClient, clock: FakeClock) -> Client:
    """A gateway with one gamegate instance, the demo keys and players, and the lobby."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "operator_api_keys": f"{demo.DEMO_OPERATOR_KEY}:admin,{demo.DEMO_LOBBY_KEY}:lobby",
        "providers": {"gamegate": {"protocol": "gamegate"}, "other": {"protocol": "gamegate"}},
        "secret_env": {
            "GAMEGATE_SECRET_GAMEGATE_HMAC_KEY": "lobby-test-hmac-key",
            "GAMEGATE_SECRET_OTHER_HMAC_KEY": "another-hmac-key",
        },
        "brands": {demo.DEMO_BRAND: "real_first"},
    }
    settings = Settings(**values)
    app = create_app(settings, clock=clock)
    add_demo_lobby_routes(app, rng=random.Random(7))
    client = await aiohttp_client(app)
    await demo.seed(app[SERVICE], settings, _no_warnings, at_us=clock.micros())
    for instance in ("gamegate", "other"):  # sessions name catalogue games
        feed = single_game_feed(GAME.partition(":")[2])
        response = await client.post(import_path(instance), json=feed, headers=ADMIN)
        assert response.status == 200, await response.text()
    return client


def _no_warnings(message: str) -> None:
    raise AssertionError(message)


async def _session(client: Client, instance: str = "gamegate") -> str:
    body = {"player_id": "demo-1", "game_id": "gg-slot-00001", "provider": instance}
    response = await client.post("/v1/sessions", json=body, headers=ADMIN)
    assert response.status == 201, await response.text()
    token: str = (await response.json())["token"]
    return token


async def _spin(client: Client, **body: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post("/lobby/api/spin", json={"game": GAME, **body})
    return response.status, await response.json()


async def _wallet(client: Client) -> tuple[Decimal, list[dict[str, Any]]]:
    balance = await (await client.get("/v1/players/demo-1/balance", headers=ADMIN)).json()
    history = await client.get("/v1/players/demo-1/transactions?limit=100", headers=ADMIN)
    return Decimal(balance["total"]), (await history.json())["items"]


async def test_each_real_spin_is_a_signed_bet_and_win_in_the_wallet(lobby: Client) -> None:
    token = await _session(lobby)
    expected = Decimal("100.00")
    wins = []
    rounds = []
    for _ in range(SPINS):
        status, round_ = await _spin(lobby, token=token, stake="1.00", mode="real")
        assert status == 200, round_
        assert round_["fun"] is False
        assert round_["stake"] == "1.00"
        expected += Decimal(round_["win"]) - Decimal(round_["stake"])
        assert Decimal(round_["balance"]) == expected
        wins.append(Decimal(round_["win"]))
        rounds.append(round_["round"])
    assert any(wins), f"seed 7 gives some wins: {wins}"
    assert not all(wins), f"seed 7 gives some losses: {wins}"
    total, items = await _wallet(lobby)
    assert total == expected
    moves = [item for item in items if item["provider"] == "gamegate"]
    assert len(moves) == 2 * SPINS
    last_bet, last_win = moves[1], moves[0]  # newest first
    assert (last_bet["kind"], last_win["kind"]) == ("debit", "credit")
    assert last_bet["round_id"] == last_win["round_id"] == rounds[-1]
    assert Decimal(last_bet["amount"]) == Decimal("1.00")
    assert Decimal(last_win["amount"]) == wins[-1]


async def test_a_round_is_closed_even_when_it_wins_nothing(lobby: Client) -> None:
    token = await _session(lobby)
    for _ in range(SPINS):
        status, round_ = await _spin(lobby, token=token, stake="0.50", mode="real")
        assert status == 200, round_
        recalled = await lobby.get(f"/v1/rounds/gamegate/{round_['round']}", headers=ADMIN)
        assert (await recalled.json())["closed"] is True


async def test_fun_play_moves_no_money(lobby: Client) -> None:
    status, round_ = await _spin(lobby, stake="2.00", mode="demo")
    assert status == 200, round_
    assert (round_["fun"], round_["currency"], round_["balance"]) == (True, "FUN", None)
    total, items = await _wallet(lobby)
    assert total == Decimal("100.00")
    assert all(item["provider"] != "gamegate" for item in items)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"token": "no-such-token", "stake": "1.00", "mode": "real"}, 409, "session_invalid"),
        ({"stake": "1.00", "mode": "real"}, 400, "invalid_request"),
        ({"stake": "0.001", "mode": "demo"}, 400, "invalid_stake"),
        ({"stake": "100.01", "mode": "demo"}, 400, "invalid_stake"),
        ({"stake": "1e2", "mode": "demo"}, 400, "invalid_stake"),
        ({"stake": 1, "mode": "demo"}, 400, "invalid_request"),
        ({"stake": "1.00", "mode": "demo", "game": "no key"}, 400, "invalid_request"),
    ],
)
async def test_spins_that_cannot_be_played_are_refused(
    lobby: Client, body: dict[str, Any], status: int, code: str
) -> None:
    got_status, answer = await _spin(lobby, **body)
    assert (got_status, answer["error"]["code"]) == (status, code), answer


async def test_a_session_of_another_instance_does_not_play_here(lobby: Client) -> None:
    token = await _session(lobby, instance="other")
    status, answer = await _spin(lobby, token=token, stake="1.00", mode="real")
    assert (status, answer["error"]["code"]) == (409, "session_invalid"), answer
    assert (await _wallet(lobby))[0] == Decimal("100.00")


async def test_a_bet_above_the_balance_is_refused_by_the_wallet(lobby: Client) -> None:
    body = {"player_id": "demo-3", "game_id": "gg-slot-00001", "provider": "gamegate"}
    session = await lobby.post("/v1/sessions", json=body, headers=ADMIN)
    token = (await session.json())["token"]
    status, answer = await _spin(lobby, token=token, stake="10.00", mode="real")
    assert (status, answer["error"]["code"]) == (409, "insufficient_funds"), answer


async def test_the_backend_takes_json_only(lobby: Client) -> None:
    response = await lobby.post("/lobby/api/spin", data="game=x&stake=1.00")
    assert response.status == 415
    assert (await response.json())["error"]["code"] == "unsupported_media_type"
    oversized = {"game": GAME, "stake": "1.00", "token": "t" * 5_000}
    response = await lobby.post("/lobby/api/spin", json=oversized)
    assert response.status == 413


async def test_balances_of_demo_players_only(lobby: Client) -> None:
    response = await lobby.get("/lobby/api/balance?player=demo-1")
    assert response.status == 200
    assert (await response.json())["total"] == "100.00"
    response = await lobby.get("/lobby/api/balance?player=someone-else")
    assert response.status == 400


async def test_launch_refuses_players_that_are_not_demo_players(lobby: Client) -> None:
    body = {"game": GAME, "player": "someone-else", "device": "desktop", "mode": "real"}
    response = await lobby.post("/lobby/api/launch", json=body)
    assert response.status == 400
    assert "player" in (await response.json())["error"]["message"]


async def test_pages_and_assets_are_served_with_a_strict_policy(lobby: Client) -> None:
    for path in ("/lobby", "/lobby/play"):
        response = await lobby.get(path)
        assert response.status == 200
        assert response.content_type == "text/html"
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert '<script type="module" src="/lobby/static/lobby.js">' in await response.text()
    script = await lobby.get("/lobby/static/lobby.js")
    assert script.status == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    for path in ("/lobby/static/index.html", "/lobby/static/..%2F..%2Fdemo.py"):
        assert (await lobby.get(path)).status == 404


async def test_no_key_or_secret_is_in_what_the_browser_gets(lobby: Client) -> None:
    served = b""
    for path in ("/lobby", "/lobby/play", "/lobby/static/lobby.js", "/lobby/static/lobby.css"):
        served += await (await lobby.get(path)).read()
    for secret in (demo.DEMO_OPERATOR_KEY, demo.DEMO_LOBBY_KEY, "lobby-test-hmac-key"):
        assert secret.encode() not in served


async def test_tiles_are_svg_with_the_title_escaped(lobby: Client) -> None:
    title = '<script>alert("x")</script> & Gold'
    response = await lobby.get(f"/lobby/images/gamegate/gg-slot-00001.svg?title={title}")
    assert response.status == 200
    assert response.content_type == "image/svg+xml"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    text = await response.text()
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert ">SA&amp;<" not in text  # initials take letters and digits only
    again = await (await lobby.get("/lobby/images/gamegate/gg-slot-00001.svg")).text()
    assert again.startswith("<svg")
    assert "gg-slot-00001" in again
    assert (await lobby.get("/lobby/images/Bad%20Instance/x.svg")).status == 404


def test_routes_need_the_app_settings_and_clock_only_when_started(tmp_path: Path) -> None:
    """Adding the routes reads nothing: secrets are read when the application starts."""
    app = web.Application()
    add_demo_lobby_routes(app, base_url="http://127.0.0.1:1")
    assert any(route.resource is not None and route.resource.canonical == "/lobby"
               for route in app.router.routes())  # fmt: skip
