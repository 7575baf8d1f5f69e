"""Ops endpoints: liveness, readiness (the wallet store answers), Prometheus metrics."""

from __future__ import annotations

import asyncio

from aiohttp import web

from core.errors import StorageUnavailable
from gateway.keys import METRICS, STORE
from gateway.metrics import CONTENT_TYPE
from gateway.responses import json_response
from gateway.worker import WORKER

__all__ = ["healthz", "metrics", "readyz"]

READY_PING_TIMEOUT_S = 2.0


async def healthz(request: web.Request) -> web.Response:
    """The process is alive and its event loop answers; a worker of several also says
    which one it is (`gateway.worker`)."""
    worker = request.app.get(WORKER)
    if worker is None:
        return json_response({"status": "ok"})
    return json_response({"status": "ok", "worker": worker.index, "pid": worker.pid})


async def readyz(request: web.Request) -> web.Response:
    """Ready to take traffic: the wallet store is open and answers a ping in time."""
    store = request.app.get(STORE)
    if store is None:
        return json_response({"status": "unavailable", "reason": "store not open"}, status=503)
    try:
        async with asyncio.timeout(READY_PING_TIMEOUT_S):
            await store.ping()
    except (StorageUnavailable, TimeoutError) as exc:
        reason = str(exc) or "store ping timed out"
        return json_response({"status": "unavailable", "reason": reason}, status=503)
    return json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
