"""What the relay reads from a wallet: its committed log after a seq, with what enrichment
needs, as plain data.

A wallet backend offers one `WalletLog` (the SQLite reader reads the file read-only,
`adapters/reporting/wallet_sqlite_reader.py`; the Redis reader reads the outbox streams,
`adapters/reporting/wallet_redis_reader.py`); `core.reporting.derive` turns a
`WalletBatch` into report events without asking anything else.

Where a read starts: the SQLite log is one sequence, so the reporting store's cursor
says it. The Redis log is one stream per hash-slot group, its seqs ordered within a
group only, so the relay also hands the reader the store's per-source `positions`
(`ReportingStore.positions`), and the batch says where each source it read now stands
(`WalletBatch.positions`), which the store writes with the events; the cursor is then
a high-water mark. Either way, one player's records come in the order they were
written.

The facts are what a record's events depend on beyond the record itself: who the
player is, which game a round plays, which record a reference names, and which bets a
credit without a reference settled (or, for a rollback of a win, whether the round
had settled the win's bet by then).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from core.model import TxKind, TxStatus
from core.wallet.records import TxRecord

__all__ = [
    "PlayerFacts",
    "RefFacts",
    "RoundFacts",
    "WalletBatch",
    "WalletLog",
    "needs_round_txs",
]


class PlayerFacts(NamedTuple):
    brand: str
    market: str
    """The player's jurisdiction."""
    currency: str
    """The wallet currency (a record without one is shown in it)."""


class RefFacts(NamedTuple):
    """The record stored under a key a credit or a rollback names."""

    seq: int
    kind: TxKind
    status: TxStatus
    """As read: only `refused` and `tombstone` (final at insert) may be relied on."""
    ref_tx_id: str | None = None
    """The key this record names in turn (a credit: the bet it settled), so a rollback
    of a credit can tell which bet the wallet reopens."""


class RoundFacts(NamedTuple):
    game_id: str
    settled_before_seq: int
    """The round's last round-level settlement (`RoundRecord.settled_before_seq`)."""
    bets: tuple[tuple[int, str], ...] = ()
    """(seq, tx_id) of the round's debits that were not refused, rolled back or a
    tombstone, ascending; listed only for rounds with a credit without a reference or a
    rollback in the batch, and only below the last of those records' seqs."""
    round_credits: tuple[tuple[int, str], ...] = ()
    """(seq, credit kind) of the round's stored credits without a reference, below the
    same bound, ascending: the candidates for round-level settlements."""


def needs_round_txs(r: TxRecord) -> bool:
    """Whether a reader lists `RoundFacts.bets` and `round_credits` for `r`'s round: a
    credit naming no bet (which bets it settled) or a rollback (whether the round
    settled the bet of the win it reverses, before the rollback)."""
    if r.status is TxStatus.REFUSED:
        return False
    return r.kind is TxKind.ROLLBACK or (r.kind is TxKind.CREDIT and r.ref_tx_id is None)


class WalletBatch(NamedTuple):
    records: Sequence[TxRecord]
    """The committed records after the cursor: SQLite, dense and in seq order; Redis, each
    group's in its stream order (seqs ascending within a group, not across groups)."""
    through_seq: int
    """The last seq read (the cursor itself when nothing new was committed); for a log
    with positions, the largest of the cursor and every seq read: a high-water mark."""
    last_seq: int
    """The wallet's last committed seq when the batch was read (Redis: the largest)."""
    next_at_us: int | None
    """When the first record after the batch was written; None when there is none."""
    players: Mapping[str, PlayerFacts]
    rounds: Mapping[tuple[str, str], RoundFacts]
    """(provider, round_id) -> the round, for every round a record names."""
    refs: Mapping[tuple[str, str], RefFacts]
    """(provider, tx_id) -> the record under every key a credit or rollback names, and
    under the key each such credit names in turn (the bet a rolled-back win settled)."""
    positions: Mapping[str, str] = {}
    """Where each source the batch read from now stands (source -> position), to be
    stored with its events; empty for a log without sources (SQLite)."""


class WalletLog(Protocol):
    """A wallet's committed log, read-only. Never writes, never blocks the wallet."""

    async def read(
        self, after_seq: int, seqs_max: int, positions: Mapping[str, str] | None = None
    ) -> WalletBatch:
        """Up to `seqs_max` committed records after `after_seq` (and, for a log with
        sources, after each source's position in `positions`: absent, its start), with
        their facts, as of one consistent snapshot."""
        ...

    def describe(self) -> str: ...

    async def close(self) -> None: ...
