"""End to end over HTTP: the operator funds a player, a provider plays through `gamegate`.

The whole app as `make run` builds it (the demo config's `gamegate` instance, demo
secrets, the real SQLite wallet), with a provider that signs each request and checks
each signed answer as `docs/protocols/gamegate.md` tells it to. After every step the
balance, the transaction history and the metrics say what happened; at the end the
wallet file reconciles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from pytest_aiohttp import AiohttpClient

from adapters.conformance.games import import_path, single_game_feed
from adapters.providers.gamegate_wire import new_nonce, sign_request, verify_response
from adapters.stores.sqlite_verify import verify_wallet
from gateway import demo
from gateway.app import create_app
from gateway.settings import ProviderSettings, Settings, read_config_file
from tests.conftest import FakeClock
from tests.gateway.conftest import Client

INSTANCE = "gamegate"
PLAYER = "p-e2e"
OPERATOR = {"Authorization": f"Bearer {demo.DEMO_OPERATOR_KEY}"}
DEMO_CONFIG = Path(__file__).parents[2] / "config" / "gamegate.toml"
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


@dataclass
class Provider:
    """The game provider: its copy of the key, the wallet's clock and the player's session."""

    client: Client
    key: bytes
    clock: FakeClock
    token: str = ""

    async def call(
        self, operation: str, fields: dict[str, Any], *, key: bytes | None = None
    ) -> tuple[int, dict[str, Any]]:
        body = orjson.dumps(fields)
        nonce = new_nonce()
        headers = sign_request(
            key or self.key,
            body,
            operation=operation,
            timestamp=int(self.clock.seconds()),
            nonce=nonce,
        )
        path = f"/providers/{INSTANCE}/{operation}"
        response = await self.client.post(path, data=body, headers=headers)
        raw = await response.read()
        assert verify_response(
            self.key, response.headers, raw, request_nonce=nonce, now_s=self.clock.seconds()
        ), f"{operation}: the answer is not signed for our nonce"
        shown: dict[str, Any] = orjson.loads(raw)
        return response.status, shown

    async def bet(self, tx: str, amount: int, round_id: str, **extra: Any) -> dict[str, Any]:
        fields = {"session_token": self.token, "player_id": PLAYER, "transaction_id": tx,
                  "round_id": round_id, "game_id": "starburst", "currency": "EUR",
                  "amount": amount, **extra}  # fmt: skip
        status, shown = await self.call("bet", fields)
        assert status == 200, shown
        return shown

    async def win(self, tx: str, amount: int, round_id: str, **extra: Any) -> dict[str, Any]:
        fields = {"player_id": PLAYER, "transaction_id": tx, "round_id": round_id,
                  "game_id": "starburst", "currency": "EUR", "amount": amount, **extra}  # fmt: skip
        status, shown = await self.call("win", fields)
        assert status == 200, shown
        return shown

    async def rollback(self, tx: str, reference: str) -> dict[str, Any]:
        fields = {"player_id": PLAYER, "transaction_id": tx, "reference_transaction_id": reference}
        status, shown = await self.call("rollback", fields)
        assert status == 200, shown
        return shown


@pytest.fixture
async def wallet(
    tmp_path: Path, clock: FakeClock, aiohttp_client: AiohttpClient
) -> tuple[Provider, Settings]:
    table = read_config_file(DEMO_CONFIG)["providers"][INSTANCE]
    settings = Settings(
        data_dir=tmp_path / "data",
        providers={INSTANCE: ProviderSettings.model_validate(table)},
    )
    settings = demo.prepare(settings, lambda warning: pytest.fail(warning))
    client = await aiohttp_client(create_app(settings, clock=clock))
    key = (settings.data_dir / "secrets" / INSTANCE / "provider_hmac_key").read_bytes()
    return Provider(client, key, clock), settings


async def _operator(
    client: Client, method: str, path: str, body: Any = None, key: str | None = None
) -> dict[str, Any]:
    headers = {**OPERATOR, **({"Idempotency-Key": key} if key else {})}
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status < 300, await response.text()
    shown: dict[str, Any] = await response.json()
    return shown


async def _balance(client: Client) -> tuple[str, str]:
    shown = await _operator(client, "GET", f"/v1/players/{PLAYER}/balance")
    return shown["real"], shown["bonus"]


async def _history(client: Client) -> list[tuple[str, str, str, int]]:
    """(tx_id, kind, status, real delta) of every transaction, newest first."""
    shown = await _operator(client, "GET", f"/v1/players/{PLAYER}/transactions")
    return [(i["tx_id"], i["kind"], i["status"], i["real_delta_minor"]) for i in shown["items"]]


async def _provider_requests(client: Client) -> dict[tuple[str, str], float]:
    """`gamegate_provider_requests_total` of the instance by (operation, outcome)."""
    text = await (await client.get("/metrics")).text()
    counts: dict[tuple[str, str], float] = {}
    for match in filter(None, map(_SAMPLE.match, text.splitlines())):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if match["name"] == "gamegate_provider_requests_total" and labels["provider"] == INSTANCE:
            counts[labels["operation"], labels["outcome"]] = float(match["value"])
    return counts


class Counters:
    """The instance's provider request counters, and what moved since the last look."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: dict[tuple[str, str], float] = {}

    async def moved(self) -> dict[tuple[str, str], float]:
        now = await _provider_requests(self.client)
        moved = {
            labels: value - self.seen.get(labels, 0.0)
            for labels, value in now.items()
            if value != self.seen.get(labels, 0.0)
        }
        self.seen = now
        return moved


async def _open_account(provider: Provider) -> None:
    """The operator: a player, a deposit and a game session for the instance."""
    client = provider.client
    await _operator(client, "POST", "/v1/players", {
        "player_id": PLAYER, "brand": "demo", "jurisdiction": "MT", "currency": "EUR",
        "date_of_birth": "1990-01-01"})  # fmt: skip
    deposit = {"amount": "100.00"}
    await _operator(client, "POST", f"/v1/players/{PLAYER}/deposits", deposit, key="dep-1")
    feed = single_game_feed("starburst")
    await _operator(client, "POST", import_path(INSTANCE), feed, key="import-1")
    session_body = {"player_id": PLAYER, "game_id": "starburst", "provider": INSTANCE}
    provider.token = (await _operator(client, "POST", "/v1/sessions", session_body))["token"]
    assert await _balance(client) == ("100.00", "0.00")
    assert await _history(client) == [("dep-1", "deposit", "applied", 10_000)]


async def _bet_and_replay(provider: Provider, counters: Counters) -> None:
    client = provider.client
    status, shown = await provider.call("authenticate", {"session_token": provider.token})
    assert (status, shown["player_id"], shown["balance"]["total"]) == (200, PLAYER, 10_000)
    placed = await provider.bet("tx-1", 250, "r-1")
    assert (placed["status"], placed["replay"], placed["balance"]["real"]) == ("ok", False, 9_750)
    assert await _balance(client) == ("97.50", "0.00")
    assert (await _history(client))[0] == ("tx-1", "debit", "applied", -250)
    assert await counters.moved() == {("authenticate", "ok"): 1.0, ("bet", "ok"): 1.0}

    again = await provider.bet("tx-1", 250, "r-1")  # re-signed: a new nonce, the same id
    assert again["replay"] is True
    assert again["wallet_transaction_id"] == placed["wallet_transaction_id"]
    assert await _balance(client) == ("97.50", "0.00")
    assert len(await _history(client)) == 2
    assert await counters.moved() == {("bet", "replay"): 1.0}


async def _refusals(provider: Provider, counters: Counters) -> None:
    """A forged bet, a reused id with another amount and an unaffordable bet move nothing."""
    client = provider.client
    forged = {
        "session_token": provider.token,
        "player_id": PLAYER,
        "transaction_id": "tx-2",
        "round_id": "r-1",
        "game_id": "starburst",
        "currency": "EUR",
        "amount": 100,
    }
    status, shown = await provider.call("bet", forged, key=b"a-forger-s-key")
    assert (status, shown["code"]) == (401, "bad_signature")
    conflicting = await provider.bet("tx-1", 999, "r-1")
    assert (conflicting["code"], conflicting["balance"]["real"]) == ("conflicting_replay", 9_750)
    unaffordable = await provider.bet("tx-6", 50_000, "r-1")
    assert (unaffordable["code"], unaffordable["balance"]["real"]) == ("insufficient_funds", 9_750)
    assert await _balance(client) == ("97.50", "0.00")
    assert (await _history(client))[0] == ("tx-6", "debit", "refused", 0)
    assert await counters.moved() == {
        ("bet", "bad_signature"): 1.0,
        ("bet", "conflicting_replay"): 1.0,
        ("bet", "insufficient_funds"): 1.0,
    }


async def _win_and_rollback(provider: Provider, counters: Counters) -> None:
    client = provider.client
    won = await provider.win("tx-3", 1_200, "r-1", bet_transaction_id="tx-1", round_closed=True)
    assert (won["status"], won["balance"]["real"]) == ("ok", 10_950)
    assert await _balance(client) == ("109.50", "0.00")
    history = await _history(client)
    assert history[0] == ("tx-3", "credit", "applied", 1_200)
    assert ("tx-1", "debit", "settled", -250) in history
    round_ = await _operator(client, "GET", f"/v1/rounds/{INSTANCE}/r-1")
    assert (round_["closed"], round_["stake_real_minor"], round_["win_real_minor"]) == (
        True, 250, 1_200)  # fmt: skip

    await provider.bet("tx-4", 500, "r-2")
    reversed_ = await provider.rollback("tx-5", "tx-4")
    assert (reversed_["reference_found"], reversed_["balance"]["real"]) == (True, 10_950)
    again = await provider.rollback("tx-5", "tx-4")
    assert (again["replay"], again["balance"]["real"]) == (True, 10_950)
    assert await _balance(client) == ("109.50", "0.00")
    history = await _history(client)
    assert history[0] == ("tx-5", "rollback", "applied", 500)
    assert ("tx-4", "debit", "rolled_back", -500) in history
    assert await counters.moved() == {
        ("win", "ok"): 1.0,
        ("bet", "ok"): 1.0,
        ("rollback", "ok"): 1.0,
        ("rollback", "replay"): 1.0,
    }


async def test_a_player_plays_through_gamegate_and_every_step_shows_up(
    wallet: tuple[Provider, Settings],
) -> None:
    provider, settings = wallet
    counters = Counters(provider.client)
    await _open_account(provider)

    await _bet_and_replay(provider, counters)
    await _refusals(provider, counters)
    await _win_and_rollback(provider, counters)

    assert [item[0] for item in await _history(provider.client)] == [
        "tx-5", "tx-4", "tx-3", "tx-6", "tx-1", "dep-1"]  # fmt: skip
    metrics = await (await provider.client.get("/metrics")).text()
    timed = f'operation="bet",provider="{INSTANCE}"'
    assert f"gamegate_provider_request_duration_seconds_count{{{timed}}} 6.0" in metrics
    assert 'gamegate_operator_requests_total{route="/v1/sessions",status="201"} 1.0' in metrics
    report = verify_wallet(settings.data_dir / "wallet.db")  # the default wallet URL's file
    assert report.ok, "\n".join(report.lines())
    assert report.txs >= 6
