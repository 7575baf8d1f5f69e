"""GET /v1/reports/open-rounds over the real (DuckDB) reporting store: who may ask,
strict parameters, the answer's shape (docs/openapi.json), and the age from the app's
clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from core.reporting.events import EventKind
from gateway.app import create_app
from gateway.keys import REPORTING_STORE
from tests.conftest import FakeClock
from tests.gateway.conftest import ADMIN, ADMIN_KEY, VIEWER, VIEWER_KEY, Client, MakeSettings
from tests.gateway.fake_protocol import FAKE_PROTOCOLS
from tests.gateway.test_openapi import schema_errors
from tests.reporting.events import event

LOBBY = {"Authorization": "Bearer lobby-key-0123456789"}
PATH = "/v1/reports/open-rounds"
SPEC = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text("utf-8"))


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> Client:
    settings = make_settings(
        operator_api_keys=f"{ADMIN_KEY}:admin,{VIEWER_KEY}:viewer,lobby-key-0123456789:lobby",
        reporting={"relay": False},
    )
    app = create_app(settings, clock=clock, protocols=FAKE_PROTOCOLS)
    client = await aiohttp_client(app)
    now = clock.micros()
    events = [
        event(1, EventKind.BET, at_us=now - 7_200_000_000, round_id="old", real_delta_minor=-250),
        event(2, EventKind.BET, at_us=now - 60_000_000, round_id="new", provider="prov-b"),
    ]
    await _store(app).apply(events, 2, {})
    return client


def _store(app: web.Application) -> Any:
    return app[REPORTING_STORE]


async def _get(client: Client, query: str, headers: dict[str, str] = VIEWER) -> Any:
    response = await client.get(f"{PATH}?{query}", headers=headers)
    return response.status, await response.json()


async def test_admin_and_viewer_may_read_it_lobby_keys_and_strangers_not(client: Client) -> None:
    assert (await _get(client, "", ADMIN))[0] == 200
    assert (await _get(client, "", VIEWER))[0] == 200
    assert (await _get(client, "", LOBBY))[0] == 403
    assert (await _get(client, "", {}))[0] == 401


@pytest.mark.parametrize(
    ("query", "rounds"),
    [
        ("", ["old"]),  # default: an hour
        ("older_than_s=30", ["old", "new"]),
        ("older_than_s=30&provider=prov-b", ["new"]),
        ("older_than_s=7201", []),
    ],
)
async def test_the_answer_lists_the_stale_rounds_as_documented(
    client: Client, query: str, rounds: list[str]
) -> None:
    status, body = await _get(client, query)
    assert status == 200
    assert schema_errors(body, {"$ref": "#/components/schemas/OpenRoundsReport"}, SPEC) == []
    assert [row["round_id"] for row in body["rows"]] == rounds
    assert body["truncated"] is False


async def test_a_row_carries_its_age_and_stake(client: Client) -> None:
    _, body = await _get(client, "")
    (row,) = body["rows"]
    assert (row["age_s"], row["stake_real"], row["stake_real_minor"]) == (7_200, "2.50", 250)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("older_than_s=-1", "older_than_s"),
        ("older_than_s=1.5", "older_than_s"),
        ("older_than_s=99999999999", "older_than_s"),
        ("provider=", "provider"),
        ("provider=a%20b", "provider"),
    ],
)
async def test_parameters_are_strict(client: Client, query: str, name: str) -> None:
    status, body = await _get(client, query)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert body["error"]["message"].startswith(f"{name}:")
