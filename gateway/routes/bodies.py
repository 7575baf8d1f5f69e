"""Operator API request bodies: parsed strictly from the raw JSON, unknown fields refused.

Strict means: `application/json` only (415 otherwise), UTF-8, no key given twice in one
object (a duplicate is ambiguous: `{"amount": "1.00", "amount": "2.00"}` must not deposit
either), no JSON numbers where an amount is expected.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from core.catalogue.game import Device
from core.errors import InvalidAmount, InvalidRequest
from core.pam import IDENTITY_FIELDS
from gateway.body import read_body
from gateway.keys import SETTINGS

__all__ = [
    "REALITY_CHECK_S_MAX",
    "REALITY_CHECK_S_MIN",
    "CashierBody",
    "Identifier",
    "IdentityBody",
    "LaunchBody",
    "NewPlayerBody",
    "NewSessionBody",
    "StrictBody",
    "parse_body",
]

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
]
"""Player, brand and game ids: printable, no spaces, short enough for every protocol."""


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Market = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]
"""ISO 3166-1 alpha-2, optionally with a subdivision: `MT`, `GB`, `US-NJ`, `CA-ON`."""

REALITY_CHECK_S_MIN = 60
REALITY_CHECK_S_MAX = 86_400
RealityCheckSeconds = Annotated[
    int, Field(strict=True, ge=REALITY_CHECK_S_MIN, le=REALITY_CHECK_S_MAX)
]
"""The reality-check interval the player chose on the operator's account page, in whole
seconds: a reminder more often than each minute would be noise, once a day the most any
session needs. Recorded on the session (`SessionRecord.reality_check_s`)."""


class IdentityBody(StrictBody):
    """What a self-exclusion register matches on (`core.pam.IDENTITY_FIELDS`): personal
    data, stored but never shown or logged. `core.pam.identity_change` checks the values."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    postcode: str | None = None
    mobile: str | None = None

    def given(self) -> dict[str, str | None]:
        """The fields the body names, null ones included (null: remove it)."""
        return {
            name: getattr(self, name) for name in sorted(self.model_fields_set & IDENTITY_FIELDS)
        }

    def with_values(self) -> dict[str, str]:
        """The fields given with a value (at registration, null is the same as absent)."""
        return {name: value for name, value in self.given().items() if value is not None}


class NewPlayerBody(StrictBody):
    player_id: Identifier
    brand: Identifier
    jurisdiction: Market
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,8}$")]
    date_of_birth: date = Field(strict=True)
    """`YYYY-MM-DD` only (strict: no timestamps)."""
    identity: IdentityBody | None = None


class CashierBody(StrictBody):
    amount: str
    """Decimal text in major units (`"12.50"`); a JSON number is refused, never rounded."""
    currency: str | None = None


class NewSessionBody(StrictBody):
    player_id: Identifier
    game_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """The provider's game code: with `provider`, a game in the catalogue."""
    provider: Identifier
    device: Device | None = None
    ttl_s: int | None = Field(default=None, strict=True)
    """Seconds the token is valid, at most `sessions.ttl_s` (the default)."""
    reality_check_s: RealityCheckSeconds | None = None


class LaunchBody(StrictBody):
    game: Annotated[str, StringConstraints(min_length=3, max_length=130)]
    """The catalogue key, `<provider instance>:<game code>`."""
    mode: Literal["real", "demo"] = "real"
    player_id: Identifier | None = None
    """Required for real play; none in demo (fun) mode."""
    device: Device
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    return_url: Annotated[str, StringConstraints(max_length=2_048)] | None = None
    """Where the game's lobby/close button leads: an absolute http(s) URL."""
    market: Market | None = None
    """Real play: defaults to the player's market; given and different, both must allow
    the game. Demo mode: required."""
    brand: Identifier | None = None
    """Demo mode: required. Real play: the player's brand (must match when given)."""
    reality_check_s: RealityCheckSeconds | None = None
    """Real play: recorded on the session. Both modes: `{reality_check_s}` in the URL."""


_B = TypeVar("_B", bound=StrictBody)
JSON_MEDIA_TYPE = "application/json"


def _refuse_duplicate_keys(raw: bytes) -> None:
    """A first pass with the standard parser, only to find a key given twice (pydantic
    and orjson keep the last silently). Syntax errors are left to the model's parse."""
    try:
        json.loads(raw, object_pairs_hook=_unique_keys)
    except _DuplicateKey as duplicate:
        raise InvalidRequest(f"body: key {duplicate.key!r} appears more than once") from None
    except (ValueError, RecursionError):  # not JSON (or absurdly nested): the model says why
        return


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key[:64]


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return found


async def parse_body(request: web.Request, model: type[_B]) -> _B:
    """Validate the body; the error names each bad field. `amount` errors are InvalidAmount."""
    if request.content_type != JSON_MEDIA_TYPE:
        raise web.HTTPUnsupportedMediaType(
            reason=f"the body must be {JSON_MEDIA_TYPE} (Content-Type: {JSON_MEDIA_TYPE})"
        )
    raw = await read_body(request, request.app[SETTINGS].server.request_body_bytes_max)
    _refuse_duplicate_keys(raw)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = [(".".join(str(part) for part in e["loc"]), e["msg"]) for e in exc.errors()]
        message = "; ".join(f"{field or 'body'}: {text}" for field, text in problems)
        if any(field == "amount" for field, _ in problems):
            raise InvalidAmount(message) from exc
        raise InvalidRequest(message) from exc
