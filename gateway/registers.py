"""The self-exclusion registers the settings name, built for the application.

Each market's register sits behind its answer cache (`core.registers.CachedRegister`),
and the http ones share one `httpx.AsyncClient` whose connection pool is bounded; the
client is made when the application starts and closed when it stops. API keys are read
by `create_app` (`gateway.credentials.register_api_keys`), so a missing one stops
start-up before anything opens.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from types import MappingProxyType

import httpx
from aiohttp import web

from adapters.registers.open import open_register
from core.registers import CachedRegister, ExclusionRegister
from gateway.credentials import secret_path
from gateway.keys import REGISTERS
from gateway.settings import RegisterSettings, Settings

__all__ = [
    "REGISTER_CONNECTIONS_MAX",
    "REGISTER_KEEPALIVE_MAX",
    "build_registers",
    "register_name",
    "registers_context",
]

REGISTER_CONNECTIONS_MAX = 32
"""Open connections to all registers together: lookups beyond wait for one (within
their `timeout_s`), so a slow register cannot take every socket of the process."""
REGISTER_KEEPALIVE_MAX = 8


def register_name(market: str, register: RegisterSettings) -> str:
    return register.name or f"{market.lower()}-{register.kind}"


def build_registers(
    settings: Settings,
    api_keys: Mapping[str, str],
    client: httpx.AsyncClient | None,
    *,
    clock_s: Callable[[], float] = time.monotonic,
) -> dict[str, ExclusionRegister]:
    """Market -> its cached register. `client` is needed when an http register is set."""
    registers: dict[str, ExclusionRegister] = {}
    for market, config in settings.registers.items():
        register = open_register(
            config.kind,
            name=register_name(market, config),
            client=client,
            url=config.url,
            api_key=api_keys.get(market, ""),
            timeout_s=config.timeout_s,
            retries_max=config.retries_max,
            path=secret_path(settings, config.path) if config.path else None,
        )
        registers[market] = CachedRegister(
            register,
            ttl_s=config.cache_ttl_s,
            excluded_ttl_s=config.cache_excluded_ttl_s,
            entries_max=config.cache_entries_max,
            clock_s=clock_s,
        )
    return registers


def registers_context(
    settings: Settings, api_keys: Mapping[str, str]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Sets `REGISTERS` for the application's life; the http client only if needed."""

    async def registers(app: web.Application) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            client = None
            if any(config.kind == "http" for config in settings.registers.values()):
                limits = httpx.Limits(
                    max_connections=REGISTER_CONNECTIONS_MAX,
                    max_keepalive_connections=REGISTER_KEEPALIVE_MAX,
                )
                client = await stack.enter_async_context(httpx.AsyncClient(limits=limits))
            app[REGISTERS] = MappingProxyType(build_registers(settings, api_keys, client))
            yield

    return registers
