"""Pragmatic Play seamless-wallet wire facts: methods, error codes, the hash, the JSON.

Pure functions shared by both sides: the adapter parses with `parse_form` and checks
with `hash_ok`; the provider simulator (conformance script, load generator) signs with
`signed_form`. `docs`: protocols.md section 2 and test vector F2.

The hash (`hash` form field) is the lowercase hex MD5 of every received parameter except
`hash` and those with an empty value, sorted by name, written `name=value`, joined by
`&`, with the secret appended directly. Values are the decoded form values exactly as
received: `1.00` stays `1.00`, and parameters we do not know are hashed like the rest,
so a parameter PP adds later never breaks verification.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from adapters.providers._parsing import body_bytes_option, bool_option, int_option
from adapters.providers._signing import md5_hex, same_hex_digest
from core.errors import (
    AlreadyRolledBack,
    AlreadySettled,
    BadSignature,
    ComplianceRefused,
    ConflictingReplay,
    CurrencyMismatch,
    GameNotAllowed,
    GatewayError,
    InsufficientFunds,
    InvalidAmount,
    InvalidRequest,
    LimitReached,
    PlayerError,
    PlayerInDebt,
    PlayerNotFound,
    ReferenceNotFound,
    ReplayedRequest,
    RetryableError,
    RoundClosed,
    SessionError,
    StakeAboveLimit,
    lookup_by_mro,
)
from core.model import Balance
from core.money import Currency, format_minor, minor_from_decimal

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BODY_BYTES_MAX",
    "DEFAULT_TIMESTAMP_WINDOW_S",
    "DESCRIPTIONS",
    "ERROR_CODES",
    "HASH_PARAM",
    "ID_CHARS_MAX",
    "METHODS",
    "PARAMS_MAX",
    "ErrorCode",
    "Form",
    "JsonValue",
    "Options",
    "amount_json",
    "balance_fields",
    "error_code",
    "hash_input",
    "hash_ok",
    "method_for_path",
    "parse_form",
    "render",
    "request_hash",
    "signed_form",
    "success_fields",
]

CONTENT_TYPE = "application/x-www-form-urlencoded"
HASH_PARAM = "hash"
PARAMS_MAX = 64
"""More form fields than any PP call carries (about 20) with room for additions."""
ID_CHARS_MAX = 255
"""Longest id, reference or token we accept."""
_INT_DIGITS_MAX = 19
_AMOUNT_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
"""ASCII digits only: `core.money` also accepts other scripts' digits and a final newline."""

METHODS = (
    "authenticate",
    "balance",
    "bet",
    "result",
    "bonusWin",
    "jackpotWin",
    "promoWin",
    "refund",
    "endRound",
)
"""The callbacks we answer, as path names (`bet.html`; `bet` is accepted too)."""

_METHOD_BY_NAME = {method.lower(): method for method in METHODS}


class ErrorCode(enum.IntEnum):
    """PP's numeric `error` field; every answer is HTTP 200 with one of these."""

    SUCCESS = 0
    INSUFFICIENT_BALANCE = 1
    PLAYER_NOT_FOUND = 2
    BET_NOT_ALLOWED = 3
    AUTHENTICATION_FAILED = 4
    INVALID_HASH = 5
    PLAYER_FROZEN = 6
    BAD_PARAMETERS = 7
    GAME_NOT_FOUND = 8
    BET_LIMIT_REACHED = 50
    INTERNAL_RETRY = 100
    """PP retries or reconciles later."""
    INTERNAL_NO_RETRY = 120
    """Final: PP does not retry."""
    END_ROUND_RETRY = 130
    """The retryable answer to `endRound`."""
    BET_OUTSIDE_LIMITS = 310


DESCRIPTIONS: Mapping[ErrorCode, str] = {
    ErrorCode.SUCCESS: "Success",
    ErrorCode.INSUFFICIENT_BALANCE: "Insufficient balance",
    ErrorCode.PLAYER_NOT_FOUND: "Player not found",
    ErrorCode.BET_NOT_ALLOWED: "Bet is not allowed",
    ErrorCode.AUTHENTICATION_FAILED: "Player authentication failed",
    ErrorCode.INVALID_HASH: "Invalid hash code",
    ErrorCode.PLAYER_FROZEN: "Player is frozen",
    ErrorCode.BAD_PARAMETERS: "Bad parameters in the request",
    ErrorCode.GAME_NOT_FOUND: "Game is not found or disabled",
    ErrorCode.BET_LIMIT_REACHED: "Bet limit has been reached",
    ErrorCode.INTERNAL_RETRY: "Internal server error",
    ErrorCode.INTERNAL_NO_RETRY: "Internal server error",
    ErrorCode.END_ROUND_RETRY: "Internal server error",
    ErrorCode.BET_OUTSIDE_LIMITS: "Bet is outside the limits",
}


ERROR_CODES: dict[type[GatewayError], ErrorCode] = {
    GatewayError: ErrorCode.INTERNAL_NO_RETRY,
    InvalidRequest: ErrorCode.BAD_PARAMETERS,
    BadSignature: ErrorCode.INVALID_HASH,
    ReplayedRequest: ErrorCode.INVALID_HASH,
    SessionError: ErrorCode.AUTHENTICATION_FAILED,
    PlayerError: ErrorCode.PLAYER_FROZEN,
    PlayerNotFound: ErrorCode.PLAYER_NOT_FOUND,
    ComplianceRefused: ErrorCode.BET_NOT_ALLOWED,
    GameNotAllowed: ErrorCode.BET_NOT_ALLOWED,
    StakeAboveLimit: ErrorCode.BET_OUTSIDE_LIMITS,
    LimitReached: ErrorCode.BET_LIMIT_REACHED,
    InsufficientFunds: ErrorCode.INSUFFICIENT_BALANCE,
    PlayerInDebt: ErrorCode.INSUFFICIENT_BALANCE,
    CurrencyMismatch: ErrorCode.BAD_PARAMETERS,
    RoundClosed: ErrorCode.BET_NOT_ALLOWED,
    ReferenceNotFound: ErrorCode.INTERNAL_RETRY,
    AlreadyRolledBack: ErrorCode.INTERNAL_NO_RETRY,
    AlreadySettled: ErrorCode.INTERNAL_NO_RETRY,
    ConflictingReplay: ErrorCode.BAD_PARAMETERS,
    RetryableError: ErrorCode.INTERNAL_RETRY,
}
"""The one mapping of refusals to PP codes (most specific class wins).

`ReferenceNotFound` is `100` because PP sends a result whose bet may still be on its
way; a refund or win of something already reversed or settled is final (`120`).
"""


def error_code(error: GatewayError, method: str) -> ErrorCode:
    """The code for `error`; on `endRound` the retryable answer is `130`, not `100`."""
    code = lookup_by_mro(error, ERROR_CODES)
    if method == "endRound" and code is ErrorCode.INTERNAL_RETRY:
        return ErrorCode.END_ROUND_RETRY
    return code


def method_for_path(path: str) -> str | None:
    """`bet.html`, `bet` or `/bet.html` -> `bet`; None for a method we do not answer."""
    name = path.strip("/").removesuffix(".html")
    return _METHOD_BY_NAME.get(name.lower())


# -- the form and its hash -------------------------------------------------------


def parse_form(body: bytes) -> dict[str, str]:
    """The decoded form fields, exactly as received (blank values kept).

    A name sent twice is refused: which value the provider hashed is ambiguous, and
    accepting either would let a forged duplicate ride on a valid hash.
    """
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=PARAMS_MAX,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest(f"malformed form body: {exc}") from exc
    params = dict(pairs)
    if len(params) != len(pairs):
        raise InvalidRequest("a form parameter is repeated")
    return params


def hash_input(params: Mapping[str, str]) -> str:
    """`name=value` pairs sorted by name, joined by `&`, without `hash` and blank values."""
    return "&".join(
        f"{name}={params[name]}"
        for name in sorted(params)
        if name != HASH_PARAM and params[name] != ""
    )


def request_hash(params: Mapping[str, str], secret: bytes) -> str:
    """Lowercase hex MD5 of `hash_input(params)` with the secret appended directly."""
    return md5_hex(hash_input(params).encode("utf-8") + secret)


def hash_ok(params: Mapping[str, str], secret: bytes) -> bool:
    """Constant-time check of the received `hash` (any letter case)."""
    return same_hex_digest(params.get(HASH_PARAM), request_hash(params, secret))


def signed_form(params: Iterable[tuple[str, str]], secret: bytes) -> bytes:
    """The provider side: the form body of `params`, in the given order, plus its hash."""
    pairs = [(name, value) for name, value in params if name != HASH_PARAM]
    signature = request_hash(dict(pairs), secret)
    return urlencode([*pairs, (HASH_PARAM, signature)]).encode("ascii")


class Form:
    """Typed reads of the received fields; a blank value counts as absent."""

    __slots__ = ("params",)

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params

    def optional(self, name: str) -> str | None:
        value = self.params.get(name)
        if not value:
            return None
        if len(value) > ID_CHARS_MAX:
            raise InvalidRequest(f"{name} is longer than {ID_CHARS_MAX} characters")
        return value

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise InvalidRequest(f"{name} is missing")
        return value

    def optional_int(self, name: str) -> int | None:
        """A non-negative integer such as PP's `timestamp` (ms)."""
        value = self.optional(name)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit() and len(value) <= _INT_DIGITS_MAX):
            raise InvalidRequest(f"{name} is not a non-negative integer")
        return int(value)

    def amount(self, name: str, currency: Currency) -> int:
        """Minor units of a decimal amount in currency units, exactly, never negative."""
        value = self.params.get(name)
        if not value:
            raise InvalidAmount(f"{name} is missing")
        if _AMOUNT_TEXT.fullmatch(value) is None:
            raise InvalidAmount(f"{name} is not a plain decimal number")
        return minor_from_decimal(value, currency)

    def optional_amount(self, name: str, currency: Currency) -> int | None:
        return self.amount(name, currency) if self.params.get(name) else None


# -- answers ---------------------------------------------------------------------

JsonValue = str | int | orjson.Fragment


def amount_json(amount_minor: int, currency: Currency) -> orjson.Fragment:
    """An amount as an exact JSON number in currency units (`99.00`, never a float)."""
    return orjson.Fragment(format_minor(amount_minor, currency).encode("ascii"))


def balance_fields(
    balance: Balance, currency: Currency, *, with_currency: bool = True
) -> dict[str, JsonValue]:
    """`currency`, `cash` (real money) and `bonus`, exactly."""
    fields: dict[str, JsonValue] = {"currency": balance.currency} if with_currency else {}
    fields["cash"] = amount_json(balance.real_minor, currency)
    fields["bonus"] = amount_json(balance.bonus_minor, currency)
    return fields


def success_fields(fields: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """`fields` followed by `error: 0` and its description."""
    return fields | {
        "error": int(ErrorCode.SUCCESS),
        "description": DESCRIPTIONS[ErrorCode.SUCCESS],
    }


def render(fields: Mapping[str, JsonValue]) -> bytes:
    """The JSON answer, fields in the given order."""
    return orjson.dumps(fields)


# -- instance options ---------------------------------------------------------------

DEFAULT_BODY_BYTES_MAX = 16 * 1024
"""A PP call is a few hundred bytes of form fields."""
DEFAULT_TIMESTAMP_WINDOW_S = 48 * 3600
"""Twice PP's ~24 h retry window: a retried call keeps its original timestamp."""
_TIMESTAMP_WINDOW_S_MAX = 30 * 24 * 3600
_BODY_BYTES_MAX_MAX = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Options:
    """How one instance reads the protocol where PP accounts differ (see the adapter)."""

    provider_id: str | None = None
    bonus_win_credits: bool = False
    result_promo_credits: bool = False
    result_closes_round: bool = True
    timestamp_window_s: int = DEFAULT_TIMESTAMP_WINDOW_S
    body_bytes_max: int = DEFAULT_BODY_BYTES_MAX

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> Options:
        """From the instance's settings table; a bad value stops startup, naming the key."""
        provider_id = options.get("provider_id")
        if provider_id is not None and (type(provider_id) is not str or not provider_id):
            raise ValueError("pragmatic option provider_id must be a non-empty string")
        return cls(
            provider_id=provider_id,
            bonus_win_credits=_choice(options, "bonus_win_mode", ("informational", "credit"))
            == "credit",
            result_promo_credits=_choice(options, "result_promo_win_amount", ("ignore", "credit"))
            == "credit",
            result_closes_round=bool_option(options, "pragmatic", "result_closes_round", True),
            timestamp_window_s=int_option(
                options, "pragmatic", "timestamp_window_s", DEFAULT_TIMESTAMP_WINDOW_S,
                minimum=0, maximum=_TIMESTAMP_WINDOW_S_MAX,
            ),
            body_bytes_max=body_bytes_option(
                options, "pragmatic", DEFAULT_BODY_BYTES_MAX, maximum=_BODY_BYTES_MAX_MAX
            ),
        )  # fmt: skip


def _choice(options: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    """The option's value among `choices`; the first one is the default."""
    value = options.get(name, choices[0])
    if value not in choices:
        raise ValueError(f"pragmatic option {name} must be one of {choices}, not {value!r}")
    return str(value)
