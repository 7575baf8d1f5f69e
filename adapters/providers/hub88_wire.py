"""The Hub88 Operator Wallet API on the wire: statuses, signing, amounts and request bodies.

Pure, so both sides use it: the adapter verifies and renders with it, and the provider
simulator (`adapters.conformance.hub88`, the load generator) signs requests and checks
our signed answers with the same functions.

Signing: `X-Hub88-Signature` is the Base64 of an RSA PKCS#1 v1.5 signature over the
SHA-256 of the exact body bytes. Requests are signed with Hub88's private key and
verified with its public key; our answers are signed with the gateway's own key.

Amounts are int64 values of the real amount x 100,000 for every currency (`356000` is
3.56). A value finer than the currency's minor unit (`1` = 0.00001 EUR) is refused.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from adapters.providers._parsing import exact_json_object
from adapters.providers._text import printable_ascii
from core.errors import InvalidRequest
from core.money import Currency, minor_from_scaled_int, to_scaled_int

__all__ = [
    "AMOUNT_SCALE",
    "CONTENT_TYPE",
    "ECHO_BODY_BYTES_MAX",
    "OPERATIONS",
    "SIGNATURE_HEADER",
    "BalanceRequest",
    "BetRequest",
    "RollbackRequest",
    "Status",
    "UserInfoRequest",
    "WinRequest",
    "WrongTypes",
    "amount_minor",
    "echo_fields",
    "load_private_key",
    "load_public_key",
    "parse_body",
    "render",
    "scaled_balance",
    "sign",
    "validate",
    "verify",
]

SIGNATURE_HEADER = "X-Hub88-Signature"
CONTENT_TYPE = "application/json"
AMOUNT_SCALE = 5
"""Hub88 amounts are the real amount x 10**5, whatever the currency."""

OPERATIONS: Mapping[str, str] = {
    "user/info": "info",
    "user/balance": "balance",
    "transaction/bet": "bet",
    "transaction/win": "win",
    "transaction/rollback": "rollback",
}
"""Request path (after the instance mount point) -> operation name (a metrics label)."""

ID_LENGTH_MAX = 128
TOKEN_LENGTH_MAX = 512
ECHO_BODY_BYTES_MAX = 65_536
"""Largest unauthenticated body we read just to echo `request_uuid` in a refusal."""


class Status(enum.StrEnum):
    """Hub88 wallet statuses, exactly as on the wire (always with HTTP 200)."""

    OK = "RS_OK"
    UNKNOWN = "RS_ERROR_UNKNOWN"
    INVALID_TOKEN = "RS_ERROR_INVALID_TOKEN"  # noqa: S105 -- a status name, not a secret
    INVALID_GAME = "RS_ERROR_INVALID_GAME"
    WRONG_CURRENCY = "RS_ERROR_WRONG_CURRENCY"
    NOT_ENOUGH_MONEY = "RS_ERROR_NOT_ENOUGH_MONEY"
    USER_DISABLED = "RS_ERROR_USER_DISABLED"
    INVALID_SIGNATURE = "RS_ERROR_INVALID_SIGNATURE"
    TOKEN_EXPIRED = "RS_ERROR_TOKEN_EXPIRED"  # noqa: S105 -- a status name, not a secret
    WRONG_SYNTAX = "RS_ERROR_WRONG_SYNTAX"
    WRONG_TYPES = "RS_ERROR_WRONG_TYPES"
    DUPLICATE_TRANSACTION = "RS_ERROR_DUPLICATE_TRANSACTION"
    TRANSACTION_DOES_NOT_EXIST = "RS_ERROR_TRANSACTION_DOES_NOT_EXIST"
    TRANSACTION_ROLLED_BACK = "RS_ERROR_TRANSACTION_ROLLED_BACK"
    LIMIT_REACHED = "RS_ERROR_LIMIT_REACHED"
    BET_LIMIT_EXCEEDED = "RS_ERROR_BET_LIMIT_EXCEEDED"


class WrongTypes(InvalidRequest):
    """A field of the wrong JSON type: Hub88 tells it apart from malformed syntax."""


# -- signing ------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (cached: loading checks the key and takes ~30 ms)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("Hub88 signing needs an RSA private key")
    return key


@functools.lru_cache(maxsize=16)
def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("Hub88 signatures need an RSA public key")
    return key


def sign(key: rsa.RSAPrivateKey, body: bytes) -> str:
    """Base64 RSA-PKCS#1 v1.5 signature over SHA-256 of `body` (deterministic)."""
    signature = key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(key: rsa.RSAPublicKey, body: bytes, signature_b64: str | None) -> bool:
    """True if `signature_b64` signs exactly `body`. OpenSSL compares in constant time.

    A value that is not printable ASCII (aiohttp's surrogates for non-UTF-8 header bytes)
    is no signature.
    """
    text = printable_ascii(signature_b64)
    if text is None:
        return False
    try:
        signature = base64.b64decode(text.strip(), validate=True)
        key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


# -- bodies -------------------------------------------------------------------


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object in `body`; numbers with a fraction become `Decimal`, never float."""
    return exact_json_object(body)


def echo_fields(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """`user` and `request_uuid` from a parsed body, if they are sane strings."""
    return _short_text(data.get("user")), _short_text(data.get("request_uuid"))


def _short_text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= ID_LENGTH_MAX else None


def render(
    *,
    user: str | None,
    status: Status,
    request_uuid: str | None,
    currency: str | None = None,
    balance: int | None = None,
    extra: Mapping[str, object] | None = None,
) -> bytes:
    """A response body in Hub88's field order; absent values are left out."""
    fields: dict[str, object] = {}
    if user is not None:
        fields["user"] = user
    fields["status"] = status.value
    if request_uuid is not None:
        fields["request_uuid"] = request_uuid
    if currency is not None and balance is not None:
        fields["currency"] = currency
        fields["balance"] = balance
    fields.update(extra or {})
    return orjson.dumps(fields)


# -- amounts ------------------------------------------------------------------


def amount_minor(value: int, currency: Currency) -> int:
    """A wire amount in minor units, exactly; finer than the currency or negative is refused."""
    return minor_from_scaled_int(value, AMOUNT_SCALE, currency)


def scaled_balance(balance_minor: int, currency: Currency) -> int:
    """A balance on the wire. Currencies finer than 5 decimals are floored, never overstated."""
    if currency.exponent <= AMOUNT_SCALE:
        return to_scaled_int(balance_minor, AMOUNT_SCALE, currency)
    divisor: int = 10 ** (currency.exponent - AMOUNT_SCALE)
    return balance_minor // divisor


# -- request models -----------------------------------------------------------

Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_LENGTH_MAX)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=TOKEN_LENGTH_MAX)]
CurrencyCode = Annotated[str, StringConstraints(min_length=1, max_length=16)]
GameCode = Annotated[str, StringConstraints(max_length=ID_LENGTH_MAX)]
Flag = bool | None
"""Hub88 flags; some senders write `null` for false."""


class _Body(BaseModel):
    """Strict types (no coercion), unknown fields ignored so Hub88 can add fields."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class UserInfoRequest(_Body):
    user: Id
    request_uuid: Id


class BalanceRequest(_Body):
    user: Id
    request_uuid: Id
    token: Token
    game_code: GameCode | None = None


class BetRequest(_Body):
    user: Id
    request_uuid: Id
    token: Token
    transaction_uuid: Id
    round: Id
    round_closed: Flag = None
    game_code: GameCode
    currency: CurrencyCode
    amount: int
    is_free: Flag = None
    is_supplier_promo: Flag = None


class WinRequest(_Body):
    user: Id
    request_uuid: Id
    token: Token | None = None
    transaction_uuid: Id
    reference_transaction_uuid: Id | None = None
    round: Id
    round_closed: Flag = None
    game_code: GameCode | None = None
    currency: CurrencyCode
    amount: int
    is_free: Flag = None
    is_supplier_promo: Flag = None


class RollbackRequest(_Body):
    user: Id
    request_uuid: Id
    token: Token | None = None
    transaction_uuid: Id
    reference_transaction_uuid: Id
    round: Id | None = None
    round_closed: Flag = None


_SYNTAX_ERRORS = frozenset({"missing", "model_type", "model_attributes_type", "dict_type"})
_M = TypeVar("_M", bound=_Body)


def validate(model: type[_M], data: Mapping[str, Any]) -> _M:
    """`data` as `model`: a missing field is `InvalidRequest`, a wrong type `WrongTypes`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:3])
        if any(e["type"] in _SYNTAX_ERRORS for e in errors):
            raise InvalidRequest(f"missing or malformed field: {where}") from exc
        raise WrongTypes(f"wrong type: {where}") from exc
