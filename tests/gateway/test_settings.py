"""Settings: TOML file, env overrides, flags on top; every error names its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import ValidationError

from core.model import FundingOrder
from gateway.app import create_app
from gateway.cli import main
from gateway.settings import Settings, SettingsError
from tests.gateway.fake_protocol import FAKE_PROTOCOLS

REPO_CONFIG = Path(__file__).parents[2] / "config" / "gamegate.toml"


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gamegate.toml"
    path.write_text(text)
    return path


def _settings(**values: Any) -> Settings:
    """Keyword values as the CLI passes its flags: plain dicts, merged key by key."""
    return Settings(**values)


def _locations(error: ValidationError) -> list[str]:
    return [".".join(str(part) for part in problem["loc"]) for problem in error.errors()]


def test_the_toml_file_sets_nested_values(tmp_path: Path) -> None:
    config = _toml(
        tmp_path,
        """
        data_dir = "/srv/gamegate"
        [server]
        port = 9100
        [wallet]
        synchronous = "EXTRA"
        [brands]
        acme = "bonus_first"
        [providers.hub-eu]
        protocol = "hub88"
        options = { operator_id = 7 }
        secret_files = { key = "secrets/hub.pem" }
        """,
    )
    settings = Settings(config=config)
    assert settings.server.port == 9100
    assert settings.server.host == "127.0.0.1"
    assert settings.wallet.synchronous == "EXTRA"
    assert settings.brands == {"acme": FundingOrder.BONUS_FIRST}
    assert settings.providers["hub-eu"].options == {"operator_id": 7}
    assert settings.data_dir == Path("/srv/gamegate")


def test_env_overrides_the_file_and_flags_override_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _toml(tmp_path, "[server]\nport = 9100\nhost = '0.0.0.0'\n")
    monkeypatch.setenv("GAMEGATE_CONFIG", str(config))
    monkeypatch.setenv("GAMEGATE_SERVER__PORT", "9200")
    assert Settings().server.port == 9200
    assert Settings().server.host == "0.0.0.0"
    flagged = _settings(server={"port": 9300})
    assert flagged.server.port == 9300
    assert flagged.server.host == "0.0.0.0", "a flag replaces one key, not its section"


def test_the_repository_demo_config_is_valid() -> None:
    settings = Settings(config=REPO_CONFIG)
    assert settings.server.port == 8080
    assert settings.wallet.synchronous == "FULL"
    assert settings.providers["gamegate"].secret_files == {"hmac_key": "secrets/gamegate/hmac_key"}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[server]\nport = 70000\n", "server.port"),
        ("[server]\nprot = 8080\n", "server.prot"),
        ("[wallet]\nsynchronous = 'OFF'\n", "wallet.synchronous"),
        ("[wallet]\nurl = 'redis://localhost:6379/db0'\n", "wallet.url"),
        ("[brands]\nacme = 'random'\n", "brands.acme"),
        ("[currencies_extra]\nEUR = 3\n", "currencies_extra"),
        ("[providers.Hub88]\nprotocol = 'hub88'\n", "providers"),
        ("[providers.hub88]\noptions = {}\n", "providers.hub88.protocol"),
    ],
)
def test_a_bad_value_in_the_file_names_its_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(config=_toml(tmp_path, text))
    assert key in _locations(raised.value)


def test_a_bad_value_in_the_environment_names_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAMEGATE_WALLET__STORE_TIMEOUT_S", "soon")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert _locations(raised.value) == ["wallet.store_timeout_s"]


def test_a_wallet_url_with_another_scheme_says_which_are_supported() -> None:
    with pytest.raises(ValidationError) as raised:
        _settings(wallet={"url": "postgres://db/wallet"})
    assert "supported: redis, redis+cluster, sqlite" in str(raised.value)


def test_a_sqlite_url_may_be_absolute_or_relative_to_the_data_dir(tmp_path: Path) -> None:
    """Accepted here; where each one points is `tests/contract/test_wallet_urls.py`'s."""
    absolute = _settings(data_dir=tmp_path, wallet={"url": "sqlite:///var/lib/w.db"})
    relative = _settings(data_dir=tmp_path, wallet={"url": "sqlite:wallets/w.db"})
    assert (absolute.wallet.url, relative.wallet.url) == (
        "sqlite:///var/lib/w.db",
        "sqlite:wallets/w.db",
    )


def test_a_sqlite_url_that_names_no_file_names_the_setting() -> None:
    with pytest.raises(ValidationError) as raised:
        _settings(wallet={"url": "sqlite://host/w.db"})
    assert "wallet.url" in _locations(raised.value)


def test_a_toml_syntax_error_names_the_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^config: .*gamegate\.toml is not valid TOML"):
        Settings(config=_toml(tmp_path, "[server\nport = 1\n"))


def test_a_missing_config_file_is_an_error_not_an_empty_config(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^config: cannot read"):
        Settings(config=tmp_path / "absent.toml")


def test_secrets_in_the_config_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^operator_api_keys: secrets come from"):
        Settings(config=_toml(tmp_path, "operator_api_keys = 'k:admin'\n"))


def test_an_unknown_provider_protocol_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    settings = _settings(data_dir=tmp_path, providers={"acme": {"protocol": "acme"}})
    with pytest.raises(SettingsError, match=r"^providers\.acme\.protocol: unknown provider"):
        create_app(settings, protocols=FAKE_PROTOCOLS)


async def test_an_adapter_that_refuses_its_options_stops_start_up_naming_the_instance(
    tmp_path: Path,
) -> None:
    providers = {"fake": {"protocol": "fake", "options": {"unsupported": True}}}
    app = create_app(_settings(data_dir=tmp_path, providers=providers), protocols=FAKE_PROTOCOLS)
    runner = web.AppRunner(app)
    with pytest.raises(SettingsError, match=r"^providers\.fake: the fake adapter refused"):
        await runner.setup()


def test_a_disabled_instance_of_an_unknown_protocol_does_not_stop_start_up(
    tmp_path: Path,
) -> None:
    settings = _settings(
        data_dir=tmp_path, providers={"acme": {"protocol": "acme", "enabled": False}}
    )
    create_app(settings, protocols=FAKE_PROTOCOLS)


def test_the_cli_prints_each_settings_error_with_its_key_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _toml(tmp_path, "[server]\nport = -1\n[wallet]\nurl = 'postgres://x'\n")
    assert main(["serve", "--config", str(config), "--data-dir", str(tmp_path)]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors[0].startswith("gamegate: invalid setting server.port:")
    assert errors[1].startswith("gamegate: invalid setting wallet.url:")


def test_the_cli_reports_an_unknown_protocol_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _toml(tmp_path, "[providers.acme]\nprotocol = 'acme'\n")
    assert main(["serve", "--config", str(config), "--data-dir", str(tmp_path)]) == 2
    assert "providers.acme.protocol" in capsys.readouterr().err
