"""Catalogue administration: sync an instance's feed, import an uploaded one, history.

Admin keys only. A sync answers with what it did (games added, changed, retired); a
feed that cannot be read is refused whole (`feed_invalid`, naming the record and field),
one that cannot be fetched is retryable (`feed_unavailable`), and one that would retire
too much of a lobby waits for `confirm=true` (`retirement_guarded`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.catalogue.store import SyncReport
from core.catalogue.sync import SyncHistoryEntry
from gateway.body import read_body
from gateway.catalogue_sync import FeedUpload, sync_in_app
from gateway.keys import CATALOGUE, REQUEST_INFO, SETTINGS
from gateway.responses import json_response
from gateway.routes._guard import operator_handler
from gateway.routes.query import query_flag, query_whole_number
from gateway.views import iso_utc

__all__ = ["history_json", "import_feed", "report_json", "sync_feed", "sync_history"]

SYNC_HISTORY_PAGE_MAX = 200


def report_json(report: SyncReport) -> dict[str, Any]:
    return {
        "instance": report.instance,
        "source": report.source,
        "version": report.version,
        "full": report.full,
        "added": [str(key) for key in report.added],
        "changed": [str(key) for key in report.changed],
        "retired": [str(key) for key in report.retired],
        "unchanged": report.unchanged,
    }


def history_json(entry: SyncHistoryEntry) -> dict[str, Any]:
    return {
        "version": entry.version,
        "instance": entry.instance,
        "source": entry.source,
        "at": iso_utc(entry.at_us),
        "full": entry.full,
        "added": entry.added,
        "changed": entry.changed,
        "retired": entry.retired,
        "unchanged": entry.unchanged,
    }


async def _sync(request: web.Request, upload: FeedUpload | None) -> web.Response:
    instance = request.match_info["instance"]
    confirmed = query_flag(request, "confirm")
    report = await sync_in_app(request.app, instance, confirmed=confirmed, upload=upload)
    request[REQUEST_INFO].outcome = "applied" if report.applied else "unchanged"
    return json_response(report_json(report))


@operator_handler(write=True)
async def sync_feed(request: web.Request) -> web.Response:
    """Fetch the instance's configured feed and apply it."""
    return await _sync(request, None)


@operator_handler(write=True)
async def import_feed(request: web.Request) -> web.Response:
    """Apply the feed in the body (`format=`, default the instance's or `gamegate_json`;
    `partial=true` for a delta that retires nothing)."""
    feed_format = request.query.get("format")
    partial = query_flag(request, "partial")
    raw = await read_body(request, request.app[SETTINGS].catalogue.import_bytes_max)
    return await _sync(request, FeedUpload(raw, feed_format=feed_format, partial=partial))


@operator_handler(write=False)
async def sync_history(request: web.Request) -> web.Response:
    """Applied syncs, newest first; `instance=` narrows, `limit=` (1-200, default 50)."""
    limit = query_whole_number(request, "limit", SYNC_HISTORY_PAGE_MAX) or 50
    instance = request.query.get("instance")
    store = request.app[CATALOGUE].store
    entries = await store.sync_history(limit, instance=instance)
    return json_response({"items": [history_json(entry) for entry in entries]})
