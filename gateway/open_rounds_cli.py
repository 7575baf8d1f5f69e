"""`gamegate report open-rounds [--older-than-s N] [--provider ID] [--format ...]`.

The rounds `GET /v1/reports/open-rounds` lists (`gateway.open_rounds`), without its row
bound, read from the reporting store directly (held by one process at a time: while a
gateway holds the embedded file, ask its API). Exit 0 with the list on stdout (empty or
not); 1 when the store cannot be read; 2 for bad parameters.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import orjson

from core.errors import InvalidRequest
from core.money import CurrencyTable
from gateway.open_rounds import (
    OLDER_THAN_S_DEFAULT,
    OPEN_ROUND_COLUMNS,
    open_rounds_answer,
    open_rounds_query,
    open_rounds_rows,
)
from gateway.report_render import FORMATS, render
from gateway.subcommand import LoadSettings, SettingsArguments, read_reporting_or_warn, warn

__all__ = ["OPEN_ROUNDS_CLI_ROWS_MAX", "add_open_rounds_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
OPEN_ROUNDS_CLI_ROWS_MAX = 1_000_000
"""A bound on memory, far above any real backlog."""


def add_open_rounds_command(
    reports: Any, settings_arguments: SettingsArguments, load: LoadSettings
) -> None:
    parser = reports.add_parser("open-rounds", help="rounds with bets never settled, per provider")
    parser.add_argument(
        "--older-than-s", default=str(OLDER_THAN_S_DEFAULT), metavar="SECONDS",
        help=f"list rounds whose newest open bet is this old (default {OLDER_THAN_S_DEFAULT})",
    )  # fmt: skip
    parser.add_argument("--provider", help="one provider instance (default: all)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    settings_arguments(parser)

    def run(args: argparse.Namespace) -> int:
        settings = load(args)
        if isinstance(settings, int):
            return settings
        now_us = time.time_ns() // 1_000
        try:
            older_than_s, query = open_rounds_query(
                args.older_than_s, args.provider, now_us, OPEN_ROUNDS_CLI_ROWS_MAX
            )
        except InvalidRequest as error:
            warn(str(error))
            return EXIT_USAGE
        rounds = read_reporting_or_warn(settings, lambda store: store.open_rounds(query))
        if rounds is None:
            return EXIT_FAILED
        currencies = CurrencyTable(settings.currencies_extra)
        if args.format == "json":
            answer = open_rounds_answer(older_than_s, query, rounds, now_us, currencies)
            text = orjson.dumps(
                answer, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
            ).decode()
        else:
            text = render(
                args.format, OPEN_ROUND_COLUMNS, open_rounds_rows(rounds, now_us, currencies)
            )
        sys.stdout.buffer.write(text.encode())
        sys.stdout.buffer.flush()
        return EXIT_OK

    parser.set_defaults(command=run)
