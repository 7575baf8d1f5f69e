"""What every `gamegate <command>` module shares: how it is handed its settings, how it
says what went wrong, and how it reads the reporting store once.

`gateway.cli` owns the parser and the settings flags; a command module registers its
subcommands with `add_*_commands(commands, settings_arguments, load)`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from adapters.reporting.open import open_reporting_store
from core.reporting.store import ReportingStore, ReportingStoreInUse
from gateway.settings import Settings

__all__ = [
    "LoadSettings",
    "SettingsArguments",
    "first_line",
    "read_reporting",
    "read_reporting_or_warn",
    "reporting_problem",
    "warn",
]

LoadSettings = Callable[[argparse.Namespace], Settings | int]
"""The settings, or the exit code after saying why they cannot be loaded."""
SettingsArguments = Callable[[argparse.ArgumentParser], None]
"""Adds the settings flags (`--config`, `--data-dir`) to a subcommand's parser."""
_T = TypeVar("_T")


def warn(message: str) -> None:
    """A command's complaint, on stderr (stdout carries its answer)."""
    print(f"gamegate: {message}", file=sys.stderr, flush=True)


def first_line(error: BaseException) -> str:
    """An error's first line: a backend's message may run to a whole query plan."""
    return str(error).partition("\n")[0]


_HOLDER_ADVICE = (
    "it is usually a running `gamegate serve` (its relay child) or a `gamegate relay`: "
    "read reports through serve's operator API (/v1/reports/ggr, /v1/reports/open-rounds) "
    "or stop the holder first; a `gamegate relay` beside serve needs reporting.relay = false "
    "in serve's settings"
)


def reporting_problem(error: BaseException) -> str:
    """What a command says of a reporting store it could not open: the error's first
    line and, when another process holds the store, who that usually is and what to do."""
    if isinstance(error, ReportingStoreInUse):
        return f"{first_line(error)} ({_HOLDER_ADVICE})"
    return first_line(error)


async def read_reporting(settings: Settings, read: Callable[[ReportingStore], Awaitable[_T]]) -> _T:
    """Open the reporting store the settings name, `read` it once, close it."""
    store = await open_reporting_store(settings.reporting.url, settings.data_dir)
    try:
        return await read(store)
    finally:
        await store.close()


def read_reporting_or_warn(
    settings: Settings, read: Callable[[ReportingStore], Awaitable[_T]]
) -> _T | None:
    """`read_reporting` run to its end, for a command; None once it has said why the
    store could not be read (whatever the backend raised)."""
    try:
        return asyncio.run(read_reporting(settings, read))
    except Exception as error:  # noqa: BLE001 -- whatever the backend raises: say it
        warn(f"cannot read the reporting store: {reporting_problem(error)}")
        return None
