"""The request line's timestamps are the ones structlog writes on every other line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from gateway.logging import UtcStamps

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_YEAR_9999_NS = 253_402_300_799_999_999_000


def _structlog_stamp(epoch_ns: int) -> str:
    """`TimeStamper(fmt="iso", utc=True)`'s text for that instant."""
    return (_EPOCH + timedelta(microseconds=epoch_ns // 1_000)).isoformat().replace("+00:00", "Z")


@given(st.lists(st.integers(min_value=0, max_value=_YEAR_9999_NS), min_size=1, max_size=20))
@example([1_796_486_400_000_000_000, 1_796_486_400_000_001_999, 1_796_486_399_999_999_999])
@example([1_709_164_800_123_456_789])  # 2024-02-29, a leap day
def test_stamps_match_structlogs_iso_text_across_seconds(instants_ns: list[int]) -> None:
    stamps = UtcStamps()  # one instance: cached seconds and fresh ones alike
    for epoch_ns in instants_ns:
        assert stamps(epoch_ns) == _structlog_stamp(epoch_ns)


def test_a_whole_second_has_no_fraction_as_isoformat_writes_it() -> None:
    assert UtcStamps()(1_796_486_400_000_000_000) == "2026-12-05T16:00:00Z"
    assert UtcStamps()(1_796_486_400_000_001_000) == "2026-12-05T16:00:00.000001Z"
