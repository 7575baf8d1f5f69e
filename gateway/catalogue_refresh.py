"""Keep a process's lobby index current with the catalogue store that others change."""

from __future__ import annotations

import asyncio

import structlog

from core.catalogue.live import LiveCatalogue

__all__ = ["refresh_forever"]

_log = structlog.get_logger("gamegate.catalogue")


async def refresh_forever(live: LiveCatalogue, interval_s: float) -> None:
    """Check for a newer catalogue every `interval_s`; a failed check is logged and
    retried on the next tick while the old index serves."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await live.refresh()
        except Exception:  # noqa: BLE001 -- any store failure: keep serving, say why
            _log.warning("catalogue_refresh_failed", exc_info=True)
