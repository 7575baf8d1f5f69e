"""Ops endpoints: liveness, readiness over the wallet store, Prometheus metrics."""

from __future__ import annotations

import asyncio

from gateway.keys import STORE
from tests.gateway.conftest import ADMIN, Client, MakeClient, app_of


async def test_healthz_answers_while_the_process_is_alive(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_wallet_store_answers(client: Client) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ready"}


async def test_readyz_is_503_once_the_wallet_store_is_closed(client: Client) -> None:
    await app_of(client)[STORE].close()
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["status"] == "unavailable"


async def test_metrics_count_operator_requests_by_route_pattern_and_status(
    client: Client,
) -> None:
    await client.get("/v1/players/demo-9/balance", headers=ADMIN)
    await client.get("/v1/players/demo-9/balance")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    route = 'route="/v1/players/{player_id}/balance"'
    assert f'gamegate_operator_requests_total{{{route},status="404"}} 1.0' in text
    assert f'gamegate_operator_requests_total{{{route},status="401"}} 1.0' in text
    assert "demo-9" not in text, "player ids are never metric labels"


async def test_metrics_report_wallet_store_commits(client: Client) -> None:
    before = _sample(await (await client.get("/metrics")).text(), "gamegate_wallet_store_commits")
    body = _player("m1")
    assert (await client.post("/v1/players", json=body, headers=ADMIN)).status == 201
    after = _sample(await (await client.get("/metrics")).text(), "gamegate_wallet_store_commits")
    assert after > before


async def test_metrics_show_how_long_each_wallet_commit_took(client: Client) -> None:
    body = _player("m1")
    assert (await client.post("/v1/players", json=body, headers=ADMIN)).status == 201
    text = await (await client.get("/metrics")).text()
    name = "gamegate_wallet_store_commit_duration_seconds"
    buckets = [
        (line.split('le="')[1].split('"')[0], float(line.split()[-1]))
        for line in text.splitlines()
        if line.startswith(f"{name}_bucket{{")
    ]
    count = _value(text, f"{name}_count")
    assert count == _sample(text, "gamegate_wallet_store_commits") >= 1
    assert buckets[-1] == ("+Inf", count)
    cumulative = [seen for _, seen in buckets]
    assert cumulative == sorted(cumulative), "buckets are cumulative"
    assert _value(text, f"{name}_sum") > 0


async def test_each_app_has_its_own_metrics_registry(make_client: MakeClient) -> None:
    first = await make_client()
    second = await make_client()
    await first.get("/v1/players/x/balance")
    text = await (await second.get("/metrics")).text()
    assert "gamegate_operator_requests_total{" not in text


def _sample(text: str, name: str) -> float:
    return _value(text, f"{name}_total")


def _player(player_id: str) -> dict[str, str]:
    return {
        "player_id": player_id,
        "brand": "demo",
        "jurisdiction": "MT",
        "currency": "EUR",
        "date_of_birth": "1990-01-01",
    }


async def test_metrics_count_the_requests_in_flight(make_client: MakeClient) -> None:
    client = await make_client(server={"request_timeout_s": 0.3})  # `slow` ends as a 503
    assert _value(await (await client.get("/metrics")).text(), _IN_FLIGHT) == 1.0  # the scrape
    slow = asyncio.create_task(client.post("/providers/fake/slow", json={}))
    await asyncio.sleep(0.05)
    assert _value(await (await client.get("/metrics")).text(), _IN_FLIGHT) == 2.0
    (await slow).release()
    assert _value(await (await client.get("/metrics")).text(), _IN_FLIGHT) == 1.0


_IN_FLIGHT = "gamegate_http_requests_in_flight"


def _value(text: str, series: str) -> float:
    """The value of the unlabelled `series` in a `/metrics` page."""
    for line in text.splitlines():
        if line.startswith(f"{series} "):
            return float(line.split()[1])
    raise AssertionError(f"{series} not exported")
