"""Evolution One Wallet wire format (strict parsing, exact rendering) and instance options.

Requests are JSON objects; amounts are JSON numbers in major units, parsed as
`Decimal` from their text (never through a binary float). JSON strings holding a plain
decimal are accepted too, as some Evolution deployments quote amounts. Unknown fields
are ignored at every level. Answers are built byte by byte because balances must be
JSON numbers with exactly six decimals (`95.000000`), which no JSON encoder emits.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from adapters.providers._parsing import body_bytes_option, bool_option, exact_json_object
from core.errors import InvalidAmount, InvalidRequest
from core.model import Balance
from core.money import Currency, CurrencyTable, format_minor, minor_from_decimal, to_scaled_int

__all__ = [
    "BALANCE_DECIMALS",
    "DEFAULT_BODY_BYTES_MAX",
    "ID_CHARS_MAX",
    "WIRE_DECIMALS_MAX",
    "BalanceRequest",
    "Caller",
    "EvolutionOptions",
    "PromoRequest",
    "Status",
    "TransactionRequest",
    "claimed_user",
    "decode",
    "echo_uuid",
    "parse_amount",
    "parse_balance",
    "parse_caller",
    "parse_promo",
    "parse_transaction",
    "render_check",
    "render_status",
]

DEFAULT_BODY_BYTES_MAX = 64 * 1024
"""One Wallet requests are well under 2 KiB; anything far larger is not Evolution."""
WIRE_DECIMALS_MAX = 6
"""Evolution (and Valkyrie's `pam/rounding.go`) never carry more than six decimals."""
BALANCE_DECIMALS = 6
ID_CHARS_MAX = 256
"""Longest sid, userId, uuid, transaction id or refId we accept."""
_AMOUNT_DIGITS_MAX = 36
_AMOUNT_EXPONENT_MIN = -36
_AMOUNT_EXPONENT_MAX = 18
_DECIMAL_TEXT = re.compile(r"^-?\d{1,30}(?:\.\d{1,30})?$")


class Status(enum.StrEnum):
    """The `status` values of the One Wallet API."""

    OK = "OK"
    TEMPORARY_ERROR = "TEMPORARY_ERROR"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"
    INVALID_SID = "INVALID_SID"
    INVALID_TOKEN_ID = "INVALID_TOKEN_ID"  # noqa: S105 -- a status name, not a secret
    INVALID_PARAMETER = "INVALID_PARAMETER"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    BET_DOES_NOT_EXIST = "BET_DOES_NOT_EXIST"
    BET_ALREADY_EXIST = "BET_ALREADY_EXIST"
    BET_ALREADY_SETTLED = "BET_ALREADY_SETTLED"
    FINAL_ERROR_ACTION_FAILED = "FINAL_ERROR_ACTION_FAILED"


_RETRYABLE = frozenset({Status.TEMPORARY_ERROR})
_AUTH_HTTP_STATUSES = frozenset({200, 401, 403})


@dataclass(frozen=True, slots=True)
class EvolutionOptions:
    """Per-instance choices where Evolution deployments differ (see the module docstring)."""

    duplicate_debit_status: Status = Status.OK
    auth_error_http_status: int = 200
    balance_includes_bonus: bool = False
    check_extends_session: bool = False
    body_bytes_max: int = DEFAULT_BODY_BYTES_MAX

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> EvolutionOptions:
        """Validate the instance's options; a bad value stops startup with its name."""
        duplicate = options.get("duplicate_debit_status", Status.OK.value)
        if duplicate not in (Status.OK.value, Status.BET_ALREADY_EXIST.value):
            raise ValueError(
                "evolution option duplicate_debit_status must be OK or BET_ALREADY_EXIST"
            )
        http_status = options.get("auth_error_http_status", 200)
        if type(http_status) is not int or http_status not in _AUTH_HTTP_STATUSES:
            raise ValueError("evolution option auth_error_http_status must be 200, 401 or 403")
        return cls(
            duplicate_debit_status=Status(duplicate),
            auth_error_http_status=http_status,
            balance_includes_bonus=bool_option(
                options, "evolution", "balance_includes_bonus", False
            ),
            check_extends_session=bool_option(options, "evolution", "check_extends_session", False),
            body_bytes_max=body_bytes_option(
                options, "evolution", DEFAULT_BODY_BYTES_MAX, maximum=1024 * 1024
            ),
        )


@dataclass(frozen=True, slots=True)
class Caller:
    """The fields every request carries: operator session, user and request id."""

    sid: str
    user_id: str
    uuid: str | None


@dataclass(frozen=True, slots=True)
class BalanceRequest:
    caller: Caller
    currency: Currency


@dataclass(frozen=True, slots=True)
class TransactionRequest:
    """A debit, credit or cancel: `game.id` is the round, `refId` names the bet."""

    caller: Caller
    currency: Currency
    round_id: str
    table_id: str
    transaction_id: str
    ref_id: str
    amount_minor: int | None
    """None for a cancel: it reverses the stored bet exactly, whatever amount it names."""


@dataclass(frozen=True, slots=True)
class PromoRequest:
    caller: Caller
    currency: Currency
    round_id: str | None
    table_id: str
    promo_id: str
    promo_type: str
    amount_minor: int


# -- decoding ------------------------------------------------------------------


def decode(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, numbers with fractions as exact `Decimal`s."""
    return exact_json_object(body)


def echo_uuid(doc: dict[str, Any]) -> str | None:
    """The request id to echo, even when the rest of the request is refused."""
    value = doc.get("uuid")
    return value if isinstance(value, str) and len(value) <= ID_CHARS_MAX else None


def claimed_user(doc: dict[str, Any]) -> str | None:
    """The `userId` as sent (unverified): for logs and best-effort balances only."""
    value = doc.get("userId")
    return value if isinstance(value, str) and 0 < len(value) <= ID_CHARS_MAX else None


def _text(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value or len(value) > ID_CHARS_MAX:
        raise InvalidRequest(f"{where}{key} must be a non-empty string of at most {ID_CHARS_MAX}")
    return value


def _optional_text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) and len(value) <= ID_CHARS_MAX else ""


def _object(obj: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise InvalidRequest(f"{where}{key} must be an object")
    return value


def _currency(doc: dict[str, Any], currencies: CurrencyTable) -> Currency:
    return currencies.get(_text(doc, "currency", ""))


def _table_id(game: dict[str, Any]) -> str:
    """The live table (Evolution's notion of a game), else the game type."""
    details = game.get("details")
    table = details.get("table") if isinstance(details, dict) else None
    table_id = _optional_text(table, "id") if isinstance(table, dict) else ""
    return table_id or _optional_text(game, "type")


# -- requests ------------------------------------------------------------------


def parse_caller(doc: dict[str, Any]) -> Caller:
    uuid = doc.get("uuid")
    if uuid is not None and (not isinstance(uuid, str) or len(uuid) > ID_CHARS_MAX):
        raise InvalidRequest(f"uuid must be a string of at most {ID_CHARS_MAX}")
    return Caller(_text(doc, "sid", ""), _text(doc, "userId", ""), uuid)


def parse_balance(doc: dict[str, Any], currencies: CurrencyTable) -> BalanceRequest:
    return BalanceRequest(parse_caller(doc), _currency(doc, currencies))


def parse_transaction(
    doc: dict[str, Any], currencies: CurrencyTable, *, with_amount: bool
) -> TransactionRequest:
    caller = parse_caller(doc)
    currency = _currency(doc, currencies)
    game = _object(doc, "game")
    transaction = _object(doc, "transaction")
    amount = (
        parse_amount(transaction.get("amount"), currency, "transaction.amount")
        if with_amount
        else None
    )
    return TransactionRequest(
        caller=caller,
        currency=currency,
        round_id=_text(game, "id", "game."),
        table_id=_table_id(game),
        transaction_id=_text(transaction, "id", "transaction."),
        ref_id=_text(transaction, "refId", "transaction."),
        amount_minor=amount,
    )


def parse_promo(doc: dict[str, Any], currencies: CurrencyTable) -> PromoRequest:
    caller = parse_caller(doc)
    currency = _currency(doc, currencies)
    promo = _object(doc, "promoTransaction")
    game = doc.get("game")
    game = game if isinstance(game, dict) else {}
    return PromoRequest(
        caller=caller,
        currency=currency,
        round_id=_optional_text(game, "id") or None,
        table_id=_table_id(game),
        promo_id=_text(promo, "id", "promoTransaction."),
        promo_type=_optional_text(promo, "type"),
        amount_minor=parse_amount(promo.get("amount"), currency, "promoTransaction.amount"),
    )


# -- amounts -------------------------------------------------------------------


def parse_amount(value: object, currency: Currency, field: str = "amount") -> int:
    """A wire amount in minor units, exactly, or `InvalidAmount`.

    Refused: anything but a number or decimal text, negatives, non-zero digits beyond
    six decimals (the wire's limit) or beyond the currency's exponent (never rounded).
    Trailing zeros are only notation: `5.0000000` is five.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise InvalidAmount(f"{field} must be a number")
    if isinstance(value, str):
        if not _DECIMAL_TEXT.match(value):
            raise InvalidAmount(f"{field} is not a plain decimal number")
        value = Decimal(value)
    elif isinstance(value, int):
        value = Decimal(value)
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise InvalidAmount(f"{field} must be finite")
    if len(digits) > _AMOUNT_DIGITS_MAX or not (
        _AMOUNT_EXPONENT_MIN <= exponent <= _AMOUNT_EXPONENT_MAX
    ):
        raise InvalidAmount(f"{field} is out of range")
    beyond = -exponent - WIRE_DECIMALS_MAX
    if beyond > 0 and any(digits[-beyond:]):
        raise InvalidAmount(f"{field} has more than {WIRE_DECIMALS_MAX} decimals")
    if sign and any(digits):
        raise InvalidAmount(f"{field} must not be negative")
    # Exact: `copy_abs` and `format` without a precision ignore the context (no rounding).
    return minor_from_decimal(format(value.copy_abs(), "f"), currency)


def _amount_text(amount_minor: int, currency: Currency) -> bytes:
    """Six decimals, or the currency's own where it has more (exact, never rounded)."""
    places = max(BALANCE_DECIMALS, currency.exponent)
    scaled = to_scaled_int(amount_minor, places, currency)
    return format_minor(scaled, Currency(currency.code, places)).encode()


# -- answers -------------------------------------------------------------------


def render_status(
    status: Status,
    *,
    balance: Balance | None,
    currency: Currency | None,
    uuid: str | None,
    balance_includes_bonus: bool,
) -> bytes:
    """`{"status","balance","bonus","uuid"}`; zeros where the balance is unknown."""
    if balance is None or currency is None:
        cash = bonus = b"0.000000"
    else:
        shown = balance.total_minor if balance_includes_bonus else balance.real_minor
        cash = _amount_text(shown, currency)
        bonus = _amount_text(balance.bonus_minor, currency)
    parts = [
        b'{"status":',
        orjson.dumps(status.value),
        b',"balance":',
        cash,
        b',"bonus":',
        bonus,
    ]
    if uuid is not None:
        parts += [b',"uuid":', orjson.dumps(uuid)]
    if status in _RETRYABLE:
        parts.append(b',"retransmission":true')
    parts.append(b"}")
    return b"".join(parts)


def render_check(sid: str, uuid: str | None) -> bytes:
    """The answer to a successful `check`: the session id to use from now on."""
    body: dict[str, str] = {"status": Status.OK.value, "sid": sid}
    if uuid is not None:
        body["uuid"] = uuid
    return orjson.dumps(body)
