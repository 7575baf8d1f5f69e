"""The request stream's queue and writer, against a fake store: drops counted when the
queue is full, `record` never waiting, batches written on size and on time, a failing
store counted while the writer goes on, the rest written at close, and the metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from structlog.testing import capture_logs

from core.reporting.events import RequestRecord
from gateway import request_stream
from gateway.request_stream import RequestStream, RequestStreamCollector

WAIT_S = 2.0


class FakeWrites:
    """`add_requests` that keeps each batch; it fails while `failing`, waits while `held`."""

    def __init__(self) -> None:
        self.batches: list[list[RequestRecord]] = []
        self.failing = False
        self.held = asyncio.Event()
        self.held.set()
        self.arrived = asyncio.Event()

    async def __call__(self, records: Sequence[RequestRecord]) -> None:
        await self.held.wait()
        if self.failing:
            self.arrived.set()
            raise RuntimeError("reporting store down")
        self.batches.append(list(records))
        self.arrived.set()

    async def next_batch(self) -> None:
        async with asyncio.timeout(WAIT_S):
            await self.arrived.wait()
        self.arrived.clear()

    @property
    def written(self) -> list[str]:
        return [record.request_id for batch in self.batches for record in batch]


def _stream(
    queue_max: int = 100, batch_max: int = 10, flush_interval_s: float = 60.0
) -> RequestStream:
    return RequestStream(
        lambda: 1_800_000_000_000_000,
        queue_max=queue_max,
        batch_max=batch_max,
        flush_interval_s=flush_interval_s,
    )


def _record(stream: RequestStream, request_id: str) -> None:
    stream.record(
        request_id, "POST", "/providers/{instance}/{tail}", "acme", "bet", "ok", 200, 1_250, "p1"
    )


def test_a_record_carries_its_values_and_the_time_it_was_made() -> None:
    stream = _stream()
    _record(stream, "r-1")
    assert list(stream._queue) == [
        RequestRecord(
            1_800_000_000_000_000, "r-1", "POST", "/providers/{instance}/{tail}", "acme", "bet",
            "ok", 200, 1_250, "p1",
        )
    ]  # fmt: skip


def test_a_full_queue_drops_and_counts_without_waiting() -> None:
    stream = _stream(queue_max=3)
    for index in range(5):
        _record(stream, f"r-{index}")  # no writer at all: nothing ever empties the queue
    assert stream.queued == 3
    assert [record.request_id for record in stream._queue] == ["r-0", "r-1", "r-2"]
    assert stream.dropped == {"queue_full": 2, "store_failed": 0, "closed": 0, "no_store": 0}


async def test_a_stuck_store_never_holds_up_record() -> None:
    writes = FakeWrites()
    writes.held.clear()
    stream = _stream(queue_max=5, batch_max=2)
    async with stream.writing(writes):
        for index in range(20):
            _record(stream, f"r-{index}")
        await asyncio.sleep(0)
        assert stream.dropped["queue_full"] > 0
        assert stream.queued <= 5
        writes.held.set()
        await writes.next_batch()
    kept = len(writes.written)
    assert kept + stream.dropped["queue_full"] == 20
    assert stream.written_total == kept


async def test_a_full_batch_is_written_at_once() -> None:
    writes = FakeWrites()
    stream = _stream(batch_max=3, flush_interval_s=60.0)
    async with stream.writing(writes):
        for index in range(3):
            _record(stream, f"r-{index}")
        await writes.next_batch()
        assert writes.written == ["r-0", "r-1", "r-2"]
        assert stream.written_total == 3


async def test_a_part_batch_is_written_within_the_interval() -> None:
    writes = FakeWrites()
    stream = _stream(batch_max=100, flush_interval_s=0.05)
    async with stream.writing(writes):
        _record(stream, "r-0")
        started = asyncio.get_running_loop().time()
        await writes.next_batch()
        assert asyncio.get_running_loop().time() - started < 1.0
        assert writes.written == ["r-0"]


async def test_batches_hold_at_most_batch_max_records_in_order() -> None:
    writes = FakeWrites()
    writes.held.clear()
    stream = _stream(batch_max=2, flush_interval_s=60.0)
    async with stream.writing(writes):
        for index in range(5):
            _record(stream, f"r-{index}")
        writes.held.set()
        await writes.next_batch()
    assert [len(batch) for batch in writes.batches] == [2, 2, 1]
    assert writes.written == [f"r-{index}" for index in range(5)]


async def test_a_failing_store_is_logged_and_counted_and_the_writer_goes_on() -> None:
    writes = FakeWrites()
    writes.failing = True
    stream = _stream(batch_max=2, flush_interval_s=0.05)
    with capture_logs() as events:
        async with stream.writing(writes):
            _record(stream, "lost-0")
            _record(stream, "lost-1")
            await writes.next_batch()
            writes.failing = False
            _record(stream, "kept")
            await writes.next_batch()
    assert writes.written == ["kept"]
    assert stream.failures_total == 1
    assert stream.dropped == {"queue_full": 0, "store_failed": 2, "closed": 0, "no_store": 0}
    assert stream.written_total == 1
    [failed] = [event for event in events if event["event"] == "request_records_write_failed"]
    assert failed["records"] == 2
    assert failed["error_type"] == "RuntimeError"
    assert failed["log_level"] == "warning"


async def test_what_is_left_at_close_is_written() -> None:
    writes = FakeWrites()
    stream = _stream(batch_max=100, flush_interval_s=60.0)
    async with stream.writing(writes):
        _record(stream, "r-0")
        _record(stream, "r-1")
    assert writes.written == ["r-0", "r-1"]
    assert stream.queued == 0


async def test_a_store_stuck_at_close_costs_the_rest_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(request_stream, "CLOSE_TIMEOUT_S", 0.05)
    writes = FakeWrites()
    writes.held.clear()
    stream = _stream(batch_max=2, flush_interval_s=60.0)
    async with stream.writing(writes):
        for index in range(3):
            _record(stream, f"r-{index}")
        await asyncio.sleep(0)
    assert writes.written == []
    assert stream.dropped["closed"] == 3
    assert stream.queued == 0


def test_a_stream_without_store_drops_and_counts_every_record() -> None:
    stream = _stream()
    _record(stream, "r-0")
    stream.without_store()
    _record(stream, "r-1")
    assert stream.queued == 0
    assert stream.dropped == {"queue_full": 0, "store_failed": 0, "closed": 0, "no_store": 2}


def test_the_counts_are_exported_with_every_drop_reason_from_the_start() -> None:
    stream = _stream(queue_max=1)
    registry = CollectorRegistry()
    registry.register(RequestStreamCollector(stream))
    _record(stream, "r-0")
    _record(stream, "r-1")
    text = generate_latest(registry).decode()
    assert "gamegate_request_records_total 0.0" in text
    assert 'gamegate_request_records_dropped_total{reason="queue_full"} 1.0' in text
    assert 'gamegate_request_records_dropped_total{reason="store_failed"} 0.0' in text
    assert 'gamegate_request_records_dropped_total{reason="closed"} 0.0' in text
    assert 'gamegate_request_records_dropped_total{reason="no_store"} 0.0' in text
    assert "gamegate_request_records_failures_total 0.0" in text
    assert "gamegate_request_records_queued 1.0" in text
