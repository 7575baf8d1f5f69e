"""Request ids, the body size cap, the per-request time limit and the request log line."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from structlog.testing import capture_logs

from gateway.logging import REQUEST_ID, configure_logging, reset_logging
from tests.gateway.conftest import ADMIN, Client, MakeClient
from tests.gateway.helpers import new_player, player_body


async def test_a_sane_request_id_is_echoed(client: Client) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "req-42.a:b"})
    assert response.headers["X-Request-Id"] == "req-42.a:b"


@pytest.mark.parametrize("offered", [None, "", "has space", "x" * 129, "<script>"])
async def test_a_missing_or_odd_request_id_is_replaced_by_a_fresh_one(
    client: Client, offered: str | None
) -> None:
    headers = {} if offered is None else {"X-Request-Id": offered}
    response = await client.get("/healthz", headers=headers)
    generated = response.headers["X-Request-Id"]
    assert generated != offered
    assert len(generated) == 32


async def test_errors_carry_the_request_id_too(client: Client) -> None:
    response = await client.get("/no-such-route", headers={"X-Request-Id": "r-404"})
    assert response.status == 404
    assert response.headers["X-Request-Id"] == "r-404"
    assert (await response.json())["error"]["code"] == "not_found"


async def test_a_wrong_method_is_a_json_405_with_allow(client: Client) -> None:
    response = await client.delete("/v1/players")
    assert response.status == 405
    assert "POST" in response.headers["Allow"]
    assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_a_declared_body_above_the_cap_is_a_413(make_client: MakeClient) -> None:
    client = await make_client(server={"request_body_bytes_max": 1_024})
    response = await client.post("/providers/fake/echo", data=b"x" * 1_025)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"


async def test_a_chunked_body_above_the_cap_is_a_413(make_client: MakeClient) -> None:
    client = await make_client(server={"request_body_bytes_max": 1_024})

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 512

    response = await client.post("/providers/fake/echo", data=chunks())
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"


async def test_a_body_at_the_cap_is_accepted(make_client: MakeClient) -> None:
    client = await make_client(server={"request_body_bytes_max": 1_024})
    response = await client.post("/providers/fake/echo", data=b"x" * 1_024)
    assert response.status == 200


async def test_a_request_over_the_time_limit_is_a_503(make_client: MakeClient) -> None:
    client = await make_client(server={"request_timeout_s": 0.2})
    response = await client.post("/providers/fake/slow", json={})
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert (await response.json())["error"]["code"] == "timeout"


async def test_requests_after_a_timeout_are_served_normally(make_client: MakeClient) -> None:
    client = await make_client(server={"request_timeout_s": 0.2})
    assert (await client.post("/providers/fake/slow", json={})).status == 503
    for _ in range(3):  # the same keep-alive connection: its task must not stay cancelled
        response = await client.get("/providers/fake/echo")
        assert response.status == 200
        assert (await response.json())["method"] == "GET"


async def test_one_log_line_per_request_with_the_canonical_fields(client: Client) -> None:
    await new_player(client, "p1")
    with capture_logs() as events:
        await client.get("/v1/players/p1/balance", headers={**ADMIN, "X-Request-Id": "log-1"})
    [line] = [event for event in events if event["event"] == "request"]
    assert line["request_id"] == "log-1"
    assert line["method"] == "GET"
    assert line["route"] == "/v1/players/{player_id}/balance"
    assert line["status"] == 200
    assert line["outcome"] == "ok"
    assert line["player_id"] == "p1"
    assert line["latency_ms"] >= 0


async def test_provider_requests_log_their_provider_operation_and_outcome(client: Client) -> None:
    with capture_logs() as events:
        await client.get("/providers/fake/echo")
    [line] = [event for event in events if event["event"] == "request"]
    assert (line["provider"], line["operation"], line["outcome"]) == ("fake", "echo", "ok")
    assert line["route"] == "/providers/{instance}/{tail}"


async def test_logs_never_contain_bodies_or_keys(client: Client) -> None:
    with capture_logs() as events:
        await client.post(
            "/v1/players", json=player_body("p1", brand="secret-brand"), headers=ADMIN
        )
        await client.post("/providers/fake/echo", data=b"secret-body")
    text = repr(events)
    assert "secret-brand" not in text
    assert "secret-body" not in text
    assert ADMIN["Authorization"].split()[1] not in text
    assert len(events) == 2


async def test_fresh_request_ids_differ_from_request_to_request(client: Client) -> None:
    ids = {(await client.get("/healthz")).headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)


@contextmanager
def _configured_log(level: str) -> Iterator[io.BytesIO]:
    """Lines as `gamegate serve` writes them, into the stream yielded, until the end."""
    stream = io.BytesIO()
    configure_logging(level, stream=stream)
    try:
        yield stream
    finally:
        reset_logging()


async def test_the_configured_log_has_one_json_request_line_with_level_and_time(
    client: Client,
) -> None:
    with _configured_log("info") as stream:
        await client.get("/providers/fake/echo", headers={"X-Request-Id": "json-1"})
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line.pop("latency_ms") >= 0
    timestamp = line.pop("timestamp")
    assert timestamp.endswith("Z")
    assert datetime.fromisoformat(timestamp).tzinfo is not None
    assert line == {
        "request_id": "json-1",
        "method": "GET",
        "route": "/providers/{instance}/{tail}",
        "provider": "fake",
        "operation": "echo",
        "outcome": "ok",
        "status": 200,
        "player_id": None,
        "event": "request",
        "level": "info",
    }


async def test_every_line_logged_while_handling_a_request_carries_its_id(
    client: Client,
) -> None:
    with _configured_log("info") as stream:
        response = await client.get("/providers/fake/log", headers={"X-Request-Id": "trace-9"})
        assert response.status == 200
    lines = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["fake adapter logged", "request"]
    assert [line["request_id"] for line in lines] == ["trace-9", "trace-9"]
    assert REQUEST_ID.get() is None, "the id is the handling task's, not left behind"


async def test_the_configured_log_at_warning_has_no_request_lines(client: Client) -> None:
    with _configured_log("warning") as stream:
        await client.get("/healthz")
    assert stream.getvalue() == b""
