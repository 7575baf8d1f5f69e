"""Request records through a real app into the real (DuckDB) reporting store: the same
values as each request's log line, for requests the wallet answered and for refusals
before it (a bad signature, a malformed body); a worker other than the first counts
them as dropped (and is ready without a reporting store) when the relay runs in process
or is off, and asks the relay child's socket otherwise; 0 turns the stream off."""

from __future__ import annotations

import asyncio
from typing import Any

import duckdb
import orjson
import pytest
from pytest_aiohttp import AiohttpClient
from structlog.testing import capture_logs

from adapters.providers.gamegate_wire import new_nonce, sign_request
from adapters.reporting.open import DEFAULT_REPORTING_FILE
from gateway.app import create_app
from gateway.keys import REPORTING
from gateway.settings import SettingsError
from gateway.worker import WORKER, WorkerInfo
from tests.conftest import FakeClock
from tests.gateway.conftest import VIEWER, MakeSettings
from tests.gateway.fake_protocol import FAKE_PROTOCOLS

GAMEGATE_KEY = b"records-test-hmac-key-0123456789"
LOG_FIELDS = (
    "request_id", "method", "route", "provider", "operation", "outcome", "status",
    "latency_ms", "player_id",
)  # fmt: skip


def _settings(make_settings: MakeSettings) -> Any:
    return make_settings(
        providers={"acme": {"protocol": "gamegate"}},
        secret_env={"GAMEGATE_SECRET_ACME_HMAC_KEY": GAMEGATE_KEY.decode()},
        reporting={"relay": False, "requests_flush_interval_s": 60},
    )


def _signed(clock: FakeClock, operation: str, raw: bytes, key: bytes = GAMEGATE_KEY) -> Any:
    return sign_request(
        key, raw, operation=operation, timestamp=int(clock.seconds()), nonce=new_nonce()
    )


async def test_each_record_holds_its_log_lines_values_refusals_before_the_wallet_too(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> None:
    settings = _settings(make_settings)
    client = await aiohttp_client(create_app(settings, clock=clock))
    answered = orjson.dumps({"session_token": "no-such-token"})
    malformed = b'{"session_token": '
    with capture_logs() as events:
        for raw, key in (
            (answered, GAMEGATE_KEY),
            (answered, b"x" * 32),
            (malformed, GAMEGATE_KEY),
        ):
            headers = _signed(clock, "authenticate", raw, key)
            response = await client.post("/providers/acme/authenticate", data=raw, headers=headers)
            assert response.status < 500
        await client.close()  # the app's cleanup writes what the stream holds
    lines = [
        {name: event[name] for name in LOG_FIELDS}
        for event in events
        if event["event"] == "request"
    ]
    assert [line["outcome"] for line in lines] == [
        "session_invalid",
        "bad_signature",
        "invalid_request",
    ]
    path = settings.data_dir / DEFAULT_REPORTING_FILE
    with duckdb.connect(str(path), read_only=True) as con:
        stored = con.execute(
            "SELECT at_us, request_id, method, route, provider, operation, outcome, status, "
            "latency_us, player_id FROM requests ORDER BY at_us, latency_us"
        ).fetchall()
    by_id = {row[1]: row for row in stored}
    assert len(by_id) == len(stored) == 3
    for line in lines:
        at_us, *values = by_id[line["request_id"]]
        assert at_us == clock.micros()
        expected = [line[name] or "" for name in LOG_FIELDS]
        expected[LOG_FIELDS.index("latency_ms")] = round(line["latency_ms"] * 1_000)
        assert values == expected


async def test_a_worker_other_than_the_first_has_no_reporting_store_and_counts_its_records(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> None:
    app = create_app(
        make_settings(reporting={"relay": False}), clock=clock, protocols=FAKE_PROTOCOLS
    )
    app[WORKER] = WorkerInfo(index=1, pid=1)
    client = await aiohttp_client(app)
    assert REPORTING not in app
    assert (await client.get("/readyz")).status == 200
    report = await client.get("/v1/reports/ggr?from=2027-01-01&to=2027-01-01", headers=VIEWER)
    assert report.status == 503
    assert (await report.json())["error"]["code"] == "storage_unavailable"
    metrics = await (await client.get("/metrics")).text()
    assert 'gamegate_request_records_dropped_total{reason="no_store"} 2.0' in metrics


async def test_requests_queue_max_0_turns_the_stream_off(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> None:
    settings = make_settings(reporting={"relay": False, "requests_queue_max": 0})
    client = await aiohttp_client(create_app(settings, clock=clock, protocols=FAKE_PROTOCOLS))
    assert (await client.get("/healthz")).status == 200
    assert "gamegate_request_records" not in await (await client.get("/metrics")).text()
    await client.close()
    with duckdb.connect(str(settings.data_dir / DEFAULT_REPORTING_FILE), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM requests").fetchone() == (0,)


async def test_a_reporting_store_that_cannot_be_opened_is_logged_and_the_gateway_serves(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> None:
    settings = make_settings(reporting={"relay": False})
    (settings.data_dir / DEFAULT_REPORTING_FILE).mkdir(parents=True)  # not a database file
    app = create_app(settings, clock=clock, protocols=FAKE_PROTOCOLS)
    with capture_logs() as events:
        client = await aiohttp_client(app)
    [failed] = [event for event in events if event["event"] == "reporting_store_not_open"]
    assert failed["log_level"] == "error"
    assert REPORTING not in app
    assert (await client.get("/readyz")).status == 200
    metrics = await (await client.get("/metrics")).text()
    assert 'gamegate_request_records_dropped_total{reason="no_store"} 1.0' in metrics


def test_a_reporting_url_that_cannot_work_stops_create_app(make_settings: MakeSettings) -> None:
    settings = make_settings(reporting={"url": "mysql://reports"})
    with pytest.raises(SettingsError, match=r"^reporting.url scheme 'mysql' is unknown"):
        create_app(settings, protocols=FAKE_PROTOCOLS)


async def test_with_the_relay_child_a_worker_asks_its_socket_and_waits_for_it_to_start(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> None:
    """Worker 1 starts no relay child (worker 0 does) but asks the child's socket: with
    nobody answering there yet, a report is a 503, and records wait (for the start)."""
    settings = make_settings(
        reporting={"relay_in_process": False, "requests_flush_interval_s": 0.05}
    )
    app = create_app(settings, clock=clock, protocols=FAKE_PROTOCOLS)
    app[WORKER] = WorkerInfo(index=1, pid=1)
    client = await aiohttp_client(app)
    assert REPORTING in app
    assert (await client.get("/readyz")).status == 200
    report = await client.get("/v1/reports/ggr?from=2027-01-01&to=2027-01-01", headers=VIEWER)
    assert report.status == 503
    assert (await report.json())["error"]["code"] == "storage_unavailable"
    await asyncio.sleep(0.2)  # a few flush intervals
    metrics = await (await client.get("/metrics")).text()
    for reason in ("no_store", "store_failed"):
        assert f'gamegate_request_records_dropped_total{{reason="{reason}"}} 0.0' in metrics
    assert "gamegate_relay" not in metrics  # worker 0 shows the relay
