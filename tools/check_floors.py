"""Prove the dependency floors of pyproject.toml: install every floor exactly, run the checks.

Reads `project.dependencies` and the `dev` extra, pins each `name>=X` to `name==X` in a pip
constraints file (extras dropped, as pip refuses them in constraints; environment markers
kept), builds a fresh virtualenv (default `.venv-floors`), installs `-e '.[dev]'` under those
constraints, then runs what `make test` runs there: ruff format and check, mypy,
lint-imports and the test suite (`-x`).
Dependencies of the dependencies are not pinned: pip picks what it would pick for a user.

    python3 tools/check_floors.py            # what `make floors` runs
    python3 tools/check_floors.py --print    # only print the constraints

Every check runs even after one fails; exit 0 only if all passed. Caches go under the
virtualenv, not the work tree.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name, optional [extras], ">=" floor, optional further specifiers, optional "; marker"
_FLOORED = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*"
    r">=\s*(?P<floor>[0-9][A-Za-z0-9.]*)\s*(?:,[^;]*)?(?:;(?P<marker>.*))?$"
)


def floor_constraints(pyproject: Path) -> list[str]:
    """One `name==floor[; marker]` line per runtime and dev dependency."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    lines = []
    for requirement in requirements:
        match = _FLOORED.match(requirement)
        if match is None:
            raise SystemExit(f"check_floors: {requirement!r} has no `>=` floor")
        line = f"{match['name']}=={match['floor']}"
        if match["marker"]:
            line += f" ; {match['marker'].strip()}"
        lines.append(line)
    return lines


def run(step: str, command: list[str], env: dict[str, str]) -> bool:
    """Run one step in the work tree; True if it exited 0."""
    print(f"check_floors: {step}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603 -- argv built here
    verdict = "passed" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    print(f"check_floors: {step} {verdict} in {time.monotonic() - started:.0f} s", flush=True)
    return result.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-floors")
    parser.add_argument("--python", default=sys.executable, help="creates the virtualenv")
    parser.add_argument("--print", action="store_true", help="print the constraints, stop")
    args = parser.parse_args()

    constraints = floor_constraints(ROOT / "pyproject.toml")
    if args.print:
        print("\n".join(constraints))
        return
    started = time.monotonic()
    venv: Path = args.venv.resolve()
    bin_dir = venv / "bin"
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(venv / "hypothesis")
    env.pop("PYTHONPATH", None)

    if not run("venv", [args.python, "-m", "venv", "--clear", str(venv)], env):
        raise SystemExit(1)
    constraints_file = venv / "floors-constraints.txt"
    constraints_file.write_text("\n".join(constraints) + "\n", encoding="utf-8")
    print(f"check_floors: constraints ({constraints_file}):\n  " + "\n  ".join(constraints))
    python = str(bin_dir / "python")
    pip_install = [python, "-m", "pip", "install", "--progress-bar", "off"]
    if not run("install", [*pip_install, "-c", str(constraints_file), "-e", ".[dev]"], env):
        raise SystemExit("check_floors: FAILED: the floors do not install together")
    run("freeze", [python, "-m", "pip", "freeze", "--exclude-editable"], env)
    checks = {  # every check runs, so one report shows all that fail at the floors
        "ruff format": [str(bin_dir / "ruff"), "format", "--check", "--no-cache", "."],
        "ruff check": [str(bin_dir / "ruff"), "check", "--no-cache", "."],
        "mypy": [str(bin_dir / "mypy"), "--cache-dir", str(venv / "mypy-cache")],
        "lint-imports": [str(bin_dir / "lint-imports"), "--no-cache"],
        "pytest": [python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"],
    }
    failed = [step for step, command in checks.items() if not run(step, command, env)]
    elapsed = time.monotonic() - started
    if failed:
        raise SystemExit(f"check_floors: FAILED at the floors: {', '.join(failed)}")
    print(f"check_floors: all {len(constraints)} floors pass, {elapsed:.0f} s in all")


if __name__ == "__main__":
    main()
