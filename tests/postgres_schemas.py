"""PostgreSQL for the tests: the server on 127.0.0.1:5432 (`.ci/run` starts it), one
fresh schema per test directory so tests never see each other's rows.

A schema is named after this process and the directory (`gg_test_<pid>_<hash>`), so
suites running at once on the same server cannot collide; it is dropped when its
directory is first seen (a leftover of the same name starts empty) and again when this
process exits. `GAMEGATE_TEST_POSTGRES_URL` names another server. A server that does
not answer fails the test with a message saying so: never a skip.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

__all__ = ["POSTGRES_URL", "fresh_schema"]

POSTGRES_URL = os.environ.get(
    "GAMEGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
CONNECT_TIMEOUT_S = 5

_made: set[str] = set()


def schema_for(directory: Path) -> str:
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return f"gg_test_{os.getpid()}_{digest}"


def fresh_schema(directory: Path) -> str:
    """The schema that belongs to `directory`, empty the first time it is asked for."""
    schema = schema_for(directory)
    if schema not in _made:
        _admin(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        if not _made:
            atexit.register(_drop_all)
        _made.add(schema)
    return schema


def _admin(statement: sql.Composed) -> None:
    try:
        with psycopg.connect(
            POSTGRES_URL, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        ) as con:
            con.execute(statement)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}): the reporting tests "
            "need it; start it (.ci/run does: pg_ctlcluster 15 main start) or set "
            "GAMEGATE_TEST_POSTGRES_URL",
            pytrace=False,
        )


def _drop_all() -> None:
    """At exit: drop every schema this process made (best effort, server may be gone)."""
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as con,
    ):
        for schema in sorted(_made):
            con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
