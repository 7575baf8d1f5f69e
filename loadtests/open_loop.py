"""Open-loop latency: replay a wrk pool at a fixed rate and measure from the intended send time.

wrk is closed-loop: at saturation its latency is queueing (p50 ~ connections / throughput),
which says nothing about a latency target below capacity. Here request `i` is due at
`start + i / rate`, whatever the server does; its latency runs from that due time to the
last byte of the answer, so a stall is charged to every request it delays (no coordinated
omission). Requests go round-robin over `--connections` keep-alive connections, one in
flight per connection, in pool order per connection.

`scheduled_late_*` is how late the driver itself handed requests to their connections
(its own event loop behind, or starved of CPU): when it is not far below the latencies,
the run measured the driver, not the server.

    python -m loadtests.open_loop --url http://127.0.0.1:8080 --pool var/bench/pool.txt \\
        --rate 600 --duration-s 15 --connections 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from loadtests.gen_traffic import read_pool

__all__ = ["main"]

RESPONSE_HEAD_BYTES_MAX = 16 * 1024
CONNECT_TIMEOUT_S = 5.0
ANSWER_TIMEOUT_S = 10.0


async def _answer_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > RESPONSE_HEAD_BYTES_MAX:
        raise ValueError("response head too large")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _connection(
    host: str,
    port: int,
    jobs: asyncio.Queue[tuple[float, bytes] | None],
    latencies_s: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
    try:
        while (job := await jobs.get()) is not None:
            due_s, raw = job
            writer.write(raw)
            status = await asyncio.wait_for(_answer_status(reader), ANSWER_TIMEOUT_S)
            latencies_s.append(time.perf_counter() - due_s)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run(
    url: str, pool: Sequence[bytes], rate: float, duration_s: float, connections: int
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    count = min(len(pool), int(rate * duration_s))
    queues: list[asyncio.Queue[tuple[float, bytes] | None]] = [
        asyncio.Queue() for _ in range(connections)
    ]
    latencies_s: list[float] = []
    statuses: dict[int, int] = {}
    workers = [
        asyncio.create_task(_connection(host, port, queue, latencies_s, statuses))
        for queue in queues
    ]
    scheduled_late_s: list[float] = []
    start_s = time.perf_counter() + 0.2
    for index in range(count):
        due_s = start_s + index / rate
        delay_s = due_s - time.perf_counter()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        scheduled_late_s.append(time.perf_counter() - due_s)
        queues[index % connections].put_nowait((due_s, pool[index]))
    for queue in queues:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed_s = time.perf_counter() - start_s
    latencies_s.sort()
    scheduled_late_s.sort()

    def quantile_ms(q: float, values_s: list[float] = latencies_s) -> float:
        return round(values_s[min(len(values_s) - 1, int(q * len(values_s)))] * 1000, 2)

    return {
        "rate_target": rate,
        "requests": count,
        "achieved_rate": round(count / elapsed_s, 1),
        "connections": connections,
        "p50_ms": quantile_ms(0.50),
        "p90_ms": quantile_ms(0.90),
        "p99_ms": quantile_ms(0.99),
        "p999_ms": quantile_ms(0.999),
        "max_ms": round(latencies_s[-1] * 1000, 2),
        "scheduled_late_p99_ms": quantile_ms(0.99, scheduled_late_s),
        "scheduled_late_max_ms": round(scheduled_late_s[-1] * 1000, 2),
        "statuses": statuses,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument(
        "--rate", type=float, action="append", required=True, help="req/s; repeatable"
    )
    parser.add_argument("--duration-s", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    pool = read_pool(args.pool)
    offset = 0
    for rate in args.rate:
        chunk = pool[offset:]
        result = asyncio.run(run(args.url, chunk, rate, args.duration_s, args.connections))
        offset += int(result["requests"])  # type: ignore[call-overload]  # -- an int we put there
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
