"""The `gamegate` command.

    gamegate serve  [--host H] [--port P] [--workers N] [--data-dir D] [--config FILE] [--demo]
    gamegate verify [--data-dir D] [--config FILE]
    gamegate rules check DIR [--config FILE]
    gamegate report ggr --from DAY --to DAY [--by NAMES] [--format table|csv|json]
    gamegate report open-rounds [--older-than-s N] [--provider ID] [--format ...]
    gamegate report export --market CC --day DAY --out DIR
    gamegate report reconcile ledger|statement --from DAY --to DAY [...]
                        [--data-dir D] [--config FILE]
    gamegate relay  [--once] [--data-dir D] [--config FILE]
    gamegate conformance INSTANCE --url URL [--data-dir D] [--config FILE]
                         [--operator-key KEY] [--secret NAME=PATH ...]
                         [--callback-url URL] [--case SUBSTRING]

Exit codes: 0 success, 1 failure (verification or a conformance case failed, cannot
listen), 2 invalid settings (each message names the setting's key) or bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from adapters.catalogue.open import CatalogueAccessError
from adapters.stores.open import WalletAccessError, verify_wallet_store
from gateway import demo
from gateway.app import create_app, enabled_providers
from gateway.catalogue_cli import add_catalogue_commands
from gateway.catalogue_schedule import scheduled_syncs
from gateway.credentials import secret_values
from gateway.gc_policy import apply_serving_gc_policy
from gateway.keys import CATALOGUE, CLOCK, METRICS, RULES, SERVICE, STORE
from gateway.logging import configure_logging
from gateway.metrics_listener import serve_metrics
from gateway.relay_cli import add_relay_commands
from gateway.report_cli import add_report_commands
from gateway.rules_cli import add_rules_commands
from gateway.rules_holder import reload_on_hangup
from gateway.serving import OpenServer, open_server
from gateway.settings import Settings, SettingsError
from gateway.stop_signals import stop_on_signals
from gateway.subcommand import warn
from gateway.worker import Worker
from gateway.workers import Supervisor, check_workers

__all__ = ["build_parser", "main", "startup_line"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_SETTINGS = 0, 1, 2

Command = Callable[[argparse.Namespace], int]


class StartupError(Exception):
    """The gateway could not start for a reason a person can act on."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.command
    return command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gamegate", description="Game-provider gateway with an embedded atomic wallet."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="run the HTTP gateway")
    _settings_arguments(serve)
    serve.add_argument("--host", help="address to listen on (server.host)")
    serve.add_argument("--port", type=int, help="port to listen on, 0 for any (server.port)")
    serve.add_argument(
        "--workers", type=int, help="gateway processes sharing the port (server.workers)"
    )
    serve.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)  # set by --workers
    serve.add_argument("--supervisor-fd", type=int, help=argparse.SUPPRESS)  # set by --workers
    serve.add_argument(
        "--demo", action="store_true", help="create demo credentials and players on start"
    )
    serve.set_defaults(command=serve_command)

    verify = commands.add_parser("verify", help="check the wallet file's ledger and hash chain")
    _settings_arguments(verify)
    verify.set_defaults(command=verify_command)

    conformance = commands.add_parser(
        "conformance", help="run a provider protocol's conformance script against a wallet"
    )
    conformance.add_argument("instance", help="the provider instance (providers.<instance>)")
    _settings_arguments(conformance)
    conformance.add_argument("--url", required=True, help="the wallet, e.g. http://127.0.0.1:8080")
    conformance.add_argument(
        "--operator-key", default=demo.DEMO_OPERATOR_KEY, help="operator API key (admin role)"
    )
    conformance.add_argument(
        "--secret", action="append", default=[], metavar="NAME=PATH",
        help="a provider-side secret file (default: every file in <data_dir>/secrets/<instance>/)",
    )  # fmt: skip
    conformance.add_argument(
        "--callback-url", help="where callbacks go (default: <url>/providers/<instance>)"
    )
    conformance.add_argument(
        "--case", default="", metavar="SUBSTRING", help="only cases whose name contains it"
    )
    conformance.set_defaults(command=conformance_command)

    add_catalogue_commands(commands, _settings_arguments, _settings_or_exit_code)
    add_rules_commands(commands, _settings_arguments, _settings_or_exit_code)
    add_report_commands(commands, _settings_arguments, _settings_or_exit_code)
    add_relay_commands(commands, _settings_arguments, _settings_or_exit_code)

    # More commands register here the same way: add_parser(...), its arguments,
    # set_defaults(command=...).
    return parser


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file (or GAMEGATE_CONFIG)")
    parser.add_argument("--data-dir", type=Path, help="data directory (data_dir)")


def _load_settings(args: argparse.Namespace) -> Settings:
    """Flags override env, env overrides the TOML file, the file overrides defaults."""
    overrides: dict[str, Any] = {}
    if args.config is not None:
        overrides["config"] = args.config
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    server = {
        name: value
        for name in ("host", "port", "workers")
        if (value := getattr(args, name, None)) is not None
    }
    if server:
        overrides["server"] = server
    return Settings(**overrides)


def _settings_or_exit_code(args: argparse.Namespace) -> Settings | int:
    try:
        return _load_settings(args)
    except (ValidationError, SettingsError) as error:
        return _settings_failure(error)


def _settings_failure(error: ValidationError | SettingsError) -> int:
    """One line per problem, each starting with the setting's key; values never shown."""
    if isinstance(error, SettingsError):
        warn(f"invalid setting {error}")
        return EXIT_BAD_SETTINGS
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        warn(f"invalid setting {key}: {problem['msg']}")
    return EXIT_BAD_SETTINGS


def serve_command(args: argparse.Namespace) -> int:
    try:
        settings = _load_settings(args)
        if args.demo:
            settings = demo.prepare(settings, warn)
        app = create_app(settings, demo=args.demo)
        check_workers(settings)
    except (ValidationError, SettingsError) as error:
        return _settings_failure(error)
    configure_logging(
        settings.log_level, secrets=secret_values(settings, enabled_providers(settings))
    )
    if args.worker_index is None and settings.server.workers > 1:
        return _supervise(args, settings)
    worker = None
    if args.worker_index is not None:  # started by a supervisor, with --supervisor-fd
        if args.supervisor_fd is None:
            warn("--worker-index is for workers started by --workers (no --supervisor-fd)")
            return EXIT_BAD_SETTINGS
        worker = Worker.attach(args.worker_index, args.supervisor_fd)
        worker.mark_answers(app)
    apply_serving_gc_policy()
    try:
        with asyncio.Runner(loop_factory=_loop_factory(settings.server.uvloop)) as runner:
            runner.run(_serve(app, settings, demo_mode=args.demo, worker=worker))
    except SettingsError as error:  # an adapter refused its options or secrets at start-up
        return _settings_failure(error)
    except StartupError as error:
        warn(str(error))
        return EXIT_FAILED
    return EXIT_OK


def _loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if not use_uvloop:
        return None
    try:
        import uvloop  # optional: not every platform has it
    except ImportError:
        return None
    return uvloop.new_event_loop


def _supervise(args: argparse.Namespace, settings: Settings) -> int:
    """`--workers N`: start N workers, each this command with `--worker-index`, and keep
    them running (`gateway.workers`); they re-read the same flags, environment and file."""
    shared = [f"--{name.replace('_', '-')}={value}" for name in ("config", "data_dir", "host")
              if (value := getattr(args, name)) is not None]  # fmt: skip
    shared += [f"--workers={settings.server.workers}", *(["--demo"] if args.demo else [])]

    def command(index: int, port: int, supervisor_fd: int) -> list[str]:
        where = [f"--port={port}", f"--worker-index={index}", f"--supervisor-fd={supervisor_fd}"]
        return [sys.executable, "-m", "gateway", "serve", *shared, *where]

    def announce(port: int, wallet: str) -> None:
        workers = settings.server.workers
        print(startup_line(settings, port=port, wallet=wallet, workers=workers), flush=True)
        if args.demo:
            print(_demo_line(), flush=True)

    return Supervisor(settings.server, command, announce, warn).run()


async def _serve(
    app: web.Application, settings: Settings, *, demo_mode: bool, worker: Worker | None = None
) -> None:
    """Start, announce, serve until SIGINT/SIGTERM, then shut down cleanly; SIGHUP
    reloads the jurisdiction rules (`gateway.rules_holder`).

    The signal handlers go in first, so a signal that arrives during start-up (a test
    that reads the start-up line and stops at once) still ends in a clean shutdown.
    Serving itself (the runner, the connection limits, the protocol) is `gateway.serving`.
    A worker (`gateway.worker`) also stops when its supervisor goes, seeds demo data only
    as worker 0, and reports to the supervisor instead of printing the start-up line.
    """
    with (
        stop_on_signals() as stop,
        _stop_with_supervisor(worker, stop),
        reload_on_hangup(app[RULES]),
    ):
        try:
            async with open_server(app, settings, warn) as server:
                if demo_mode and (worker is None or worker.index == 0):
                    clock = app[CLOCK]
                    await demo.seed(app[SERVICE], settings, warn, at_us=clock.micros())
                    today = datetime.fromtimestamp(clock.seconds(), tz=UTC).date()
                    await demo.seed_catalogue(
                        app[CATALOGUE], settings, today=today, at_us=clock.micros()
                    )
                port = await _listen(server, settings, worker)
                one_process = worker is None or worker.index == 0
                syncs = scheduled_syncs(app) if one_process else contextlib.nullcontext()
                async with _metrics_port(app, settings, worker), syncs:
                    wallet = app[STORE].describe()
                    if worker is not None:
                        await worker.report_ready(wallet)
                    else:
                        print(startup_line(settings, port=port, wallet=wallet), flush=True)
                        if demo_mode:
                            print(_demo_line(), flush=True)
                    await stop.wait()
        except (WalletAccessError, CatalogueAccessError) as exc:  # opening the stores
            raise StartupError(str(exc)) from exc


async def _listen(server: OpenServer, settings: Settings, worker: Worker | None) -> int:
    try:
        return await server.listen(reuse_port=worker is not None)
    except OSError as exc:
        address = f"{settings.server.host}:{settings.server.port}"
        raise StartupError(f"cannot listen on {address}: {exc.strerror}") from exc


@contextlib.asynccontextmanager
async def _metrics_port(
    app: web.Application, settings: Settings, worker: Worker | None
) -> AsyncIterator[None]:
    """`/metrics` alone on `server.metrics_port` + the worker's index, when it is set."""
    server = settings.server
    if server.metrics_port is None:
        yield
        return
    port = server.metrics_port + (0 if worker is None else worker.index)
    info = None if worker is None else worker.info
    async with contextlib.AsyncExitStack() as serving:
        try:
            metrics = serve_metrics(app[METRICS].render, server, port, info)
            await serving.enter_async_context(metrics)
        except OSError as exc:
            raise StartupError(f"cannot listen on {server.host}:{port}: {exc.strerror}") from exc
        yield


def _stop_with_supervisor(
    worker: Worker | None, stop: asyncio.Event
) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext() if worker is None else worker.stop_with_supervisor(stop)


def startup_line(settings: Settings, *, port: int, wallet: str, workers: int = 1) -> str:
    """Where the gateway listens, with how many workers if more than one, and which
    wallet it uses (the store's `describe()`)."""
    host = settings.server.host
    shown_host = f"[{host}]" if ":" in host else host
    shown_workers = f" with {workers} workers" if workers > 1 else ""
    return f"gamegate listening on http://{shown_host}:{port}{shown_workers} (wallet: {wallet})"


def _demo_line() -> str:
    players = " ".join(player.player_id for player in demo.DEMO_PLAYERS)
    return (
        f"demo mode: operator API key {demo.DEMO_OPERATOR_KEY!r} (admin), "
        f"lobby key {demo.DEMO_LOBBY_KEY!r}, brand {demo.DEMO_BRAND!r}, players {players}; "
        "the lobby page is at /lobby"
    )


def verify_command(args: argparse.Namespace) -> int:
    """Print the wallet reconciliation report; exit 0 only if every check passed."""
    try:
        settings = _load_settings(args)
    except (ValidationError, SettingsError) as error:
        return _settings_failure(error)
    try:
        report = verify_wallet_store(
            settings.wallet.url,
            data_dir=settings.data_dir,
            currencies_extra=settings.currencies_extra,
        )
    except WalletAccessError as error:  # no wallet there, or one this build cannot read
        warn(str(error))
        return EXIT_FAILED
    for line in report.lines():
        print(line)
    return EXIT_OK if report.ok else EXIT_FAILED


def conformance_command(args: argparse.Namespace) -> int:
    """Run the instance's conformance script; exit 0 only if every case passed."""
    from gateway import conformance  # lazy: only this command needs the kit and httpx

    try:
        settings = _load_settings(args)
        passed = conformance.run_conformance(settings, conformance.ConformanceRun.from_args(args))
    except (ValidationError, SettingsError) as error:
        return _settings_failure(error)
    except conformance.UsageError as error:
        warn(str(error))
        return EXIT_BAD_SETTINGS
    return EXIT_OK if passed else EXIT_FAILED
