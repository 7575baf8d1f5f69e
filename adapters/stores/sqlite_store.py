"""The embedded wallet store: SQLite in WAL mode, `synchronous=FULL`, group commit.

`SqliteWalletStore.open(path)` starts the writer thread; every call is queued to it
and answered only after the transaction that ran it is committed (fsynced). The
asyncio loop never waits on disk.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.stores.sqlite_files import prepare_private_files, tighten_private_files
from adapters.stores.sqlite_ledger import (
    DEFAULT_CACHE_LIMITS,
    CacheLimits,
    SqliteLedger,
)
from adapters.stores.sqlite_migrations import migrate
from adapters.stores.sqlite_schema import apply_pragmas, create_schema
from adapters.stores.sqlite_snapshot import SNAPSHOT_ROWS_MAX, SNAPSHOT_TXS_MIN
from adapters.stores.sqlite_writer import SqliteWriter
from core.errors import GatewayError, StorageUnavailable
from core.model import Balance, TxOutcome, WalletCommand
from core.wallet.figures import PlayFigures
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord
from core.wallet.store import DebitGuard, PlayerAuditEntry, PlayerChange, StoreStats

__all__ = ["SqliteWalletStore"]

DEFAULT_BATCH_OPS_MAX = 512
DEFAULT_QUEUE_DEPTH_MAX = 20_000


def wall_clock_us() -> int:
    return time.time_ns() // 1_000


class SqliteWalletStore:
    """`WalletStore` on one SQLite file. Use `await SqliteWalletStore.open(...)`."""

    def __init__(
        self, path: Path, writer: SqliteWriter, sessions_max: int, synchronous: str
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        self._writer = writer
        self._sessions_max = sessions_max
        self._ledger: SqliteLedger | None = None
        self._sessions: OrderedDict[str, SessionRecord] = OrderedDict()
        """Sessions as committed, by token. Most provider callbacks look their session up
        before the money command; this answers them without a trip through the writer.
        Only this store writes sessions, so the copy is current: creation adds, rotation
        drops (and `_session_epoch` keeps a lookup that raced a rotation out). Bounded
        like the writer's own session cache."""
        self._session_epoch = 0

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        synchronous: str = "FULL",
        batch_ops_max: int = DEFAULT_BATCH_OPS_MAX,
        queue_depth_max: int = DEFAULT_QUEUE_DEPTH_MAX,
        commit_delay_s: float = 0.0,
        clock_us: Callable[[], int] = wall_clock_us,
        snapshot_txs_min: int = SNAPSHOT_TXS_MIN,
        snapshot_rows_max: int = SNAPSHOT_ROWS_MAX,
        cache_limits: CacheLimits = DEFAULT_CACHE_LIMITS,
    ) -> SqliteWalletStore:
        path = Path(path)
        prepare_private_files(path)

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, cached_statements=256
            )
            apply_pragmas(conn, synchronous=synchronous)
            tighten_private_files(path)  # the WAL and -shm exist now (SQLite gives them 0600)
            return conn

        writer = SqliteWriter(
            connect,
            batch_ops_max=batch_ops_max,
            queue_depth_max=queue_depth_max,
            commit_delay_s=commit_delay_s,
        )
        store = cls(path, writer, cache_limits.sessions, synchronous)

        def setup(conn: sqlite3.Connection) -> None:
            migrate(conn)
            create_schema(conn)
            store._ledger = SqliteLedger(
                conn, clock_us, snapshot_txs_min, snapshot_rows_max, cache_limits
            )

        await writer.start(setup)
        writer.flush = store.ledger.flush
        writer.on_batch_failed = store._reload
        writer.after_batch = store.ledger.trim_caches
        writer.prefetch = store.ledger.prefetch
        return store

    def _reload(self) -> None:
        ledger = self._ledger
        assert ledger is not None
        with contextlib.suppress(sqlite3.Error):  # the next batch fails too and reports it
            ledger.reload()

    @property
    def ledger(self) -> SqliteLedger:
        assert self._ledger is not None
        return self._ledger

    def stats(self) -> StoreStats:
        writer = self._writer
        return StoreStats(
            writer.commits, writer.ops, writer.queue_depth, writer.commit_durations.snapshot()
        )

    def describe(self) -> str:
        return f"sqlite {self.path}, synchronous={self.synchronous}"

    async def apply(
        self,
        commands: Sequence[WalletCommand],
        *,
        refusal: GatewayError | None = None,
        guard: DebitGuard | None = None,
    ) -> list[TxOutcome]:
        assert commands, "nothing to apply"
        result = await self._writer.submit(
            self.ledger.apply_or_refuse, (commands, refusal, guard), prefetch=commands
        )
        if isinstance(result, GatewayError):
            try:
                raise result  # a refusal, stored in the batch that committed before this answer
            finally:
                del result  # this frame, in the traceback, must not hold the error: a cycle
        assert isinstance(result, list)
        return result

    async def create_player(self, player: PlayerRecord) -> PlayerRecord:
        result = await self._writer.submit(self.ledger.create_player, (player,))
        assert isinstance(result, PlayerRecord)
        return result

    async def get_player(self, player_id: str) -> PlayerRecord | None:
        result = await self._writer.submit(self.ledger.player, (player_id,), writes=False)
        assert result is None or isinstance(result, PlayerRecord)
        return result

    async def change_player(
        self, player_id: str, change: PlayerChange, *, actor: str, why: str
    ) -> PlayerRecord:
        result = await self._writer.submit(
            self.ledger.change_player, (player_id, change, actor, why)
        )
        assert isinstance(result, PlayerRecord)
        return result

    async def player_audit(
        self, player_id: str, *, limit: int, before_seq: int | None = None
    ) -> list[PlayerAuditEntry]:
        assert 1 <= limit <= 1_000
        result = await self._writer.submit(
            self.ledger.player_audit, (player_id, limit, before_seq), writes=False
        )
        assert isinstance(result, list)
        return result

    async def figures(self, player_id: str) -> PlayFigures:
        result = await self._writer.submit(self.ledger.figures, (player_id,), writes=False)
        assert isinstance(result, PlayFigures)
        return result

    async def balance(self, player_id: str, currency: str | None = None) -> Balance:
        result = await self._writer.submit(
            self.ledger.balance_of, (player_id, currency), writes=False
        )
        assert isinstance(result, Balance)
        return result

    async def create_session(self, session: SessionRecord) -> None:
        await self._writer.submit(self.ledger.create_session, (session,))
        self._remember_session(session)

    async def rotate_session(self, old_token: str, new: SessionRecord) -> None:
        self._session_epoch += 1
        self._sessions.pop(old_token, None)  # its expiry changes: read it back when needed
        try:
            await self._writer.submit(self.ledger.rotate_session, (old_token, new))
        finally:
            self._session_epoch += 1
            self._sessions.pop(old_token, None)

    async def get_session(self, token: str) -> SessionRecord | None:
        cached = self._sessions.get(token)
        if cached is not None:
            return cached
        epoch = self._session_epoch
        result: SessionRecord | None = await self._writer.submit(
            self.ledger.session, (token,), writes=False
        )
        assert result is None or isinstance(result, SessionRecord)
        if result is not None and epoch == self._session_epoch:
            self._remember_session(result)
        return result

    def _remember_session(self, session: SessionRecord) -> None:
        self._sessions[session.token] = session
        if len(self._sessions) > self._sessions_max:
            self._sessions.popitem(last=False)

    async def transactions(
        self, player_id: str, *, limit: int, before_seq: int | None = None
    ) -> list[TxRecord]:
        assert 1 <= limit <= 1_000
        result = await self._writer.submit(
            self.ledger.transactions, (player_id, limit, before_seq), writes=False
        )
        assert isinstance(result, list)
        return result

    async def get_round(self, provider: str, round_id: str) -> RoundRecord | None:
        result = await self._writer.submit(self.ledger.round, (provider, round_id), writes=False)
        assert result is None or isinstance(result, RoundRecord)
        return result

    async def round_transactions(self, provider: str, round_id: str) -> list[TxRecord]:
        result = await self._writer.submit(
            self.ledger.round_transactions, (provider, round_id), writes=False
        )
        assert isinstance(result, list)
        return result

    async def ping(self) -> None:
        try:
            await self._writer.submit(self.ledger.check_open, writes=False)
        except StorageUnavailable:
            raise
        except Exception as exc:
            raise StorageUnavailable("wallet store is not available") from exc

    async def close(self) -> None:
        await self._writer.stop()
