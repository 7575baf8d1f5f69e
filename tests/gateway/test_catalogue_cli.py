"""`gamegate catalogue`: import a file, sync a configured feed, list the history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CONFIG = """
data_dir = "{data_dir}"

[providers.studio]
protocol = "gamegate"
secret_files = {{ hmac_key = "secrets/hmac" }}
catalogue = {{ url = "feeds/studio.csv", format = "gamegate_csv", retire_share_max = 0.5 }}
"""
CSV_HEADER = "code,title,studio,vertical,markets\n"
RUN_TIMEOUT_S = 30


def _game(code: str) -> dict[str, Any]:
    return {"code": code, "title": code.title(), "studio": "S", "vertical": "slots",
            "markets": ["MT"]}  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    (data_dir / "feeds").mkdir(parents=True)
    path = tmp_path / "gamegate.toml"
    path.write_text(CONFIG.format(data_dir=data_dir))
    return path


def _run(*argv: str) -> tuple[int, Any, str]:
    """The command in its own process, as cron runs it: exit code, JSON report, stderr."""
    command = [sys.executable, "-m", "gateway", *argv]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done.stderr


def _import_json(feed: Path, config: Path) -> tuple[int, Any, str]:
    return _run("catalogue", "import", "studio", str(feed), "--format", "gamegate_json",
                "--config", str(config))  # fmt: skip


def test_import_then_history(config: Path, tmp_path: Path) -> None:
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"games": [_game("a"), _game("b")]}))
    code, report, _ = _import_json(feed, config)
    assert code == 0
    assert (report["added"], report["full"]) == (["studio:a", "studio:b"], True)
    code, again, _ = _import_json(feed, config)
    assert (code, again["added"], again["unchanged"], again["version"]) == (0, [], 2, 1)
    code, history, _ = _run("catalogue", "history", "--config", str(config))
    assert code == 0
    assert [(item["version"], item["added"]) for item in history["items"]] == [(1, 0), (1, 2)]


def test_a_configured_feed_syncs_and_its_retirement_guard_holds_until_confirmed(
    config: Path,
) -> None:
    feed = config.parent / "data" / "feeds" / "studio.csv"
    feed.write_text(CSV_HEADER + "".join(f"g{i},Game {i},S,slots,MT\n" for i in range(4)))
    code, report, _ = _run("catalogue", "sync", "studio", "--config", str(config))
    assert (code, len(report["added"])) == (0, 4)
    feed.write_text(CSV_HEADER + "g0,Game 0,S,slots,MT\n")
    code, report, err = _run("catalogue", "sync", "studio", "--config", str(config))
    assert (code, report) == (3, None)
    assert "retirement_guarded" in err
    assert "3 of 4" in err
    code, report, _ = _run("catalogue", "sync", "studio", "--confirm", "--config", str(config))
    assert (code, sorted(report["retired"])) == (0, ["studio:g1", "studio:g2", "studio:g3"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"games": [{"code": "x"}]}', "feed_invalid"),
        ("not json", "feed_invalid"),
    ],
)
def test_a_malformed_file_is_refused_and_changes_nothing(
    config: Path,
    tmp_path: Path,
    content: str,
    expected: str,
) -> None:
    feed = tmp_path / "bad.json"
    feed.write_text(content)
    code, report, err = _import_json(feed, config)
    assert (code, report) == (3, None)
    assert expected in err
    code, history, _ = _run("catalogue", "history", "--config", str(config))
    assert history == {"items": []}


def test_an_unknown_instance_is_refused(config: Path) -> None:
    code, _, err = _run("catalogue", "sync", "nobody", "--config", str(config))
    assert code == 3
    assert "not a configured, enabled provider instance" in err
