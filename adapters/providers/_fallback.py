"""An exception no adapter expected: the one decision on how a provider hears of a bug.

Every expected outcome reaches an adapter as a `core.errors.GatewayError` and is answered
from its protocol's one mapping table; a store that cannot confirm durability raises
`StorageUnavailable`, which each table maps to the protocol's retryable answer. Any other
exception is a bug. Its outcome is unknown, but it is not a storage failure: answering it
as one tells the provider to retry at once into the same bug, and has the metrics blame
the store. So a bug is

- answered with the protocol's own generic internal error where the protocol has one
  (the adapter passes its rendering), logged here once with its traceback;
- re-raised where the protocol has none, for the gateway to log and answer 500.

Either way its metrics outcome is `internal_error`, the label the gateway gives its 500.
Each adapter calls `unexpected` from its `except Exception` and supplies nothing but the
rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar, overload

import structlog

from core.errors import GatewayError

__all__ = ["INTERNAL_ERROR", "unexpected"]

INTERNAL_ERROR = "internal_error"
"""`ProviderResponse.outcome` of a bug answered in the protocol (the gateway's 500 too)."""

_log = structlog.get_logger("gamegate.provider")
_T = TypeVar("_T")


@overload
def unexpected(error: Exception, render: None, *, instance: str, operation: str) -> NoReturn: ...


@overload
def unexpected(
    error: Exception, render: Callable[[], _T], *, instance: str, operation: str
) -> _T: ...


def unexpected(
    error: Exception, render: Callable[[], _T] | None, *, instance: str, operation: str
) -> _T:
    """The answer to `error`, a bug: `render()`, the protocol's internal error; or re-raise.

    Call it from an `except Exception` that comes after the adapter's `except GatewayError`.
    """
    assert not isinstance(error, GatewayError), "refusals are answered from the mapping table"
    if render is None:
        raise error
    _log.error("provider_internal_error", instance=instance, operation=operation, exc_info=error)
    return render()
