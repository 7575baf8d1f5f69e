"""`gamegate rules check DIR` as a real process: the shipped rules, and a bad directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _check(directory: Path | str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GAMEGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "rules", "check", str(directory)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_shipped_rules_check_and_are_listed() -> None:
    done = _check("config/jurisdictions")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "8 markets, 1 brands: rules valid"
    assert any(line.startswith("GB (config/jurisdictions/GB.toml): ") for line in lines)
    assert any(line.startswith("MT for brand demo (") for line in lines)
    stake = next(line for line in lines if "gb.slots.stake_max.young" in line)
    assert "from 2025-05-21" in stake
    assert "age_min_years=18 age_max_years=24" in stake
    assert "amount=2.00 currency=GBP" in stake
    assert next(line for line in lines if " gb.currency " in line).endswith("UNCERTAIN")


def test_a_bad_directory_fails_naming_the_file_rule_and_field(tmp_path: Path) -> None:
    copied = tmp_path / "rules"
    shutil.copytree(REPO / "config" / "jurisdictions", copied)
    sweden = copied / "SE.toml"
    sweden.write_text(sweden.read_text().replace("seconds = 259200", "seconds = -1"))
    done = _check(copied, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == (
        f"gamegate: invalid rules: {sweden}: rule se.limits.increase_delay: params.seconds: "
        "must be a whole number from 0 to 31622400"
    )
    assert _check(tmp_path / "nothing", cwd=tmp_path).returncode == 1
