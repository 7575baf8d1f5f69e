"""`gamegate relay [--once]`: the relay on its own, beside (or instead of) the one in
`gamegate serve`.

Runs until SIGTERM or SIGINT (the step under way ends first), or with `--once` relays
what is committed now and exits: 0 when caught up (a line on stdout says the seq and the
events written), 1 when it could not be. Logs go to stderr. The embedded reporting file
(DuckDB) is held by one process at a time: run this with `reporting.relay = false` in
the gateway's settings and the store elsewhere (PostgreSQL), or while no gateway holds
the file. Game verticals come from the catalogue file, reread every
`catalogue.reload_interval_s`.

`--metrics-port N` (or `reporting.relay_metrics_port`) serves `/metrics` (the relay's lag
and counts, the process's CPU and memory) and `/healthz` on `server.host`:N while it runs,
for Prometheus (the relay alerts); 0 picks a free port. A line on stdout names the address.

`gamegate serve` starts this command as its child (`gateway.relay_process`) with the
hidden `--child`: the settings come as one line on stdin (`gateway.relay_child`), logs go
to stdout (the parent writes them through), the store is also served to serve on a unix
socket (`gateway.reporting_server`), and the end of stdin (the parent is gone) stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from adapters.catalogue.open import open_catalogue_store
from adapters.reporting.open import open_reporting_store
from adapters.reporting.wallet_logs import unsupported_reason
from core.catalogue.live import LiveCatalogue
from gateway.catalogue_refresh import refresh_forever
from gateway.clock import SystemClock
from gateway.logging import configure_logging, flush_logging
from gateway.metrics_listener import serve_metrics
from gateway.relay import Relay, RelayCollector, RelayStats, configured_relay
from gateway.relay_child import read_settings_line, socket_path
from gateway.reporting_server import serve_reporting
from gateway.settings import Settings, SettingsError
from gateway.stop_signals import stop_at_end_of_file, stop_on_signals
from gateway.subcommand import LoadSettings, SettingsArguments, reporting_problem, warn

__all__ = ["add_relay_commands"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_SETTINGS = 0, 1, 2
PARENT_FD = 0
"""`--child`: the pipe from serve on stdin, read once for the settings line, then watched
for its end of file."""


_log = structlog.get_logger("gamegate.relay")


def add_relay_commands(
    commands: Any, settings_arguments: SettingsArguments, load: LoadSettings
) -> None:
    relay = commands.add_parser("relay", help="relay the wallet's log into the reporting store")
    settings_arguments(relay)
    relay.add_argument("--once", action="store_true", help="relay what is committed now, then exit")
    relay.add_argument(
        "--metrics-port", type=int, metavar="N",
        help="serve /metrics and /healthz on server.host:N (reporting.relay_metrics_port)",
    )  # fmt: skip

    def run(args: argparse.Namespace) -> int:
        if args.child:
            return _child()
        settings = load(args)
        if isinstance(settings, int):
            return settings
        configure_logging(settings.log_level, stream=sys.stderr.buffer)
        try:
            reason = unsupported_reason(settings.wallet.url)
            if reason is not None:
                _log.warning("relay_not_started", reason=reason)
                warn(reason)
                return EXIT_FAILED
            port = args.metrics_port
            if port is None:
                port = settings.reporting.relay_metrics_port
            elif not 0 <= port <= 65_535:
                warn(f"--metrics-port {port} is not a port")
                return EXIT_FAILED
            return asyncio.run(_relay(settings, once=args.once, metrics_port=port))
        finally:
            flush_logging()

    relay.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # by serve
    relay.set_defaults(command=run)


def _child() -> int:
    """The relay as `gamegate serve`'s child: settings from stdin, logs to stdout."""
    try:
        settings = read_settings_line(sys.stdin.buffer)
    except SettingsError as error:
        warn(str(error))
        return EXIT_BAD_SETTINGS
    configure_logging(settings.log_level, stream=sys.stdout.buffer)
    try:
        return asyncio.run(_relay(settings, once=False, serve_socket=socket_path(settings)))
    finally:
        flush_logging()


async def _relay(
    settings: Settings,
    *,
    once: bool,
    metrics_port: int | None = None,
    serve_socket: Path | None = None,
) -> int:
    """Relay until stopped; with `serve_socket`, as serve's child (`_child`)."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            store = await open_reporting_store(settings.reporting.url, settings.data_dir)
            stack.push_async_callback(store.close)
            catalogue = await open_catalogue_store(
                settings.catalogue.url, data_dir=settings.data_dir
            )
            stack.push_async_callback(catalogue.close)
        except Exception as error:  # noqa: BLE001 -- whatever the backend raises: say it
            warn(f"cannot open the stores: {reporting_problem(error)}")
            return EXIT_FAILED
        live = LiveCatalogue(
            catalogue, today=_today, new_games_days=settings.catalogue.new_games_days
        )
        await live.load()
        relay = configured_relay(settings, store, live)
        stack.push_async_callback(relay.close)
        if once:
            return await _drain(relay)
        listeners = []
        if metrics_port is not None:
            where = f"{settings.server.host}:{metrics_port}"
            listeners.append((where, _serve_metrics(settings, relay.stats, metrics_port)))
        if serve_socket is not None:
            listeners.append((str(serve_socket), serve_reporting(store, relay.stats, serve_socket)))
        for where, listener in listeners:
            try:
                await stack.enter_async_context(listener)
            except OSError as error:
                warn(f"cannot listen on {where}: {error.strerror or error}")
                return EXIT_FAILED
        refresher = asyncio.create_task(refresh_forever(live, settings.catalogue.reload_interval_s))
        try:
            with stop_on_signals() as stop, _parent_watch(serve_socket is not None, stop):
                _log.info("relay_started", data_dir=str(settings.data_dir))
                await relay.run(stop)
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        _log.info("relay_stopped", cursor=relay.stats.cursor)
        return EXIT_OK


@contextlib.asynccontextmanager
async def _serve_metrics(settings: Settings, stats: RelayStats, port: int) -> AsyncIterator[None]:
    """The relay's own registry on `server.host`:port: its collector, the process's."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(RelayCollector(stats, SystemClock().micros))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    host = settings.server.host
    async with serve_metrics(
        lambda: generate_latest(registry), settings.server, port, None
    ) as bound:
        _log.info("relay_metrics_listening", host=host, port=bound)
        address = f"[{host}]" if ":" in host else host
        print(f"gamegate relay: metrics on http://{address}:{bound}/metrics", flush=True)
        yield


async def _drain(relay: Relay) -> int:
    try:
        await relay.drain()
    except Exception as error:  # noqa: BLE001 -- reported, and the exit code says it
        _log.warning("relay_failed", exc_info=True)
        warn(f"relay failed: {error}")
        return EXIT_FAILED
    stats = relay.stats
    print(f"relayed through seq {stats.cursor} ({stats.events_total} events)", flush=True)
    return EXIT_OK


def _parent_watch(child: bool, stop: asyncio.Event) -> contextlib.AbstractContextManager[None]:
    return stop_at_end_of_file(PARENT_FD, stop) if child else contextlib.nullcontext()


def _today() -> date:
    return datetime.now(tz=UTC).date()
