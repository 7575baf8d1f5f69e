"""Bodies of the player account changes. Each says why: the reason is kept in the
player's audit trail beside the key's name, the time and the change itself."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StrictInt, StrictStr, StringConstraints

from core.model import KycState
from gateway.routes.bodies import IdentityBody, StrictBody

__all__ = [
    "BreakBody",
    "ChangeBody",
    "IdentityChangeBody",
    "KycBody",
    "LimitBody",
    "SelfExclusionBody",
    "StatusBody",
]

WHY_CHARS_MAX = 500

Why = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=WHY_CHARS_MAX)
]


class ChangeBody(StrictBody):
    why: Why


class StatusBody(ChangeBody):
    status: Literal["active", "restricted", "suspended", "closed"]
    """Self-exclusion and breaks have their own changes: they take an end."""


class KycBody(ChangeBody):
    state: KycState


class SelfExclusionBody(ChangeBody):
    until: Annotated[AwareDatetime, Field(strict=True)] | None
    """RFC 3339 with an offset; null: indefinitely. Required, so that an indefinite
    exclusion is asked for, never assumed."""


class BreakBody(ChangeBody):
    duration_s: int = Field(strict=True)
    """From now; 86,400 is the 24-hour panic button."""


class LimitBody(ChangeBody):
    value: StrictStr | StrictInt | None
    """Decimal text in the wallet currency for money limits, whole seconds for
    `session_time`; null removes the limit (after the cooling-off, like a raise)."""


class IdentityChangeBody(IdentityBody):
    why: Why
