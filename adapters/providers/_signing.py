"""Signature helpers shared by provider adapters: constant-time, over exact bytes."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["hmac_sha256_hex", "md5_hex", "same_hex_digest"]


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def md5_hex(message: bytes) -> str:
    """MD5 as several provider protocols define it (not a security choice of ours)."""
    return hashlib.md5(message, usedforsecurity=False).hexdigest()


def same_hex_digest(received: str | None, expected: str) -> bool:
    """Compare hex digests case-insensitively, in constant time."""
    if not received:
        return False
    return hmac.compare_digest(received.strip().lower().encode(), expected.lower().encode())
