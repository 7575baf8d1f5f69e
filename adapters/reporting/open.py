"""The reporting store by URL: `open_reporting_store(url, data_dir)`.

Nothing outside `adapters.reporting` names a backend. An empty URL is the embedded
default, DuckDB at `<data_dir>/reporting.duckdb`; `duckdb:///abs/path` names a file,
`duckdb:relative` one under the data directory. `postgresql://` (or `postgres://`) is a
libpq URL of a PostgreSQL database (`adapters.reporting.postgres_store`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from adapters.reporting.duckdb_store import DuckDbReportingStore
from adapters.reporting.postgres_store import PostgresReportingStore, describe_url
from core.reporting.store import ReportingStore

__all__ = ["DEFAULT_REPORTING_FILE", "check_reporting_url", "open_reporting_store"]

DEFAULT_REPORTING_FILE = "reporting.duckdb"

_POSTGRES = ("postgresql", "postgres")


def check_reporting_url(url: str) -> None:
    """Raise `ValueError`, for a person, unless `url` (empty: the default) names a
    reporting store this build can open. Nothing is opened."""
    if _is_postgres(url):
        _check_postgres(url)
        return
    _duckdb_path(url, Path("."))


async def open_reporting_store(url: str, data_dir: Path, **options: Any) -> ReportingStore:
    """Open the store `url` names (empty: the default). `options` go to the backend
    (DuckDB: `store_timeout_s`, `threads_max`; PostgreSQL: `schema`, `store_timeout_s`,
    `connect_timeout_s`)."""
    if _is_postgres(url):
        _check_postgres(url)
        return await PostgresReportingStore.open(url, **options)
    return await DuckDbReportingStore.open(_duckdb_path(url, data_dir), **options)


def _duckdb_path(url: str, data_dir: Path) -> Path:
    if not url:
        return data_dir / DEFAULT_REPORTING_FILE
    scheme = urlsplit(url).scheme
    if scheme != "duckdb":
        raise ValueError(
            f"reporting.url scheme {scheme!r} is unknown: use postgresql://host/dbname, "
            "duckdb:///abs/path, duckdb:relative (to the data directory), or leave it empty"
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


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in _POSTGRES


def _check_postgres(url: str) -> None:
    """libpq parses it (the message never repeats a password)."""
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise ValueError(
            f"reporting.url {describe_url(url)!r} is not a PostgreSQL URL libpq accepts: "
            "postgresql://user@host:port/dbname"
        ) from error
