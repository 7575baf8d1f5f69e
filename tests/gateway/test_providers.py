"""Provider callbacks reach their adapter untouched; labels and failures are reported.

prometheus-client writes label names in sorted order, so samples are matched as text.
"""

from __future__ import annotations

from tests.gateway.conftest import Client, MakeClient


async def test_the_adapter_receives_the_request_as_sent(client: Client) -> None:
    response = await client.post(
        "/providers/fake/echo?b=2&a=%20x&a=second",
        data=b'{"exact": "bytes" }',
        headers={"X-Signature": "sig-123", "Content-Type": "application/json"},
    )
    assert response.status == 200
    shown = await response.json()
    assert shown["method"] == "POST"
    assert shown["path"] == "echo"
    assert shown["query_string"] == "b=2&a=%20x&a=second"
    assert shown["query"] == {"b": "2", "a": " x"}
    assert shown["signature"] == "sig-123"
    assert shown["body"] == '{"exact": "bytes" }'


async def test_the_adapter_response_is_sent_as_rendered(client: Client) -> None:
    response = await client.get("/providers/fake/echo")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["X-Fake"] == "1"


async def test_the_adapter_gets_its_options_and_secrets(make_client: MakeClient) -> None:
    client = await make_client(
        providers={"fake": {"protocol": "fake", "options": {"operator_id": 42}}}
    )
    shown = await (await client.get("/providers/fake/echo")).json()
    assert shown["options"] == {"operator_id": 42}
    assert shown["secrets"] == {"hmac_key": "test-hmac-key"}


async def test_an_unknown_provider_instance_is_a_json_404(client: Client) -> None:
    response = await client.post("/providers/nobody/bet", json={})
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "unknown_provider"


async def test_a_disabled_provider_instance_is_not_mounted(make_client: MakeClient) -> None:
    client = await make_client(providers={"fake": {"protocol": "fake", "enabled": False}})
    response = await client.get("/providers/fake/echo")
    assert response.status == 404


async def test_an_adapter_exception_is_a_500_and_is_counted(client: Client) -> None:
    response = await client.post("/providers/fake/boom", json={})
    assert response.status == 500
    assert (await response.json())["error"]["code"] == "internal_error"
    metrics = await (await client.get("/metrics")).text()
    counted = 'operation="unknown",outcome="internal_error",provider="fake"'
    assert f"gamegate_provider_requests_total{{{counted}}} 1.0" in metrics


async def test_provider_metrics_use_the_labels_the_adapter_returned(client: Client) -> None:
    await client.get("/providers/fake/echo")
    await client.get("/providers/fake/echo")
    metrics = await (await client.get("/metrics")).text()
    counted = 'operation="echo",outcome="ok",provider="fake"'
    assert f"gamegate_provider_requests_total{{{counted}}} 2.0" in metrics
    timed = 'operation="echo",provider="fake"'
    assert f"gamegate_provider_request_duration_seconds_count{{{timed}}} 2.0" in metrics


async def test_an_unknown_instance_adds_no_metric_labels(client: Client) -> None:
    await client.get("/providers/made-up-name/echo")
    metrics = await (await client.get("/metrics")).text()
    assert "made-up-name" not in metrics
