"""What a wallet backend provides to be chosen by its URL scheme (`adapters.stores.open`).

A backend is one `Backend` value: how to open a store for a URL, how to verify the
wallet a URL names (`gamegate verify`), and how to check a URL's shape up front (so a
bad `wallet.url` fails with the settings, naming the setting).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.wallet.store import WalletStore

__all__ = ["Backend", "Opener", "Verifier", "WalletAccessError", "WalletReport"]


class WalletAccessError(Exception):
    """The wallet a URL names cannot be opened or read; the message says where and why,
    for a person (`cannot open the wallet at /srv/wallet.db: disk I/O error`)."""


class WalletReport(Protocol):
    """A backend's reconciliation report: a verdict and the lines that explain it."""

    @property
    def ok(self) -> bool: ...
    def lines(self) -> Sequence[str]: ...


class Opener(Protocol):
    """Open (creating if need be) the wallet `url` names.

    `options` are the `[wallet]` settings (`synchronous`, `batch_ops_max`,
    `queue_depth_max`, `commit_delay_s`) and test knobs. A backend takes those it knows
    and ignores the rest, so one settings section serves every backend. Raises
    `WalletAccessError` when the wallet cannot be opened.
    """

    def __call__(
        self, url: str, *, data_dir: Path, clock_us: Callable[[], int], **options: Any
    ) -> Awaitable[WalletStore]: ...


class Verifier(Protocol):
    """Re-derive the ledger's invariants of the wallet `url` names, without writing.

    Raises `WalletAccessError` when there is no wallet there or it cannot be read."""

    def __call__(
        self, url: str, *, data_dir: Path, currencies_extra: Mapping[str, int]
    ) -> WalletReport: ...


@dataclass(frozen=True, slots=True)
class Backend:
    """One wallet backend."""

    open: Opener
    verify: Verifier
    check_url: Callable[[str], None]
    """Raises `ValueError` (its message for a person) if the URL cannot name a wallet of
    this backend. The URL's shape only: nothing is connected or opened."""
