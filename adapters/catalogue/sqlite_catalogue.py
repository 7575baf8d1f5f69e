"""The embedded catalogue store: one SQLite file of its own, `catalogue.db` by default.

Its own file because the wallet's file has exactly one writer, and catalogue writes come
from any gateway process (a sync, an operator's overlay change). Each process holds one
connection, used from worker threads one call at a time (`threading.Lock`: an awaiting
task may be cancelled while its thread still runs). Writes are `BEGIN IMMEDIATE`
transactions, so two processes never both plan against the same games; each change
bumps the catalogue version once, in its own transaction. Games are never deleted: a
retired game keeps its row, its history and its overlay references.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

from adapters.catalogue.game_codec import dumps_game, loads_game
from adapters.catalogue.overlay_codec import audit_line, overlay_from_json, overlay_to_json
from adapters.catalogue.sqlite_schema import (
    VERSION_KEY,
    apply_pragmas,
    create_schema,
    read_version,
)
from adapters.stores.sqlite_files import prepare_private_files, tighten_private_files
from core.catalogue.game import Game, GameKey
from core.catalogue.overlay import BrandOverlay, OverlayChange, apply_change
from core.catalogue.store import AuditEntry, CatalogueSnapshot, SyncReport
from core.catalogue.sync import SyncHistoryEntry, plan_sync
from core.errors import StorageUnavailable

__all__ = ["AUDIT_LIMIT_MAX", "SYNC_HISTORY_LIMIT_MAX", "SqliteCatalogueStore"]

AUDIT_LIMIT_MAX = 1_000
SYNC_HISTORY_LIMIT_MAX = 1_000
_T = TypeVar("_T")
_UPSERT_GAME = """
INSERT INTO games (key, instance, code, json, status, added_version, updated_version)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    json = excluded.json, status = excluded.status, updated_version = excluded.updated_version
"""
_AUDIT_COLUMNS = "seq, brand, at_us, actor, action, target, before_json, after_json"
_HISTORY_COLUMNS = "version, instance, source, at_us, full, added, changed, retired, unchanged"


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _write(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """`work` in one write transaction: all of it or, on any exception, none."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _read(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """`work` in one read transaction: a consistent view across tables."""
    conn.execute("BEGIN")
    try:
        return work(conn)
    finally:
        conn.execute("COMMIT")


def _bump_version(conn: sqlite3.Connection) -> int:
    version = read_version(conn) + 1
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (version, VERSION_KEY))
    return version


def _stored_overlay(conn: sqlite3.Connection, brand: str) -> BrandOverlay:
    row = conn.execute("SELECT json FROM overlays WHERE brand = ?", (brand,)).fetchone()
    return BrandOverlay(brand) if row is None else overlay_from_json(orjson.loads(row[0]))


def _history_entry(
    version: int,
    instance: str,
    source: str,
    at_us: int,
    full: int,
    added: int,
    changed: int,
    retired: int,
    unchanged: int,
) -> SyncHistoryEntry:
    return SyncHistoryEntry(
        version, instance, source, at_us, bool(full), added, changed, retired, unchanged
    )


class SqliteCatalogueStore:
    """`core.catalogue.store.CatalogueStore` on one SQLite file."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> SqliteCatalogueStore:
        """Open (creating it 0600 if new) the catalogue file at `path`."""
        return await asyncio.to_thread(cls._open, path)

    @classmethod
    def _open(cls, path: Path) -> SqliteCatalogueStore:
        prepare_private_files(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            apply_pragmas(conn)
            create_schema(conn)
        except BaseException:
            conn.close()
            raise
        tighten_private_files(path)
        return cls(conn, path)

    def describe(self) -> str:
        return f"sqlite catalogue at {self.path}"

    async def _call(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            if self._conn is None:
                raise StorageUnavailable("catalogue store is closed")
            try:
                return work(self._conn)
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"catalogue store failed: {exc}") from exc

    async def version(self) -> int:
        return await self._call(read_version)

    async def snapshot(self, known: CatalogueSnapshot | None = None) -> CatalogueSnapshot:
        """Every game and overlay. Games unchanged since `known` (an earlier snapshot of
        this store) are taken from it rather than decoded again: a sync of one instance
        re-reads a few hundred games, not the whole catalogue."""
        since = -1 if known is None else known.version

        def work(conn: sqlite3.Connection) -> CatalogueSnapshot:
            previous = {} if known is None else {str(game.key): game for game in known.games}
            version = read_version(conn)
            rows = conn.execute("SELECT key, updated_version, json FROM games ORDER BY key")
            games = tuple(
                previous[key] if updated <= since and key in previous else loads_game(text)
                for key, updated, text in rows
            )
            overlays = {
                brand: overlay_from_json(orjson.loads(text))
                for brand, text in conn.execute("SELECT brand, json FROM overlays ORDER BY brand")
            }
            return CatalogueSnapshot(version=version, games=games, overlays=overlays)

        return await self._call(lambda conn: _read(conn, work))

    async def sync(
        self,
        instance: str,
        games: Sequence[Game],
        *,
        full: bool,
        source: str,
        retire_share_max: float,
        confirmed: bool,
        at_us: int,
    ) -> SyncReport:
        def work(conn: sqlite3.Connection) -> SyncReport:
            rows = conn.execute("SELECT json FROM games WHERE instance = ?", (instance,))
            current = {game.key: game for game in (loads_game(row[0]) for row in rows)}
            plan = plan_sync(
                current,
                games,
                instance=instance,
                full=full,
                retire_share_max=retire_share_max,
                confirmed=confirmed,
            )
            version = read_version(conn) if plan.empty else _bump_version(conn)
            conn.executemany(
                _UPSERT_GAME,
                [
                    (
                        str(g.key),
                        g.instance,
                        g.code,
                        dumps_game(g),
                        g.status.value,
                        version,
                        version,
                    )
                    for g in (*plan.added, *plan.changed, *plan.retired)
                ],
            )
            conn.execute(
                f"INSERT INTO sync_history ({_HISTORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    version,
                    instance,
                    source,
                    at_us,
                    int(full),
                    len(plan.added),
                    len(plan.changed),
                    len(plan.retired),
                    plan.unchanged,
                ),
            )
            return SyncReport(
                instance=instance,
                source=source,
                version=version,
                added=tuple(game.key for game in plan.added),
                changed=tuple(game.key for game in plan.changed),
                retired=tuple(game.key for game in plan.retired),
                unchanged=plan.unchanged,
                full=full,
            )

        return await self._call(lambda conn: _write(conn, work))

    async def change_overlay(
        self, brand: str, change: OverlayChange, *, actor: str, at_us: int
    ) -> AuditEntry:
        def work(conn: sqlite3.Connection) -> AuditEntry:
            before = _stored_overlay(conn, brand)
            after = apply_change(before, change)
            line = audit_line(change, before, after)
            version = _bump_version(conn)
            conn.execute(
                "INSERT INTO overlays (brand, json, updated_version) VALUES (?, ?, ?) "
                "ON CONFLICT (brand) DO UPDATE SET "
                "json = excluded.json, updated_version = excluded.updated_version",
                (brand, _dumps(overlay_to_json(after)), version),
            )
            cursor = conn.execute(
                "INSERT INTO overlay_audit (brand, at_us, actor, action, target, "
                "before_json, after_json, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    brand,
                    at_us,
                    actor,
                    line.action,
                    line.target,
                    _dumps(line.before),
                    _dumps(line.after),
                    version,
                ),
            )
            assert cursor.lastrowid is not None
            return AuditEntry(
                seq=cursor.lastrowid,
                brand=brand,
                at_us=at_us,
                actor=actor,
                action=line.action,
                target=line.target,
                before=line.before,
                after=line.after,
            )

        return await self._call(lambda conn: _write(conn, work))

    async def audit(self, brand: str, *, limit: int, before_seq: int | None) -> list[AuditEntry]:
        assert 1 <= limit <= AUDIT_LIMIT_MAX, limit
        bound = (1 << 63) - 1 if before_seq is None else before_seq

        def work(conn: sqlite3.Connection) -> list[AuditEntry]:
            rows = conn.execute(
                f"SELECT {_AUDIT_COLUMNS} FROM overlay_audit WHERE brand = ? AND seq < ? "
                "ORDER BY seq DESC LIMIT ?",
                (brand, bound, limit),
            )
            return [
                AuditEntry(seq, brand, at_us, actor, action, target, *map(orjson.loads, jsons))
                for seq, brand, at_us, actor, action, target, *jsons in rows
            ]

        return await self._call(work)

    async def sync_history(
        self, limit: int, *, instance: str | None = None
    ) -> list[SyncHistoryEntry]:
        """The syncs applied (those that changed nothing included), newest first."""
        assert 1 <= limit <= SYNC_HISTORY_LIMIT_MAX, limit

        def work(conn: sqlite3.Connection) -> list[SyncHistoryEntry]:
            where = "" if instance is None else "WHERE instance = ? "
            rows = conn.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM sync_history {where}ORDER BY seq DESC LIMIT ?",
                (limit,) if instance is None else (instance, limit),
            )
            return [_history_entry(*row) for row in rows]

        return await self._call(work)

    async def games_of(self, instance: str) -> dict[GameKey, Game]:
        """One instance's stored games, retired ones included (for tools and tests)."""

        def work(conn: sqlite3.Connection) -> dict[GameKey, Game]:
            rows = conn.execute("SELECT json FROM games WHERE instance = ?", (instance,))
            return {game.key: game for game in (loads_game(row[0]) for row in rows)}

        return await self._call(work)

    async def close(self) -> None:
        def work() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(work)
