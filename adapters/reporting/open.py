"""The reporting store by URL: `open_reporting_store(url, data_dir)`.

Nothing outside `adapters.reporting` names a backend. An empty URL is the embedded
default, DuckDB at `<data_dir>/reporting.duckdb`; `duckdb:///abs/path` names a file,
`duckdb:relative` one under the data directory. `postgresql://` is planned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.reporting.duckdb_store import DuckDbReportingStore
from core.reporting.store import ReportingStore

__all__ = ["DEFAULT_REPORTING_FILE", "check_reporting_url", "open_reporting_store"]

DEFAULT_REPORTING_FILE = "reporting.duckdb"

_PLANNED = ("postgresql", "postgres")


def check_reporting_url(url: str) -> None:
    """Raise `ValueError`, for a person, unless `url` (empty: the default) names a
    reporting store this build can open. Nothing is opened."""
    _duckdb_path(url, Path("."))


async def open_reporting_store(url: str, data_dir: Path, **options: Any) -> ReportingStore:
    """Open the store `url` names (empty: the default). `options` go to the backend
    (DuckDB: `store_timeout_s`, `threads_max`)."""
    return await DuckDbReportingStore.open(_duckdb_path(url, data_dir), **options)


def _duckdb_path(url: str, data_dir: Path) -> Path:
    if not url:
        return data_dir / DEFAULT_REPORTING_FILE
    scheme = urlsplit(url).scheme
    if scheme in _PLANNED:
        raise ValueError(
            f"reporting.url {url.split('@')[-1]!r}: PostgreSQL reporting is not built yet; "
            "leave reporting.url empty for DuckDB in the data directory"
        )
    if scheme != "duckdb":
        raise ValueError(
            f"reporting.url scheme {scheme!r} is unknown: use duckdb:///abs/path, "
            "duckdb:relative (to the data directory), or leave it empty"
        )
    rest = url[len("duckdb:") :]
    if rest.startswith("//"):
        if not rest.startswith("///"):
            raise ValueError(
                f"reporting.url {url!r}: a DuckDB file takes no host: duckdb:///abs/path"
            )
        return Path(rest[2:])
    if not rest or rest.startswith("/"):
        raise ValueError(f"reporting.url {url!r} names no file: duckdb:relative/path.duckdb")
    return data_dir / rest
