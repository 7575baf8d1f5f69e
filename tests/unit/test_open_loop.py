"""The open-loop driver against the bare server: every request answered and counted, the
driver's own lateness reported beside the latencies."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from loadtests.bare_server import build_app
from loadtests.open_loop import run

REQUEST = b"POST /providers/x/bet HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"


async def test_a_short_run_answers_every_request_and_reports_its_own_lateness() -> None:
    server = TestServer(build_app())
    await server.start_server()
    try:
        result = await run(str(server.make_url("/")), [REQUEST] * 100, 200.0, 0.4, 4)
    finally:
        await server.close()
    assert result["requests"] == 80
    assert result["statuses"] == {200: 80}
    late_p99_ms, late_max_ms = result["scheduled_late_p99_ms"], result["scheduled_late_max_ms"]
    assert isinstance(late_p99_ms, float)
    assert isinstance(late_max_ms, float)
    assert 0 <= late_p99_ms <= late_max_ms
    assert isinstance(result["p50_ms"], float)
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]  # type: ignore[operator]
