"""Durations counted in buckets where the metrics library is not (a store's writer)."""

from __future__ import annotations

import pytest

from core.duration_buckets import DurationBuckets


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [(0.0, 0), (0.001, 0), (0.001_000_1, 1), (0.01, 1), (0.011, 2), (1.0, 2), (1.5, 3)],
)
def test_a_duration_lands_in_the_first_bucket_whose_bound_it_does_not_exceed(
    seconds: float, bucket: int
) -> None:
    durations = DurationBuckets((0.001, 0.01, 1.0))
    durations.observe(seconds)
    counts = durations.snapshot().counts
    assert counts == tuple(1 if index == bucket else 0 for index in range(4))


def test_the_snapshot_keeps_the_sum_and_later_observations_do_not_change_it() -> None:
    durations = DurationBuckets((0.001, 0.01))
    durations.observe(0.002)
    durations.observe(0.003)
    taken = durations.snapshot()
    durations.observe(5.0)
    assert taken.total == 2
    assert taken.sum_s == pytest.approx(0.005)
    assert durations.snapshot().counts == (0, 2, 1)


def test_timing_counts_a_block_that_raised() -> None:
    durations = DurationBuckets((0.001,))
    with pytest.raises(RuntimeError), durations.timing():
        raise RuntimeError("the commit failed")
    assert durations.snapshot().total == 1


def test_bounds_must_increase() -> None:
    with pytest.raises(AssertionError):
        DurationBuckets((0.01, 0.001))
