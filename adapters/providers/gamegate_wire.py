"""The gamegate wire protocol: header names, the signing recipe, and the request bodies.

Everything here is pure, so both sides use it: the adapter verifies with
`check_request_signature`, and the provider side (load generator, conformance kit,
end-to-end tests, a provider's own client) signs with `sign_request` and checks our
answers with `verify_response`. `docs/protocols/gamegate.md` is the prose version.

Signing (HMAC-SHA256, lowercase hex, key = the shared secret's bytes as configured):

    request:  "{timestamp}.{nonce}.{operation}." + raw body
    response: "{timestamp}.{nonce}." + raw body      (nonce: the request's, echoed)

The request signature covers the operation because the path is not in the body: a
`bet` body must not be accepted by `/win`. The response signature covers the request's
nonce, so an answer cannot be replayed as the answer to another request. Both cover the
raw bytes, never a re-serialisation.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from adapters.providers._signing import hmac_sha256_hex, same_hex_digest
from adapters.providers._text import printable_ascii
from core.errors import BadSignature, ReplayedRequest
from core.money import AMOUNT_MINOR_MAX

__all__ = [
    "BATCH_OPERATIONS_MAX",
    "CONTENT_TYPE",
    "DEFAULT_CLOCK_SKEW_S",
    "NONCE_HEADER",
    "OPERATIONS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AuthenticateRequest",
    "BalanceRequest",
    "BatchBet",
    "BatchRequest",
    "BatchRollback",
    "BatchWin",
    "BetRequest",
    "CloseRoundRequest",
    "RollbackRequest",
    "SignedRequest",
    "WinRequest",
    "check_request_signature",
    "new_nonce",
    "request_signature",
    "response_signature",
    "sign_request",
    "verify_response",
    "wellformed_nonce",
]

TIMESTAMP_HEADER = "X-Gamegate-Timestamp"
NONCE_HEADER = "X-Gamegate-Nonce"
SIGNATURE_HEADER = "X-Gamegate-Signature"
CONTENT_TYPE = "application/json"

OPERATIONS = ("authenticate", "balance", "bet", "win", "rollback", "close-round", "batch")
"""Every operation, as the last path segment (`/providers/{instance}/{operation}`)."""

DEFAULT_CLOCK_SKEW_S = 300
"""How far a request's timestamp may be from our clock, either way."""

BATCH_OPERATIONS_MAX = 100
ID_LENGTH_MAX = 128
TOKEN_LENGTH_MAX = 512

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
"""No `.` in a nonce, so the signed string splits one way only. Both are used with
`fullmatch`: `$` would also match before a final newline."""

# -- signing ------------------------------------------------------------------


def request_signature(
    key: bytes, body: bytes, *, timestamp: str, nonce: str, operation: str
) -> str:
    """Lowercase hex HMAC-SHA256 of `"{timestamp}.{nonce}.{operation}." + body`."""
    return hmac_sha256_hex(key, f"{timestamp}.{nonce}.{operation}.".encode() + body)


def response_signature(key: bytes, body: bytes, *, timestamp: str, nonce: str) -> str:
    """Lowercase hex HMAC-SHA256 of `"{timestamp}.{nonce}." + body` (request's nonce)."""
    return hmac_sha256_hex(key, f"{timestamp}.{nonce}.".encode() + body)


def new_nonce() -> str:
    """A fresh random nonce (32 hex characters) for one request."""
    return secrets.token_hex(16)


def sign_request(
    key: bytes, body: bytes, *, operation: str, timestamp: int, nonce: str
) -> dict[str, str]:
    """The headers that make `body` a valid `operation` request at `timestamp` (unix s).

    A retry is re-signed: same body, fresh timestamp and nonce.
    """
    assert operation in OPERATIONS, f"unknown gamegate operation {operation!r}"
    assert timestamp >= 0
    assert _NONCE.fullmatch(nonce), "a nonce is 8-64 characters of [A-Za-z0-9_-]"
    text = str(timestamp)
    return {
        "Content-Type": CONTENT_TYPE,
        TIMESTAMP_HEADER: text,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: request_signature(
            key, body, timestamp=text, nonce=nonce, operation=operation
        ),
    }


def verify_response(
    key: bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    request_nonce: str | None = None,
    now_s: float | None = None,
    clock_skew_s: float = DEFAULT_CLOCK_SKEW_S,
) -> bool:
    """True if `body` is our signed answer (to the request with `request_nonce`, if given).

    `headers` may use any letter case. With `now_s`, the response timestamp must also be
    within `clock_skew_s` of it.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    nonce = lowered.get(NONCE_HEADER.lower(), "")
    if not _TIMESTAMP.fullmatch(timestamp) or (nonce and not _NONCE.fullmatch(nonce)):
        return False
    if request_nonce is not None and nonce != request_nonce:
        return False
    if now_s is not None and abs(now_s - int(timestamp)) > clock_skew_s:
        return False
    expected = response_signature(key, body, timestamp=timestamp, nonce=nonce)
    return same_hex_digest(lowered.get(SIGNATURE_HEADER.lower()), expected)


def wellformed_nonce(headers: Mapping[str, str]) -> str:
    """The request's nonce if it is well formed, else "" (what a response echoes)."""
    nonce = headers.get(NONCE_HEADER, "")
    return nonce if _NONCE.fullmatch(nonce) else ""


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a verified signature vouches for: when, and the nonce to remember."""

    timestamp_s: int
    nonce: str


def check_request_signature(
    key: bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    operation: str,
    now_s: float,
    clock_skew_s: float,
) -> SignedRequest:
    """Verify headers and signature, then the time window. Raises; checks no nonce memory.

    `headers` must be case-insensitive (as `ProviderRequest.headers` is). A header that
    is not printable ASCII (aiohttp's surrogates for non-UTF-8 bytes) counts as missing.

    The signature is checked before the timestamp so that a forgery is always reported
    as `bad_signature`, and only authentic requests as `replayed_request`.
    """
    timestamp = printable_ascii(headers.get(TIMESTAMP_HEADER))
    nonce = printable_ascii(headers.get(NONCE_HEADER))
    signature = printable_ascii(headers.get(SIGNATURE_HEADER))
    if timestamp is None or nonce is None or signature is None:
        missing = [
            name
            for name, value in (
                (TIMESTAMP_HEADER, timestamp),
                (NONCE_HEADER, nonce),
                (SIGNATURE_HEADER, signature),
            )
            if value is None
        ]
        raise BadSignature(f"missing or non-ASCII header {', '.join(missing)}")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise BadSignature(f"{TIMESTAMP_HEADER} must be unix seconds")
    if not _NONCE.fullmatch(nonce):
        raise BadSignature(f"{NONCE_HEADER} must be 8-64 characters of [A-Za-z0-9_-]")
    expected = request_signature(key, body, timestamp=timestamp, nonce=nonce, operation=operation)
    if not same_hex_digest(signature, expected):
        raise BadSignature("signature does not match")
    timestamp_s = int(timestamp)
    if abs(now_s - timestamp_s) > clock_skew_s:
        raise ReplayedRequest(f"timestamp is more than {clock_skew_s:g}s from the wallet's clock")
    return SignedRequest(timestamp_s=timestamp_s, nonce=nonce)


# -- request bodies -----------------------------------------------------------

Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_LENGTH_MAX)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=TOKEN_LENGTH_MAX)]
CurrencyCode = Annotated[str, StringConstraints(min_length=2, max_length=8)]
AmountMinor = Annotated[int, Field(ge=0, le=AMOUNT_MINOR_MAX)]
"""Integer minor units: JSON floats, booleans and strings are refused by strict mode."""
WinKind = Literal["win", "bonus_win", "jackpot", "promo", "refund"]


class _Body(BaseModel):
    """Strict types (no coercion), unknown fields ignored so providers can add fields."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class AuthenticateRequest(_Body):
    """Answered with the session's player, currency, game, reality-check interval
    (`reality_check_s`, seconds, null for none) and balance."""

    session_token: Token


class BalanceRequest(_Body):
    player_id: Id
    currency: CurrencyCode | None = None


class BetRequest(_Body):
    session_token: Token
    player_id: Id
    transaction_id: Id
    round_id: Id
    game_id: Id
    currency: CurrencyCode
    amount: AmountMinor
    round_closed: bool = False


class WinRequest(_Body):
    player_id: Id
    transaction_id: Id
    bet_transaction_id: Id | None = None
    round_id: Id
    game_id: Id
    currency: CurrencyCode
    amount: AmountMinor
    kind: WinKind = "win"
    round_closed: bool = False


class RollbackRequest(_Body):
    player_id: Id
    transaction_id: Id
    reference_transaction_id: Id
    round_id: Id | None = None
    round_closed: bool = False


class CloseRoundRequest(_Body):
    player_id: Id
    round_id: Id
    game_id: Annotated[str, StringConstraints(max_length=ID_LENGTH_MAX)] = ""


class BatchBet(_Body):
    op: Literal["bet"]
    transaction_id: Id
    round_id: Id
    game_id: Id
    currency: CurrencyCode
    amount: AmountMinor
    round_closed: bool = False


class BatchWin(_Body):
    op: Literal["win"]
    transaction_id: Id
    bet_transaction_id: Id | None = None
    round_id: Id
    game_id: Id
    currency: CurrencyCode
    amount: AmountMinor
    kind: WinKind = "win"
    round_closed: bool = False


class BatchRollback(_Body):
    op: Literal["rollback"]
    transaction_id: Id
    reference_transaction_id: Id
    round_id: Id | None = None
    round_closed: bool = False


BatchOperation = Annotated[BatchBet | BatchWin | BatchRollback, Field(discriminator="op")]


class BatchRequest(_Body):
    """Several money operations of one player, applied all or none, in order."""

    session_token: Token | None = None
    player_id: Id
    operations: Annotated[
        list[BatchOperation], Field(min_length=1, max_length=BATCH_OPERATIONS_MAX)
    ]
