"""The supervisor of `gamegate serve --workers N`, over one worker on a SQLite wallet.

`gamegate serve` supervises two or more workers only, and those need a wallet that many
processes share. This runs `gateway.workers.Supervisor` with one real worker (`gamegate
serve --worker-index 0`) on the embedded wallet, so that restarting and stopping are
tested with or without a shared wallet:

    python -m tests.system.supervised_sqlite --data-dir D [--restarts-per-minute-max K]
                                             [--fail-restarts]

Settings come from the environment, as for `gamegate serve`. `--fail-restarts`: every
restarted worker exits 1 at once, as a worker that can no longer start would.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.cli import startup_line
from gateway.logging import configure_logging
from gateway.settings import Settings
from gateway.workers import RESTARTS_PER_MINUTE_MAX, Supervisor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--restarts-per-minute-max", type=int, default=RESTARTS_PER_MINUTE_MAX)
    parser.add_argument("--fail-restarts", action="store_true")
    args = parser.parse_args()
    overrides: dict[str, Any] = {"data_dir": args.data_dir, "server": {"port": 0}}
    settings = Settings(**overrides)  # over the environment's, as `gamegate serve` does
    configure_logging(settings.log_level)
    started = set()

    def command(index: int, port: int, supervisor_fd: int) -> list[str]:
        if args.fail_restarts and index in started:
            return [sys.executable, "-c", "raise SystemExit(1)"]
        started.add(index)
        return [
            sys.executable, "-m", "gateway", "serve", f"--data-dir={args.data_dir}",
            f"--port={port}", f"--worker-index={index}", f"--supervisor-fd={supervisor_fd}",
        ]  # fmt: skip

    def announce(port: int, wallet: str) -> None:
        print(startup_line(settings, port=port, wallet=wallet), flush=True)

    def warn(message: str) -> None:
        print(f"gamegate: {message}", file=sys.stderr, flush=True)

    supervisor = Supervisor(
        settings.server,
        command,
        announce,
        warn,
        restarts_per_minute_max=args.restarts_per_minute_max,
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
