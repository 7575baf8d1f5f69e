"""GGR and open rounds from the store equal the same computed in plain Python from the
same events, for random histories applied in random batches with random crash replays.

A history is played on a small model of the wallet's log: bets (real and bonus money,
several per round), wins that settle them, rollbacks of bets and of wins (a win's
rollback reopens the bet it settled), resettlements (a win rolled back, then paid
again), refusals, tombstones and deposits, for players of several brands, markets and
currencies, over a few days. The oracles (`tests.reporting.events.expected_ggr`,
`expected_open_rounds`) share nothing with the store's SQL.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.reporting.events import EventKind, ReportEvent
from core.reporting.store import GGR_DIMENSIONS, GgrQuery, OpenRoundsQuery
from tests.reporting.events import DAY0, at_us, event, expected_ggr, expected_open_rounds
from tests.reporting.stores import STORES, ReportingStoreFactory

K = EventKind
PLAYERS = [("p0", "brand-a", "MT"), ("p1", "brand-b", "SE"), ("p2", "brand-a", "GB")]
PROVIDERS = ["prov-a", "prov-b"]
GAMES = ["g1", "g2"]
CURRENCIES = ["EUR", "SEK"]
DAYS_MAX = 4
OPS = ["bet", "bet", "bet", "win", "win", "rollback_bet", "rollback_win", "resettle",
       "refusal", "tombstone", "deposit"]  # fmt: skip


@dataclass
class Log:
    """The wallet's log as the relay would report it, built one operation at a time."""

    events: list[ReportEvent] = field(default_factory=list)
    seq: int = 0
    day: int = 0
    bets: list[ReportEvent] = field(default_factory=list)
    wins: list[ReportEvent] = field(default_factory=list)
    settled_by: dict[int, ReportEvent] = field(default_factory=dict)
    """A win's seq -> the bet it settled."""

    def add(
        self, kind: EventKind, like: ReportEvent | None = None, /, **fields: Any
    ) -> ReportEvent:
        """A new seq's record (`like`: copy the player, game and round of that event)."""
        self.seq += 1
        when = at_us(DAY0 + timedelta(days=self.day), 86_000 + self.seq)  # near midnight
        base = {} if like is None else _context(like)
        made = event(self.seq, kind, at_us=when, **{**base, **fields})
        self.events.append(made)
        return made

    def change(self, kind: EventKind, record: ReportEvent, ref: ReportEvent, part: int = 1) -> None:
        """A state change `record` caused in `ref`'s record: `part` of its seq."""
        self.events.append(
            event(record.seq, kind, part=part, at_us=record.at_us, ref_seq=ref.seq,
                  **_context(ref))
        )  # fmt: skip


def _context(like: ReportEvent) -> dict[str, Any]:
    names = ("player_id", "brand", "market", "currency", "provider", "game_id", "round_id")
    return {name: getattr(like, name) for name in names}


Op = tuple[str, int, int, int, int, int, int, int, bool]


def play(ops: list[Op]) -> list[ReportEvent]:
    log = Log()
    for name, player, provider, game, currency, real, bonus, pick, next_day in ops:
        if next_day and log.day < DAYS_MAX:
            log.day += 1
        player_id, brand, market = PLAYERS[player]
        who = {"player_id": player_id, "brand": brand, "market": market,
               "currency": CURRENCIES[currency]}  # fmt: skip
        if name == "bet":
            previous = [b for b in log.bets if b.player_id == player_id]
            round_id = previous[-1].round_id if previous and pick % 2 else f"r{log.seq + 1}"
            log.bets.append(
                log.add(K.BET, **who, provider=PROVIDERS[provider], game_id=GAMES[game],
                        round_id=round_id, real_delta_minor=-real, bonus_delta_minor=-bonus)
            )  # fmt: skip
        elif name in ("win", "rollback_bet") and log.bets:
            bet = log.bets[pick % len(log.bets)]
            if name == "win":
                win = log.add(K.WIN, bet, real_delta_minor=real, bonus_delta_minor=bonus)
                log.wins.append(win)
                log.settled_by[win.seq] = bet
                log.change(K.SETTLED, win, bet)
            else:
                back = log.add(K.ROLLBACK, bet, game_id="", real_delta_minor=-bet.real_delta_minor,
                               bonus_delta_minor=-bet.bonus_delta_minor)  # fmt: skip
                log.change(K.ROLLED_BACK, back, bet)
        elif name in ("rollback_win", "resettle") and log.wins:
            win = log.wins[pick % len(log.wins)]
            back = log.add(K.ROLLBACK, win, game_id="", real_delta_minor=-win.real_delta_minor,
                           bonus_delta_minor=-win.bonus_delta_minor)  # fmt: skip
            log.change(K.ROLLED_BACK, back, win)
            if win.seq in log.settled_by:
                log.change(K.REOPENED, back, log.settled_by[win.seq], part=2)
            if name == "resettle":
                log.wins.append(log.add(K.WIN, win, real_delta_minor=real // 2, detail="win"))
        elif name == "refusal":
            log.add(K.REFUSAL, **who, provider=PROVIDERS[provider], game_id=GAMES[game],
                    amount_minor=real, reason="insufficient_funds")  # fmt: skip
        elif name == "tombstone":
            log.add(K.ROLLBACK, **who, provider=PROVIDERS[provider], game_id="", detail="tombstone")
        elif name == "deposit":
            log.add(K.DEPOSIT, **who, provider="_cashier", game_id="", round_id="",
                    real_delta_minor=real)  # fmt: skip
    return log.events


ops_lists = st.lists(
    st.tuples(
        st.sampled_from(OPS),
        st.integers(0, len(PLAYERS) - 1),
        st.integers(0, len(PROVIDERS) - 1),
        st.integers(0, len(GAMES) - 1),
        st.integers(0, len(CURRENCIES) - 1),
        st.integers(0, 5_000),
        st.sampled_from([0, 0, 0, 1, 250]),
        st.integers(0, 1_000),
        st.sampled_from([False, False, False, False, True]),
    ),
    min_size=1,
    max_size=60,
)


@dataclass(frozen=True)
class Batch:
    seqs_cut_after: int
    """How many more seqs this batch holds (at least one)."""
    overlap: int
    """Events already applied, relayed again at the batch's head (a crash replay)."""
    again: bool
    """The whole batch applied a second time with the same `through_seq`."""


batches = st.lists(
    st.builds(Batch, st.integers(1, 12), st.integers(0, 8), st.booleans()), min_size=1
)
groupings = st.lists(st.sampled_from(GGR_DIMENSIONS), unique=True, max_size=6).map(tuple)
day_ranges = st.tuples(st.integers(0, DAYS_MAX + 1), st.integers(0, DAYS_MAX + 1))


async def apply_in_batches(
    factory: ReportingStoreFactory,
    directory: Path,
    events: list[ReportEvent],
    plan: list[Batch],
    queries: list[GgrQuery],
) -> None:
    seqs = sorted({e.seq for e in events})
    async with factory(directory) as store:
        done = 0
        applied: list[ReportEvent] = []
        for batch in plan * (1 + len(seqs)):  # the plan repeats until every seq is in
            if done == len(seqs):
                break
            through = seqs[min(done + batch.seqs_cut_after, len(seqs)) - 1]
            fresh = [e for e in events if seqs[done] <= e.seq <= through]
            replayed = applied[max(0, len(applied) - batch.overlap) :] if batch.overlap else []
            await store.apply(replayed + fresh, through, {})
            if batch.again:
                await store.apply(replayed + fresh, through, {})
            applied += fresh
            done = seqs.index(through) + 1
        assert await store.cursor() == seqs[-1]
        for query in queries:
            assert await store.ggr(query) == expected_ggr(events, query), query
        every = OpenRoundsQuery(stale_before_us=2**62, rows_max=1_000)
        assert await store.open_rounds(every) == expected_open_rounds(events)


@pytest.mark.parametrize("factory", STORES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=ops_lists,
    plan=batches,
    by=st.lists(groupings, min_size=1, max_size=4),
    ranges=st.lists(day_ranges, min_size=1, max_size=3),
)
def test_ggr_equals_plain_python(
    factory: ReportingStoreFactory,
    ops: list[Op],
    plan: list[Batch],
    by: list[tuple[str, ...]],
    ranges: list[tuple[int, int]],
) -> None:
    events = play(ops)
    if not events:
        return
    queries = [
        GgrQuery(_day(first), _day(last), grouping)
        for grouping in [*by, ("day", "brand", "market", "provider", "currency")]
        for first, last in [*ranges, (0, DAYS_MAX)]
    ]
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(apply_in_batches(factory, Path(directory), events, plan, queries))


def _day(offset: int) -> date:
    return DAY0 + timedelta(days=offset)
