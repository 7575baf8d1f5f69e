"""The embedded SQLite wallet as a backend of `adapters.stores.open`.

URLs: `sqlite:///absolute/path.db`, or `sqlite:relative/path.db` relative to the data
directory (the default wallet is `sqlite:wallet.db`).
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.stores.backend import Backend, WalletAccessError
from adapters.stores.sqlite_store import SqliteWalletStore
from adapters.stores.sqlite_verify import VerifyReport, verify_wallet

__all__ = ["SQLITE", "sqlite_path"]

_OPEN_OPTIONS = frozenset(inspect.signature(SqliteWalletStore.open).parameters) - {"path"}
"""The options `SqliteWalletStore.open` takes; another backend's options are ignored, so
one `[wallet]` settings section serves every backend."""


def sqlite_path(url: str, data_dir: Path) -> Path:
    """The wallet file a `sqlite:` URL names."""
    path = Path(urlsplit(url).path)
    return path if path.is_absolute() else data_dir / path


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.netloc or not parts.path or parts.query or parts.fragment:
        raise ValueError("expected sqlite:///absolute/path.db or sqlite:relative/path.db")


async def _open(
    url: str, *, data_dir: Path, clock_us: Callable[[], int], **options: Any
) -> SqliteWalletStore:
    path = sqlite_path(url, data_dir)
    known = {name: value for name, value in options.items() if name in _OPEN_OPTIONS}
    try:
        return await SqliteWalletStore.open(path, clock_us=clock_us, **known)
    except (OSError, sqlite3.Error, RuntimeError) as exc:  # RuntimeError: another schema, no WAL
        raise WalletAccessError(f"cannot open the wallet at {path}: {exc}") from exc


def _verify(url: str, *, data_dir: Path, currencies_extra: Mapping[str, int]) -> VerifyReport:
    path = sqlite_path(url, data_dir)
    if not path.exists():
        raise WalletAccessError(f"no wallet database at {path}")
    try:
        return verify_wallet(path, currencies_extra=currencies_extra)
    except RuntimeError as error:  # a file this build cannot read (another schema version)
        raise WalletAccessError(str(error)) from error


SQLITE = Backend(open=_open, verify=_verify, check_url=_check_url)
