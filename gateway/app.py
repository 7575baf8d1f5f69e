"""The composition root: settings in, a ready-to-run aiohttp application out.

Nothing connects here or at import: the wallet store opens in a cleanup context when
the application starts (and closes if and only if it opened), then the wallet service
and one adapter per enabled provider instance are built on top of it; reporting is set
up too (`gateway.reporting_context`: the relay's child process that holds the store and
a client of it, or the store itself and the relay beside it, `gateway.relay`). Settings
that cannot work (an unknown protocol, a missing secret) fail here, before anything
starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType

import structlog
from aiohttp import web

from adapters.catalogue.open import open_catalogue_store
from adapters.providers.base import (
    AdapterContext,
    MeteredNonceCache,
    NonceCache,
    NonceCacheFactory,
    ProviderAdapter,
    SharedNonceCaches,
)
from adapters.providers.nonces import MemoryNonceCache
from adapters.providers.registry import PROTOCOLS, AdapterFactory, ProtocolSpec
from adapters.stores.open import open_wallet_store
from core.catalogue.index import CatalogueIndex
from core.catalogue.live import LiveCatalogue
from core.compliance import Compliance
from core.money import CurrencyTable
from core.service import WalletService
from core.wallet.store import WalletStore
from gateway.background_work import background_work
from gateway.catalogue_refresh import refresh_forever
from gateway.catalogue_views import GameFragments
from gateway.clock import Clock, SystemClock
from gateway.credentials import instance_secrets, load_operator_keys, register_api_keys
from gateway.keys import (
    ADAPTERS,
    CATALOGUE,
    CLOCK,
    GAME_FRAGMENTS,
    LOBBY_ANSWERS,
    METRICS,
    OPERATOR_KEYS,
    RULES,
    SERVICE,
    SETTINGS,
    STORE,
)
from gateway.lobby_answers import LobbyAnswers
from gateway.metrics import CatalogueStats, Metrics
from gateway.middleware import build_middlewares
from gateway.registers import registers_context
from gateway.relay import relay_context
from gateway.reporting_context import reporting_context, request_stream
from gateway.routes import add_routes
from gateway.rules_holder import load_live_rules
from gateway.settings import Settings, SettingsError

__all__ = ["create_app", "enabled_providers"]

NONCE_ENTRIES_MAX = 1_000_000
"""Live nonces (or JWT `jti`s) one provider instance remembers, about 200 MB at most.
How long each is kept is the adapter's call (twice its clock-skew or token-age window);
at this cap new requests are refused as retryable until older nonces expire, never let
through by forgetting one early. Enough for 1,600 signed requests/s per instance at
gamegate's default window (600 s)."""

Secrets = dict[str, dict[str, bytes]]
_log = structlog.get_logger("gamegate.catalogue")


def enabled_providers(settings: Settings) -> list[str]:
    return [name for name, provider in settings.providers.items() if provider.enabled]


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    protocols: Mapping[str, ProtocolSpec] = PROTOCOLS,
    demo: bool = False,
) -> web.Application:
    """Build the application; raises `SettingsError` naming the key that cannot work.

    `protocols` is the registry by default; tests pass their own protocols in. `demo`
    adds the demo lobby page and its demo provider (`gateway.demo_lobby`).
    """
    clock = clock or SystemClock()
    enabled = enabled_providers(settings)
    for name in enabled:
        protocol = settings.providers[name].protocol
        if protocol not in protocols:
            known = ", ".join(sorted(protocols)) or "none yet"
            raise SettingsError(
                f"providers.{name}.protocol: unknown provider protocol {protocol!r} "
                f"(known: {known})"
            )
    secrets = {name: instance_secrets(settings, name) for name in enabled}
    register_keys = register_api_keys(settings)
    metrics = Metrics()
    requests = request_stream(settings.reporting, clock)
    app = web.Application(
        client_max_size=settings.server.request_body_bytes_max,
        middlewares=build_middlewares(
            settings.server, metrics, None if requests is None else requests.record
        ),
        handler_args={"auto_decompress": False},  # bodies are decoded by `gateway.body`
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[METRICS] = metrics
    app[OPERATOR_KEYS] = load_operator_keys(settings)
    app[RULES] = rules = load_live_rules(settings, metrics)
    app.on_startup.append(rules.announce)
    factories = {name: protocols[settings.providers[name].protocol].factory for name in secrets}
    app.cleanup_ctx.append(registers_context(settings, register_keys))
    app.cleanup_ctx.append(_catalogue(settings, clock, metrics))
    app.cleanup_ctx.append(_wallet(settings, clock, metrics, factories, secrets))
    app.cleanup_ctx.append(reporting_context(settings, metrics, requests))
    app.cleanup_ctx.append(relay_context(settings))  # after the stores it reads and writes
    add_routes(app, demo_lobby=demo)
    return app


def _catalogue(
    settings: Settings, clock: Clock, metrics: Metrics
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Open the catalogue store and load the index before the first request; then check
    every `reload_interval_s` whether another process changed the catalogue."""

    def today() -> date:
        return datetime.fromtimestamp(clock.seconds(), tz=UTC).date()

    def swapped(index: CatalogueIndex, build_s: float) -> None:
        metrics.catalogue_index_build.observe(build_s)
        _log.info("catalogue_swapped", version=index.version, games=len(index), build_s=build_s)

    async def catalogue(app: web.Application) -> AsyncIterator[None]:
        config = settings.catalogue
        store = await open_catalogue_store(config.url, data_dir=settings.data_dir)
        refresher: asyncio.Task[None] | None = None
        try:
            live = LiveCatalogue(
                store,
                today=today,
                new_games_days=config.new_games_days,
                on_swap=swapped,
                around_build=background_work,
            )
            await live.load()
            app[CATALOGUE] = live
            app[GAME_FRAGMENTS] = GameFragments()
            app[LOBBY_ANSWERS] = LobbyAnswers(
                config.answers_cached_max, config.answers_cached_bytes_max
            )
            metrics.catalogue_stats = lambda: CatalogueStats(
                live.index.version, live.index.games_by_status
            )
            refresher = asyncio.create_task(refresh_forever(live, config.reload_interval_s))
            yield
        finally:
            metrics.catalogue_stats = None
            if refresher is not None:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
            await store.close()

    return catalogue


def _wallet(
    settings: Settings,
    clock: Clock,
    metrics: Metrics,
    factories: Mapping[str, AdapterFactory],
    secrets: Secrets,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def wallet(app: web.Application) -> AsyncIterator[None]:
        store = await _open_store(settings, clock)
        metrics.wallet_stats = store.stats
        try:
            live = app[CATALOGUE]
            service = WalletService(
                store,
                CurrencyTable(settings.currencies_extra),
                clock.micros,
                compliance=Compliance(app[RULES].rules_for),
                games=lambda key: live.index.game(key),
                store_timeout_s=settings.wallet.store_timeout_s,
            )
            app[STORE] = store
            app[SERVICE] = service
            app[ADAPTERS] = MappingProxyType(
                _adapters(settings, service, clock, factories, secrets, metrics, store)
            )
            yield
        finally:
            metrics.wallet_stats = None
            await store.close()

    return wallet


async def _open_store(settings: Settings, clock: Clock) -> WalletStore:
    """The backend named by the wallet URL's scheme (settings allow only known ones);
    `WalletAccessError` if it cannot be opened."""
    wallet = settings.wallet
    return await open_wallet_store(
        wallet.url,
        data_dir=settings.data_dir,
        clock_us=clock.micros,
        synchronous=wallet.synchronous,
        batch_ops_max=wallet.batch_ops_max,
        queue_depth_max=wallet.queue_depth_max,
        commit_delay_s=wallet.commit_delay_s,
    )


def _adapters(
    settings: Settings,
    service: WalletService,
    clock: Clock,
    factories: Mapping[str, AdapterFactory],
    secrets: Secrets,
    metrics: Metrics,
    store: WalletStore,
) -> dict[str, ProviderAdapter]:
    adapters: dict[str, ProviderAdapter] = {}
    for name, factory in factories.items():
        provider = settings.providers[name]
        context = AdapterContext(
            instance=name,
            options=MappingProxyType(dict(provider.options)),
            secrets=MappingProxyType(secrets[name]),
            service=service,
            currencies=service.currencies,
            clock_s=clock.seconds,
            nonce_cache=_nonce_caches(name, metrics, store),
            data_dir=settings.data_dir,
        )
        try:
            adapters[name] = factory(context)
        except (KeyError, TypeError, ValueError) as exc:
            raise SettingsError(
                f"providers.{name}: the {provider.protocol} adapter refused its settings: {exc!r}"
            ) from exc
    return adapters


def _nonce_caches(instance: str, metrics: Metrics, store: WalletStore) -> NonceCacheFactory:
    """The instance's nonce memory, sized by its adapter and shown on `/metrics`: the
    wallet store's, shared by every process, when it offers one (Redis)."""

    def build(*, window_s: float) -> NonceCache:
        cache: MeteredNonceCache
        if isinstance(store, SharedNonceCaches):
            cache = store.nonce_cache(window_s=window_s)
        else:
            cache = MemoryNonceCache(window_s=window_s, entries_max=NONCE_ENTRIES_MAX)
        metrics.nonce_caches[instance] = cache
        return cache

    return build
