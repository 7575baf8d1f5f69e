"""Strict reading of what adapters are given, shared so every protocol reads it the same way.

Instance options and secrets are read once, when an adapter is built: a bad or missing
value stops start-up with a message naming the protocol and the key. JSON bodies are
read per request with exact numbers: a fraction becomes `Decimal`, never a float, and
NaN or Infinity is refused. They must be UTF-8 and their strings Unicode: a lone
surrogate (`"\ud800"`) is refused here, because no store, log line or JSON encoder
downstream can write one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from adapters.providers.base import AdapterContext
from core.errors import InvalidRequest

__all__ = ["bool_option", "exact_json_object", "int_option", "required_secret"]


def int_option(
    options: Mapping[str, Any],
    protocol: str,
    name: str,
    default: int,
    *,
    minimum: int,
    maximum: int,
) -> int:
    """The option as an int within [minimum, maximum]; `bool` is not an int here."""
    value = options.get(name, default)
    if type(value) is not int or not minimum <= value <= maximum:
        raise ValueError(
            f"{protocol} option {name} must be an integer from {minimum} to {maximum}, "
            f"not {value!r}"
        )
    return value


BODY_BYTES_OPTION_MIN = 1024
BODY_BYTES_OPTION_MAX = 16 * 1024 * 1024
"""The range an instance may set its request body cap (`body_bytes_max`) in."""


def body_bytes_option(
    options: Mapping[str, Any],
    protocol: str,
    default: int,
    *,
    maximum: int = BODY_BYTES_OPTION_MAX,
) -> int:
    """The instance's request body cap in bytes: option `body_bytes_max`, else `default`."""
    return int_option(
        options, protocol, "body_bytes_max", default, minimum=BODY_BYTES_OPTION_MIN, maximum=maximum
    )


def bool_option(options: Mapping[str, Any], protocol: str, name: str, default: bool) -> bool:
    value = options.get(name, default)
    if type(value) is not bool:
        raise ValueError(f"{protocol} option {name} must be true or false, not {value!r}")
    return value


def required_secret(context: AdapterContext, name: str) -> bytes:
    """The named secret, which must be present and non-empty."""
    value = context.secrets.get(name)
    if not value:
        raise ValueError(f"provider instance {context.instance!r} needs secret {name}")
    return value


def _reject_constant(name: str) -> Any:
    raise InvalidRequest(f"{name} is not a JSON number")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON escape of a surrogate: only then can a decoded string hold a lone one."""
_SURROGATE = re.compile("[\ud800-\udfff]")
"""After decoding, a pair is one character: any surrogate left is a lone one."""


def exact_json_object(raw: bytes, what: str = "body") -> dict[str, Any]:
    """`raw` as a JSON object with exact numbers; `what` names it in the refusal."""
    try:
        text = raw.decode("utf-8-sig")  # json.loads(bytes) would let encoded surrogates pass
        data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # bad UTF-8, JSONDecodeError, huge ints
        raise InvalidRequest(f"{what} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidRequest(f"{what} must be a JSON object")
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(data):
        raise InvalidRequest(f"{what} holds a lone surrogate, which is not Unicode text")
    return data


def _has_lone_surrogate(data: Any) -> bool:
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
