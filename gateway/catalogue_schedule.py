"""Scheduled catalogue syncs: each instance with a feed and a `sync_interval_s` is synced
from its feed on that interval, by one process (the gateway, or worker 0 of many).

Providers ask for this rather than a sync per request: Hub88 allows one game-list call a
minute and says its list rarely changes more than daily. A failed or refused sync is
logged and counted (`gamegate_catalogue_syncs_total{result}`) and tried again at the
next tick; the lobby keeps serving the last good catalogue. A guarded retirement is
never confirmed here: that is a person's call (`gamegate catalogue sync --confirm`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from core.errors import GatewayError
from gateway.catalogue_sync import sync_in_app
from gateway.keys import SETTINGS

__all__ = ["scheduled_syncs"]

_log = structlog.get_logger("gamegate.catalogue")


@contextlib.asynccontextmanager
async def scheduled_syncs(app: web.Application) -> AsyncIterator[None]:
    """Run every configured instance's sync loop while the context is open."""
    settings = app[SETTINGS]
    tasks = [
        asyncio.create_task(_sync_forever(app, name, provider.catalogue.sync_interval_s))
        for name, provider in settings.providers.items()
        if provider.enabled
        and provider.catalogue is not None
        and provider.catalogue.sync_interval_s is not None
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _sync_forever(app: web.Application, instance: str, interval_s: float) -> None:
    """The first sync at once (a fresh gateway gets its games), then every interval."""
    while True:
        try:
            report = await sync_in_app(app, instance, confirmed=False)
            _log.info(
                "catalogue_synced",
                provider=instance,
                version=report.version,
                added=len(report.added),
                changed=len(report.changed),
                retired=len(report.retired),
            )
        except GatewayError as error:
            _log.warning(
                "catalogue_sync_refused",
                provider=instance,
                reason=error.reason.value,
                message=error.message,
            )
        await asyncio.sleep(interval_s)
