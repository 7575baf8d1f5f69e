"""Demo mode: generated secrets on the first run, idempotent seeding of demo players."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from gateway import demo
from gateway.app import create_app
from gateway.credentials import OPERATOR_KEYS_FILE
from gateway.keys import CLOCK, SERVICE
from gateway.settings import ProviderSettings, Settings
from tests.gateway.conftest import Client
from tests.gateway.fake_protocol import FAKE_PROTOCOLS

DEMO = {"Authorization": f"Bearer {demo.DEMO_OPERATOR_KEY}"}


def _settings(tmp_path: Path) -> Settings:
    key_file = {"hmac_key": "secrets/fake/hmac_key"}
    return Settings(
        data_dir=tmp_path,
        providers={
            "fake": ProviderSettings(protocol="fake", secret_files=key_file),
            "later": ProviderSettings(protocol="not_yet_built"),
        },
    )


def test_demo_secrets_are_written_once_for_the_owner_only(tmp_path: Path) -> None:
    warnings: list[str] = []
    demo.prepare(_settings(tmp_path), warnings.append, protocols=FAKE_PROTOCOLS)
    key_file = tmp_path / "secrets" / "fake" / "hmac_key"
    assert key_file.read_bytes() == b"generated-hmac-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (tmp_path / "secrets" / "fake" / "provider_hmac_key").exists()
    operator_keys = (tmp_path / OPERATOR_KEYS_FILE).read_text()
    assert f"{demo.DEMO_OPERATOR_KEY} admin demo-operator" in operator_keys.splitlines()
    key_file.write_bytes(b"changed-by-a-person")
    demo.prepare(_settings(tmp_path), warnings.append, protocols=FAKE_PROTOCOLS)
    assert key_file.read_bytes() == b"changed-by-a-person"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (f"{demo.DEMO_OPERATOR_KEY} admin\n", {demo.DEMO_OPERATOR_KEY, demo.DEMO_LOBBY_KEY}),
        ("a-key-of-a-person-0001 admin\n", {"a-key-of-a-person-0001"}),
    ],
)
def test_a_demo_key_file_from_before_the_lobby_gains_the_lobby_key(
    tmp_path: Path, before: str, after: set[str]
) -> None:
    keys_file = tmp_path / OPERATOR_KEYS_FILE
    keys_file.parent.mkdir(parents=True, mode=0o700)
    keys_file.write_text(before)
    for _ in range(2):  # and only once
        demo.prepare(_settings(tmp_path), lambda _: None, protocols=FAKE_PROTOCOLS)
    lines = keys_file.read_text().splitlines()
    assert {line.split()[0] for line in lines} == after
    assert len(lines) == len(after)


def test_an_instance_of_an_unavailable_protocol_is_disabled_with_a_warning(
    tmp_path: Path,
) -> None:
    warnings: list[str] = []
    prepared = demo.prepare(_settings(tmp_path), warnings.append, protocols=FAKE_PROTOCOLS)
    assert prepared.providers["later"].enabled is False
    assert prepared.providers["fake"].enabled is True
    assert warnings == [
        "provider instance 'later' skipped: protocol 'not_yet_built' is not available in this build"
    ]
    create_app(prepared, protocols=FAKE_PROTOCOLS)


@pytest.fixture
async def demo_client(aiohttp_client: AiohttpClient, tmp_path: Path) -> Client:
    settings = demo.prepare(_settings(tmp_path), print, protocols=FAKE_PROTOCOLS)
    client = await aiohttp_client(create_app(settings, protocols=FAKE_PROTOCOLS))
    await demo.seed(client.app[SERVICE], settings, print, at_us=client.app[CLOCK].micros())
    return client


async def test_seeding_creates_funded_demo_players_in_three_currencies(demo_client: Client) -> None:
    shown = {}
    for player in demo.DEMO_PLAYERS:
        response = await demo_client.get(f"/v1/players/{player.player_id}/balance", headers=DEMO)
        shown[player.player_id] = (await response.json())["real"]
    assert shown == {
        "demo-1": "100.00",
        "demo-2": "250.00",
        "demo-3": "5.00",
        "demo-4": "1000.00",
        "demo-jpy": "10000",
        "demo-kwd": "25.125",
    }


async def test_seeding_again_changes_nothing(demo_client: Client, tmp_path: Path) -> None:
    settings = demo.prepare(_settings(tmp_path), print, protocols=FAKE_PROTOCOLS)
    await demo.seed(
        demo_client.app[SERVICE], settings, print, at_us=demo_client.app[CLOCK].micros()
    )
    response = await demo_client.get("/v1/players/demo-2/transactions", headers=DEMO)
    items = (await response.json())["items"]
    assert [item["tx_id"] for item in items] == ["seed-bonus-demo-2", "seed-demo-2"]
    balance = await (await demo_client.get("/v1/players/demo-2/balance", headers=DEMO)).json()
    assert (balance["real"], balance["bonus"]) == ("250.00", "25.00")
