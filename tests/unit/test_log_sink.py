"""The log sink queues lines without a lock and writes them in order, in few writes."""

from __future__ import annotations

import io
import threading

from gateway.logging import BufferedLineStream


class _CountingTarget(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]  # -- bytes only here
        self.writes += 1
        return super().write(data)


def test_lines_from_two_threads_all_arrive_each_in_its_own_order() -> None:
    target = _CountingTarget()
    sink = BufferedLineStream(target, flush_interval_s=0.01, buffer_lines_max=64)

    def log(name: str) -> None:
        for index in range(5_000):
            sink.write(f"{name} {index}\n".encode())
            sink.flush()

    threads = [threading.Thread(target=log, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sink.flush_now()
    lines = target.getvalue().decode().splitlines()
    assert len(lines) == 10_000
    for name in ("a", "b"):
        assert [line for line in lines if line[0] == name] == [f"{name} {i}" for i in range(5_000)]
    assert target.writes <= 10_000 // 64 + 1_000, "lines are written in batches"


def test_a_flush_writes_only_once_enough_lines_wait() -> None:
    target = _CountingTarget()
    sink = BufferedLineStream(target, flush_interval_s=60, buffer_lines_max=3)
    for index in range(2):
        sink.write(b"%d\n" % index)
        sink.flush()
    assert target.writes == 0
    sink.write(b"2\n")
    sink.flush()
    assert target.getvalue() == b"0\n1\n2\n"
