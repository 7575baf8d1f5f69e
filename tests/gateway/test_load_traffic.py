"""The benchmark's traffic (`loadtests/gen_traffic.py`) is what it claims to be.

The whole-path benchmark only means something if its requests are business successes:
these tests send a rendered pool, byte for byte as wrk sends it, to the whole gateway
with the demo configuration and the real SQLite wallet, and check the plan's mix and
ordering.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import orjson
import pytest
from pytest_aiohttp import AiohttpServer

from adapters.providers.registry import PROTOCOLS
from gateway import demo
from gateway.app import create_app
from gateway.settings import ProviderSettings, Settings, read_config_file
from loadtests.gen_traffic import (
    INSTANCES,
    PlannedRequest,
    SeededPlayer,
    load_secrets,
    plan_traffic,
    render_pool,
    seed_players,
)
from tests.conftest import FakeClock

DEMO_CONFIG = Path(__file__).parents[2] / "config" / "gamegate.toml"
SUCCESS_MARKERS = (b'"status":"ok"', b'"status":"RS_OK"', b'"status":"OK"', b'"error":0,')
"""As `loadtests/wrk_pool.lua` counts them; softswiss answers a success without a status."""


def _demo_settings(data_dir: Path) -> Settings:
    """The demo configuration's benchmark instances, secrets written as demo mode does."""
    tables = read_config_file(DEMO_CONFIG)["providers"]
    providers = {name: ProviderSettings.model_validate(tables[name]) for name in INSTANCES}
    warnings: list[str] = []
    settings = demo.prepare(Settings(data_dir=data_dir, providers=providers), warnings.append)
    assert warnings == []
    return settings


def _success(instance: str, status: int, body: bytes) -> bool:
    if status != 200:
        return False
    if instance == "softswiss":
        return not body.startswith(b'{"code":') and b'"balance":' in body
    return any(marker in body for marker in SUCCESS_MARKERS)


async def _send_pool(port: int, pool: Path) -> list[tuple[int, bytes]]:
    """Each raw request of the pool in order on one keep-alive connection, as wrk does."""
    data = pool.read_bytes()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers: list[tuple[int, bytes]] = []
    try:
        position = 0
        while position < len(data):
            newline = data.index(b"\n", position)
            length = int(data[position:newline])
            writer.write(data[newline + 1 : newline + 1 + length])
            position = newline + 1 + length
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
            body = await reader.readexactly(int(headers["content-length"]))
            answers.append((int(lines[0].split()[1]), body))
    finally:
        writer.close()
        await writer.wait_closed()
    return answers


async def test_every_request_of_a_rendered_pool_is_a_business_success_at_the_gateway(
    tmp_path: Path, clock: FakeClock, aiohttp_server: AiohttpServer
) -> None:
    settings = _demo_settings(tmp_path / "data")
    server = await aiohttp_server(create_app(settings, clock=clock))
    players = await seed_players(str(server.make_url("")), 40, INSTANCES, concurrency=4)
    secrets = load_secrets(settings.data_dir, INSTANCES)
    planned = plan_traffic(players, secrets, 800)
    pool = tmp_path / "pool.txt"
    render_pool(planned, pool, secrets["gamegate"]["provider_hmac_key"], now_s=int(clock.now_s))

    assert server.port is not None
    answers = await _send_pool(server.port, pool)

    failures = [
        (request.instance, request.kind, status, body[:200])
        for request, (status, body) in zip(planned, answers, strict=True)
        if not _success(request.instance, status, body)
    ]
    assert failures == []
    assert {request.kind for request in planned} == {"bet", "win", "rollback", "replay"}


def _fake_players(count: int) -> list[SeededPlayer]:
    return [
        SeededPlayer(f"p-{i}", "EUR", {name: f"token-{name}-{i}" for name in INSTANCES})
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def provider_secrets() -> dict[str, dict[str, bytes]]:
    return {name: PROTOCOLS[name].demo_secrets() for name in INSTANCES}


def test_the_plan_is_half_bets_two_fifths_wins_and_a_twentieth_rollbacks_and_replays(
    provider_secrets: dict[str, dict[str, bytes]],
) -> None:
    planned = plan_traffic(_fake_players(200), provider_secrets, 10_000)

    shares = {kind: n / len(planned) for kind, n in Counter(r.kind for r in planned).items()}
    assert shares["bet"] == pytest.approx(0.50, abs=0.03)
    assert shares["win"] == pytest.approx(0.40, abs=0.03)
    assert shares["rollback"] == pytest.approx(0.05, abs=0.015)
    assert shares["replay"] == pytest.approx(0.05, abs=0.015)
    per_instance = Counter(r.instance for r in planned)
    assert set(per_instance) == set(INSTANCES)
    assert min(per_instance.values()) > len(planned) / len(INSTANCES) * 0.8


def test_a_win_or_rollback_comes_a_whole_round_of_players_after_its_bet(
    provider_secrets: dict[str, dict[str, bytes]],
) -> None:
    players = 300
    planned = plan_traffic(_fake_players(players), provider_secrets, 3_000, instances=["gamegate"])

    bet_position: dict[str, int] = {}
    gaps: list[int] = []
    for position, request in enumerate(planned):
        body = orjson.loads(request.body)
        if request.kind == "bet":
            bet_position[body["transaction_id"]] = position
        elif request.kind in ("win", "rollback"):
            reference = body.get("bet_transaction_id") or body["reference_transaction_id"]
            gaps.append(position - bet_position[reference])
    assert gaps
    assert min(gaps) >= players


def test_only_replays_repeat_a_transaction_id(
    provider_secrets: dict[str, dict[str, bytes]],
) -> None:
    planned: list[PlannedRequest] = plan_traffic(
        _fake_players(50), provider_secrets, 2_000, instances=["gamegate"]
    )

    ids = [orjson.loads(r.body)["transaction_id"] for r in planned if r.kind != "replay"]
    assert len(ids) == len(set(ids))
    seen = {r.body for r in planned if r.kind != "replay"}
    assert all(r.body in seen for r in planned if r.kind == "replay")
