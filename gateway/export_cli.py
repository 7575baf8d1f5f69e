"""`gamegate report export --market CC --day YYYY-MM-DD --out DIR`: the daily export.

Writes `<CC>-<day>-transactions.csv` and `<CC>-<day>-sessions.csv` into DIR (created,
0700), each through a temporary file renamed into place, so a reader never sees half a
file. The content is `core.reporting.export`'s: the same data gives the same bytes.
Exit 0 with the paths on stdout; 1 when the store cannot be read or a file written;
2 for bad parameters.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from core.errors import InvalidRequest
from core.money import CurrencyTable
from core.reporting.export import export_files
from gateway.ggr_query import ggr_query
from gateway.subcommand import LoadSettings, SettingsArguments, read_reporting_or_warn, warn

__all__ = ["add_export_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_MARKET = re.compile(r"[A-Z]{2}")


def add_export_command(
    reports: Any, settings_arguments: SettingsArguments, load: LoadSettings
) -> None:
    parser = reports.add_parser("export", help="a market's daily transaction and session files")
    parser.add_argument("--market", required=True, help="ISO 3166 alpha-2, as players carry it")
    parser.add_argument("--day", required=True, metavar="YYYY-MM-DD", help="a UTC day")
    parser.add_argument("--out", required=True, type=Path, help="the directory to write into")
    settings_arguments(parser)

    def run(args: argparse.Namespace) -> int:
        settings = load(args)
        if isinstance(settings, int):
            return settings
        if not _MARKET.fullmatch(args.market):
            warn("market: two capital letters (ISO 3166 alpha-2)")
            return EXIT_USAGE
        try:
            day = ggr_query(args.day, args.day, None).first_day
        except InvalidRequest as error:
            warn(str(error).replace("from:", "day:").replace("to:", "day:"))
            return EXIT_USAGE
        events = read_reporting_or_warn(
            settings, lambda store: store.market_day_events(args.market, day)
        )
        if events is None:
            return EXIT_FAILED
        files = export_files(args.market, day, events, CurrencyTable(settings.currencies_extra))
        try:
            written = [_write(args.out, name, text) for name, text in files]
        except OSError as error:
            warn(f"cannot write the export: {error}")
            return EXIT_FAILED
        print("\n".join(str(path) for path in written), flush=True)
        return EXIT_OK

    parser.set_defaults(command=run)


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / name
    temporary = directory / f".{name}.tmp"
    with temporary.open("wb") as file:
        file.write(text.encode())
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    return path
