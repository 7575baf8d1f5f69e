"""`gamegate catalogue`: sync or import an instance's games, and list past syncs.

Works on the catalogue file directly, with or without a gateway running: running
gateways see the change within `catalogue.reload_interval_s`. Meant for cron (a daily
full sync per instance, as providers advise) and for an operator importing a file.
The report is JSON on stdout; a refusal is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson

from adapters.catalogue.open import CatalogueAccessError, open_catalogue_store
from core.catalogue.store import CatalogueStore
from core.errors import GatewayError
from core.money import CurrencyTable
from gateway.catalogue_sync import FeedUpload, sync_instance
from gateway.logging import configure_logging, flush_logging
from gateway.metrics import Metrics
from gateway.routes.catalogue import history_json, report_json
from gateway.settings import Settings
from gateway.subcommand import LoadSettings, SettingsArguments

__all__ = ["add_catalogue_commands"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 3
FILE_BYTES_MAX = 1_073_741_824
HISTORY_LIMIT_MAX = 200


def add_catalogue_commands(
    commands: Any, settings_arguments: SettingsArguments, load: LoadSettings
) -> None:
    catalogue = commands.add_parser("catalogue", help="sync, import and list the game catalogue")
    actions = catalogue.add_subparsers(title="actions", metavar="ACTION", required=True)

    sync = actions.add_parser("sync", help="fetch an instance's configured feed and apply it")
    sync.add_argument("instance")
    sync.add_argument("--confirm", action="store_true", help="apply a guarded retirement")
    settings_arguments(sync)
    sync.set_defaults(command=_command(load, _sync))

    imported = actions.add_parser("import", help="apply a feed file to an instance")
    imported.add_argument("instance")
    imported.add_argument("file", type=Path)
    imported.add_argument(
        "--format", help="feed format (default: the instance's, or gamegate_json)"
    )
    imported.add_argument("--partial", action="store_true", help="a delta: retire nothing")
    imported.add_argument("--confirm", action="store_true", help="apply a guarded retirement")
    settings_arguments(imported)
    imported.set_defaults(command=_command(load, _import))

    history = actions.add_parser("history", help="list applied syncs, newest first")
    history.add_argument("--instance")
    history.add_argument("--limit", type=int, default=20)
    settings_arguments(history)
    history.set_defaults(command=_command(load, _history))


Action = Callable[[CatalogueStore, Settings, argparse.Namespace], Coroutine[Any, Any, Any]]


def _command(load: LoadSettings, action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        settings = load(args)
        if isinstance(settings, int):
            return settings
        configure_logging(settings.log_level, stream=sys.stderr.buffer)  # stdout: the report
        try:
            shown = asyncio.run(_with_catalogue(settings, args, action))
        except (CatalogueAccessError, OSError) as error:
            print(f"gamegate: {error}", file=sys.stderr)
            return EXIT_FAILED
        except GatewayError as error:
            print(f"gamegate: refused: {error.reason.value}: {error.message}", file=sys.stderr)
            return EXIT_REFUSED
        finally:
            flush_logging()
        print(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK

    return run


async def _with_catalogue(settings: Settings, args: argparse.Namespace, action: Action) -> Any:
    """The store alone: no lobby index is built here (serving gateways build their own
    when they see the new version)."""
    store = await open_catalogue_store(settings.catalogue.url, data_dir=settings.data_dir)
    try:
        return await action(store, settings, args)
    finally:
        await store.close()


async def _sync(store: CatalogueStore, settings: Settings, args: argparse.Namespace) -> Any:
    return report_json(await _apply(store, settings, args, None))


async def _import(store: CatalogueStore, settings: Settings, args: argparse.Namespace) -> Any:
    path: Path = args.file
    with path.open("rb") as file:
        raw = file.read(FILE_BYTES_MAX + 1)
    if len(raw) > FILE_BYTES_MAX:
        raise OSError(f"{path} is larger than {FILE_BYTES_MAX} bytes")
    upload = FeedUpload(raw, feed_format=args.format, partial=args.partial)
    return report_json(await _apply(store, settings, args, upload))


async def _apply(
    store: CatalogueStore, settings: Settings, args: argparse.Namespace, upload: FeedUpload | None
) -> Any:
    return await sync_instance(
        store,
        settings,
        args.instance,
        currencies=CurrencyTable(settings.currencies_extra),
        metrics=Metrics(),
        at_us=time.time_ns() // 1_000,
        confirmed=args.confirm,
        upload=upload,
    )


async def _history(store: CatalogueStore, settings: Settings, args: argparse.Namespace) -> Any:
    limit = max(1, min(args.limit, HISTORY_LIMIT_MAX))
    entries = await store.sync_history(limit, instance=args.instance)
    return {"items": [history_json(entry) for entry in entries]}
