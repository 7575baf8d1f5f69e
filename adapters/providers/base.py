"""What a provider protocol adapter is, and what the gateway hands it.

An adapter owns one wire protocol. The gateway mounts each configured instance at
`/providers/{instance}/{path}` and passes every request there, untouched, to
`ProviderAdapter.handle`. The adapter verifies the signature over the exact bytes
received, parses into canonical commands, calls `WalletService`, and renders the
outcome or the refusal in its own protocol. It never raises to the gateway for a
business outcome: every answer, refusals and storage failures included, is a
`ProviderResponse` in the protocol's own format. Only a bug may reach the gateway, and
only where the protocol has no internal-error answer of its own (`_fallback`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from core.money import CurrencyTable
from core.service import WalletService

__all__ = [
    "AdapterContext",
    "MeteredNonceCache",
    "NonceCache",
    "NonceCacheFactory",
    "ProviderAdapter",
    "ProviderRequest",
    "ProviderResponse",
    "SharedNonceCaches",
]


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """One inbound callback as received: nothing parsed, nothing normalised."""

    method: str
    path: str
    """The part after `/providers/{instance}/`, without a leading slash (`transaction/bet`)."""
    query_string: str
    """The raw query string as received (signatures may cover it)."""
    query: Mapping[str, str]
    """Decoded query parameters (first value of each name)."""
    headers: Mapping[str, str]
    """Case-insensitive mapping of the request headers."""
    body: bytes
    remote: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    """The answer in the provider's protocol, plus low-cardinality labels for metrics."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    operation: str = "unknown"
    """Metrics label: the protocol operation (`bet`, `win`, ...), from a fixed set."""
    outcome: str = "ok"
    """Metrics label: `ok`, `replay`, a `core.errors.Reason` value or `internal_error`."""
    player_id: str | None = None
    """For the request log line only (never a metrics label)."""


class NonceCache(Protocol):
    """Remembers nonces for a bounded time, for protocols that carry one (a port).

    It must remember every nonce for its whole window: a nonce forgotten early can be
    replayed while its timestamp still passes. So when it cannot take one more (memory
    full, its store unreachable) it refuses rather than forgets. `seen` is async: a
    memory shared by several gateway processes (Redis) answers over the network.
    """

    async def seen(self, key: str, now_s: float) -> bool:
        """Record `key`; True if it was already recorded within the window.

        Raises `core.errors.StorageUnavailable` when `key` cannot be remembered: the
        request is then answered with the protocol's retryable error, never let through.
        """
        ...


class MeteredNonceCache(NonceCache, Protocol):
    """A nonce memory that also shows its counts (on `/metrics`)."""

    @property
    def entries(self) -> int:
        """Nonces held (a shared memory: those this process recorded)."""
        ...

    @property
    def full_refusals_total(self) -> int:
        """Nonces refused because they could not be remembered."""
        ...


@runtime_checkable
class SharedNonceCaches(Protocol):
    """What offers nonce memories shared by every gateway process on it (the Redis
    wallet store): the composition root prefers them to a memory per process, so a
    replay is caught whichever process the original reached."""

    def nonce_cache(self, *, window_s: float) -> MeteredNonceCache: ...


class NonceCacheFactory(Protocol):
    """Builds the nonce memory of one provider instance (the composition root's choice)."""

    def __call__(self, *, window_s: float) -> NonceCache:
        """A memory that keeps each nonce for at least `window_s` seconds."""
        ...


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """Everything an adapter may use. Built once per instance by the composition root."""

    instance: str
    """The provider instance name: the mount point and the idempotency namespace."""
    options: Mapping[str, Any]
    """The instance's `[providers.<instance>]` table from the settings (protocol options)."""
    secrets: Mapping[str, bytes]
    """Secrets and key material for this instance, loaded from env or files, never config."""
    service: WalletService
    currencies: CurrencyTable
    clock_s: Callable[[], float]
    """Wall clock in seconds (injected so tests can move time)."""
    nonce_cache: NonceCacheFactory
    """For protocols that carry a nonce (or a token id): call it once, at construction,
    with a window of at least twice the instance's own clock-skew (or token-age) window,
    so that a request stays remembered for as long as its timestamp could still pass."""
    data_dir: Path


class ProviderAdapter(Protocol):
    """One provider protocol. One module per protocol in `adapters/providers/`."""

    protocol: ClassVar[str]
    """Registry key, e.g. `gamegate`, `hub88`."""

    async def handle(self, request: ProviderRequest) -> ProviderResponse:
        """Verify, parse, execute and render. Never raises for an expected outcome."""
        ...
