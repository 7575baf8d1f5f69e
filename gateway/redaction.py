"""Secret values never leave the process in a log line.

The last step of every structlog line: each configured secret (provider key material,
operator API keys) is replaced wherever it appears, in the forms a JSON line can carry it
(as is, JSON-escaped, and line by line for multi-line keys such as PEM). Tracebacks carry
no frame locals (`gateway.logging`), so this is the second fence, not the only one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import orjson

__all__ = ["REDACTED", "SECRET_BYTES_MIN", "SecretRedactor"]

REDACTED = b"[REDACTED]"
SECRET_BYTES_MIN = 8
"""Shorter values are not redacted: they would rewrite ordinary words in every line (and a
secret that short protects nothing anyway)."""


class SecretRedactor:
    """Replaces every configured secret in a rendered line; a no-op with no secrets."""

    __slots__ = ("_pattern",)

    def __init__(self, secrets: Iterable[bytes]) -> None:
        forms = {form for secret in secrets for form in _forms(secret)}
        longest_first = sorted(forms, key=len, reverse=True)
        self._pattern = (
            re.compile(b"|".join(re.escape(form) for form in longest_first))
            if longest_first
            else None
        )

    def __call__(self, line: bytes) -> bytes:
        if self._pattern is None:
            return line
        return self._pattern.sub(REDACTED, line)


def _forms(secret: bytes) -> set[bytes]:
    """The byte strings under which `secret` (or a line of it) can appear in a JSON line."""
    forms: set[bytes] = set()
    for part in (secret, *secret.splitlines()):
        part = part.strip()
        if len(part) < SECRET_BYTES_MIN:
            continue
        forms.add(part)
        text = part.decode("utf-8", "backslashreplace")
        forms.add(orjson.dumps(text)[1:-1])  # as a JSON string value shows it
        forms.add(orjson.dumps(repr(part)[2:-1])[1:-1])  # a bytes repr's inside, JSON-escaped
    return forms
