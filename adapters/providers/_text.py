"""Untrusted text as adapters receive it: what counts as a credential, and how to log it.

aiohttp decodes header bytes (and, with its pure-Python parser, the request line) as
UTF-8 with `surrogateescape`: a byte `\\xff` arrives as the str `'\\udcff'`, on which
`str.encode()` raises. A JSON string may hold a lone surrogate too (`"\\ud800"`). No
signature, token, timestamp or nonce that a provider legitimately sends is anything but
printable ASCII, so every adapter reads those through `printable_ascii`: anything else
counts as absent, which each protocol already answers with its bad-signature (or
invalid-request) refusal, before any encode, regex or compare can trip over it.
"""

from __future__ import annotations

__all__ = ["for_log", "printable_ascii"]

LOGGED_CHARS_MAX = 64
"""Longest piece of a request that goes into a log line."""


def printable_ascii(value: str | None) -> str | None:
    """`value` if it is non-empty printable ASCII (space to `~`), else None."""
    if not value or not (value.isascii() and value.isprintable()):
        return None
    return value


def for_log(value: str) -> str:
    """At most `LOGGED_CHARS_MAX` characters of `value`, as printable ASCII.

    Log lines are JSON written by orjson, which refuses surrogates, and a control
    character makes a line hard to read: anything but printable ASCII is written as
    Python writes it in `ascii()` (`'\\udcff'`, `'\\n'`).
    """
    text = value[:LOGGED_CHARS_MAX]
    if text.isascii() and text.isprintable():
        return text
    return ascii(text)[1:-1]
