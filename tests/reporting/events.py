"""Report events for tests, and GGR computed from them in plain Python.

`expected_ggr` and `expected_open_rounds` are the suite's independent oracles: they read
the event list, never a store's tables or SQL, and apply the definitions in
`core.reporting.store` (`GgrRow`, `OpenRound`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.reporting.events import GAME_KINDS, EventKind, ReportEvent
from core.reporting.store import GgrQuery, GgrRow, OpenRound

__all__ = ["DAY0", "at_us", "event", "expected_ggr", "expected_open_rounds"]

DAY0 = date(2026, 12, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at_us(day: date, second: int = 0) -> int:
    """Microseconds since the epoch at `second` past UTC midnight of `day`."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return (midnight - _EPOCH) // timedelta(microseconds=1) + second * 1_000_000


def event(seq: int, kind: EventKind, **fields: Any) -> ReportEvent:
    """An event with plausible defaults for what the test does not name."""
    values: dict[str, Any] = {
        "seq": seq,
        "part": 0,
        "at_us": at_us(DAY0, seq),
        "kind": kind,
        "player_id": "p1",
        "brand": "brand-a",
        "market": "MT",
        "currency": "EUR",
        "provider": "prov-a",
        "tx_id": f"tx-{seq}",
        "game_id": "game-1",
        "vertical": "slots",
        "round_id": f"round-{seq}",
        "amount_minor": 0,
        "real_delta_minor": 0,
        "bonus_delta_minor": 0,
        "real_after_minor": 0,
        "bonus_after_minor": 0,
        "reason": "",
        "detail": "",
        "ref_seq": None,
    }
    values.update(fields)
    return ReportEvent(**values)


def _key(event: ReportEvent, by: tuple[str, ...]) -> tuple[str, ...]:
    day = (_EPOCH + timedelta(microseconds=event.at_us)).date().isoformat()
    values = {
        "day": day,
        "brand": event.brand,
        "market": event.market,
        "provider": event.provider,
        "game_id": event.game_id,
        "currency": event.currency,
    }
    return tuple(values[name] for name in by)


def expected_ggr(events: Iterable[ReportEvent], query: GgrQuery) -> list[GgrRow]:
    """GGR by the definitions, from the events (each `(seq, part)` counted once)."""
    by = query.by if "currency" in query.by else (*query.by, "currency")
    unique = {(e.seq, e.part): e for e in events}
    sums: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * 7)
    rounds: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    players: dict[tuple[str, ...], set[str]] = defaultdict(set)
    first, last = query.first_day.isoformat(), query.last_day.isoformat()
    for e in unique.values():
        if e.kind not in GAME_KINDS:
            continue
        (day,) = _key(e, ("day",))
        if not first <= day <= last:
            continue
        key = _key(e, by)
        row = sums[key]
        real, bonus = e.real_delta_minor, e.bonus_delta_minor
        if e.kind is EventKind.BET:
            row[0] += 1
            row[1] -= real
            row[2] -= bonus
            round_key = _key(e, ("day", "brand", "market", "provider", "game_id", "currency"))
            rounds[key].add((*round_key, e.round_id))
            players[key].add(e.player_id)
        elif e.kind is EventKind.WIN:
            row[3] += real
            row[4] += bonus
        else:
            row[5] += real
            row[6] += bonus
    rows = []
    for key in sorted(sums):
        bets, stake_real, stake_bonus, win_real, win_bonus, back_real, back_bonus = sums[key]
        rows.append(
            GgrRow(
                keys=key,
                bets=bets,
                stake_real_minor=stake_real,
                stake_bonus_minor=stake_bonus,
                win_real_minor=win_real,
                win_bonus_minor=win_bonus,
                rollback_real_minor=back_real,
                rollback_bonus_minor=back_bonus,
                ggr_minor=stake_real + stake_bonus - win_real - win_bonus - back_real - back_bonus,
                ngr_minor=stake_real - win_real - back_real,
                rounds=len(rounds[key]),
                active_players=len(players[key]),
            )
        )
    return rows


def expected_open_rounds(events: Iterable[ReportEvent]) -> list[OpenRound]:
    """Every round with open bets, however fresh: a bet is open when nothing rolled it
    back and its last `settled`/`reopened` event by seq, if any, is `reopened`."""
    unique = {(e.seq, e.part): e for e in events}
    rolled_back = {e.ref_seq for e in unique.values() if e.kind is EventKind.ROLLED_BACK}
    last_change: dict[int | None, tuple[int, EventKind]] = {}
    for e in sorted(unique.values()):
        if e.kind in (EventKind.SETTLED, EventKind.REOPENED):
            last_change[e.ref_seq] = (e.seq, e.kind)
    groups: dict[tuple[str, str, str, str, str, str, str], list[ReportEvent]] = defaultdict(list)
    for e in unique.values():
        if e.kind is not EventKind.BET or e.seq in rolled_back:
            continue
        if last_change.get(e.seq, (0, EventKind.REOPENED))[1] is EventKind.SETTLED:
            continue
        key = (e.provider, e.round_id, e.player_id, e.brand, e.market, e.currency, e.game_id)
        groups[key].append(e)
    rows = [
        OpenRound(
            *key,
            len(bets),
            min(b.at_us for b in bets),
            max(b.at_us for b in bets),
            -sum(b.real_delta_minor for b in bets),
            -sum(b.bonus_delta_minor for b in bets),
        )
        for key, bets in groups.items()
    ]
    return sorted(rows, key=lambda r: (r.provider, r.first_bet_at_us, r.round_id, r.player_id))
