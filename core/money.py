"""Exact money: integer minor units plus a currency with a known exponent.

No float ever holds an amount. Wire values (decimal strings, JSON numbers parsed as
`Decimal`, fixed-point integers with a scale) are converted exactly or refused: more
precision than the currency allows, a negative value, NaN, infinity, exponent tricks
and values beyond 2**63-1 minor units are errors, never rounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from core.errors import InvalidAmount, UnknownCurrency

__all__ = [
    "AMOUNT_MINOR_MAX",
    "DEFAULT_CURRENCIES",
    "Currency",
    "CurrencyTable",
    "format_minor",
    "minor_from_decimal",
    "minor_from_scaled_int",
    "to_decimal",
    "to_scaled_int",
]

AMOUNT_MINOR_MAX = 2**63 - 1
"""Largest amount we hold, in minor units: fits a signed 64-bit column everywhere."""

_DECIMAL_TEXT = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")
"""Plain ASCII decimal text; used with `fullmatch` (no Unicode digits, no trailing newline)."""
_DECIMAL_TEXT_LENGTH_MAX = 40


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 code (or a crypto ticker) and its number of decimal places."""

    code: str
    exponent: int

    def __post_init__(self) -> None:
        assert self.code.isascii()
        assert self.code.isupper()
        assert 2 <= len(self.code) <= 8
        assert 0 <= self.exponent <= 18


def _table(pairs: dict[str, int]) -> dict[str, Currency]:
    return {code: Currency(code, exponent) for code, exponent in pairs.items()}


DEFAULT_CURRENCIES: Mapping[str, Currency] = MappingProxyType(
    _table(
        {
            # ISO 4217, two decimals
            "EUR": 2, "USD": 2, "GBP": 2, "CAD": 2, "AUD": 2, "NZD": 2, "CHF": 2, "SEK": 2,
            "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "RON": 2, "BGN": 2, "TRY": 2,
            "BRL": 2, "MXN": 2, "ARS": 2, "INR": 2, "ZAR": 2, "NGN": 2, "KES": 2, "PHP": 2,
            "THB": 2, "MYR": 2, "SGD": 2, "HKD": 2, "CNY": 2, "UAH": 2, "GEL": 2, "PEN": 2,
            # ISO 4217, zero decimals
            "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0,
            "PYG": 0, "IDR": 2,
            # ISO 4217, three decimals
            "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3,
            # crypto assets, held at 8 decimals
            "BTC": 8, "ETH": 8, "LTC": 8, "USDT": 8, "USDC": 8, "DOGE": 8, "TRX": 8,
        }
    )
)  # fmt: skip


class CurrencyTable:
    """Known currencies; config may add more (never change an existing exponent)."""

    __slots__ = ("_by_code",)

    def __init__(self, extra: Mapping[str, int] | None = None) -> None:
        by_code = dict(DEFAULT_CURRENCIES)
        for code, exponent in (extra or {}).items():
            currency = Currency(code, exponent)
            known = by_code.get(code)
            if known is not None and known.exponent != exponent:
                raise ValueError(f"currency {code} already has exponent {known.exponent}")
            by_code[code] = currency
        self._by_code = by_code

    def get(self, code: str) -> Currency:
        """The currency for `code`, or `UnknownCurrency`."""
        currency = self._by_code.get(code)
        if currency is None:
            raise UnknownCurrency(f"unknown currency {code!r}")
        return currency

    def __contains__(self, code: object) -> bool:
        return code in self._by_code


def _check_range(amount_minor: int, *, allow_negative: bool) -> int:
    if amount_minor < 0 and not allow_negative:
        raise InvalidAmount("amount must not be negative")
    if abs(amount_minor) > AMOUNT_MINOR_MAX:
        raise InvalidAmount("amount is out of range")
    return amount_minor


def minor_from_decimal(
    value: str | Decimal | int, currency: Currency, *, allow_negative: bool = False
) -> int:
    """Convert a decimal value in major units to minor units, exactly.

    Strings must be plain decimal text (`"12.50"`): no exponent, no sign other than a
    leading minus, no whitespace. `Decimal` values must be finite. `int` is a whole
    number of major units. Anything finer than the currency's exponent is refused.
    """
    if isinstance(value, bool):
        raise InvalidAmount("amount must be a number")
    if isinstance(value, int):
        return _check_range(value * 10**currency.exponent, allow_negative=allow_negative)
    if isinstance(value, str):
        return _minor_from_text(value, currency, allow_negative=allow_negative)
    if isinstance(value, Decimal):
        return _minor_from_decimal_object(value, currency, allow_negative=allow_negative)
    raise InvalidAmount("amount must be a decimal string or number")


def _minor_from_text(text: str, currency: Currency, *, allow_negative: bool) -> int:
    if len(text) > _DECIMAL_TEXT_LENGTH_MAX:
        raise InvalidAmount("amount text is too long")
    negative = text.startswith("-")
    body = text[1:] if negative else text
    match = _DECIMAL_TEXT.fullmatch(body)
    if match is None:
        raise InvalidAmount(f"amount {text!r} is not a plain decimal number")
    fraction = (match.group("frac") or "").rstrip("0")
    if len(fraction) > currency.exponent:
        raise InvalidAmount(
            f"amount {text!r} has more than {currency.exponent} decimals for {currency.code}"
        )
    minor = int(match.group("int")) * 10**currency.exponent
    if fraction:
        minor += int(fraction) * 10 ** (currency.exponent - len(fraction))
    if negative and minor != 0:
        minor = -minor
    return _check_range(minor, allow_negative=allow_negative)


def _minor_from_decimal_object(value: Decimal, currency: Currency, *, allow_negative: bool) -> int:
    """Exact integer arithmetic on the decimal's digits: no context precision, no rounding."""
    if not value.is_finite():
        raise InvalidAmount("amount must be finite")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) > _DECIMAL_TEXT_LENGTH_MAX or abs(exponent) > _DECIMAL_TEXT_LENGTH_MAX:
        # both bounds keep the powers of ten below small: `1E-9999999` is ten characters
        # of JSON but would cost seconds of CPU to divide out
        raise InvalidAmount("amount is out of range")
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + currency.exponent
    if shift >= 0:
        minor = coefficient * _pow10(shift)
    else:
        minor, remainder = divmod(coefficient, _pow10(-shift))
        if remainder:
            raise InvalidAmount(
                f"amount {value} has more than {currency.exponent} decimals for {currency.code}"
            )
    return _check_range(-minor if sign else minor, allow_negative=allow_negative)


def minor_from_scaled_int(
    value: int, scale: int, currency: Currency, *, allow_negative: bool = False
) -> int:
    """Convert a fixed-point integer `value / 10**scale` to minor units, exactly.

    Hub88 sends amounts x 100,000 (`scale=5`); a value with a non-zero remainder below
    the currency's minor unit is refused.
    """
    if type(value) is not int:
        raise InvalidAmount("amount must be an integer")
    assert 0 <= scale <= 18
    if scale >= currency.exponent:
        quotient, remainder = divmod(abs(value), 10 ** (scale - currency.exponent))
        if remainder:
            raise InvalidAmount(
                f"amount has more precision than {currency.exponent} decimals for {currency.code}"
            )
        minor = quotient if value >= 0 else -quotient
    else:
        minor = value * 10 ** (currency.exponent - scale)
    return _check_range(minor, allow_negative=allow_negative)


def to_scaled_int(amount_minor: int, scale: int, currency: Currency) -> int:
    """Minor units to a fixed-point integer with `scale` decimals (exact when widening)."""
    if scale >= currency.exponent:
        return amount_minor * _pow10(scale - currency.exponent)
    quotient, remainder = divmod(abs(amount_minor), _pow10(currency.exponent - scale))
    assert remainder == 0, "narrowing would lose precision"
    return quotient if amount_minor >= 0 else -quotient


def _pow10(exponent: int) -> int:
    assert exponent >= 0
    result: int = 10**exponent
    return result


def format_minor(amount_minor: int, currency: Currency) -> str:
    """Minor units as a plain decimal string with exactly `exponent` decimals."""
    sign = "-" if amount_minor < 0 else ""
    digits = str(abs(amount_minor))
    if currency.exponent == 0:
        return sign + digits
    digits = digits.rjust(currency.exponent + 1, "0")
    return f"{sign}{digits[: -currency.exponent]}.{digits[-currency.exponent :]}"


def to_decimal(amount_minor: int, currency: Currency) -> Decimal:
    """Minor units as an exact `Decimal` in major units (for wires that send numbers)."""
    return Decimal(format_minor(amount_minor, currency))
