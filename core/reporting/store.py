"""The port every reporting store implements (DuckDB embedded, PostgreSQL at scale).

One contract suite runs against each. The relay is the only writer of events: it reads
the wallet's log read-only and calls `apply` with the events of a range of seqs and the
seq the range ends at; the store writes the events (ignoring any it holds already, by
`(seq, part)`), updates its rollups and balances, and moves its cursor, all in one
transaction. After a crash the relay asks `cursor()` and goes on from there: reading is
at least once, the effect exactly once.

A wallet log read from several sources at once (the Redis wallet: one outbox stream per
hash-slot group, its seqs ordered within a group only) also keeps a position per source
(`positions()`), written by `apply` in the same transaction; its cursor is then a
high-water mark: the largest seq relayed, never going back, at or above every event's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Protocol

from core.reporting.events import ReportEvent, RequestRecord

__all__ = [
    "GGR_DIMENSIONS",
    "DaySum",
    "GgrQuery",
    "GgrRow",
    "OpenRound",
    "OpenRoundsQuery",
    "ReportingQueries",
    "ReportingStore",
    "ReportingStoreInUse",
]


class ReportingStoreInUse(Exception):
    """Another process holds a store that one process at a time may open (an embedded
    file): the caller can say who, and what to do instead."""


GGR_DIMENSIONS = ("day", "brand", "market", "provider", "game_id", "currency")
"""What a GGR report may be grouped by (currency is always among them)."""


@dataclass(frozen=True, slots=True)
class GgrQuery:
    first_day: date
    last_day: date
    """Inclusive, UTC days."""
    by: tuple[str, ...] = ("day", "brand", "market", "provider", "currency")
    """A subset of `GGR_DIMENSIONS`, in output order; `currency` is added if missing."""


class GgrRow(NamedTuple):
    keys: tuple[str, ...]
    """The values of the query's `by`, in its order (days as YYYY-MM-DD)."""
    bets: int
    stake_real_minor: int
    stake_bonus_minor: int
    win_real_minor: int
    win_bonus_minor: int
    rollback_real_minor: int
    """Money rollbacks gave the players (bets refunded less wins taken back)."""
    rollback_bonus_minor: int
    ggr_minor: int
    """Stakes less wins less what rollbacks gave back, real and bonus money."""
    ngr_minor: int
    """The same in real money alone: what bonus money paid is the operator's cost."""
    rounds: int
    """Rounds with a bet on the day."""
    active_players: int
    """Players with a bet in the group (exact)."""


@dataclass(frozen=True, slots=True)
class OpenRoundsQuery:
    stale_before_us: int
    """A round is listed when its newest open bet is at or before this instant (UTC us)."""
    provider: str = ""
    """One provider instance; '' for all."""
    rows_max: int = 10_000
    """At most this many rounds, the oldest first."""


class OpenRound(NamedTuple):
    """A round with open bets: no `rolled_back` event, and no `settled` event but one a
    later `reopened` event undoes."""

    provider: str
    round_id: str
    player_id: str
    brand: str
    market: str
    currency: str
    game_id: str
    open_bets: int
    first_bet_at_us: int
    last_bet_at_us: int
    stake_real_minor: int
    """What the open bets took from the player (positive)."""
    stake_bonus_minor: int


class DaySum(NamedTuple):
    """The sum of the players' deltas of one UTC day in one currency."""

    day: date
    currency: str
    real_minor: int
    bonus_minor: int


class ReportingQueries(Protocol):
    """What `gamegate serve` asks of reporting: write request records, read the reports
    its routes answer. Every store satisfies it, and so does the client of a store held
    by another process (`adapters.reporting.socket_client`): serve need not hold the
    store that the relay writes."""

    async def add_requests(self, requests: Sequence[RequestRecord]) -> None:
        """Append request records (no dedupe: a request is written once or dropped)."""
        ...

    async def ggr(self, query: GgrQuery) -> list[GgrRow]:
        """GGR and NGR grouped by `query.by`, ordered by the keys."""
        ...

    async def open_rounds(self, query: OpenRoundsQuery) -> list[OpenRound]:
        """Rounds with open bets, stale per `query`, ordered by provider, first bet, round
        (`ReportingStore.open_rounds` says how)."""
        ...

    def describe(self) -> str: ...

    async def close(self) -> None: ...


class ReportingStore(ReportingQueries, Protocol):
    async def cursor(self) -> int:
        """The last wallet seq whose events are all stored (0: none yet)."""
        ...

    async def positions(self) -> Mapping[str, str]:
        """The relay's position in each source of the wallet log (source -> position, as
        the reader wrote them; empty for a log the cursor alone describes)."""
        ...

    async def balances(
        self, keys: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[int, int]]:
        """(player_id, currency) -> (real, bonus) as of the cursor; absent: (0, 0)."""
        ...

    async def apply(
        self,
        events: Sequence[ReportEvent],
        through_seq: int,
        balances: Mapping[tuple[str, str], tuple[int, int]],
        positions: Mapping[str, str] | None = None,
    ) -> None:
        """Store `events` (already held ones ignored), update the daily rollups and the
        players' `balances` after them, set the cursor to `through_seq` and each source's
        position in `positions` (others kept): one transaction. `through_seq` never goes
        back."""
        ...

    async def add_requests(self, requests: Sequence[RequestRecord]) -> None:
        """Append request records (no dedupe: a request is written once or dropped)."""
        ...

    async def ggr(self, query: GgrQuery) -> list[GgrRow]:
        """GGR and NGR grouped by `query.by`, ordered by the keys."""
        ...

    async def open_rounds(self, query: OpenRoundsQuery) -> list[OpenRound]:
        """Rounds with open bets, stale per `query`, ordered by provider, first bet, round.

        An open bet is a `bet` event whose seq no `rolled_back` event names in `ref_seq`,
        and no `settled` event either, unless a `reopened` event of a later seq names it
        too (the win that settled it was rolled back). In SQL: `bet` events anti-joined
        (NOT EXISTS) to those events (the `settled` ones anti-joined to later `reopened`),
        grouped by (provider, round_id, player_id, brand, market, currency, game_id),
        `HAVING max(at_us) <= stale_before_us`, `LIMIT rows_max`. A full scan of the
        events: an offline follow-up list, not a dashboard."""
        ...

    async def day_sums(self, first_day: date, last_day: date) -> list[DaySum]:
        """`SELECT day, currency, sum(real_delta_minor), sum(bonus_delta_minor) FROM events
        WHERE day BETWEEN ? AND ? GROUP BY day, currency ORDER BY day, currency` (days
        inclusive, UTC): what reconciliation compares with the ledger's entries."""
        ...

    async def market_day_events(self, market: str, day: date) -> list[ReportEvent]:
        """Every event of `market` on the UTC `day`, ordered by (seq, part): `SELECT
        <the ReportEvent columns> FROM events WHERE market = ? AND day = ? ORDER BY seq,
        part`. The input of the regulator export (`core.reporting.export`)."""
        ...

    def describe(self) -> str: ...

    async def close(self) -> None: ...
