"""What both reporting stores check and compute the same way around their own I/O
(`adapters.reporting.duckdb_store`, `adapters.reporting.postgres_store`)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.reporting.events import ReportEvent, RequestRecord

__all__ = [
    "check_cursor_forward",
    "check_events_through",
    "known_balances",
    "request_rows",
    "utc_day",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_day(at_us: int) -> date:
    """The UTC day of a wallet time, computed exactly (no float seconds)."""
    return _day_number_to_date(at_us // _DAY_US)


_DAY_US = 86_400_000_000


@functools.lru_cache(maxsize=64)
def _day_number_to_date(day_number: int) -> date:
    """Days since the epoch as a date; cached, since a batch spans a day or two and a
    `timedelta` per record was most of the cost of writing a request record."""
    return (_EPOCH + timedelta(days=day_number)).date()


def check_events_through(events: Sequence[ReportEvent], through_seq: int) -> None:
    """`apply`'s precondition: no event past the cursor it moves to."""
    if any(event.seq > through_seq for event in events):
        raise ValueError(f"an event's seq is past through_seq {through_seq}")


def check_cursor_forward(current: int, through_seq: int) -> None:
    """Inside `apply`'s transaction: the cursor never goes back."""
    if through_seq < current:
        raise ValueError(
            f"the reporting cursor is at {current}: it cannot go back to {through_seq}"
        )


def known_balances(
    wanted: Sequence[tuple[str, str]], found: Iterable[tuple[Any, ...]]
) -> Mapping[tuple[str, str], tuple[int, int]]:
    """`balances`' answer from the stored rows (player, currency, real, bonus) found for
    `wanted`: a key without a row has (0, 0)."""
    stored = {(p, c): (real, bonus) for p, c, real, bonus in found}
    return {key: stored.get(key, (0, 0)) for key in wanted}


def request_rows(requests: Sequence[RequestRecord]) -> list[tuple[Any, ...]]:
    """The `requests` table's rows: each record with its UTC day after `at_us`."""
    return [(r.at_us, utc_day(r.at_us), *r[1:]) for r in requests]
