"""`gamegate report reconcile ledger|statement`: where two views of the money differ.

    gamegate report reconcile ledger --from DAY --to DAY [--format table|csv|json]
    gamegate report reconcile statement --provider ID --file PATH --from DAY --to DAY [...]

`ledger`: the reporting store's events against the wallet's ledger entries per UTC day
and currency, through the store's cursor (so relay lag is no difference). `statement`:
a provider's statement file (`core.reporting.statement`) against the wallet's
transactions of that provider instance in those days. Both read the wallet read-only,
SQLite or Redis (`adapters.reporting.wallet_ledgers`). One row per difference on stdout, a summary
on stderr. Exit 0: no difference; 1: differences found; 2: bad parameters or a bad
statement file; 3: the reporting store or the wallet could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from adapters.reporting.wallet_ledgers import open_wallet_ledger
from adapters.reporting.wallet_logs import unsupported_reason
from core.errors import InvalidRequest
from core.money import CurrencyTable
from core.reporting.reconcile import LedgerTx, compare_day_sums, compare_statement
from core.reporting.statement import STATEMENT_BYTES_MAX, StatementError, parse_statement
from core.reporting.store import DaySum, GgrQuery, ReportingStore
from core.reporting.wallet_ledger import WalletLedger, day_window_us
from gateway.ggr_query import ggr_query
from gateway.report_render import FORMATS, render
from gateway.settings import Settings
from gateway.subcommand import (
    LoadSettings,
    SettingsArguments,
    first_line,
    read_reporting,
    reporting_problem,
    warn,
)

__all__ = ["EXIT_DIFFERENCES", "EXIT_UNREADABLE", "add_reconcile_commands"]

EXIT_OK, EXIT_DIFFERENCES, EXIT_USAGE, EXIT_UNREADABLE = 0, 1, 2, 3
LEDGER_COLUMNS = (
    "day", "currency", "store_real_minor", "ledger_real_minor", "store_bonus_minor",
    "ledger_bonus_minor",
)  # fmt: skip
STATEMENT_COLUMNS = ("kind", "tx_id", "line", "statement", "ledger")
_T = TypeVar("_T")


def add_reconcile_commands(
    reports: Any, settings_arguments: SettingsArguments, load: LoadSettings
) -> None:
    reconcile = reports.add_parser("reconcile", help="reconcile the store, ledger and statements")
    checks = reconcile.add_subparsers(title="checks", metavar="CHECK", required=True)
    ledger = checks.add_parser("ledger", help="reporting store against the wallet ledger")
    statement = checks.add_parser("statement", help="a provider's statement against the ledger")
    statement.add_argument("--provider", required=True, help="the provider instance id")
    statement.add_argument(
        "--file", required=True, type=Path,
        help=f"CSV: tx_id,type,amount,currency,time[,status], at most {STATEMENT_BYTES_MAX} bytes",
    )  # fmt: skip
    for parser, run in ((ledger, _ledger), (statement, _statement)):
        parser.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--format", choices=FORMATS, default="table")
        settings_arguments(parser)
        parser.set_defaults(command=_command(run, load))


def _command(
    run: Callable[[argparse.Namespace, Settings, GgrQuery], int], load: LoadSettings
) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        settings = load(args)
        if isinstance(settings, int):
            return settings
        try:
            days = ggr_query(args.first, args.last, None)
        except InvalidRequest as error:
            warn(str(error))
            return EXIT_USAGE
        reason = unsupported_reason(settings.wallet.url)
        if reason is not None:
            warn(reason.replace("the relay", "reconciliation"))
            return EXIT_UNREADABLE
        return run(args, settings, days)

    return command


async def _read_ledger(settings: Settings, read: Callable[[WalletLedger], Awaitable[_T]]) -> _T:
    """Open the wallet's ledger read-only, `read` it once, close it."""
    ledger = await open_wallet_ledger(settings.wallet.url, data_dir=settings.data_dir)
    try:
        return await read(ledger)
    finally:
        await ledger.close()


def _ledger(args: argparse.Namespace, settings: Settings, days: GgrQuery) -> int:
    try:
        through_seq, positions, store_sums = asyncio.run(_store_sums(settings, days))

        def read(wallet: WalletLedger) -> Awaitable[list[DaySum]]:
            return wallet.day_sums(days.first_day, days.last_day, through_seq, positions)

        ledger_sums = asyncio.run(_read_ledger(settings, read))
    except Exception as error:  # noqa: BLE001 -- whatever the backend raises: say it
        warn(f"cannot read: {reporting_problem(error)}")
        return EXIT_UNREADABLE
    differences = compare_day_sums(store_sums, ledger_sums)
    rows = [(str(d.day), *d[1:]) for d in differences]
    about = {"from": str(days.first_day), "to": str(days.last_day), "through_seq": through_seq}
    _print(render(args.format, LEDGER_COLUMNS, rows, about))
    pairs = len({(s.day, s.currency) for s in (*store_sums, *ledger_sums)})
    warn(f"{len(differences)} of {pairs} day x currency sums differ (through seq {through_seq})")
    return EXIT_DIFFERENCES if differences else EXIT_OK


async def _store_sums(
    settings: Settings, days: GgrQuery
) -> tuple[int, Mapping[str, str], list[DaySum]]:
    """The store's cursor, its positions and its day sums (one store: one moment, as the
    relay writes all three in one transaction and this reads while it may run)."""

    async def sums(store: ReportingStore) -> tuple[int, Mapping[str, str], list[DaySum]]:
        cursor, positions = await store.cursor(), await store.positions()
        return cursor, positions, await store.day_sums(days.first_day, days.last_day)

    return await read_reporting(settings, sums)


def _statement(args: argparse.Namespace, settings: Settings, days: GgrQuery) -> int:
    currencies = CurrencyTable(settings.currencies_extra)
    try:
        with args.file.open("rb") as file:
            data = file.read(STATEMENT_BYTES_MAX + 1)
        statement = parse_statement(data, currencies)
    except (OSError, StatementError) as error:
        warn(f"{args.file}: {error}")
        return EXIT_USAGE
    window_us = day_window_us(days.first_day, days.last_day)
    tx_ids = [r.tx_id for r in statement]

    def read(wallet: WalletLedger) -> Awaitable[list[LedgerTx]]:
        return wallet.provider_txs(args.provider, window_us, tx_ids)

    try:
        ledger = asyncio.run(_read_ledger(settings, read))
    except Exception as error:  # noqa: BLE001 -- whatever the backend raises: say it
        warn(f"cannot read the wallet: {first_line(error)}")
        return EXIT_UNREADABLE
    differences = compare_statement(statement, ledger, window_us, currencies)
    rows = [(d.kind.value, d.tx_id, d.line, d.statement, d.ledger) for d in differences]
    about = {"provider": args.provider, "from": str(days.first_day), "to": str(days.last_day)}
    _print(render(args.format, STATEMENT_COLUMNS, rows, about))
    warn(
        f"{len(differences)} differences; {len(statement)} statement rows, {len(ledger)} ledger txs"
    )
    return EXIT_DIFFERENCES if differences else EXIT_OK


def _print(text: str) -> None:
    sys.stdout.buffer.write(text.encode())
    sys.stdout.buffer.flush()
