"""`gamegate report ggr --from DAY --to DAY [--by ...] [--format table|csv|json]`.

Reads the reporting store directly (`reporting.url`, default the DuckDB file in the data
directory), with the parameters of `GET /v1/reports/ggr` (`gateway.ggr_query`) but no
row bound. The embedded file is held by one process at a time: while a gateway holds it,
ask the gateway's API instead. CSV and JSON are stable (fixed column order, `\\n` line
ends): the same data gives the same bytes. Exit 0 with the report on stdout; 1 when the
store cannot be opened or read; 2 for bad parameters (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from core.errors import InvalidRequest
from core.money import CurrencyTable
from core.reporting.store import GGR_DIMENSIONS, GgrQuery, GgrRow
from gateway.export_cli import add_export_command
from gateway.ggr_query import GGR_DAYS_MAX, ggr_query
from gateway.ggr_views import ggr_answer, ggr_csv, ggr_table
from gateway.open_rounds_cli import add_open_rounds_command
from gateway.reconcile_cli import add_reconcile_commands
from gateway.subcommand import LoadSettings, SettingsArguments, read_reporting_or_warn, warn

__all__ = ["add_report_commands"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FORMATS = ("table", "csv", "json")


def add_report_commands(
    commands: Any, settings_arguments: SettingsArguments, load: LoadSettings
) -> None:
    report = commands.add_parser("report", help="reports from the reporting store")
    kinds = report.add_subparsers(title="reports", metavar="REPORT", required=True)
    ggr = kinds.add_parser(
        "ggr", help="GGR and NGR by day, brand, market, provider, game and currency"
    )
    ggr.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
    ggr.add_argument(
        "--to", dest="last", required=True, metavar="YYYY-MM-DD",
        help=f"the last UTC day, inclusive (at most {GGR_DAYS_MAX} days)",
    )  # fmt: skip
    ggr.add_argument(
        "--by", metavar="NAMES",
        help=f"comma-separated, from {','.join(GGR_DIMENSIONS)} "
        "(default day,brand,market,provider,currency; currency is always added)",
    )  # fmt: skip
    ggr.add_argument("--format", choices=FORMATS, default="table")
    settings_arguments(ggr)

    def run(args: argparse.Namespace) -> int:
        settings = load(args)
        if isinstance(settings, int):
            return settings
        try:
            query = ggr_query(args.first, args.last, args.by)
        except InvalidRequest as error:
            warn(str(error))
            return EXIT_USAGE
        rows = read_reporting_or_warn(settings, lambda store: store.ggr(query))
        if rows is None:
            return EXIT_FAILED
        text = _rendered(args.format, query, rows, CurrencyTable(settings.currencies_extra))
        sys.stdout.buffer.write(text.encode())
        sys.stdout.buffer.flush()
        return EXIT_OK

    ggr.set_defaults(command=run)
    add_open_rounds_command(kinds, settings_arguments, load)
    add_export_command(kinds, settings_arguments, load)
    add_reconcile_commands(kinds, settings_arguments, load)


def _rendered(shape: str, query: GgrQuery, rows: list[GgrRow], currencies: CurrencyTable) -> str:
    if shape == "csv":
        return ggr_csv(query, rows, currencies)
    if shape == "json":
        answer = ggr_answer(query, rows, currencies)
        return orjson.dumps(answer, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()
    return ggr_table(query, rows, currencies)
