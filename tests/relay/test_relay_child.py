"""What serve and its relay child agree on (`gateway.relay_child`) and how serve mirrors
the child's figures (`gateway.relay_process.StatsMirror`)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from gateway.relay_child import read_settings_line, settings_line, socket_path
from gateway.relay_process import StatsMirror
from gateway.settings import Settings, SettingsError


def test_the_child_gets_the_parents_settings_without_secrets(tmp_path: Path) -> None:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "jurisdictions": {"dir": tmp_path},
        "operator_api_keys": "key-1:admin",
        "secret_env": {"GAMEGATE_SECRET_X_Y": "hidden"},
        "reporting": {"relay_batch_seqs_max": 7},
        "providers": {"acme": {"protocol": "gamegate", "options": {"a": 1}}},
    }
    parent = Settings(**values)
    line = settings_line(parent)
    assert b"hidden" not in line
    assert b"key-1" not in line
    child = read_settings_line(io.BytesIO(line))
    assert child.operator_api_keys is None
    assert child.secret_env == {}
    assert child.model_dump(exclude={"operator_api_keys", "secret_env"}) == parent.model_dump(
        exclude={"operator_api_keys", "secret_env"}
    )


def test_no_settings_line_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="no settings line"):
        read_settings_line(io.BytesIO(b'{"data_dir": "/x"}'))  # no newline: cut short
    with pytest.raises(SettingsError, match="not valid"):
        read_settings_line(io.BytesIO(b'{"server": {"port": -1}}\n'))


def test_a_data_dir_too_deep_for_a_socket_gets_one_in_the_temp_dir(tmp_path: Path) -> None:
    assert socket_path(Settings(data_dir=tmp_path)) == tmp_path / "reporting.sock"
    deep = socket_path(Settings(data_dir=tmp_path / ("d" * 120)))
    assert deep.name.startswith("gamegate-")
    assert len(str(deep)) < 100


def test_the_mirror_carries_counters_across_restarts() -> None:
    mirror = StatsMirror()
    fetched = {"events_total": 10, "failures_total": 1, "cursor": 5, "last_seq": 8,
               "oldest_at_us": 100}  # fmt: skip
    mirror.absorb(fetched)
    assert (mirror.stats.events_total, mirror.stats.failures_total) == (10, 1)
    assert mirror.stats.lag_seqs == 3
    mirror.child_exited()
    mirror.absorb({**fetched, "events_total": 2, "failures_total": 0, "oldest_at_us": None})
    assert (mirror.stats.events_total, mirror.stats.failures_total) == (12, 2)
    assert mirror.stats.oldest_at_us is None
    with pytest.raises(ValueError, match="cursor"):
        mirror.absorb({**fetched, "cursor": "5"})
