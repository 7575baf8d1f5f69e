"""Signature helpers shared by provider adapters: constant-time, over exact bytes.

The received half of every comparison is untrusted text (see `_text`): anything but
printable ASCII is a mismatch here, never an exception.
"""

from __future__ import annotations

import hashlib
import hmac

from adapters.providers._text import printable_ascii

__all__ = ["hmac_sha256_hex", "md5_hex", "same_hex_digest", "same_secret"]


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def md5_hex(message: bytes) -> str:
    """MD5 as several provider protocols define it (not a security choice of ours)."""
    return hashlib.md5(message, usedforsecurity=False).hexdigest()


def same_hex_digest(received: str | None, expected: str) -> bool:
    """Compare hex digests case-insensitively, in constant time."""
    text = printable_ascii(received)
    if text is None:
        return False
    return hmac.compare_digest(text.strip().lower().encode("ascii"), expected.lower().encode())


def same_secret(received: str | None, expected: bytes) -> bool:
    """Compare a received shared secret (an API token) with ours, in constant time."""
    text = printable_ascii(received)
    if text is None:
        return False
    return hmac.compare_digest(text.encode("ascii"), expected)
