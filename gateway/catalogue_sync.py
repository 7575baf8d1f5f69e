"""One catalogue sync, as the operator API and `gamegate catalogue` run it.

Read the instance's feed (its configured source, or bytes an operator uploaded), parse
it with the instance's feed format, and hand the games to the live catalogue (which
plans and applies the change in one store transaction and swaps the index), or to the
store alone where no index is served (`gamegate catalogue`). Every
outcome is counted by result, so a provider whose feed keeps failing shows on the
dashboard before its lobby goes stale.
"""

from __future__ import annotations

import asyncio

import httpx
from aiohttp import web

from adapters.catalogue.feeds import FeedContext, feed_parser
from adapters.catalogue.source import read_feed, source_label
from core.catalogue.live import LiveCatalogue
from core.catalogue.store import CatalogueStore, SyncReport
from core.errors import FeedInvalid, FeedUnavailable, InvalidRequest, RetirementGuarded
from core.money import CurrencyTable
from gateway.background_work import background_work
from gateway.keys import CATALOGUE, CLOCK, METRICS, SERVICE, SETTINGS
from gateway.metrics import Metrics
from gateway.settings import CatalogueFeedSettings, Settings

__all__ = ["FeedUpload", "sync_in_app", "sync_instance"]


class FeedUpload:
    """Feed bytes an operator sent, with the format and scope they say it has."""

    def __init__(self, raw: bytes, *, feed_format: str | None, partial: bool) -> None:
        self.raw = raw
        self.feed_format = feed_format
        self.partial = partial


def _feed_settings(settings: Settings, instance: str) -> CatalogueFeedSettings | None:
    provider = settings.providers.get(instance)
    if provider is None or not provider.enabled:
        raise InvalidRequest(f"{instance[:64]!r} is not a configured, enabled provider instance")
    return provider.catalogue


async def sync_instance(
    target: LiveCatalogue | CatalogueStore,
    settings: Settings,
    instance: str,
    *,
    currencies: CurrencyTable,
    metrics: Metrics,
    at_us: int,
    confirmed: bool,
    upload: FeedUpload | None = None,
    client: httpx.AsyncClient | None = None,
) -> SyncReport:
    """Sync `instance` from `upload`, or from its configured feed (fetched with `client`)."""
    feed = _feed_settings(settings, instance)
    if upload is None and feed is None:
        raise InvalidRequest(f"provider instance {instance!r} has no catalogue feed configured")
    result = "invalid"
    try:
        if upload is None:
            assert feed is not None
            raw, source, partial = await _fetch(feed, settings, client), feed.url, False
            feed_format = feed.format
        else:
            raw, source, partial = upload.raw, "upload", upload.partial
            feed_format = upload.feed_format or (feed.format if feed else "gamegate_json")
        try:
            parser = feed_parser(feed_format)
        except ValueError as exc:
            raise InvalidRequest(f"format: {exc}") from None
        markets = feed.markets_default if feed is not None else frozenset()
        with background_work():
            # Off the event loop: 10,000 records take a second or more to read and check.
            context = FeedContext(instance, currencies, markets)
            parsed = await asyncio.to_thread(parser, raw, context)
            report = await target.sync(
                instance,
                parsed.games,
                full=parsed.full and not partial,
                source=source_label(source),
                retire_share_max=feed.retire_share_max if feed is not None else 0.2,
                confirmed=confirmed,
                at_us=at_us,
            )
        result = "applied" if report.applied else "unchanged"
        return report
    except FeedUnavailable:
        result = "unavailable"
        raise
    except RetirementGuarded:
        result = "guarded"
        raise
    except FeedInvalid:
        result = "invalid"
        raise
    finally:
        metrics.catalogue_syncs.labels(instance, result).inc()


async def _fetch(
    feed: CatalogueFeedSettings, settings: Settings, client: httpx.AsyncClient | None
) -> bytes:
    if client is not None:
        return await read_feed(feed, data_dir=settings.data_dir, client=client)
    async with httpx.AsyncClient() as own_client:
        return await read_feed(feed, data_dir=settings.data_dir, client=own_client)


async def sync_in_app(
    app: web.Application, instance: str, *, confirmed: bool, upload: FeedUpload | None = None
) -> SyncReport:
    """`sync_instance` with the running application's catalogue, settings and counters."""
    return await sync_instance(
        app[CATALOGUE],
        app[SETTINGS],
        instance,
        currencies=app[SERVICE].currencies,
        metrics=app[METRICS],
        at_us=app[CLOCK].micros(),
        confirmed=confirmed,
        upload=upload,
    )
