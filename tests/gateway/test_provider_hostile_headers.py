"""Header bytes that are not UTF-8, through the whole gateway: the protocol's own refusal.

aiohttp hands a header byte `\\xff` to the handler as the str `'\\udcff'`. Before the
hardening, gamegate answered such a signature `503 storage_unavailable, retryable` (its
catch-all took the `UnicodeEncodeError` for a store failure) and softswiss a bare 500. The
requests go over a raw socket, since an HTTP client will not send those bytes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from pytest_aiohttp import AiohttpClient

from adapters.providers import hub88
from adapters.providers.softswiss_wire import sign as softswiss_sign
from gateway.app import create_app
from tests.conftest import FakeClock
from tests.gateway.conftest import Client, MakeSettings

HUB88_SECRETS = hub88.demo_secrets()
PROVIDERS: dict[str, Any] = {
    "gg": {"protocol": "gamegate"},
    "ss": {"protocol": "softswiss"},
    "hb": {"protocol": "hub88", "options": {"sign_responses": False}},
}
SECRET_ENV = {
    "GAMEGATE_SECRET_GG_HMAC_KEY": "gamegate-hostile-header-key",
    "GAMEGATE_SECRET_SS_AUTH_TOKEN": "softswiss-hostile-header-key",
    "GAMEGATE_SECRET_HB_PROVIDER_PUBLIC_KEY": HUB88_SECRETS["provider_public_key"].decode(),
}
GAMEGATE = {"X-Gamegate-Timestamp": b"1", "X-Gamegate-Nonce": b"abcdefgh"}


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock, tmp_path: Path
) -> Client:
    settings = make_settings(providers=PROVIDERS, secret_env=SECRET_ENV)
    return await aiohttp_client(create_app(settings, clock=clock))


async def _raw_post(client: Client, target: str, headers: dict[str, bytes], body: bytes) -> Any:
    """POST with header values as raw bytes; the status and the JSON answer."""
    lines = [f"POST {target} HTTP/1.1".encode(), b"Host: gateway", b"Connection: close"]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), orjson.loads(payload)


async def test_the_reproduction_gamegate_signature_xff_is_bad_signature_not_a_retry(
    client: Client,
) -> None:
    headers = GAMEGATE | {"X-Gamegate-Signature": b"\xff"}
    status, answer = await _raw_post(client, "/providers/gg/balance", headers, b"{}")
    assert (status, answer["code"], answer["retryable"]) == (401, "bad_signature", False)


@pytest.mark.parametrize(
    ("target", "headers", "expected"),
    [
        ("/providers/gg/balance", GAMEGATE | {"X-Gamegate-Signature": b"ab\xffcd"}, 401),
        ("/providers/gg/balance", GAMEGATE | {"X-Gamegate-Nonce": b"abcdefgh\xc3"}, 401),
        ("/providers/gg/balance", {"X-Gamegate-Timestamp": b"1\xff", "X-Gamegate-Nonce":
                                   b"abcdefgh", "X-Gamegate-Signature": b"00"}, 401),
        ("/providers/ss/play", {"X-REQUEST-SIGN": b"\xff\xfe"}, 403),
        ("/providers/ss/play", {"X-REQUEST-SIGN": softswiss_sign(b"k", b"{}").encode() + b"\xff"},
         403),
        ("/providers/hb/user/balance", {"X-Hub88-Signature": b"\xff\xfe=="}, 200),
    ],
)  # fmt: skip
async def test_a_signature_header_that_is_not_utf8_gets_the_protocols_refusal(
    client: Client, target: str, headers: dict[str, bytes], expected: int
) -> None:
    status, answer = await _raw_post(client, target, headers, b"{}")
    assert status == expected
    assert answer in (
        {"status": "error", "code": "bad_signature", "message": answer.get("message"),
         "retryable": False, "replay": False},
        {"code": 403, "message": "Forbidden", "balance": None},
        {"status": "RS_ERROR_INVALID_SIGNATURE"},
    )  # fmt: skip
