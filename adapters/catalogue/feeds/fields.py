"""Reading one field of a feed record, exactly or not at all (`FieldError`).

Money and identity are strict: a game code, a title, an RTP, a stake, a currency, a
market code and a date are either read exactly or refused, never rounded or guessed.
Presentation is lenient: an image URL that is not http(s) or a site path is dropped
(the game shows no art) rather than stopping the import; `Game.images` holds absolute
https URLs and site paths only (no http, no protocol-relative `//host`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.catalogue.feeds.base import FieldError
from core.catalogue.game import GAME_CODE_PATTERN, MARKET_PATTERN, StakeRange
from core.errors import InvalidAmount, UnknownCurrency
from core.money import CurrencyTable, minor_from_decimal

__all__ = [
    "IMAGES_PER_GAME_MAX",
    "IMAGE_URL_CHARS_MAX",
    "LIST_ITEMS_MAX",
    "TEXT_CHARS_MAX",
    "image_urls",
    "known_currency",
    "market_code",
    "optional_bool",
    "optional_date",
    "optional_text",
    "required_code",
    "required_text",
    "rtp_bp",
    "stake_range",
    "string_list",
]

TEXT_CHARS_MAX = 200
"""Titles, studio names, provider categories, tags."""
LIST_ITEMS_MAX = 500
"""Markets, currencies, tags, features of one game (there are about 250 countries)."""
IMAGES_PER_GAME_MAX = 16
IMAGE_URL_CHARS_MAX = 2_048
_RTP_TEXT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,6})?")
_DATE_TEXT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ][0-9:.]+(?:Z|[+-][0-9:]+)?)?")
_IMAGE_URL = re.compile(r"(?:https://[^\s/?#]+|/(?!/))[^\s]*")
_BASIS_POINTS_PER_PERCENT = 100
_RTP_BP_MAX = 10_000


def required_text(value: Any, field: str) -> str:
    text = optional_text(value, field)
    if not text:
        raise FieldError(field, "missing")
    return text


def optional_text(value: Any, field: str) -> str:
    """A string, trimmed; None or absent is empty."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(field, f"expected text, got {type(value).__name__}")
    text = value.strip()
    if len(text) > TEXT_CHARS_MAX:
        raise FieldError(field, f"longer than {TEXT_CHARS_MAX} characters")
    return text


def required_code(value: Any, field: str) -> str:
    code = required_text(value, field)
    if not GAME_CODE_PATTERN.match(code):
        raise FieldError(field, f"{code!r} is not a game code (1-64 printable, no spaces)")
    return code


def rtp_bp(value: Any, field: str) -> int | None:
    """A percentage as decimal text ("96.50") or a whole number, in basis points.

    None or empty means unknown. Finer than a hundredth of a percent, zero or above 100
    is refused: an RTP is a certified figure, not something to round.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldError(field, 'expected a decimal string such as "96.50"')
    text = str(value)
    if not _RTP_TEXT.fullmatch(text):
        raise FieldError(field, f'{text!r} is not a percentage such as "96.50"')
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) > 2:
        raise FieldError(field, f"{text!r} is finer than 0.01 %")
    basis_points = int(whole) * _BASIS_POINTS_PER_PERCENT + int(fraction.ljust(2, "0"))
    if not 0 < basis_points <= _RTP_BP_MAX:
        raise FieldError(field, f"{text!r} is not above 0 and at most 100")
    return basis_points


def market_code(value: Any, field: str) -> str:
    if not isinstance(value, str) or not MARKET_PATTERN.match(value):
        raise FieldError(field, f"{value!r} is not a market code (ISO 3166-1 alpha-2, CA-ON)")
    return value


def known_currency(value: Any, currencies: CurrencyTable, field: str) -> str:
    if not isinstance(value, str):
        raise FieldError(field, f"{value!r} is not a currency code")
    try:
        return currencies.get(value).code
    except UnknownCurrency as error:
        raise FieldError(field, error.message) from error


def stake_range(
    low: Any, high: Any, currency: str, currencies: CurrencyTable, field: str
) -> StakeRange:
    """Smallest and largest stake as decimal strings in major units, exactly."""
    known = currencies.get(currency)
    try:
        if not isinstance(low, str) or not isinstance(high, str):
            raise InvalidAmount('stakes are decimal strings such as "0.10"')
        low_minor = minor_from_decimal(low, known)
        high_minor = minor_from_decimal(high, known)
    except InvalidAmount as error:
        raise FieldError(field, f"{currency}: {error.message}") from error
    if not 0 < low_minor <= high_minor:
        raise FieldError(field, f"{currency}: expected 0 < min <= max, got {low}-{high}")
    return StakeRange(low_minor, high_minor)


def optional_date(value: Any, field: str) -> date | None:
    """`YYYY-MM-DD`, or an ISO date-time of which the date is kept; None or empty: none."""
    if value is None or value == "":
        return None
    match = _DATE_TEXT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise FieldError(field, f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(match.group(1))
    except ValueError as error:
        raise FieldError(field, f"{value!r} is not a date: {error}") from error


def optional_bool(value: Any, field: str, *, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FieldError(field, f"expected true or false, got {value!r}")
    return value


def string_list(value: Any, field: str) -> list[str]:
    """A list of strings; None or absent is empty."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FieldError(field, "expected a list of strings")
    if len(value) > LIST_ITEMS_MAX:
        raise FieldError(field, f"more than {LIST_ITEMS_MAX} items")
    return value


def image_urls(images: Mapping[Any, Any]) -> dict[str, str]:
    """Role -> URL for the roles whose URL is absolute https or a site path."""
    kept = {
        role: url
        for role, url in images.items()
        if isinstance(role, str)
        and len(role) <= TEXT_CHARS_MAX
        and isinstance(url, str)
        and len(url) <= IMAGE_URL_CHARS_MAX
        and _IMAGE_URL.fullmatch(url)
    }
    return dict(sorted(kept.items())[:IMAGES_PER_GAME_MAX])
