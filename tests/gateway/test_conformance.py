"""Every protocol's conformance script, over HTTP through the whole gateway.

Each protocol gets the app as `make run` builds it: its instance as configured in
`config/gamegate.toml`, demo secrets written by demo mode, the real SQLite wallet. The
script's requests pass the middleware, the routes and the metrics like a provider's.
"""

from __future__ import annotations

import gc
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from adapters.conformance.kit import ScriptContext, render_results, run_cases
from adapters.conformance.scripts import SCRIPTS
from adapters.providers.registry import PROTOCOLS
from gateway import demo
from gateway.app import create_app
from gateway.conformance import (
    ConformanceRun,
    UsageError,
    load_script_secrets,
    run_conformance,
    select_cases,
)
from gateway.demo import DEMO_OPERATOR_KEY
from gateway.settings import ProviderSettings, Settings, SettingsError, read_config_file
from tests.conftest import FakeClock
from tests.gateway.app_transport import AppTransport

DEMO_CONFIG = Path(__file__).parents[2] / "config" / "gamegate.toml"


def _demo_instances() -> dict[str, tuple[str, dict[str, Any]]]:
    """Protocol -> (instance name, its `[providers.<instance>]` table) in the demo config."""
    providers: dict[str, dict[str, Any]] = read_config_file(DEMO_CONFIG)["providers"]
    return {table["protocol"]: (name, table) for name, table in providers.items()}


def _demo_settings(data_dir: Path, protocol: str) -> tuple[str, Settings]:
    """Settings with only `protocol`'s demo instance, secrets written as demo mode does."""
    instance, table = _demo_instances()[protocol]
    warnings: list[str] = []
    provider = ProviderSettings.model_validate(table)
    settings = demo.prepare(
        Settings(data_dir=data_dir, providers={instance: provider}), warnings.append
    )
    assert warnings == []
    return instance, settings


def test_every_protocol_has_a_script_and_a_demo_instance() -> None:
    assert set(SCRIPTS) == set(PROTOCOLS)
    assert set(SCRIPTS) <= set(_demo_instances())
    assert all(len(cases) >= 20 for cases in SCRIPTS.values())


@pytest.mark.parametrize("protocol", sorted(SCRIPTS))
async def test_the_protocol_script_passes_through_the_whole_gateway(
    protocol: str, tmp_path: Path, clock: FakeClock, aiohttp_client: AiohttpClient
) -> None:
    instance, settings = _demo_settings(tmp_path / "data", protocol)
    client = await aiohttp_client(create_app(settings, clock=clock))
    transport = AppTransport(client, clock)
    secrets = load_script_secrets(settings, instance)
    options = dict(settings.providers[instance].options)

    results = await run_cases(
        SCRIPTS[protocol],
        lambda: ScriptContext(instance, secrets, options, transport, DEMO_OPERATOR_KEY),
    )

    assert all(result.passed for result in results), render_results(results)
    metrics = await (await client.get("/metrics")).text()
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("gamegate_provider_requests_total{") and f'provider="{instance}"' in line
    ]
    assert counted, "the script's callbacks are counted under the instance"
    assert not [line for line in counted if 'outcome="internal_error"' in line]


@pytest.mark.parametrize("protocol", sorted(SCRIPTS))
async def test_the_protocol_script_leaves_no_cyclic_garbage(
    protocol: str,
    tmp_path: Path,
    clock: FakeClock,
    aiohttp_client: AiohttpClient,
    saved_garbage: list[object],
) -> None:
    """Refusals and bad requests are everyday traffic. An error object that outlives its
    handling with its traceback keeps the frames in it, and everything they reference,
    alive until the collector finds the cycle: collector time and memory that grow with
    the refusal rate (a wallet refusal once took its whole group commit along)."""
    instance, settings = _demo_settings(tmp_path / "data", protocol)
    client = await aiohttp_client(create_app(settings, clock=clock))
    transport = AppTransport(client, clock)
    secrets = load_script_secrets(settings, instance)
    options = dict(settings.providers[instance].options)
    gc.collect()
    saved_garbage.clear()  # the app's start-up is not under test

    await run_cases(
        SCRIPTS[protocol],
        lambda: ScriptContext(instance, secrets, options, transport, DEMO_OPERATOR_KEY),
    )

    gc.collect()
    found = Counter(type(garbage).__name__ for garbage in saved_garbage)
    assert not found, found.most_common(10)


def test_script_secrets_are_the_instance_directory_with_overrides(tmp_path: Path) -> None:
    instance, settings = _demo_settings(tmp_path / "data", "gamegate")
    override = tmp_path / "other-key"
    override.write_bytes(b"other\n")

    loaded = load_script_secrets(settings, instance, {"provider_hmac_key": override})

    assert set(loaded) == {"hmac_key", "provider_hmac_key"}
    assert loaded["provider_hmac_key"] == b"other"
    assert len(loaded["hmac_key"]) == 64


def test_no_secrets_at_all_is_a_usage_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, providers={"gg": ProviderSettings(protocol="gamegate")})
    with pytest.raises(UsageError, match="--secret NAME=FILE"):
        load_script_secrets(settings, "gg")


def test_cases_are_picked_by_a_substring_of_their_name() -> None:
    picked = select_cases("gamegate", "NONCE")
    assert [case.name for case in picked] == [
        "a reused nonce is 401 replayed_request and changes nothing",
        "every answer is signed over its bytes and the request's nonce",
    ]
    with pytest.raises(UsageError, match="no gamegate case"):
        select_cases("gamegate", "no such case")
    with pytest.raises(UsageError, match="no conformance script for protocol 'fake'"):
        select_cases("fake")


def test_an_unknown_instance_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    run = ConformanceRun(instance="nobody", url="http://127.0.0.1:9", operator_key="k")
    with pytest.raises(SettingsError, match=r"^providers\.nobody: no such provider instance"):
        run_conformance(settings, run, out=lambda _: None)
