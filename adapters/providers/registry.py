"""The provider protocols gamegate speaks: protocol name -> adapter factory.

Adding a protocol is one module in `adapters/providers/` and one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from adapters.providers.base import AdapterContext, ProviderAdapter

__all__ = ["PROTOCOLS", "build_adapter"]

AdapterFactory = Callable[[AdapterContext], ProviderAdapter]

PROTOCOLS: Mapping[str, AdapterFactory] = MappingProxyType({})


def build_adapter(protocol: str, context: AdapterContext) -> ProviderAdapter:
    """Build the adapter for `protocol`; unknown names list the known ones."""
    factory = PROTOCOLS.get(protocol)
    if factory is None:
        known = ", ".join(sorted(PROTOCOLS)) or "none"
        raise ValueError(f"unknown provider protocol {protocol!r} (known: {known})")
    return factory(context)
