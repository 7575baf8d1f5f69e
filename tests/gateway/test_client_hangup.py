"""A client that hangs up mid-body is a 499 in the log and the metrics, never a 5xx and
never an error with a traceback; nothing it sent is applied."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from gateway.keys import METRICS
from tests.gateway.conftest import ADMIN_KEY, Client
from tests.gateway.helpers import balance, new_player
from tests.gateway.raw_http import RawConnection

LOG_WAIT_S = 2.0


def _cut_off(path: str, extra: bytes = b"") -> bytes:
    """Headers that announce 1,000 body bytes, and 10 of them."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n".encode()
        + extra
        + b"Content-Length: 1000\r\n\r\n"
        + b'{"amount":'
    )


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        (
            "/v1/players/p1/deposits",
            f"Authorization: Bearer {ADMIN_KEY}\r\nIdempotency-Key: hang-1\r\n".encode(),
        ),
        ("/providers/fake/bet", b""),
    ],
    ids=["operator", "provider"],
)
async def test_a_hang_up_mid_body_is_logged_as_499(client: Client, path: str, extra: bytes) -> None:
    await new_player(client, "p1")
    with capture_logs() as events:
        connection = await RawConnection.open(client.host, client.port)
        await connection.send(_cut_off(path, extra))
        await asyncio.sleep(0.05)
        connection.writer.transport.abort()  # a reset, as a client that crashed would
        async with asyncio.timeout(LOG_WAIT_S):
            while not any(event["event"] == "request" for event in events):
                await asyncio.sleep(0.01)
    [line] = [event for event in events if event["event"] == "request"]
    assert line["status"] == 499
    assert line["outcome"] == "client_closed"
    assert [event for event in events if event["log_level"] in ("error", "critical")] == []
    assert (await balance(client, "p1"))["real"] == "0.00"
    rendered = client.app[METRICS].render().decode()
    assert 'status="500"' not in rendered
