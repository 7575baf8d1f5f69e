"""Betby wire facts: the JWT envelope, its verification, and the callback payloads.

Pure functions shared by both sides: the adapter verifies with `token_from_body`,
`verify_token`, `parse_claims` and `check_token_times`, then reads the request object
with the `parse_*` functions; the provider simulator (conformance script, load
generator) signs with `sign_claims` and wraps with `envelope`.

Envelope: `POST` body `{"payload": "<JWT>"}`; the JWT's claims carry the request object
under their own `payload` claim. The JWS is verified over its exact received segments
with the provider's public key, and only an allow-listed asymmetric algorithm is
accepted, so `none` and HMAC tokens (the `HS256`-with-the-public-key confusion) never
verify. The claims are then parsed with `parse_float=Decimal`: every amount must be a
JSON integer of currency subunits (cents for USD, yen for JPY); a fraction, `100.0`, a
string, a boolean or a negative number is refused, never converted. Ids may be JSON
strings or non-negative integers (kept as their decimal text). Unknown fields are ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.providers._parsing import exact_json_object
from adapters.providers._text import printable_ascii
from core.errors import BadSignature, InvalidAmount, InvalidRequest, ReplayedRequest
from core.money import AMOUNT_MINOR_MAX

__all__ = [
    "CONTENT_TYPE",
    "ID_CHARS_MAX",
    "KEY_TYPES",
    "RSA_KEY_BITS_MIN",
    "DiscardCall",
    "MakeCall",
    "PrivateKey",
    "PublicKey",
    "SettleCall",
    "SettlementCall",
    "check_token_times",
    "claims_json",
    "envelope",
    "load_public_key",
    "parse_claims",
    "parse_discard",
    "parse_make",
    "parse_settle",
    "parse_settlement",
    "request_object",
    "sign_claims",
    "token_from_body",
    "token_id",
    "verify_token",
]

CONTENT_TYPE = "application/json"
KEY_TYPES = ("ES256", "RS256")
"""The JWS algorithms we verify: one per key type (EC P-256 or RSA >= 2048 bits)."""
RSA_KEY_BITS_MIN = 2048
ID_CHARS_MAX = 128
TOKEN_CHARS_MAX = 512
"""Longest `session_id` or `jti` we accept."""
TEXT_CHARS_MAX = 256
"""Longest free text we read (`reason`, `status`, `bonus_type`)."""

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | bytes

_JWS = jwt.PyJWS()

# -- keys and tokens ---------------------------------------------------------------


def load_public_key(pem: bytes, key_type: str) -> PublicKey:
    """The provider's public key from PEM; it must fit `key_type` (`ES256` or `RS256`)."""
    assert key_type in KEY_TYPES
    key = serialization.load_pem_public_key(pem)
    if key_type == "ES256":
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise ValueError("key_type ES256 needs an EC P-256 public key")
        return key
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < RSA_KEY_BITS_MIN:
        raise ValueError(f"key_type RS256 needs an RSA public key of >= {RSA_KEY_BITS_MIN} bits")
    return key


def token_from_body(body: bytes) -> str:
    """The JWT of a `{"payload": "<JWT>"}` body; a missing token is a missing signature.

    A compact JWS is printable ASCII (base64url and dots): anything else is no token,
    and never reaches the JWT library, which would trip over a surrogate.
    """
    token = exact_json_object(body).get("payload")
    if not isinstance(token, str) or printable_ascii(token) is None:
        raise BadSignature("body has no payload token")
    return token


def verify_token(token: str, key: PublicKey, algorithms: Sequence[str]) -> bytes:
    """The exact claims bytes of `token` if `key` signed it with an allowed algorithm.

    Raises `BadSignature` whose message says why (for the log, never the token).
    """
    assert algorithms, "at least one algorithm"
    assert all(name in KEY_TYPES for name in algorithms), "asymmetric algorithms only"
    try:
        decoded = _JWS.decode_complete(token, key=key, algorithms=list(algorithms))
    except jwt.InvalidAlgorithmError as exc:
        raise BadSignature("token algorithm is not allowed") from exc
    except jwt.InvalidSignatureError as exc:
        raise BadSignature("token signature does not match") from exc
    except jwt.PyJWTError as exc:
        raise BadSignature("token is malformed") from exc
    claims = decoded["payload"]
    assert isinstance(claims, bytes)
    return claims


def parse_claims(raw: bytes) -> dict[str, Any]:
    """The verified claims as a JSON object; floats stay `Decimal`."""
    return exact_json_object(raw, "token claims")


def _time_claim(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if type(value) is int or (isinstance(value, Decimal) and value.is_finite()):
        return float(value)
    raise BadSignature(f"token claim {name} must be unix seconds")


def check_token_times(
    claims: Mapping[str, Any],
    *,
    now_s: float,
    max_token_age_s: float,
    clock_skew_s: float,
    require_iat: bool,
) -> None:
    """Refuse expired, not-yet-valid, future or stale tokens (`exp`, `nbf`, `iat`)."""
    expires_s = _time_claim(claims, "exp")
    if expires_s is not None and now_s >= expires_s + clock_skew_s:
        raise ReplayedRequest("token expired")
    not_before_s = _time_claim(claims, "nbf")
    if not_before_s is not None and now_s + clock_skew_s < not_before_s:
        raise ReplayedRequest("token is not valid yet")
    issued_s = _time_claim(claims, "iat")
    if issued_s is None:
        if require_iat:
            raise BadSignature("token has no iat")
        return
    if issued_s > now_s + clock_skew_s:
        raise ReplayedRequest("token was issued in the future")
    if now_s - issued_s > max_token_age_s:
        raise ReplayedRequest(f"token is older than {max_token_age_s:g}s")


def token_id(claims: Mapping[str, Any]) -> str | None:
    """The `jti` claim, if any (what the nonce memory remembers)."""
    value = claims.get("jti")
    return None if value is None else _text(value, "jti", TOKEN_CHARS_MAX)


def request_object(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The request itself: the claims' `payload` object."""
    return _object(claims, "payload")


# -- provider side ---------------------------------------------------------------


def claims_json(
    request: Mapping[str, Any], *, now_s: float, ttl_s: int = 60, jti: str | None = None
) -> bytes:
    """Claims as the provider signs them: `iat`, `exp`, a fresh `jti`, and the request."""
    issued_s = int(now_s)
    return orjson.dumps(
        {
            "iat": issued_s,
            "exp": issued_s + ttl_s,
            "jti": jti or uuid.uuid4().hex,
            "payload": dict(request),
        }
    )


def sign_claims(claims: bytes, private_key: PrivateKey, *, algorithm: str = "ES256") -> str:
    """A compact JWS over exactly `claims` (so odd whitespace and key order survive)."""
    assert algorithm in KEY_TYPES
    return _JWS.encode(claims, private_key, algorithm=algorithm)


def envelope(token: str) -> bytes:
    """The request body Betby sends: `{"payload": "<JWT>"}`."""
    return orjson.dumps({"payload": token})


# -- request objects ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MakeCall:
    """`bet/make`: reserve (debit) the stake of a betslip."""

    player_id: str
    session_id: str
    transaction_id: str
    amount_minor: int
    currency: str
    bonus_type: str | None


@dataclass(frozen=True, slots=True)
class SettleCall:
    """`bet/win`, `bet/lost`, `bet/refund` and `bet/rollback` of one bet."""

    bet_transaction_id: str
    transaction_id: str
    parent_transaction_id: str | None
    amount_minor: int | None
    currency: str | None
    player_id: str | None
    """`ext_player_id` when sent (our player id), cross-checked against the bet's."""


@dataclass(frozen=True, slots=True)
class DiscardCall:
    """`bet/discard`: release a make that Betby's risk management refused."""

    player_id: str
    transaction_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class SettlementCall:
    """`bet/settlement`: the bet is final; no money moves."""

    bet_transaction_id: str
    status: str


def parse_make(request: Mapping[str, Any]) -> MakeCall:
    transaction = _object(request, "transaction")
    player_id = _id(request.get("player_id"), "player_id")
    ext_player_id = _optional_id(transaction.get("ext_player_id"), "transaction.ext_player_id")
    if ext_player_id is not None and ext_player_id != player_id:
        raise InvalidRequest("transaction.ext_player_id differs from player_id")
    amount = _amount(request.get("amount"), "amount")
    if amount == 0:
        raise InvalidAmount("a stake must be positive")
    currency = _currency(request.get("currency"), "currency")
    _check_transaction(transaction, "bet", amount, currency)
    bonus_type = request.get("bonus_type")
    return MakeCall(
        player_id=player_id,
        session_id=_text(request.get("session_id"), "session_id", TOKEN_CHARS_MAX),
        transaction_id=_id(transaction.get("id"), "transaction.id"),
        amount_minor=amount,
        currency=currency,
        bonus_type=None if bonus_type is None else _text(bonus_type, "bonus_type"),
    )


def parse_settle(request: Mapping[str, Any], operation: str) -> SettleCall:
    """A settlement callback; `amount`/`currency` may come at the top or in `transaction`."""
    transaction = _object(request, "transaction")
    amount = _optional_amount(request.get("amount"), "amount")
    inner_amount = _optional_amount(transaction.get("amount"), "transaction.amount")
    if amount is None:
        amount = inner_amount
    currency = _optional_currency(request.get("currency"), "currency")
    if currency is None:
        currency = _optional_currency(transaction.get("currency"), "transaction.currency")
    _check_transaction(transaction, operation, amount, currency)
    player_id = _optional_id(request.get("ext_player_id"), "ext_player_id")
    if player_id is None:
        player_id = _optional_id(transaction.get("ext_player_id"), "transaction.ext_player_id")
    return SettleCall(
        bet_transaction_id=_id(request.get("bet_transaction_id"), "bet_transaction_id"),
        transaction_id=_id(transaction.get("id"), "transaction.id"),
        parent_transaction_id=_optional_id(
            transaction.get("parent_transaction_id"), "transaction.parent_transaction_id"
        ),
        amount_minor=amount,
        currency=currency,
        player_id=player_id,
    )


def parse_discard(request: Mapping[str, Any]) -> DiscardCall:
    reason = request.get("reason")
    return DiscardCall(
        player_id=_id(request.get("ext_player_id"), "ext_player_id"),
        transaction_id=_id(request.get("transaction_id"), "transaction_id"),
        reason="" if reason is None else _text(reason, "reason"),
    )


def parse_settlement(request: Mapping[str, Any]) -> SettlementCall:
    return SettlementCall(
        bet_transaction_id=_id(request.get("bet_transaction_id"), "bet_transaction_id"),
        status=_text(request.get("status"), "status"),
    )


# -- field readers -------------------------------------------------------------------


def _object(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    if not isinstance(value, dict):
        raise InvalidRequest(f"{name} must be a JSON object")
    return value


def _text(value: object, name: str, chars_max: int = TEXT_CHARS_MAX) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= chars_max:
        raise InvalidRequest(f"{name} must be a string of 1 to {chars_max} characters")
    return value


def _id(value: object, name: str) -> str:
    if type(value) is int and value >= 0:
        value = str(value)
    return _text(value, name, ID_CHARS_MAX)


def _optional_id(value: object, name: str) -> str | None:
    return None if value is None else _id(value, name)


def _amount(value: object, name: str) -> int:
    if type(value) is not int:
        raise InvalidAmount(f"{name} must be a JSON integer of currency subunits")
    if value < 0:
        raise InvalidAmount(f"{name} must not be negative")
    if value > AMOUNT_MINOR_MAX:
        raise InvalidAmount(f"{name} is out of range")
    return value


def _optional_amount(value: object, name: str) -> int | None:
    return None if value is None else _amount(value, name)


def _currency(value: object, name: str) -> str:
    if not isinstance(value, str) or not 2 <= len(value) <= 8:
        raise InvalidRequest(f"{name} must be a currency code")
    return value


def _optional_currency(value: object, name: str) -> str | None:
    return None if value is None else _currency(value, name)


def _check_transaction(
    transaction: Mapping[str, Any], operation: str, amount: int | None, currency: str | None
) -> None:
    """The inner `transaction` must agree with the request where it repeats a field.

    Its `operation` also binds the token to its endpoint: the JWT does not cover the
    path, so a `win` token posted to `bet/refund` is refused here.
    """
    inner_amount = _optional_amount(transaction.get("amount"), "transaction.amount")
    if None not in (inner_amount, amount) and inner_amount != amount:
        raise InvalidRequest("transaction.amount differs from amount")
    inner_currency = _optional_currency(transaction.get("currency"), "transaction.currency")
    if None not in (inner_currency, currency) and inner_currency != currency:
        raise InvalidRequest("transaction.currency differs from currency")
    inner_operation = transaction.get("operation")
    if inner_operation is not None and inner_operation != operation:
        raise InvalidRequest(f"transaction.operation must be {operation!r}")
