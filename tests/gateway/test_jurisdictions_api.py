"""The jurisdiction rules over HTTP: what is in force at a time, and reloading without a
restart (a bad reload keeps the rules in force), plus start-up and SIGHUP."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.keys import RULES
from gateway.metrics import Metrics
from gateway.rules_holder import load_live_rules, reload_on_hangup
from gateway.settings import SettingsError
from tests.gateway.conftest import ADMIN, VIEWER, Client, MakeClient, MakeSettings, app_of
from tests.gateway.fake_protocol import FAKE_PROTOCOLS
from tests.gateway.test_openapi import SPEC_PATH, assert_documented

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "jurisdictions"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    copied = tmp_path / "jurisdictions"
    shutil.copytree(SHIPPED, copied)
    return copied


@pytest.fixture
async def rules_client(make_client: MakeClient, rules_dir: Path) -> Client:
    return await make_client(jurisdictions={"dir": str(rules_dir)})


async def _rules(client: Client, query: str, market: str = "GB") -> dict[str, Any]:
    response = await client.get(f"/v1/jurisdictions/{market}?{query}", headers=VIEWER)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def _ids(body: dict[str, Any]) -> set[str]:
    return {rule["id"] for rule in body["rules"]}


def _stake_caps(body: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["params"]["amount"] for r in body["rules"] if r["kind"] == "max_stake"}


async def test_the_rules_in_force_at_a_given_time(rules_client: Client) -> None:
    before = await _rules(rules_client, "at=2025-04-08T23:59:59Z")
    assert _stake_caps(before) == {}
    assert before["valid_until"] == "2025-04-09T00:00:00.000000Z"
    after = await _rules(rules_client, "at=2025-05-21T01:00:00%2B01:00")
    assert _stake_caps(after) == {
        "gb.slots.stake_max.all": "5.00",
        "gb.slots.stake_max.young": "2.00",
    }
    branded = await _rules(rules_client, "at=2026-01-01T00:00:00Z&brand=demo")
    assert _stake_caps(branded)["gb.slots.stake_max.all"] == "4.00"
    assert branded["brand"] == "demo"
    assert "gb.currency" in branded["uncertain_rules"]
    assert (branded["configured"], branded["register"], branded["at"]) == (
        True, "GAMSTOP", "2026-01-01T00:00:00.000000Z",
    )  # fmt: skip
    now = await _rules(rules_client, "")
    assert now["at"] == "2027-01-15T08:00:00.000000Z"  # the test clock


async def test_a_market_without_rules_and_bad_questions(rules_client: Client) -> None:
    unconfigured = await _rules(rules_client, "", market="FR")
    assert (unconfigured["configured"], unconfigured["rules"]) == (False, [])
    for url in ("/v1/jurisdictions/gb", "/v1/jurisdictions/GB?at=yesterday",
                "/v1/jurisdictions/GB?at=2025-01-01T00:00:00"):  # fmt: skip
        response = await rules_client.get(url, headers=VIEWER)
        assert response.status == 400, url
        assert (await response.json())["error"]["code"] == "invalid_request"
    assert (await rules_client.get("/v1/jurisdictions/GB")).status == 401


async def test_a_reload_swaps_in_new_rules_and_a_bad_one_keeps_the_old(
    rules_client: Client, rules_dir: Path
) -> None:
    gb = rules_dir / "GB.toml"
    gb.write_text(gb.read_text().replace('amount = "5.00"', 'amount = "4.50"'))
    assert (await rules_client.post("/v1/jurisdictions/reload", headers=VIEWER)).status == 403
    response = await rules_client.post("/v1/jurisdictions/reload", headers=ADMIN)
    assert response.status == 200
    assert (await response.json())["markets"] == ["CA-ON", "CW", "DE", "ES", "GB", "MT", "NL", "SE"]
    assert _stake_caps(await _rules(rules_client, ""))["gb.slots.stake_max.all"] == "4.50"
    gb.write_text(gb.read_text().replace('amount = "4.50"', 'amount = "4.501"'))
    response = await rules_client.post("/v1/jurisdictions/reload", headers=ADMIN)
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "rules_invalid"
    assert f"{gb}: rule gb.slots.stake_max.all: params.amount:" in error["message"]
    assert "kept" in error["message"]
    assert _stake_caps(await _rules(rules_client, ""))["gb.slots.stake_max.all"] == "4.50"
    metrics = await (await rules_client.get("/metrics")).text()
    assert 'gamegate_rules_reloads_total{result="ok"} 1.0' in metrics
    assert 'gamegate_rules_reloads_total{result="invalid"} 1.0' in metrics


def test_a_bad_file_stops_start_up_naming_file_rule_and_field(
    make_settings: MakeSettings, rules_dir: Path
) -> None:
    de = rules_dir / "DE.toml"
    de.write_text(de.read_text().replace("ms = 5000 }", "ms = 5000, millis = 1 }"))
    with pytest.raises(SettingsError) as caught:
        create_app(make_settings(jurisdictions={"dir": str(rules_dir)}), protocols=FAKE_PROTOCOLS)
    assert str(caught.value) == (
        f"jurisdictions.dir: {de}: rule de.slots.cycle: params.millis: unknown key"
    )


def test_a_missing_directory_is_an_error_only_when_named(
    make_settings: MakeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SettingsError, match="not a directory"):
        create_app(
            make_settings(jurisdictions={"dir": str(tmp_path / "none")}), protocols=FAKE_PROTOCOLS
        )
    monkeypatch.chdir(tmp_path)
    app = create_app(make_settings(), protocols=FAKE_PROTOCOLS)
    assert app[RULES].book.markets == ()
    assert app[RULES].rules_for("GB", None, 0).describe()["configured"] is False


def test_the_default_directory_is_the_shipped_one_from_the_repository(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    settings = make_settings(jurisdictions={})  # the setting's default, not the tests' empty one
    assert "GB" in load_live_rules(settings, Metrics()).book.markets


async def test_sighup_reloads_the_rules(
    make_settings: MakeSettings, rules_dir: Path, client: Client
) -> None:
    rules = load_live_rules(make_settings(jurisdictions={"dir": str(rules_dir)}), Metrics())
    old = rules.book
    (rules_dir / "MT.toml").unlink()
    with reload_on_hangup(rules):
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(200):
            if rules.book is not old:
                break
            await asyncio.sleep(0.01)
    assert "MT" not in rules.book.markets
    assert app_of(client)[RULES] is not rules  # the app under test keeps its own


async def test_the_answers_match_the_openapi_document(
    rules_client: Client, rules_dir: Path
) -> None:
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    market, reload = "/v1/jurisdictions/{market}", "/v1/jurisdictions/reload"
    for query in (
        "GB?brand=demo",
        "CA-ON?at=2022-04-04T00:00:00Z",
        "FR",
        "ES?at=1999-01-01T00:00:00Z",
    ):
        url = f"/v1/jurisdictions/{query}"
        await assert_documented(spec, await rules_client.get(url, headers=VIEWER), market)
    refused = await rules_client.get("/v1/jurisdictions/XXX", headers=VIEWER)
    assert (await assert_documented(spec, refused, market))["error"]["code"] == "invalid_request"
    reloaded = await rules_client.post(reload, headers=ADMIN)
    assert (await assert_documented(spec, reloaded, reload, "post"))["status"] == "reloaded"
    (rules_dir / "brands" / "demo.toml").write_text('colour = "red"\n')
    failed = await rules_client.post(reload, headers=ADMIN)
    assert (await assert_documented(spec, failed, reload, "post"))["error"]["message"].startswith(
        f"{rules_dir / 'brands' / 'demo.toml'}: colour: unknown key"
    )
