"""Bytes that are not HTTP get the gateway's JSON 400, which never repeats what was sent,
and a log line instead of a traceback. Against the live gateway: aiohttp answers these
before any middleware, so only the served protocol (`gateway.http_protocol`) can."""

from __future__ import annotations

import json
import socket

import pytest

from tests.gateway.live_gateway import LiveGateway, live_gateway

__all__ = ["live_gateway"]

ANSWER_TIMEOUT_S = 5.0
KEY = b"demo-operator-key"

CASES = {
    "NUL in a header": b"GET /v1/players/demo-1/balance HTTP/1.1\r\nHost: t\r\n"
    b"Authorization: Bearer " + KEY + b"\x00\r\n\r\n",
    "not a method": b"G\xffT / HTTP/1.1\r\nHost: t\r\n\r\n",
    "header too long": b"GET / HTTP/1.1\r\nHost: t\r\nX-Long: " + KEY * 1_000 + b"\r\n\r\n",
    "bad chunked body": b"POST /v1/players HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
    b"\r\nzz\r\n" + KEY + b"\r\n0\r\n\r\n",
    "space before colon": b"GET / HTTP/1.1\r\nHost: t\r\nAuthorization : Bearer "
    + KEY
    + b"\r\n\r\n",
}


def _answer(gateway: LiveGateway, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=ANSWER_TIMEOUT_S) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65_536):
            received += chunk
    return received  # the server closes after answering: the parser has lost its place


@pytest.mark.parametrize("raw", CASES.values(), ids=CASES.keys())
def test_malformed_http_is_a_json_400_that_repeats_nothing(
    live_gateway: LiveGateway, raw: bytes
) -> None:
    answer = _answer(live_gateway, raw)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith((b"HTTP/1.1 400 ", b"HTTP/1.0 400 ")), answer[:200]
    assert json.loads(body)["error"]["code"] == "malformed_http"
    assert KEY not in answer
    assert b"\xff" not in answer


def test_malformed_http_is_logged_as_a_request_line_without_its_bytes(
    live_gateway: LiveGateway,
) -> None:
    _answer(live_gateway, CASES["NUL in a header"])
    lines = [json.loads(line) for line in live_gateway.log_bytes().splitlines()]
    refused = [line for line in lines if line.get("outcome") == "malformed_http"]
    assert refused
    assert all(line["status"] == 400 and line["event"] == "request" for line in refused)
    assert not [line for line in lines if line["level"] in ("error", "critical")]
    assert KEY not in live_gateway.log_bytes()


def test_the_served_protocol_keeps_the_apps_handler_options(live_gateway: LiveGateway) -> None:
    """`auto_decompress=False` reaches the served handler: a corrupt gzip body is the
    gateway's 400, and the same connection answers the next request."""
    body = b"not gzip"
    corrupt = (
        b"POST /v1/players/demo-1/deposits HTTP/1.1\r\nHost: t\r\n"
        b"Authorization: Bearer " + KEY + b"\r\nContent-Type: application/json\r\n"
        b"Idempotency-Key: gz-1\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    healthz = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    answer = _answer(live_gateway, corrupt + healthz)
    assert answer.count(b"HTTP/1.1 ") == 2, answer
    assert b"HTTP/1.1 400 " in answer
    assert b'{"status":"ok"}' in answer
