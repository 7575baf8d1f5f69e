"""The provider protocols gamegate speaks: protocol name -> adapter factory.

Adding a protocol is one module in `adapters/providers/` and one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from adapters.providers import betby, betsoft, evolution, gamegate, hub88, pragmatic, softswiss
from adapters.providers.base import AdapterContext, ProviderAdapter

__all__ = ["PROTOCOLS", "ProtocolSpec", "build_adapter"]

AdapterFactory = Callable[[AdapterContext], ProviderAdapter]


@dataclass(frozen=True, slots=True)
class ProtocolSpec:
    """How to build a protocol's adapter, and fresh demo credentials for it.

    `demo_secrets()` returns every secret an instance needs, keyed by the names the
    adapter reads from `AdapterContext.secrets`; names starting with `provider_` are the
    provider side's half (private keys, shared secrets as the provider holds them), used
    only by the demo client, the load generator and the conformance kit.
    """

    factory: AdapterFactory
    demo_secrets: Callable[[], dict[str, bytes]]


PROTOCOLS: Mapping[str, ProtocolSpec] = MappingProxyType(
    {
        "betby": ProtocolSpec(betby.BetbyAdapter, betby.demo_secrets),
        "betsoft": ProtocolSpec(betsoft.BetsoftAdapter, betsoft.demo_secrets),
        "evolution": ProtocolSpec(evolution.EvolutionAdapter, evolution.demo_secrets),
        "gamegate": ProtocolSpec(gamegate.GamegateAdapter, gamegate.demo_secrets),
        "hub88": ProtocolSpec(hub88.Hub88Adapter, hub88.demo_secrets),
        "pragmatic": ProtocolSpec(pragmatic.PragmaticAdapter, pragmatic.demo_secrets),
        "softswiss": ProtocolSpec(softswiss.SoftswissAdapter, softswiss.demo_secrets),
    }
)


def build_adapter(protocol: str, context: AdapterContext) -> ProviderAdapter:
    """Build the adapter for `protocol`; unknown names list the known ones."""
    spec = PROTOCOLS.get(protocol)
    if spec is None:
        known = ", ".join(sorted(PROTOCOLS)) or "none"
        raise ValueError(f"unknown provider protocol {protocol!r} (known: {known})")
    return spec.factory(context)
