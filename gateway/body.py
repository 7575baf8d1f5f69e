"""Request bodies as the gateway decodes them: `Content-Encoding` undone here, bounded.

aiohttp's own decompression is off (`auto_decompress=False` in `gateway.app`): it runs
inside the protocol's `data_received`, where a corrupt gzip stream is an unhandled error
that drops the connection, and a pooled client loses the answer of the request after
it. Here the whole encoded body is read first, so the connection stays in step whatever
the bytes, and a refusal is an ordinary answer in the caller's format.
"""

from __future__ import annotations

import zlib

from aiohttp import web

from core.errors import InvalidRequest

__all__ = ["SUPPORTED_ENCODINGS", "UnsupportedEncoding", "read_body"]

SUPPORTED_ENCODINGS = ("identity", "gzip", "x-gzip", "deflate")
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS


class UnsupportedEncoding(web.HTTPUnsupportedMediaType):
    """A `Content-Encoding` this gateway does not decode (415)."""


async def read_body(request: web.Request, body_bytes_max: int) -> bytes:
    """The body with its content coding undone.

    Raises `UnsupportedEncoding` (415) for an unknown or stacked coding, `InvalidRequest`
    (400) for bytes that are not what their coding says, and 413 when the decoded body
    is larger than `body_bytes_max` (the raw body is capped by aiohttp on the way in).
    """
    raw = await request.read()
    coding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if coding in ("identity", ""):
        return raw
    if coding not in SUPPORTED_ENCODINGS:
        shown = coding if coding.isascii() and coding.isprintable() else "?"
        raise UnsupportedEncoding(
            reason=f"Content-Encoding {shown[:32]!r} is not supported "
            f"(supported: {', '.join(SUPPORTED_ENCODINGS)})"
        )
    if not raw:
        return raw
    if coding == "deflate":
        # RFC 9110 says zlib-wrapped; some clients send raw deflate (aiohttp accepts both).
        wbits = _ZLIB_WBITS if raw[0] & 0x0F == 8 else _RAW_DEFLATE_WBITS
    else:
        wbits = _GZIP_WBITS
    return _inflate(raw, wbits, coding, body_bytes_max)


def _inflate(raw: bytes, wbits: int, coding: str, body_bytes_max: int) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    try:
        decoded = decompressor.decompress(raw, body_bytes_max + 1)
    except zlib.error:
        raise InvalidRequest(f"body: not valid {coding} data") from None
    if len(decoded) > body_bytes_max:
        raise web.HTTPRequestEntityTooLarge(max_size=body_bytes_max, actual_size=len(decoded))
    if not decompressor.eof or decompressor.unused_data:
        raise InvalidRequest(f"body: {coding} data is truncated or followed by other bytes")
    return decoded
