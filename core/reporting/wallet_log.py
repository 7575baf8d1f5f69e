"""What the relay reads from a wallet: its committed log after a seq, with what enrichment
needs, as plain data.

A wallet backend offers one `WalletLog` (the SQLite reader reads the file read-only,
`adapters/reporting/wallet_sqlite_reader.py`; a Redis reader of the outbox streams is
the next backend); `core.reporting.derive` turns a `WalletBatch` into report events
without asking anything else. The facts are what a record's events depend on beyond the
record itself: who the player is, which game a round plays, which record a reference
names, and which bets a credit without a reference settled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from core.model import TxKind, TxStatus
from core.wallet.records import TxRecord

__all__ = ["PlayerFacts", "RefFacts", "RoundFacts", "WalletBatch", "WalletLog"]


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


class RoundFacts(NamedTuple):
    game_id: str
    settled_before_seq: int
    """The round's last round-level settlement (`RoundRecord.settled_before_seq`)."""
    bets: tuple[tuple[int, str], ...] = ()
    """(seq, tx_id) of the round's debits that were not refused, rolled back or a
    tombstone, ascending; listed only for rounds with a credit without a reference in
    the batch, and only below the last of those credits' seqs."""
    round_credits: tuple[tuple[int, str], ...] = ()
    """(seq, credit kind) of the round's stored credits without a reference, below the
    same bound, ascending: the candidates for round-level settlements."""


class WalletBatch(NamedTuple):
    records: Sequence[TxRecord]
    """The committed records after the cursor, dense and in seq order."""
    through_seq: int
    """The last seq read (the cursor itself when nothing new was committed)."""
    last_seq: int
    """The wallet's last committed seq when the batch was read."""
    next_at_us: int | None
    """When the first record after the batch was written; None when there is none."""
    players: Mapping[str, PlayerFacts]
    rounds: Mapping[tuple[str, str], RoundFacts]
    """(provider, round_id) -> the round, for every round a record names."""
    refs: Mapping[tuple[str, str], RefFacts]
    """(provider, tx_id) -> the record under every key a credit or rollback names."""


class WalletLog(Protocol):
    """A wallet's committed log, read-only. Never writes, never blocks the wallet."""

    async def read(self, after_seq: int, seqs_max: int) -> WalletBatch:
        """Up to `seqs_max` committed records after `after_seq`, with their facts, as of
        one consistent snapshot."""
        ...

    def describe(self) -> str: ...

    async def close(self) -> None: ...
