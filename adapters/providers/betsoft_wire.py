"""Betsoft common-wallet wire facts: the query string, the MD5 recipes, packed amounts, XML.

Pure functions shared by both sides: the adapter parses with `parse_query`, verifies
with `hash_ok` and renders with `render`; the provider simulator (conformance script,
load generator) signs with `signed_query`.

The hash is MD5 (lowercase hex) of the URL-DECODED values of a fixed list of parameters
per operation, concatenated in that order, followed by the passkey; an absent parameter
counts as "" (`SIGNED_FIELDS`). It is recomputed from the values as received, never from
a re-encoding, so parameter order, percent-encoding case, `+` for space and unknown
extra parameters do not matter. A parameter sent twice is refused: which of the two
values was signed would be a guess.

`bet` and `win` pack `"<amount>|<casinoTransactionId>"`; the amount is a non-negative
integer count of minor units of the player's currency (cents for EUR), ASCII digits
only, at most 2**63-1.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

from adapters.providers._signing import md5_hex, same_hex_digest
from core.errors import InvalidAmount, InvalidRequest
from core.money import AMOUNT_MINOR_MAX

__all__ = [
    "CONTENT_TYPE",
    "ECHOED_FIELDS",
    "ID_CHARS_MAX",
    "QUERY_FIELDS_MAX",
    "SIGNED_FIELDS",
    "BetResultCall",
    "Packed",
    "format_time",
    "hash_input",
    "hash_ok",
    "parse_bet_result",
    "parse_query",
    "render",
    "request_hash",
    "required_text",
    "signed_query",
]

CONTENT_TYPE = "application/xml"
ID_CHARS_MAX = 128
"""Longest id, token or user id we accept (Betsoft's are short numbers or tokens)."""
QUERY_FIELDS_MAX = 64
"""More parameters than any Betsoft call carries, with room for additions."""
AMOUNT_DIGITS_MAX = 19
"""`2**63-1` has 19 digits: longer text cannot be a valid amount."""

SIGNED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "authenticate": ("token",),
    "getBalance": ("userId",),
    "betResult": ("userId", "bet", "win", "isRoundFinished", "roundId", "gameId"),
    "refundBet": ("userId", "casinoTransactionId"),
}
"""The hash recipe: these values in this order, then the passkey. Refund order is ours [?]."""

ECHOED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "betResult": ("gameSessionId", "clientType"),
}
"""Unsigned parameters echoed in `<REQUEST>` when present (signed ones always are)."""

_AMOUNT = re.compile(rf"[0-9]{{1,{AMOUNT_DIGITS_MAX}}}")
_BOOLEANS = {"true": True, "false": False}
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_REPLACEMENT = "\ufffd"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# -- query and hash -----------------------------------------------------------------


def parse_query(query_string: str) -> dict[str, str]:
    """Decoded parameters, each at most once; bad UTF-8 or a repeated name is refused.

    The raw query string must be printable ASCII, as a URL's is: a byte that is not
    arrives from aiohttp's pure-Python parser as a surrogate, which no hash could cover.
    """
    if not (query_string.isascii() and query_string.isprintable()):
        raise InvalidRequest("query string is not printable ASCII")
    try:
        pairs = parse_qsl(
            query_string,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=QUERY_FIELDS_MAX,
        )
    except ValueError as exc:  # UnicodeDecodeError, too many fields
        raise InvalidRequest("query string is not valid") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise InvalidRequest(f"parameter {name[:32]!r} is repeated")
        params[name] = value
    return params


def hash_input(operation: str, params: Mapping[str, str]) -> str:
    """The signed text without the passkey: the operation's values, absent ones as ""."""
    return "".join(params.get(name, "") for name in SIGNED_FIELDS[operation])


def request_hash(operation: str, params: Mapping[str, str], passkey: bytes) -> str:
    return md5_hex(hash_input(operation, params).encode("utf-8") + passkey)


def hash_ok(operation: str, params: Mapping[str, str], passkey: bytes) -> bool:
    """Constant-time, case-insensitive check of the `hash` parameter."""
    return same_hex_digest(params.get("hash"), request_hash(operation, params, passkey))


def signed_query(
    operation: str,
    params: Sequence[tuple[str, str]],
    passkey: bytes,
    *,
    hash_value: str | None = None,
) -> str:
    """The query string as Betsoft sends it: `params` in order, then `hash`."""
    value = request_hash(operation, dict(params), passkey) if hash_value is None else hash_value
    return urlencode([*params, ("hash", value)])


# -- fields -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Packed:
    """One side of a `betResult`: an amount in minor units and Betsoft's transaction id."""

    amount_minor: int
    transaction_id: str


@dataclass(frozen=True, slots=True)
class BetResultCall:
    user_id: str
    bet: Packed | None
    win: Packed | None
    round_finished: bool
    round_id: str
    game_id: str
    game_session_id: str | None

    @property
    def operation(self) -> str:
        """Metrics label: `bet`, `win`, `bet_win` or `close_round`."""
        if self.bet and self.win:
            return "bet_win"
        if self.bet:
            return "bet"
        return "win" if self.win else "close_round"


def parse_bet_result(params: Mapping[str, str]) -> BetResultCall:
    finished = _BOOLEANS.get(params.get("isRoundFinished", "").lower())
    if finished is None:
        raise InvalidRequest("isRoundFinished must be true or false")
    return BetResultCall(
        user_id=required_text(params, "userId"),
        bet=_packed(params, "bet"),
        win=_packed(params, "win"),
        round_finished=finished,
        round_id=required_text(params, "roundId"),
        game_id=_text(params, "gameId") or "",
        game_session_id=_text(params, "gameSessionId"),
    )


def _packed(params: Mapping[str, str], name: str) -> Packed | None:
    """`"<amount>|<id>"`, or None when absent or empty (no bet, no win)."""
    text = params.get(name, "")
    if not text:
        return None
    amount_text, separator, transaction_id = text.partition("|")
    if not separator:
        raise InvalidRequest(f"{name} must be '<amount>|<transaction id>'")
    if not _AMOUNT.fullmatch(amount_text):
        raise InvalidAmount(f"{name} amount must be a non-negative integer of minor units")
    amount_minor = int(amount_text)
    if amount_minor > AMOUNT_MINOR_MAX:
        raise InvalidAmount(f"{name} amount is out of range")
    return Packed(amount_minor, _checked_id(name, transaction_id))


def required_text(params: Mapping[str, str], name: str) -> str:
    value = _text(params, name)
    if value is None:
        raise InvalidRequest(f"{name} is required")
    return value


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return None if not value else _checked_id(name, value)


def _checked_id(name: str, value: str) -> str:
    if not value:
        raise InvalidRequest(f"{name} needs a transaction id")
    if len(value) > ID_CHARS_MAX or not value.isprintable():
        raise InvalidRequest(f"{name} must be printable and at most {ID_CHARS_MAX} characters")
    return value


# -- rendering ----------------------------------------------------------------------


def format_time(seconds: float) -> str:
    """Betsoft's `<TIME>`: `DD Mon YYYY HH:MM:SS` in UTC, English month names always."""
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return f"{moment.day:02d} {_MONTHS[moment.month - 1]} {moment:%Y %H:%M:%S}"


def render(
    operation: str | None,
    params: Mapping[str, str],
    time_text: str,
    response: Iterable[tuple[str, str]],
) -> bytes:
    """`<EXTSYSTEM><REQUEST>echo</REQUEST><TIME/><RESPONSE>fields</RESPONSE></EXTSYSTEM>`.

    Tag names are ours (constants); every value is sanitised and escaped, so nothing a
    caller sends can change the document's structure.
    """
    parts = ["<EXTSYSTEM><REQUEST>"]
    parts.extend(_element(tag, value) for tag, value in _echo(operation, params))
    parts.append(f"</REQUEST>{_element('TIME', time_text)}<RESPONSE>")
    parts.extend(_element(tag, value) for tag, value in response)
    parts.append("</RESPONSE></EXTSYSTEM>")
    return "".join(parts).encode("utf-8")


def _echo(operation: str | None, params: Mapping[str, str]) -> list[tuple[str, str]]:
    """Signed fields in hash order (absent as empty), known extras if present, then HASH."""
    if operation is None or operation not in SIGNED_FIELDS:
        return []
    echo = [(name.upper(), params.get(name, "")) for name in SIGNED_FIELDS[operation]]
    echo.extend(
        (name.upper(), params[name]) for name in ECHOED_FIELDS.get(operation, ()) if name in params
    )
    echo.append(("HASH", params.get("hash", "")))
    return echo


def _element(tag: str, value: str) -> str:
    return f"<{tag}>{escape(_NOT_XML_CHAR.sub(_REPLACEMENT, value))}</{tag}>"
