"""The composition root: settings in, a ready-to-run aiohttp application out.

Nothing connects here or at import: the wallet store opens in a cleanup context when
the application starts (and closes if and only if it opened), then the wallet service
and one adapter per enabled provider instance are built on top of it. Settings that
cannot work (an unknown protocol, a missing secret) fail here, before anything starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from types import MappingProxyType

from aiohttp import web

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
from core.money import CurrencyTable
from core.service import WalletService
from core.wallet.store import WalletStore
from gateway.clock import Clock, SystemClock
from gateway.credentials import instance_secrets, load_operator_keys
from gateway.keys import ADAPTERS, CLOCK, METRICS, OPERATOR_KEYS, SERVICE, SETTINGS, STORE
from gateway.metrics import Metrics
from gateway.middleware import build_middlewares
from gateway.routes import add_routes
from gateway.settings import Settings, SettingsError

__all__ = ["create_app", "enabled_providers"]

NONCE_ENTRIES_MAX = 1_000_000
"""Live nonces (or JWT `jti`s) one provider instance remembers, about 200 MB at most.
How long each is kept is the adapter's call (twice its clock-skew or token-age window);
at this cap new requests are refused as retryable until older nonces expire, never let
through by forgetting one early. Enough for 1,600 signed requests/s per instance at
gamegate's default window (600 s)."""

Secrets = dict[str, dict[str, bytes]]


def enabled_providers(settings: Settings) -> list[str]:
    return [name for name, provider in settings.providers.items() if provider.enabled]


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    protocols: Mapping[str, ProtocolSpec] = PROTOCOLS,
) -> web.Application:
    """Build the application; raises `SettingsError` naming the key that cannot work.

    `protocols` is the registry by default; tests pass their own protocols in.
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
    metrics = Metrics()
    app = web.Application(
        client_max_size=settings.server.request_body_bytes_max,
        middlewares=build_middlewares(settings.server, metrics),
        handler_args={"auto_decompress": False},  # bodies are decoded by `gateway.body`
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[METRICS] = metrics
    app[OPERATOR_KEYS] = load_operator_keys(settings)
    factories = {name: protocols[settings.providers[name].protocol].factory for name in secrets}
    app.cleanup_ctx.append(_wallet(settings, clock, metrics, factories, secrets))
    add_routes(app)
    return app


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
            service = WalletService(
                store,
                CurrencyTable(settings.currencies_extra),
                clock.micros,
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
