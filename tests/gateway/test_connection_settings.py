"""The connection limits as settings: defaults, the environment, bounds named by key.

What the limits do to real connections: tests/system/test_slow_clients.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.settings import Settings

REPO_CONFIG = Path(__file__).parents[2] / "config" / "gamegate.toml"
KEYS = (
    "header_read_timeout_s",
    "body_read_timeout_s",
    "keepalive_idle_timeout_s",
    "connections_max",
)


def test_every_connection_has_time_limits_and_a_cap_by_default() -> None:
    server = Settings().server
    assert server.header_read_timeout_s == 10.0
    assert server.body_read_timeout_s == 30.0
    assert server.keepalive_idle_timeout_s == 75.0
    assert server.connections_max == 10_000


def test_the_demo_config_states_the_defaults() -> None:
    configured, default = Settings(config=REPO_CONFIG).server, Settings().server
    for key in KEYS:
        assert getattr(configured, key) == getattr(default, key), key


def test_the_environment_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAMEGATE_SERVER__HEADER_READ_TIMEOUT_S", "2.5")
    monkeypatch.setenv("GAMEGATE_SERVER__CONNECTIONS_MAX", "64")
    server = Settings().server
    assert server.header_read_timeout_s == 2.5
    assert server.connections_max == 64


@pytest.mark.parametrize(
    ("key", "value"),
    list(zip(KEYS, ("0", "-1", "86400", "0"), strict=True)),
)
def test_serve_refuses_a_limit_out_of_bounds_naming_its_key(
    key: str,
    value: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(f"GAMEGATE_SERVER__{key.upper()}", value)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"gamegate: invalid setting server.{key}:")
