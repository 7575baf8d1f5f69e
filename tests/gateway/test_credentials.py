"""Secrets come from files or the environment; a missing one stops start-up by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.credentials import OPERATOR_KEYS_FILE, Role, instance_secrets, load_operator_keys
from gateway.settings import Settings, SettingsError
from tests.gateway.fake_protocol import FAKE_PROTOCOLS


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(data_dir=tmp_path, **values)


def test_secret_files_are_read_relative_to_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key").write_bytes(b"file-secret\n")
    providers = {"fake": {"protocol": "fake", "secret_files": {"hmac_key": "secrets/key"}}}
    secrets = instance_secrets(_settings(tmp_path, providers=providers), "fake")
    assert secrets == {"hmac_key": b"file-secret"}


def test_the_environment_overrides_a_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAMEGATE_SECRET_HUB_EU_HMAC_KEY", "from-env")
    providers = {"hub-eu": {"protocol": "fake", "secret_files": {"hmac_key": "absent"}}}
    secrets = instance_secrets(_settings(tmp_path, providers=providers), "hub-eu")
    assert secrets == {"hmac_key": b"from-env"}


def test_an_env_secret_without_a_file_belongs_to_the_longest_matching_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAMEGATE_SECRET_HUB_TOKEN", "short")
    monkeypatch.setenv("GAMEGATE_SECRET_HUB_EU_TOKEN", "long")
    providers = {"hub": {"protocol": "fake"}, "hub_eu": {"protocol": "fake"}}
    settings = _settings(tmp_path, providers=providers)
    assert instance_secrets(settings, "hub") == {"token": b"short"}
    assert instance_secrets(settings, "hub_eu") == {"token": b"long"}


def test_a_missing_secret_file_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    providers = {"fake": {"protocol": "fake", "secret_files": {"hmac_key": "secrets/none"}}}
    settings = _settings(tmp_path, providers=providers)
    with pytest.raises(SettingsError, match=r"^providers\.fake\.secret_files\.hmac_key: cannot"):
        create_app(settings, protocols=FAKE_PROTOCOLS)


def test_operator_keys_come_from_the_key_file(tmp_path: Path) -> None:
    path = tmp_path / OPERATOR_KEYS_FILE
    path.parent.mkdir()
    path.write_text("# comment\nfile-admin-key-0001 admin\n\nfile-viewer-key-001 viewer\n")
    keys = load_operator_keys(_settings(tmp_path))
    assert keys.role("file-admin-key-0001") is Role.ADMIN
    assert keys.role("file-viewer-key-001") is Role.VIEWER
    assert keys.role("file-admin-key-000") is None


def test_operator_keys_from_the_environment_replace_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / OPERATOR_KEYS_FILE
    path.parent.mkdir()
    path.write_text("file-admin-key-0001 admin\n")
    monkeypatch.setenv("GAMEGATE_OPERATOR_API_KEYS", "env-key:with-colon-01:admin")
    keys = load_operator_keys(_settings(tmp_path))
    assert keys.role("env-key:with-colon-01") is Role.ADMIN
    assert keys.role("file-admin-key-0001") is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [("short:admin", "shorter than"), ("long-enough-key-0001:root", "role 'root'")],
)
def test_a_bad_operator_key_is_refused_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("GAMEGATE_OPERATOR_API_KEYS", value)
    with pytest.raises(SettingsError, match=f"^operator_api_keys: .*{problem}"):
        load_operator_keys(_settings(tmp_path))


def test_without_a_key_file_or_variable_there_are_no_operator_keys(tmp_path: Path) -> None:
    assert not (tmp_path / OPERATOR_KEYS_FILE).exists()
    assert len(load_operator_keys(_settings(tmp_path))) == 0
