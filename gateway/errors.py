"""GatewayError -> HTTP status for the gateway's own APIs, in one table (MRO lookup).

Provider callbacks never come here: each adapter renders refusals in its protocol.
"""

from __future__ import annotations

from aiohttp import web

from core.errors import (
    AlreadyRolledBack,
    AlreadySettled,
    BadSignature,
    CatalogueRefused,
    ComplianceRefused,
    ConflictingReplay,
    ExclusionCheckUnavailable,
    FeedInvalid,
    GameNotFound,
    GatewayError,
    PlayerError,
    PlayerNotFound,
    ReferenceNotFound,
    ReplayedRequest,
    RequestRejected,
    RetirementGuarded,
    RetryableError,
    RoundClosed,
    SessionError,
    Underage,
    WalletRefused,
    lookup_by_mro,
)
from gateway.responses import error_response

__all__ = [
    "HTTP_STATUS_BY_ACCOUNT_CHANGE_ERROR",
    "HTTP_STATUS_BY_ERROR",
    "gateway_error_response",
    "status_for",
]

RETRY_AFTER_S = 1

HTTP_STATUS_BY_ERROR: dict[type[GatewayError], int] = {
    GatewayError: 400,
    RequestRejected: 400,
    BadSignature: 401,
    ReplayedRequest: 409,
    SessionError: 403,
    PlayerError: 403,
    PlayerNotFound: 404,
    Underage: 422,
    ExclusionCheckUnavailable: 503,
    ComplianceRefused: 403,
    WalletRefused: 422,
    ReferenceNotFound: 404,
    RoundClosed: 409,
    AlreadyRolledBack: 409,
    AlreadySettled: 409,
    ConflictingReplay: 409,
    CatalogueRefused: 422,
    GameNotFound: 404,
    FeedInvalid: 422,
    RetirementGuarded: 409,
    RetryableError: 503,
}
"""Most specific class wins: InsufficientFunds is a WalletRefused (422)."""

HTTP_STATUS_BY_ACCOUNT_CHANGE_ERROR: dict[type[GatewayError], int] = {
    **HTTP_STATUS_BY_ERROR,
    PlayerError: 409,
}
"""An operator's change to a player's account (`core.pam`): a refusal by the account's
state (`self_excluded`, `cooling_off`: a running exclusion or break cannot be shortened)
is a conflict with that state, not a lack of permission; an unknown player stays 404."""


def status_for(
    error: GatewayError, statuses: dict[type[GatewayError], int] = HTTP_STATUS_BY_ERROR
) -> int:
    return lookup_by_mro(error, statuses)


def gateway_error_response(
    error: GatewayError, statuses: dict[type[GatewayError], int] = HTTP_STATUS_BY_ERROR
) -> web.Response:
    """The error body for a refusal; retryable ones say when to retry."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if error.retryable else None
    return error_response(
        status_for(error, statuses), error.reason.value, error.message, headers=headers
    )
