"""Exact money: every wire value converts exactly or is refused, never rounded."""

from __future__ import annotations

import time
from decimal import Decimal, localcontext

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.errors import InvalidAmount, UnknownCurrency
from core.money import (
    AMOUNT_MINOR_MAX,
    Currency,
    CurrencyTable,
    format_minor,
    minor_from_decimal,
    minor_from_scaled_int,
    to_decimal,
    to_scaled_int,
)

TABLE = CurrencyTable()
EUR, JPY, KWD, BTC = (TABLE.get(code) for code in ("EUR", "JPY", "KWD", "BTC"))
CURRENCIES = st.sampled_from([EUR, JPY, KWD, BTC])
HUB88_SCALE = 5


# -- decimal text --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", EUR, 1_250),
        ("12.5", EUR, 1_250),
        ("12", EUR, 1_200),
        ("0.01", EUR, 1),
        ("0", EUR, 0),
        ("12.500000", EUR, 1_250),  # zeros beyond the exponent are exact
        ("007.10", EUR, 710),
        ("100", JPY, 100),
        ("100.000", JPY, 100),
        ("1.234", KWD, 1_234),
        ("0.001", KWD, 1),
        ("0.00000001", BTC, 1),
        ("21000000", BTC, 2_100_000_000_000_000),
        ("92233720368547758.07", EUR, AMOUNT_MINOR_MAX),
        ("9223372036854775807", JPY, AMOUNT_MINOR_MAX),
    ],
)
def test_plain_decimal_text_converts_exactly(text: str, currency: Currency, minor: int) -> None:
    assert minor_from_decimal(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("12.501", EUR),  # one decimal too many
        ("0.001", EUR),
        ("100.5", JPY),
        ("1.2345", KWD),
        ("0.000000001", BTC),
        ("92233720368547758.08", EUR),  # one minor unit beyond 2**63-1
        ("9223372036854775808", JPY),
        ("99999999999999999999999", EUR),
        ("1" * 41, JPY),  # longer than any amount we accept
    ],
)
def test_text_finer_than_the_currency_or_beyond_range_is_refused(
    text: str, currency: Currency
) -> None:
    with pytest.raises(InvalidAmount):
        minor_from_decimal(text, currency)


@pytest.mark.parametrize(
    "text",
    [
        "1e2", "1E2", "1e-2", "+1", " 1", "1 ", "1\n", "\t1", "1.", ".5", "", "-", "--1",
        "1,00", "1_000", "0x10", "NaN", "nan", "-NaN", "inf", "Infinity", "-Infinity",
        "١٢", "１２", "½", "1.2.3", "--0", "- 1", "1-",
    ],
)  # fmt: skip
def test_anything_but_plain_ascii_decimal_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidAmount):
        minor_from_decimal(text, EUR)


def test_negative_text_is_refused_unless_allowed() -> None:
    with pytest.raises(InvalidAmount):
        minor_from_decimal("-1.00", EUR)
    assert minor_from_decimal("-1.00", EUR, allow_negative=True) == -100
    assert minor_from_decimal("-0", EUR) == 0
    with pytest.raises(InvalidAmount):
        minor_from_decimal("-92233720368547758.08", EUR, allow_negative=True)


# -- Decimal objects (JSON numbers parsed with parse_float=Decimal) ----------------


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        (Decimal("12.50"), EUR, 1_250),
        (Decimal("1E+2"), EUR, 10_000),  # an exponent in a JSON number is still exact
        (Decimal("1.50E+1"), JPY, 15),
        (Decimal("0E-30"), EUR, 0),
        (Decimal("-0"), EUR, 0),
        (Decimal("1.234"), KWD, 1_234),
        (Decimal("2.1E+7"), BTC, 2_100_000_000_000_000),
        (Decimal("92233720368547758.07"), EUR, AMOUNT_MINOR_MAX),
    ],
)
def test_finite_decimals_convert_exactly(value: Decimal, currency: Currency, minor: int) -> None:
    assert minor_from_decimal(value, currency) == minor


@pytest.mark.parametrize(
    "value",
    [
        Decimal("NaN"), Decimal("-NaN"), Decimal("sNaN"), Decimal("Infinity"),
        Decimal("-Infinity"), Decimal("0.001"), Decimal("1E-3"), Decimal("-1"),
        Decimal("1E+100"), Decimal("92233720368547758.08"), Decimal("1" * 41),
    ],
)  # fmt: skip
def test_non_finite_inexact_negative_or_huge_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(InvalidAmount):
        minor_from_decimal(value, EUR)


@pytest.mark.parametrize("value", ["1E+9999999", "1E-9999999", "0E-9999999"])
def test_a_short_number_with_an_absurd_exponent_is_refused_at_once(value: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidAmount):
        minor_from_decimal(Decimal(value), EUR)
    assert time.perf_counter() - started < 0.05


def test_only_whole_ints_and_never_bools_or_floats_are_taken_as_amounts() -> None:
    assert minor_from_decimal(5, EUR) == 500
    assert minor_from_decimal(5, JPY) == 5
    with pytest.raises(InvalidAmount):
        minor_from_decimal(True, EUR)
    with pytest.raises(InvalidAmount):
        minor_from_decimal(12.5, EUR)  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        minor_from_decimal(2**63, JPY)
    with pytest.raises(InvalidAmount):
        minor_from_decimal(-1, EUR)


# -- fixed point (Hub88 sends amounts x 100,000) -----------------------------------


@pytest.mark.parametrize(
    ("scaled", "currency", "minor"),
    [
        (1_250_000, EUR, 1_250),
        (1_000, EUR, 1),
        (0, EUR, 0),
        (100_000, JPY, 1),
        (100, KWD, 1),
        (1, BTC, 1_000),  # BTC has more decimals than the wire: widening is exact
        (AMOUNT_MINOR_MAX * 1_000, EUR, AMOUNT_MINOR_MAX),
    ],
)
def test_fixed_point_values_convert_exactly(scaled: int, currency: Currency, minor: int) -> None:
    assert minor_from_scaled_int(scaled, HUB88_SCALE, currency) == minor
    assert to_scaled_int(minor, HUB88_SCALE, currency) == scaled


@pytest.mark.parametrize(
    ("scaled", "currency"),
    [
        (1_250_001, EUR),  # a remainder below one cent
        (999, EUR),
        (150_000, JPY),
        (1, KWD),
        (-1_000, EUR),
        ((AMOUNT_MINOR_MAX + 1) * 1_000, EUR),
    ],
)
def test_fixed_point_values_finer_than_the_currency_negative_or_huge_are_refused(
    scaled: int, currency: Currency
) -> None:
    with pytest.raises(InvalidAmount):
        minor_from_scaled_int(scaled, HUB88_SCALE, currency)


def test_fixed_point_refuses_non_ints_and_allows_negatives_only_when_asked() -> None:
    for value in (True, 1.0, Decimal(1), "100000"):
        with pytest.raises(InvalidAmount):
            minor_from_scaled_int(value, HUB88_SCALE, EUR)  # type: ignore[arg-type]
    assert minor_from_scaled_int(-1_000, HUB88_SCALE, EUR, allow_negative=True) == -1


def test_narrowing_to_a_coarser_wire_never_drops_a_remainder_silently() -> None:
    assert to_scaled_int(1_000, HUB88_SCALE, BTC) == 1
    with pytest.raises(AssertionError):
        to_scaled_int(1, HUB88_SCALE, BTC)


# -- formatting and currencies ----------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1_250, EUR, "12.50"),
        (5, EUR, "0.05"),
        (-5, EUR, "-0.05"),
        (0, EUR, "0.00"),
        (100, JPY, "100"),
        (1, KWD, "0.001"),
        (1, BTC, "0.00000001"),
        (AMOUNT_MINOR_MAX, EUR, "92233720368547758.07"),
    ],
)
def test_format_minor_writes_exactly_exponent_decimals(
    minor: int, currency: Currency, text: str
) -> None:
    assert format_minor(minor, currency) == text
    assert to_decimal(minor, currency) == Decimal(text)


def test_the_currency_table_knows_exponents_and_refuses_unknown_codes() -> None:
    assert [TABLE.get(c).exponent for c in ("EUR", "JPY", "KWD", "BTC")] == [2, 0, 3, 8]
    with pytest.raises(UnknownCurrency):
        TABLE.get("XYZ")
    assert "XYZ" not in TABLE
    assert CurrencyTable({"XYZ": 4}).get("XYZ").exponent == 4
    with pytest.raises(ValueError, match="already has exponent"):
        CurrencyTable({"EUR": 3})


# -- properties ------------------------------------------------------------------------


@given(currency=CURRENCIES, minor=st.integers(-AMOUNT_MINOR_MAX, AMOUNT_MINOR_MAX))
@example(currency=EUR, minor=AMOUNT_MINOR_MAX)
@example(currency=BTC, minor=-1)
def test_formatted_amounts_read_back_to_the_same_minor_units(
    currency: Currency, minor: int
) -> None:
    text = format_minor(minor, currency)
    assert minor_from_decimal(text, currency, allow_negative=True) == minor
    assert minor_from_decimal(to_decimal(minor, currency), currency, allow_negative=True) == minor


@given(
    currency=CURRENCIES,
    minor=st.integers(-AMOUNT_MINOR_MAX, AMOUNT_MINOR_MAX),
    scale=st.integers(8, 18),
)
def test_fixed_point_round_trips_at_every_wider_scale(
    currency: Currency, minor: int, scale: int
) -> None:
    scaled = to_scaled_int(minor, scale, currency)
    assert minor_from_scaled_int(scaled, scale, currency, allow_negative=True) == minor


@given(currency=CURRENCIES, text=st.text(alphabet="0123456789.-+eE _", max_size=24))
@example(currency=EUR, text="1.")
@example(currency=EUR, text="-0.0")
def test_any_text_is_either_refused_or_exactly_its_decimal_value(
    currency: Currency, text: str
) -> None:
    try:
        minor = minor_from_decimal(text, currency, allow_negative=True)
    except InvalidAmount:
        return
    with localcontext() as context:
        context.prec = 100
        exact = Decimal(text).scaleb(currency.exponent)
    assert exact == minor
    assert abs(minor) <= AMOUNT_MINOR_MAX


@given(
    currency=CURRENCIES,
    whole=st.integers(0, 10**6),
    fraction=st.text(alphabet="0123456789", min_size=1, max_size=12),
)
def test_text_with_a_nonzero_digit_past_the_exponent_is_refused(
    currency: Currency, whole: int, fraction: str
) -> None:
    significant = fraction.rstrip("0")
    text = f"{whole}.{fraction}"
    if len(significant) > currency.exponent:
        with pytest.raises(InvalidAmount):
            minor_from_decimal(text, currency)
    else:
        assert minor_from_decimal(text, currency) == minor_from_decimal(
            f"{whole}.{significant or '0'}", currency
        )
