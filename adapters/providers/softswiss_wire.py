"""SoftSwiss / BGaming wire facts: the signature, the request bodies, exact amounts.

Pure functions shared by both sides: the adapter verifies with `signature_ok` and parses
with `parse_play` / `parse_rollback`; the provider simulator (conformance script, load
generator) signs with `sign`. The body is parsed with `json.loads(parse_float=Decimal)`
and every amount must be a JSON integer of currency subunits (EUR cents, JPY yen, BTC
satoshi at 8 decimals): a fraction, a float-looking `100.0`, a string, a boolean or a
negative number is refused, never converted. Unknown fields are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from adapters.providers._parsing import exact_json_object
from adapters.providers._signing import hmac_sha256_hex, same_hex_digest
from core.errors import InvalidAmount, InvalidRequest
from core.money import Currency, CurrencyTable, minor_from_scaled_int

__all__ = [
    "ID_CHARS_MAX",
    "SIGNATURE_HEADER",
    "Envelope",
    "PlayAction",
    "PlayCall",
    "RollbackAction",
    "RollbackCall",
    "parse_object",
    "parse_play",
    "parse_rollback",
    "sign",
    "signature_ok",
]

SIGNATURE_HEADER = "X-REQUEST-SIGN"
ID_CHARS_MAX = 255
"""Longest id, token or game name we accept (SoftSwiss ids are short strings)."""

ActionKind = Literal["bet", "win"]


def sign(key: bytes, body: bytes) -> str:
    """The `X-REQUEST-SIGN` value: lowercase hex HMAC-SHA256 of the exact body bytes."""
    return hmac_sha256_hex(key, body)


def signature_ok(key: bytes, body: bytes, received: str | None) -> bool:
    """Constant-time check over the raw bytes, before anything is parsed."""
    return same_hex_digest(received, sign(key, body))


@dataclass(frozen=True, slots=True)
class Envelope:
    """The fields every `/play` and `/rollback` request carries."""

    user_id: str
    session_id: str
    currency: Currency
    game: str | None
    round_id: str | None
    """The wire's `game_id`: SoftSwiss names the round that way."""
    finished: bool
    free_round: bool
    """A free-spin request (a configured marker field is present): wins need no bet."""


@dataclass(frozen=True, slots=True)
class PlayAction:
    kind: ActionKind
    action_id: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class PlayCall:
    envelope: Envelope
    actions: tuple[PlayAction, ...]

    @property
    def operation(self) -> str:
        """Metrics label: `balance`, `close_round`, `bet`, `win` or `bet_win`."""
        kinds = {action.kind for action in self.actions}
        if not kinds:
            return "close_round" if self.envelope.finished else "balance"
        return "bet_win" if len(kinds) == 2 else next(iter(kinds))


@dataclass(frozen=True, slots=True)
class RollbackAction:
    action_id: str
    original_action_id: str


@dataclass(frozen=True, slots=True)
class RollbackCall:
    envelope: Envelope
    actions: tuple[RollbackAction, ...]


def parse_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; floats stay `Decimal`, NaN and Infinity are refused."""
    return exact_json_object(body)


def parse_play(
    body: bytes,
    currencies: CurrencyTable,
    *,
    actions_max: int,
    free_round_fields: Sequence[str],
) -> PlayCall:
    data = parse_object(body)
    envelope = _envelope(data, currencies, free_round_fields)
    raw_actions = _actions(data, actions_max)
    actions = tuple(_play_action(raw, envelope.currency) for raw in raw_actions)
    if (actions or envelope.finished) and envelope.round_id is None:
        raise InvalidRequest("game_id (the round) is required with actions or finished")
    _unique([action.action_id for action in actions])
    return PlayCall(envelope, actions)


def parse_rollback(
    body: bytes,
    currencies: CurrencyTable,
    *,
    actions_max: int,
) -> RollbackCall:
    data = parse_object(body)
    envelope = _envelope(data, currencies, ())
    raw_actions = _actions(data, actions_max)
    if not raw_actions:
        raise InvalidRequest("a rollback needs at least one action")
    actions = tuple(_rollback_action(raw) for raw in raw_actions)
    if envelope.finished and envelope.round_id is None:
        raise InvalidRequest("game_id (the round) is required with finished")
    ids = [action.action_id for action in actions]
    _unique(ids + [action.original_action_id for action in actions])
    return RollbackCall(envelope, actions)


def _envelope(
    data: dict[str, Any], currencies: CurrencyTable, free_round_fields: Sequence[str]
) -> Envelope:
    code = _text(data, "currency")
    if code is None:
        raise InvalidRequest("currency is required")
    currency = currencies.get(code)
    user_id = _text(data, "user_id", integer_ok=True)
    session_id = _text(data, "session_id")
    if user_id is None or session_id is None:
        raise InvalidRequest("user_id and session_id are required")
    finished = data.get("finished", False)
    if finished is None:
        finished = False
    if not isinstance(finished, bool):
        raise InvalidRequest("finished must be a boolean")
    return Envelope(
        user_id=user_id,
        session_id=session_id,
        currency=currency,
        game=_text(data, "game"),
        round_id=_text(data, "game_id", integer_ok=True),
        finished=finished,
        free_round=any(data.get(name) not in (None, "", 0, False) for name in free_round_fields),
    )


def _actions(data: dict[str, Any], actions_max: int) -> list[dict[str, Any]]:
    raw = data.get("actions")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidRequest("actions must be a list")
    if len(raw) > actions_max:
        raise InvalidRequest(f"at most {actions_max} actions per request")
    if not all(isinstance(item, dict) for item in raw):
        raise InvalidRequest("each action must be an object")
    return raw


def _play_action(raw: dict[str, Any], currency: Currency) -> PlayAction:
    kind = raw.get("action")
    if kind not in ("bet", "win"):
        raise InvalidRequest("a /play action is bet or win")
    action_id = _required_text(raw, "action_id")
    return PlayAction(kind, action_id, _amount(raw.get("amount"), currency))


def _rollback_action(raw: dict[str, Any]) -> RollbackAction:
    if raw.get("action") != "rollback":
        raise InvalidRequest("a /rollback action is rollback")
    return RollbackAction(
        _required_text(raw, "action_id"), _required_text(raw, "original_action_id")
    )


def _amount(raw: object, currency: Currency) -> int:
    """An exact count of subunits: only a JSON integer, never a float or a string."""
    if type(raw) is not int:
        raise InvalidAmount(f"amount must be an integer number of {currency.code} subunits")
    return minor_from_scaled_int(raw, currency.exponent, currency)


def _unique(ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise InvalidRequest("action ids within a request must be unique")


def _required_text(data: dict[str, Any], name: str) -> str:
    value = _text(data, name, integer_ok=True)
    if value is None:
        raise InvalidRequest(f"{name} is required")
    return value


def _text(data: dict[str, Any], name: str, *, integer_ok: bool = False) -> str | None:
    """A non-empty string field (ids may come as JSON integers), or None when absent."""
    value = data.get(name)
    if value is None:
        return None
    if integer_ok and type(value) is int:
        value = str(value)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{name} must be a non-empty string")
    if len(value) > ID_CHARS_MAX:
        raise InvalidRequest(f"{name} is longer than {ID_CHARS_MAX} characters")
    return value
