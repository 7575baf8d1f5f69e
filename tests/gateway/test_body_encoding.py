"""`Content-Encoding`: gzip and deflate are undone, bounded; anything else is refused in
the caller's format, nothing moves, and the keep-alive connection answers the next request."""

from __future__ import annotations

import gzip
import zlib

import orjson
import pytest

from tests.gateway.conftest import ADMIN_KEY, Client, MakeClient
from tests.gateway.helpers import balance, new_player
from tests.gateway.raw_http import RawConnection, request_bytes

DEPOSIT = orjson.dumps({"amount": "2.50"})


def _deposit(key: str, body: bytes, encoding: bytes | None) -> bytes:
    headers = {
        "Authorization": f"Bearer {ADMIN_KEY}".encode(),
        "Content-Type": b"application/json",
        "Idempotency-Key": key.encode(),
    }
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    return request_bytes("POST", "/v1/players/p1/deposits", headers, body)


HEALTHZ = request_bytes("GET", "/healthz")


@pytest.mark.parametrize(
    ("encoding", "body", "status", "code"),
    [
        (b"gzip", b"not gzip at all", 400, "invalid_request"),
        (b"gzip", gzip.compress(DEPOSIT)[:-6], 400, "invalid_request"),  # truncated
        (b"deflate", b"\x78\x9c garbage", 400, "invalid_request"),
        (b"gzip", gzip.compress(DEPOSIT) + b"trailing", 400, "invalid_request"),
        (b"br", DEPOSIT, 415, "unsupported_media_type"),
        (b"gzip, gzip", gzip.compress(gzip.compress(DEPOSIT)), 415, "unsupported_media_type"),
        (b"compress", DEPOSIT, 415, "unsupported_media_type"),
        (b"gzip", gzip.compress(b"{" + b" " * 2_000_000 + b"}"), 413, "payload_too_large"),
    ],
    ids=["garbage", "truncated", "bad-deflate", "trailing", "br", "stacked", "compress", "bomb"],
)
async def test_an_undecodable_body_is_refused_and_the_connection_answers_the_next_request(
    client: Client, encoding: bytes, body: bytes, status: int, code: str
) -> None:
    await new_player(client, "p1")
    connection = await RawConnection.open(client.host, client.port)
    try:
        await connection.send(_deposit("enc-1", body, encoding))
        refused = await connection.answer()
        assert (refused.status, refused.json()["error"]["code"]) == (status, code)
        await connection.send(HEALTHZ)
        assert (await connection.answer()).status == 200
    finally:
        await connection.close()
    assert (await balance(client, "p1"))["real"] == "0.00"


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        (b"gzip", gzip.compress(DEPOSIT)),
        (b"x-gzip", gzip.compress(DEPOSIT)),
        (b"deflate", zlib.compress(DEPOSIT)),
        (b"deflate", zlib.compress(DEPOSIT, wbits=-zlib.MAX_WBITS)),  # raw deflate, as some send
        (b"identity", DEPOSIT),
    ],
    ids=["gzip", "x-gzip", "deflate", "raw-deflate", "identity"],
)
async def test_a_well_encoded_body_is_decoded(client: Client, encoding: bytes, body: bytes) -> None:
    await new_player(client, "p1")
    connection = await RawConnection.open(client.host, client.port)
    try:
        await connection.send(_deposit("enc-ok", body, encoding))
        assert (await connection.answer()).status == 201
    finally:
        await connection.close()
    assert (await balance(client, "p1"))["real"] == "2.50"


async def test_a_provider_callback_gets_its_own_protocols_refusal(make_client: MakeClient) -> None:
    """The adapter sees the bytes as received; the fake protocol echoes what it got."""
    client = await make_client()
    connection = await RawConnection.open(client.host, client.port)
    try:
        corrupt = request_bytes(
            "POST", "/providers/fake/echo", {"Content-Encoding": b"gzip"}, b"not gzip"
        )
        await connection.send(corrupt)
        echoed = await connection.answer()
        assert echoed.status == 200
        assert echoed.json()["body"] == "not gzip"
        good = request_bytes(
            "POST", "/providers/fake/echo", {"Content-Encoding": b"gzip"}, gzip.compress(b"{}")
        )
        await connection.send(good)
        assert (await connection.answer()).json()["body"] == "{}"
    finally:
        await connection.close()
