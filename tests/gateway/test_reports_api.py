"""GET /v1/reports/ggr over the real (DuckDB) reporting store, seeded with `apply`: who
may ask, strict parameters, the answer's shape (amounts as decimal text in the row's
currency and as minor units, documented in docs/openapi.json) and the row bound."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from core.reporting.events import EventKind, ReportEvent
from gateway.app import create_app
from gateway.keys import REPORTING_STORE
from gateway.routes import reports
from tests.conftest import FakeClock
from tests.gateway.conftest import ADMIN, ADMIN_KEY, VIEWER, VIEWER_KEY, Client, MakeSettings
from tests.gateway.fake_protocol import FAKE_PROTOCOLS
from tests.gateway.test_openapi import schema_errors
from tests.reporting.events import DAY0, at_us, event

LOBBY_KEY = "lobby-key-0123456789"
PATH = "/v1/reports/ggr"
DAY1 = DAY0.replace(day=2)
SPEC = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text("utf-8"))


def seeded_events() -> list[ReportEvent]:
    """p1 bets 10.00 EUR real + 2.00 bonus and wins 5.00 on DAY0; p2 bets 1000 JPY on DAY0
    and on DAY1, a rollback returns the DAY1 bet."""
    return [
        event(1, EventKind.BET, real_delta_minor=-1_000, bonus_delta_minor=-200, round_id="r1"),
        event(2, EventKind.WIN, real_delta_minor=500, round_id="r1"),
        event(3, EventKind.BET, player_id="p2", currency="JPY", real_delta_minor=-1_000),
        event(
            4,
            EventKind.BET,
            player_id="p2",
            currency="JPY",
            real_delta_minor=-1_000,
            at_us=at_us(DAY1, 10),
            round_id="r4",
        ),
        event(
            5,
            EventKind.ROLLBACK,
            player_id="p2",
            currency="JPY",
            real_delta_minor=1_000,
            at_us=at_us(DAY1, 20),
            round_id="r4",
            ref_seq=4,
        ),
    ]


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> Client:
    settings = make_settings(
        operator_api_keys=f"{ADMIN_KEY}:admin,{VIEWER_KEY}:viewer,{LOBBY_KEY}:lobby",
        reporting={"relay": False},
    )
    app = create_app(settings, clock=clock, protocols=FAKE_PROTOCOLS)
    client = await aiohttp_client(app)
    await _store(app).apply(seeded_events(), 5, {})
    return client


def _store(app: web.Application) -> Any:
    return app[REPORTING_STORE]


async def _get(client: Client, query: str, headers: dict[str, str] = VIEWER) -> Any:
    response = await client.get(f"{PATH}?{query}", headers=headers)
    body = await response.json()
    return response.status, body


async def test_admin_and_viewer_keys_may_read_it_lobby_keys_and_strangers_not(
    client: Client,
) -> None:
    query = f"from={DAY0}&to={DAY1}"
    assert (await _get(client, query, ADMIN))[0] == 200
    assert (await _get(client, query, VIEWER))[0] == 200
    status, body = await _get(client, query, {"Authorization": f"Bearer {LOBBY_KEY}"})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = await _get(client, query, {})
    assert (status, body["error"]["code"]) == (401, "unauthorized")


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("to=2026-12-01", "from"),
        ("from=2026-12-01", "to"),
        ("from=20261201&to=2026-12-01", "from"),
        ("from=2026-12-1&to=2026-12-01", "from"),
        ("from=2026-12-01&to=2026-02-30", "to"),
        ("from=2026-12-01&to=2026-12-01T00:00", "to"),
        ("from=２０２６-12-01&to=2026-12-01", "from"),
        ("from=2026-12-02&to=2026-12-01", "to"),
        ("from=2026-01-01&to=2027-01-02", "from, to"),
        ("from=2026-12-01&to=2026-12-01&by=", "by"),
        ("from=2026-12-01&to=2026-12-01&by=day,player_id", "by"),
        ("from=2026-12-01&to=2026-12-01&by=day,,brand", "by"),
        ("from=2026-12-01&to=2026-12-01&by=day,day", "by"),
        ("from=2026-12-01&to=2026-12-01&by=Day", "by"),
    ],
)
async def test_parameters_are_strict(client: Client, query: str, names: str) -> None:
    status, body = await _get(client, query)
    assert status == 400
    assert body["error"]["code"] == "invalid_request"
    assert body["error"]["message"].startswith(f"{names}:")


async def test_a_year_with_its_leap_day_is_allowed(client: Client) -> None:
    status, body = await _get(client, "from=2028-01-01&to=2028-12-31")
    assert (status, body["rows"]) == (200, [])


async def test_the_default_grouping_with_amounts_in_each_rows_currency(client: Client) -> None:
    status, body = await _get(client, f"from={DAY0}&to={DAY1}")
    assert status == 200
    assert schema_errors(body, {"$ref": "#/components/schemas/GgrReport"}, SPEC) == []
    assert body["by"] == ["day", "brand", "market", "provider", "currency"]
    eur, jpy0, jpy1 = body["rows"]
    assert eur == {
        "day": "2026-12-01", "brand": "brand-a", "market": "MT", "provider": "prov-a",
        "currency": "EUR", "bets": 1, "rounds": 1, "active_players": 1,
        "stake_real": "10.00", "stake_real_minor": 1_000,
        "stake_bonus": "2.00", "stake_bonus_minor": 200,
        "win_real": "5.00", "win_real_minor": 500,
        "win_bonus": "0.00", "win_bonus_minor": 0,
        "rollback_real": "0.00", "rollback_real_minor": 0,
        "rollback_bonus": "0.00", "rollback_bonus_minor": 0,
        "ggr": "7.00", "ggr_minor": 700,
        "ngr": "5.00", "ngr_minor": 500,
    }  # fmt: skip
    assert (jpy0["day"], jpy0["currency"], jpy0["ggr"], jpy0["ggr_minor"]) == (
        "2026-12-01", "JPY", "1000", 1_000,
    )  # fmt: skip
    assert (jpy1["day"], jpy1["bets"], jpy1["rollback_real"], jpy1["ggr"]) == (
        "2026-12-02", 1, "1000", "0",
    )  # fmt: skip


async def test_by_chooses_the_columns_and_their_order_and_currency_comes_last(
    client: Client,
) -> None:
    status, body = await _get(client, f"from={DAY0}&to={DAY1}&by=market,brand")
    assert status == 200
    assert body["by"] == ["market", "brand", "currency"]
    assert [(row["market"], row["currency"], row["bets"]) for row in body["rows"]] == [
        ("MT", "EUR", 1),
        ("MT", "JPY", 2),
    ]
    assert all("day" not in row for row in body["rows"])
    status, body = await _get(client, f"from={DAY1}&to={DAY1}&by=currency,game_id")
    assert [(row["currency"], row["game_id"]) for row in body["rows"]] == [("JPY", "game-1")]


async def test_a_report_over_the_row_bound_is_refused_whole(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "GGR_ROWS_MAX", 2)
    status, body = await _get(client, f"from={DAY0}&to={DAY1}")
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert "3 rows, more than 2" in body["error"]["message"]
    assert (await _get(client, f"from={DAY0}&to={DAY0}"))[0] == 200
