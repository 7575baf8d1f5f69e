"""What a handler tells the request middleware about its request, for the log and metrics."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RequestInfo"]


@dataclass(slots=True)
class RequestInfo:
    """One per request; handlers fill in what they learn, the middleware reports it."""

    request_id: str
    route: str = "unmatched"
    """The route pattern (`/v1/players/{player_id}/balance`), never the raw path."""
    provider: str | None = None
    """A configured provider instance (never an arbitrary name from the URL)."""
    operation: str | None = None
    outcome: str | None = None
    player_id: str | None = None
    actor: str | None = None
    """The operator API key's name (`gateway.credentials`), for the audit trail."""
