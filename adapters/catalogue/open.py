"""The catalogue store a URL names: `open_catalogue_store(url, data_dir=...)`.

URLs: empty (`catalogue.db` in the data directory), `sqlite:///absolute/path.db`,
`sqlite:relative/path.db` or a bare `relative/path.db` (both relative to the data
directory). The gateway hands over `catalogue.url` and never names a backend.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from adapters.catalogue.sqlite_catalogue import SqliteCatalogueStore
from core.catalogue.store import CatalogueStore

__all__ = [
    "DEFAULT_CATALOGUE_FILE",
    "CatalogueAccessError",
    "catalogue_path",
    "check_catalogue_url",
    "open_catalogue_store",
]

DEFAULT_CATALOGUE_FILE = "catalogue.db"
_SCHEMES = frozenset({"", "sqlite"})


class CatalogueAccessError(Exception):
    """The catalogue file cannot be opened: permissions, corruption, another schema."""


def check_catalogue_url(url: str) -> None:
    """Raise `ValueError`, for a person, unless `url` can name a catalogue store."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(
            f"unknown catalogue store scheme {parts.scheme!r}: expected sqlite:///absolute/"
            "path.db, sqlite:relative/path.db, a path, or empty for catalogue.db"
        )
    if parts.netloc or not parts.path or parts.query or parts.fragment:
        raise ValueError("expected sqlite:///absolute/path.db or sqlite:relative/path.db")


def catalogue_path(url: str, *, data_dir: Path) -> Path:
    """The file `url` names (checked with `check_catalogue_url`)."""
    check_catalogue_url(url)
    path = Path(urlsplit(url).path) if url else Path(DEFAULT_CATALOGUE_FILE)
    return path if path.is_absolute() else data_dir / path


async def open_catalogue_store(url: str, *, data_dir: Path) -> CatalogueStore:
    """Open (creating if new) the store `url` names. Raises `ValueError` for a URL of an
    unknown shape, `CatalogueAccessError` when the file cannot be opened."""
    path = catalogue_path(url, data_dir=data_dir)
    try:
        return await SqliteCatalogueStore.open(path)
    except (OSError, sqlite3.Error, RuntimeError) as exc:  # RuntimeError: another schema
        raise CatalogueAccessError(f"cannot open the catalogue at {path}: {exc}") from exc
