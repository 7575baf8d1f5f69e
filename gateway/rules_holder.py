"""The gateway's current jurisdiction rule book, swapped whole on a reload.

Loaded in `create_app`, so a bad file stops start-up naming the file, the rule and the
field. A reload (SIGHUP, `POST /v1/jurisdictions/reload`) reads the whole directory
again and swaps the new book in with one assignment: a request sees the old book or
the new one, never a mix. A bad reload keeps the old book, and the log, the answer and
`gamegate_rules_reloads_total{result="invalid"}` say why.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import structlog
from aiohttp import web

from adapters.jurisdictions import load_rule_book
from core.jurisdiction import MarketRules, RuleBook, RulesInvalid
from core.money import CurrencyTable
from gateway.metrics import Metrics
from gateway.settings import Settings, SettingsError

__all__ = ["LiveRules", "load_live_rules", "reload_on_hangup"]

_log = structlog.get_logger("gamegate.rules")


class LiveRules:
    """`book` is the rule book in force; `rules_for` reads it afresh on every call."""

    __slots__ = ("_currencies", "_metrics", "book", "directory")

    def __init__(
        self, book: RuleBook, directory: Path | None, currencies: CurrencyTable, metrics: Metrics
    ) -> None:
        self.book = book
        self.directory = directory
        """Where the rules come from; None: no rule directory (every market unconfigured)."""
        self._currencies = currencies
        self._metrics = metrics

    def rules_for(self, market: str, brand: str | None, at_us: int) -> MarketRules:
        """The current book's rules of `market` with `brand`'s overlay at `at_us`."""
        return self.book.rules_for(market, brand, at_us)

    async def announce(self, app: web.Application) -> None:
        """An `on_startup` hook: one log line, once logging is set up, saying which
        rules serve."""
        del app
        if self.directory is None:
            _log.warning("rules_directory_missing", detail="no market has jurisdiction rules")
            return
        _log.info(
            "rules_loaded", directory=str(self.directory), markets=list(self.book.markets),
            brands=list(self.book.brands),
        )  # fmt: skip

    def reload(self) -> RuleBook:
        """Read the directory again and swap the new book in; `RulesInvalid` (the old
        book kept) when a file is bad or the directory is gone."""
        if self.directory is None:
            error = RulesInvalid("no rule directory: jurisdictions.dir did not exist at start-up")
            self._failed(error)
            raise error
        try:
            book = load_rule_book(self.directory, self._currencies)
        except RulesInvalid as error:
            self._failed(error)
            raise
        self.book = book
        self._metrics.rules_reloads.labels("ok").inc()
        _log.info(
            "rules_reloaded", directory=str(self.directory), markets=list(book.markets),
            brands=list(book.brands),
        )  # fmt: skip
        return book

    def _failed(self, error: RulesInvalid) -> None:
        self._metrics.rules_reloads.labels("invalid").inc()
        _log.warning("rules_reload_failed", directory=str(self.directory), error=str(error))


def load_live_rules(settings: Settings, metrics: Metrics) -> LiveRules:
    """The rules at start-up. `SettingsError` naming `jurisdictions.dir` and the file,
    rule and field of a bad file. A directory that does not exist is an error when the
    setting names it, and an empty book (with a warning) at the default."""
    directory = settings.jurisdictions.dir.absolute()
    currencies = CurrencyTable(settings.currencies_extra)
    if not directory.exists() and "dir" not in settings.jurisdictions.model_fields_set:
        return LiveRules(RuleBook(), None, currencies, metrics)
    try:
        book = load_rule_book(directory, currencies)
    except RulesInvalid as error:
        raise SettingsError(f"jurisdictions.dir: {error}") from error
    return LiveRules(book, directory, currencies, metrics)


@contextlib.contextmanager
def reload_on_hangup(rules: LiveRules) -> Iterator[None]:
    """While the block runs, SIGHUP reloads the rules in a thread (the event loop keeps
    serving); a bad reload is logged and counted, and the rules in force stay. Under
    `--workers` the supervisor forwards SIGHUP to every worker (`gateway.workers`)."""
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()

    async def reload() -> None:
        with contextlib.suppress(RulesInvalid):  # logged and counted by `reload`
            await asyncio.to_thread(rules.reload)

    def hangup() -> None:
        task = loop.create_task(reload())
        running.add(task)
        task.add_done_callback(running.discard)

    loop.add_signal_handler(signal.SIGHUP, hangup)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
