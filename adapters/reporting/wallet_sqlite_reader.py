"""The SQLite wallet's committed log, read through a read-only connection.

The wallet file has one writer (the gateway's writer thread); this reader never writes
(`mode=ro`), and WAL lets it read a consistent snapshot while the writer commits. Each
`read` is one short read transaction (a long one would hold back the writer's
checkpoints): the outbox says which seqs are committed (its events tile the log, the
last one ends at the last committed seq), then the `txs` rows of the next seqs and the
facts their events need (players, rounds, referenced records and the bets referenced
credits named, a round's bets and credits naming no bet), each by an indexed lookup,
`IN` lists chunked under SQLite's limit of bound variables. The queries run on a worker
thread: the event loop (the bet path) never waits for them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path

from adapters.stores.sqlite_prefetch import select_in
from adapters.stores.sqlite_schema import SCHEMA_VERSION, TX_COLUMNS, schema_version, tx_from_row
from core.model import TxKind, TxStatus
from core.reporting.wallet_log import (
    PlayerFacts,
    RefFacts,
    RoundFacts,
    WalletBatch,
    needs_round_txs,
)
from core.wallet.records import TxRecord

__all__ = ["SqliteWalletLog", "WalletLogGap"]

_LAST_COMMITTED = "SELECT last_seq FROM outbox ORDER BY event_id DESC LIMIT 1"
_SELECT_RECORDS = f"SELECT {TX_COLUMNS} FROM txs WHERE seq > ? AND seq <= ? ORDER BY seq"
_SELECT_AT = "SELECT created_at_us FROM txs WHERE seq = ?"
_SELECT_PLAYERS = (
    "SELECT player_id, brand, jurisdiction, currency FROM players WHERE player_id IN ({marks})"
)
_SELECT_ROUNDS = (
    "SELECT round_id, game_id, settled_before_seq FROM rounds "
    "WHERE provider = ? AND round_id IN ({marks})"
)
_SELECT_REFS = (
    "SELECT tx_id, seq, kind, status, ref_tx_id FROM txs WHERE provider = ? AND tx_id IN ({marks})"
)
_SELECT_ROUND_TXS = (
    "SELECT seq, tx_id, kind, status, ref_tx_id, detail FROM txs "
    "WHERE provider = ? AND round_id = ? AND seq < ? ORDER BY seq"
)
_LIVE_BET = (TxStatus.APPLIED.value, TxStatus.SETTLED.value)
"""A debit's statuses while it stands (a settled bet can no longer be rolled back)."""


class WalletLogGap(RuntimeError):
    """Committed seqs missing from the log: never skipped, the relay stops there."""


class SqliteWalletLog:
    """`WalletLog` on a wallet file. Use `await SqliteWalletLog.open(path)`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    @classmethod
    async def open(cls, path: Path) -> SqliteWalletLog:
        """`sqlite3.OperationalError` when there is no wallet file (yet), `RuntimeError`
        for one of another schema version (the gateway migrates it when it opens it)."""
        return cls(path, await asyncio.to_thread(_connect, path))

    def describe(self) -> str:
        return f"sqlite {self.path} (read-only)"

    async def read(
        self, after_seq: int, seqs_max: int, positions: Mapping[str, str] | None = None
    ) -> WalletBatch:
        """`positions` is not used: one sequence, the cursor says where it stands."""
        assert seqs_max >= 1
        return await asyncio.to_thread(self._read, after_seq, seqs_max)

    async def close(self) -> None:
        await asyncio.to_thread(self._conn.close)

    def _read(self, after_seq: int, seqs_max: int) -> WalletBatch:
        conn = self._conn
        conn.execute("BEGIN")
        try:
            return _read_batch(conn, after_seq, seqs_max)
        finally:
            conn.execute("COMMIT")  # ends the read transaction: the snapshot goes


def _connect(path: Path) -> sqlite3.Connection:
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        version = schema_version(conn)
        if version != SCHEMA_VERSION:
            raise RuntimeError(
                f"wallet schema version {version}, this build reads {SCHEMA_VERSION}"
            )
    except BaseException:
        conn.close()
        raise
    return conn


def _read_batch(conn: sqlite3.Connection, after_seq: int, seqs_max: int) -> WalletBatch:
    row = conn.execute(_LAST_COMMITTED).fetchone()
    last_seq = 0 if row is None else int(row[0])
    through_seq = min(after_seq + seqs_max, last_seq)
    if through_seq <= after_seq:
        return WalletBatch((), after_seq, last_seq, None, {}, {}, {})
    records = [tx_from_row(row) for row in conn.execute(_SELECT_RECORDS, (after_seq, through_seq))]
    if len(records) != through_seq - after_seq:
        raise WalletLogGap(
            f"the outbox names seqs {after_seq + 1}-{through_seq} as committed, "
            f"but the log holds {len(records)} of them"
        )
    following = conn.execute(_SELECT_AT, (through_seq + 1,)).fetchone()
    return WalletBatch(
        records,
        through_seq,
        last_seq,
        None if following is None else following[0],
        _players(conn, {r.player_id for r in records}),
        _rounds(conn, records),
        _refs(conn, records),
    )


def _players(conn: sqlite3.Connection, player_ids: set[str]) -> dict[str, PlayerFacts]:
    rows = select_in(conn, _SELECT_PLAYERS, sorted(player_ids))
    return {player_id: PlayerFacts(brand, market, currency)
            for player_id, brand, market, currency in rows}  # fmt: skip


def _rounds(conn: sqlite3.Connection, records: list[TxRecord]) -> dict[tuple[str, str], RoundFacts]:
    """Every round the records name; for rounds with a credit naming no bet or a
    rollback, also the round's bets and credits naming no bet up to the last of them."""
    keys = {(r.provider, r.round_id) for r in records if r.round_id is not None}
    rounds: dict[tuple[str, str], RoundFacts] = {}
    for provider, round_ids in _by_provider(keys).items():
        for round_id, game_id, settled_before in select_in(
            conn, _SELECT_ROUNDS, round_ids, (provider,)
        ):
            rounds[(provider, round_id)] = RoundFacts(game_id, settled_before)
    bounds: dict[tuple[str, str], int] = {}
    for r in records:
        if needs_round_txs(r) and r.round_id is not None:
            bounds[(r.provider, r.round_id)] = r.seq + 1
    for key, bound in bounds.items():
        known = rounds.get(key)
        if known is not None:
            bets, credits = _round_txs(conn, *key, bound)
            rounds[key] = known._replace(bets=bets, round_credits=credits)
    return rounds


def _round_txs(
    conn: sqlite3.Connection, provider: str, round_id: str, below_seq: int
) -> tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]:
    """The round's standing bets and its credits naming no bet, below `below_seq`
    (through the `txs_by_round` index)."""
    bets: list[tuple[int, str]] = []
    credits: list[tuple[int, str]] = []
    for seq, tx_id, kind, status, ref_tx_id, detail in conn.execute(
        _SELECT_ROUND_TXS, (provider, round_id, below_seq)
    ):
        if kind == TxKind.DEBIT.value and status in _LIVE_BET:
            bets.append((seq, tx_id))
        elif kind == TxKind.CREDIT.value and ref_tx_id is None and status != TxStatus.REFUSED:
            credits.append((seq, detail))
    return tuple(bets), tuple(credits)


def _refs(conn: sqlite3.Connection, records: list[TxRecord]) -> dict[tuple[str, str], RefFacts]:
    keys = {
        (r.provider, r.ref_tx_id)
        for r in records
        if r.ref_tx_id is not None
        and r.kind in (TxKind.CREDIT, TxKind.ROLLBACK)
        and r.status is not TxStatus.REFUSED
    }
    refs = _select_refs(conn, keys)
    named = {
        (provider, ref.ref_tx_id)
        for (provider, _), ref in refs.items()
        if ref.kind is TxKind.CREDIT and ref.ref_tx_id is not None
    }
    return {**_select_refs(conn, named - refs.keys()), **refs}


def _select_refs(
    conn: sqlite3.Connection, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], RefFacts]:
    refs: dict[tuple[str, str], RefFacts] = {}
    for provider, tx_ids in _by_provider(keys).items():
        for tx_id, seq, kind, status, ref_tx_id in select_in(
            conn, _SELECT_REFS, tx_ids, (provider,)
        ):
            refs[(provider, tx_id)] = RefFacts(seq, TxKind(kind), TxStatus(status), ref_tx_id)
    return refs


def _by_provider(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for provider, key in sorted(keys):
        grouped.setdefault(provider, []).append(key)
    return grouped
