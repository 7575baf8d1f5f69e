"""Operator API request bodies: parsed strictly from the raw JSON, unknown fields refused."""

from __future__ import annotations

from datetime import date
from typing import Annotated, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from core.errors import InvalidAmount, InvalidRequest

__all__ = ["CashierBody", "NewPlayerBody", "NewSessionBody", "parse_body"]

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
]
"""Player, brand and game ids: printable, no spaces, short enough for every protocol."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewPlayerBody(_Body):
    player_id: Identifier
    brand: Identifier
    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]
    """ISO 3166-1 alpha-2, optionally with a subdivision: `MT`, `GB`, `US-NJ`, `CA-ON`."""
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,8}$")]
    date_of_birth: date = Field(strict=True)
    """`YYYY-MM-DD` only (strict: no timestamps)."""


class CashierBody(_Body):
    amount: str
    """Decimal text in major units (`"12.50"`); a JSON number is refused, never rounded."""
    currency: str | None = None


class NewSessionBody(_Body):
    player_id: Identifier
    game_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    provider: Identifier
    ttl_s: int | None = Field(default=None, strict=True)
    """Seconds the token is valid, at most `sessions.ttl_s` (the default)."""


_B = TypeVar("_B", bound=_Body)


async def parse_body(request: web.Request, model: type[_B]) -> _B:
    """Validate the body; the error names each bad field. `amount` errors are InvalidAmount."""
    raw = await request.read()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = [(".".join(str(part) for part in e["loc"]), e["msg"]) for e in exc.errors()]
        message = "; ".join(f"{field or 'body'}: {text}" for field, text in problems)
        if any(field == "amount" for field, _ in problems):
            raise InvalidAmount(message) from exc
        raise InvalidRequest(message) from exc
