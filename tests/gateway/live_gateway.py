"""A live gateway on a real loopback port, in a thread of the test process, composed as
`gamegate serve --demo` composes it (demo secrets and players, `gateway.serving`, the
configured JSON log), for tests that speak raw bytes to it from ordinary sockets."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import demo
from gateway.app import create_app, enabled_providers
from gateway.credentials import secret_values
from gateway.keys import CLOCK, SERVICE
from gateway.logging import configure_logging, flush_logging, reset_logging
from gateway.serving import open_server
from gateway.settings import Settings

__all__ = ["LiveGateway", "live_gateway"]

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


class LiveGateway:
    """The demo gateway serving in a background thread until `stop()`."""

    def __init__(self, data_dir: Path) -> None:
        values: dict[str, Any] = {
            "config": REPO / "config" / "gamegate.toml",
            "data_dir": data_dir,
            "server": {"host": "127.0.0.1", "port": 0},
        }
        settings = Settings(**values)
        self.settings = demo.prepare(settings, lambda message: None)
        self.secrets: list[bytes] = secret_values(self.settings, enabled_providers(self.settings))
        self.port = 0
        self._log = io.BytesIO()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="live-gateway", daemon=True)

    def start(self) -> None:
        configure_logging("info", stream=self._log, secrets=self.secrets)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._failed is not None:
            raise RuntimeError("the live gateway did not start") from self._failed

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_TIMEOUT_S)
        reset_logging()  # flushes the buffered log into `_log`

    def log_bytes(self) -> bytes:
        """Every line logged so far (flushed first)."""
        flush_logging()
        return self._log.getvalue()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 -- reported to the starting thread
            self._failed = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = create_app(self.settings)
        async with open_server(app, self.settings, lambda message: None) as server:
            await demo.seed(
                app[SERVICE], self.settings, lambda message: None, at_us=app[CLOCK].micros()
            )
            self.port = await server.listen()
            self._ready.set()
            await self._stop.wait()


@pytest.fixture(scope="module")
def live_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    gateway = LiveGateway(tmp_path_factory.mktemp("live") / "data")
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
