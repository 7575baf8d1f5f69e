"""No secret leaves the process in a log line: no frame locals, a redactor last, and the
standard library's records (aiohttp's parser errors) bridged to one JSON line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from gateway.logging import configure_logging, reset_logging
from gateway.redaction import REDACTED, SecretRedactor
from tests.gateway.conftest import ADMIN_KEY, MakeClient

HMAC_KEY = "test-hmac-key"  # the fake instance's key in `make_settings`
PEM = (
    b"-----BEGIN PRIVATE KEY-----\n"
    b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    b"VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n"
    b"-----END PRIVATE KEY-----\n"
)


@pytest.fixture
def log_stream() -> Iterator[io.BytesIO]:
    stream = io.BytesIO()
    yield stream
    reset_logging()


def _lines(stream: io.BytesIO) -> list[dict[str, Any]]:
    reset_logging()  # flushes the buffered sink
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_an_exception_log_line_carries_no_frame_locals(
    make_client: MakeClient, log_stream: io.BytesIO
) -> None:
    client = await make_client()
    configure_logging("info", stream=log_stream)  # no redactor: the locals alone must not leak
    response = await client.get("/providers/fake/boom")
    assert response.status == 500
    lines = _lines(log_stream)
    text = log_stream.getvalue().decode()
    [error] = [line for line in lines if line["event"] == "provider adapter raised"]
    frames = error["exception"][0]["frames"]
    assert frames, error
    assert all("locals" not in frame for frame in frames)
    assert HMAC_KEY not in text
    assert "adapter bug (key of 13 bytes)" in text


def test_the_redactor_replaces_each_secret_in_every_form_a_json_line_can_hold_it() -> None:
    redact = SecretRedactor([HMAC_KEY.encode(), PEM, b"short"])
    pem_line = PEM.splitlines()[1]
    line = json.dumps(
        {
            "plain": f"key={HMAC_KEY}",
            "pem": PEM.decode(),
            "repr": repr(PEM),
            "one_line_of_it": pem_line.decode(),
        }
    ).encode()
    redacted = redact(line)
    assert HMAC_KEY.encode() not in redacted
    assert pem_line not in redacted
    assert redacted.count(REDACTED) >= 4
    assert b"short" not in line or b"short" in redacted  # too short to be worth redacting
    json.loads(redacted)  # still one valid JSON line


def test_every_structlog_line_is_redacted_last(log_stream: io.BytesIO) -> None:
    configure_logging("info", stream=log_stream, secrets=[ADMIN_KEY.encode(), PEM])
    structlog.get_logger("t").warning("leak", header=f"Bearer {ADMIN_KEY}", pem=PEM.decode())
    [line] = _lines(log_stream)
    text = json.dumps(line)
    assert ADMIN_KEY not in text
    assert PEM.splitlines()[1].decode() not in text
    assert line["header"] == "Bearer [REDACTED]"


def test_a_module_logger_follows_each_new_configuration_with_its_secrets(
    log_stream: io.BytesIO,
) -> None:
    """A module's logger used under one configuration must not keep it: after the next
    `configure_logging`, its lines go to the new sink and hide the new secrets."""
    module_log = structlog.get_logger("tests.module")  # as a module holds its `_log`
    configure_logging("info", stream=(first := io.BytesIO()))
    module_log.warning("first", key=HMAC_KEY)
    reset_logging()
    configure_logging("info", stream=log_stream, secrets=[HMAC_KEY.encode()])
    module_log.warning("second", key=HMAC_KEY)
    assert [line["event"] for line in map(json.loads, first.getvalue().splitlines())] == ["first"]
    [line] = _lines(log_stream)
    assert (line["event"], line["key"]) == ("second", REDACTED.decode())


def test_standard_library_records_become_one_json_line_without_the_raw_request(
    log_stream: io.BytesIO,
) -> None:
    """aiohttp's parser errors put the offending header line after a line break."""
    configure_logging("info", stream=log_stream)
    try:
        raise ValueError(
            f"Invalid header value char\n\n  b'Authorization: Bearer {ADMIN_KEY}\\x00'"
        )
    except ValueError:
        logging.getLogger("aiohttp.server").exception("Error handling request from %s", "1.2.3.4")
    [line] = _lines(log_stream)
    assert line["event"] == "Error handling request from 1.2.3.4"
    assert line["logger"] == "aiohttp.server"
    assert line["level"] == "error"
    assert line["error_type"] == "ValueError"
    assert line["error"] == "Invalid header value char"
    assert "test_log_secrets.py" in line["traceback_frames"][0]
    assert ADMIN_KEY not in json.dumps(line)
