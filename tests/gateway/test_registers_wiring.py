"""Self-exclusion registers from the settings: validation, the API key from its file, one
cached register per market on the running app, and the demo market's file register."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError
from pytest_aiohttp import AiohttpClient

from core.registers import RegisterSubject, Verdict
from gateway import demo
from gateway.app import create_app
from gateway.credentials import secret_values
from gateway.keys import REGISTERS
from gateway.settings import Settings, SettingsError
from tests.gateway.conftest import MakeClient, MakeSettings, app_of
from tests.gateway.fake_protocol import FAKE_PROTOCOLS

URL = "https://register.example/v2"
KEY = "register-api-key-0001"
NAMES = {"first_name": "Ada", "last_name": "Lovelace"}


def _subject(player_id: str, market: str) -> RegisterSubject:
    return RegisterSubject(player_id, market, date(1990, 1, 1), NAMES)


def _registers(data_dir: Path) -> dict[str, Any]:
    (data_dir / "secrets").mkdir(parents=True, exist_ok=True)
    (data_dir / "secrets" / "gamstop_key").write_text(KEY + "\n")
    (data_dir / "excluded.txt").write_text("player_id p-out\n")
    return {
        "GB": {
            "kind": "http",
            "name": "GAMSTOP",
            "url": URL,
            "api_key_file": "secrets/gamstop_key",
        },
        "MT": {"kind": "file", "path": "excluded.txt"},
    }


def test_the_toml_file_names_a_register_per_market(tmp_path: Path) -> None:
    config = tmp_path / "gamegate.toml"
    config.write_text(
        f"""
        [registers.GB]
        kind = "http"
        url = "{URL}"
        api_key_file = "secrets/gamstop_key"
        timeout_s = 1.5
        retries_max = 2
        cache_ttl_s = 120
        cache_entries_max = 5000
        [registers.CA-ON]
        kind = "file"
        path = "registers/on.txt"
        """
    )
    settings = Settings(config=config)
    gb = settings.registers["GB"]
    assert (gb.kind, gb.url, gb.timeout_s, gb.retries_max) == ("http", URL, 1.5, 2)
    assert (gb.cache_ttl_s, gb.cache_excluded_ttl_s, gb.cache_entries_max) == (120, 3_600, 5_000)
    assert settings.registers["CA-ON"].path == "registers/on.txt"


@pytest.mark.parametrize(
    ("register", "problem"),
    [
        ({"kind": "http", "api_key_file": "k"}, "needs url"),
        ({"kind": "http", "url": URL}, "needs api_key_file"),
        ({"kind": "http", "url": URL, "api_key_file": "k", "path": "x"}, "path is not"),
        ({"kind": "file"}, "needs path"),
        ({"kind": "file", "path": "x", "url": URL}, "url is not"),
        ({"kind": "ldap", "path": "x"}, "'http' or 'file'"),
        ({"kind": "http", "url": "ftp://x", "api_key_file": "k"}, "pattern"),
        ({"kind": "file", "path": "x", "timeout_s": 0}, "greater than 0"),
        ({"kind": "file", "path": "x", "retries_max": 6}, "less than or equal to 5"),
        ({"kind": "file", "path": "x", "cache_entries_max": 0}, "greater than or equal to 1"),
        ({"kind": "file", "path": "x", "api_key": "inline"}, "Extra inputs"),
    ],
)
def test_a_register_that_cannot_work_is_refused(register: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"registers": {"GB": register}})
    assert problem in str(caught.value)
    assert all(str(error["loc"][0]) == "registers" for error in caught.value.errors())


def test_a_market_is_an_iso_code() -> None:
    with pytest.raises(ValidationError, match="not an ISO 3166 market code"):
        Settings.model_validate({"registers": {"gb": {"kind": "file", "path": "x"}}})


def test_a_missing_api_key_file_stops_create_app(make_settings: MakeSettings) -> None:
    settings = make_settings(
        registers={"GB": {"kind": "http", "url": URL, "api_key_file": "secrets/absent"}}
    )
    with pytest.raises(SettingsError, match=r"^registers\.GB\.api_key_file: cannot read"):
        create_app(settings, protocols=FAKE_PROTOCOLS)


def test_an_api_key_that_is_not_header_text_stops_create_app(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(b"key\x00with-a-nul")
    settings = make_settings(
        registers={"GB": {"kind": "http", "url": URL, "api_key_file": str(key_file)}}
    )
    with pytest.raises(SettingsError, match="printable ASCII"):
        create_app(settings, protocols=FAKE_PROTOCOLS)


def test_the_api_key_is_kept_out_of_logs(make_settings: MakeSettings, tmp_path: Path) -> None:
    settings = make_settings(registers=_registers(tmp_path / "data"))
    assert KEY.encode() in secret_values(settings, [])


async def test_no_registers_configured_is_an_empty_mapping(make_client: MakeClient) -> None:
    client = await make_client()
    assert len(app_of(client)[REGISTERS]) == 0


@respx.mock
async def test_the_running_app_has_a_cached_register_per_market(
    make_client: MakeClient, tmp_path: Path
) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(200, headers={"X-Exclusion": "Y"}))
    client = await make_client(registers=_registers(tmp_path / "data"))
    registers = app_of(client)[REGISTERS]
    assert sorted(registers) == ["GB", "MT"]
    assert (registers["GB"].name, registers["MT"].name) == ("GAMSTOP", "mt-file")
    gb = _subject("p-1", "GB")
    assert await registers["GB"].lookup(gb) is Verdict.EXCLUDED
    assert await registers["GB"].lookup(gb) is Verdict.EXCLUDED
    assert route.call_count == 1  # the second answer came from the cache
    assert route.calls.last.request.headers["X-API-Key"] == KEY
    assert await registers["MT"].lookup(_subject("p-out", "MT")) is Verdict.EXCLUDED
    assert await registers["MT"].lookup(_subject("p-in", "MT")) is Verdict.NOT_EXCLUDED


@respx.mock
async def test_the_shared_client_is_closed_with_the_app(
    make_client: MakeClient, tmp_path: Path
) -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, headers={"X-Exclusion": "N"}))
    client = await make_client(registers=_registers(tmp_path / "data"))
    registers = app_of(client)[REGISTERS]
    await client.close()
    with pytest.raises(RuntimeError, match="client has been closed"):
        await registers["GB"].lookup(_subject("p-2", "GB"))


def test_demo_mode_gives_the_demo_market_a_file_register(tmp_path: Path) -> None:
    prepared = demo.prepare(Settings(data_dir=tmp_path), print, protocols=FAKE_PROTOCOLS)
    register = prepared.registers["MT"]
    assert (register.kind, register.path) == ("file", "registers/MT.txt")
    listing = tmp_path / "registers" / "MT.txt"
    assert stat.S_IMODE(listing.stat().st_mode) == 0o600
    listing.write_text("player_id someone-else\n")  # a person's edit is kept
    demo.prepare(Settings(data_dir=tmp_path), print, protocols=FAKE_PROTOCOLS)
    assert listing.read_text() == "player_id someone-else\n"


async def test_the_demo_register_lists_no_seeded_player(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    prepared = demo.prepare(Settings(data_dir=tmp_path), print, protocols=FAKE_PROTOCOLS)
    client = await aiohttp_client(create_app(prepared, protocols=FAKE_PROTOCOLS))
    register = app_of(client)[REGISTERS]["MT"]
    assert register.name == "demo-register"
    excluded = _subject(demo.DEMO_EXCLUDED_PLAYER, "MT")
    assert await register.lookup(excluded) is Verdict.EXCLUDED
    for player in demo.DEMO_PLAYERS:
        assert await register.lookup(_subject(player.player_id, "MT")) is Verdict.NOT_EXCLUDED
