"""Gateway fixtures: settings on a temp data dir, the app with the real SQLite store."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import FakeClock
from tests.gateway.fake_protocol import FAKE_PROTOCOL, FAKE_PROTOCOLS

ADMIN_KEY = "admin-key-0123456789"
VIEWER_KEY = "viewer-key-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
VIEWER = {"Authorization": f"Bearer {VIEWER_KEY}"}

Client = TestClient[web.Request, web.Application]
MakeSettings = Callable[..., Settings]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read GAMEGATE_* variables: none from the outer shell may leak in."""
    for name in list(os.environ):
        if name.upper().startswith("GAMEGATE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_settings(tmp_path: Path) -> MakeSettings:
    """Settings on a temp data dir with two operator keys and one `fake` provider, and
    no market rules (an empty rule directory): the tests about rules name theirs. The
    relay runs in the app's process (`reporting.relay_in_process`), unless a test says
    otherwise: no child process per app test."""
    no_rules = tmp_path / "no-rules"
    no_rules.mkdir(exist_ok=True)

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "jurisdictions": {"dir": no_rules},
            "operator_api_keys": f"{ADMIN_KEY}:admin,{VIEWER_KEY}:viewer",
            "providers": {"fake": {"protocol": FAKE_PROTOCOL}},
            "secret_env": {"GAMEGATE_SECRET_FAKE_HMAC_KEY": "test-hmac-key"},
        }
        reporting = {"relay_in_process": True, **overrides.pop("reporting", {})}
        values.update(overrides, reporting=reporting)
        return Settings(**values)

    return make


@pytest.fixture
def make_client(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> MakeClient:
    """A test client on a fresh app: `await make_client(server={"request_timeout_s": 1})`."""

    async def make(**overrides: Any) -> Client:
        app = create_app(make_settings(**overrides), clock=clock, protocols=FAKE_PROTOCOLS)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()


def app_of(client: Client) -> web.Application:
    return client.app
