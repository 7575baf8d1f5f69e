"""Placeholder game tiles: an SVG with the title's initials on a colour from a hash.

Demo catalogues have no artwork; a tile that differs per game makes the lobby readable.
Every piece of text is XML-escaped, and the response forbids scripts (an SVG opened on
its own is a document, so a title must never become markup).
"""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

__all__ = ["TILE_HEIGHT_PX", "TILE_TITLE_CHARS_MAX", "TILE_WIDTH_PX", "initials", "tile_svg"]

TILE_WIDTH_PX = 320
TILE_HEIGHT_PX = 200
TILE_TITLE_CHARS_MAX = 28
"""Longer titles are cut with an ellipsis to fit the tile's bottom line."""
INITIALS_MAX = 3


def initials(title: str) -> str:
    """`Book of Gold Deluxe` -> `BOG`: the first letter or digit of the first words."""
    letters = [word[0] for word in title.split() if word[:1].isalnum()]
    return "".join(letters[:INITIALS_MAX]).upper() or "?"


def tile_svg(instance: str, code: str, title: str) -> str:
    """The tile for one game; the same game always gets the same colours."""
    digest = hashlib.sha256(f"{instance}:{code}".encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    shown = title if len(title) <= TILE_TITLE_CHARS_MAX else title[: TILE_TITLE_CHARS_MAX - 1] + "…"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{TILE_WIDTH_PX}" '
        f'height="{TILE_HEIGHT_PX}" viewBox="0 0 {TILE_WIDTH_PX} {TILE_HEIGHT_PX}" role="img" '
        f'aria-label="{escape(title, {chr(34): "&quot;"})}">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue} 65% 42%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 40) % 360} 70% 22%)"/>'
        "</linearGradient></defs>"
        f'<rect width="{TILE_WIDTH_PX}" height="{TILE_HEIGHT_PX}" fill="url(#g)"/>'
        '<text x="50%" y="52%" text-anchor="middle" font-family="sans-serif" '
        f'font-size="72" font-weight="700" fill="#fff" fill-opacity="0.92">'
        f"{escape(initials(title))}</text>"
        f'<text x="50%" y="{TILE_HEIGHT_PX - 18}" text-anchor="middle" font-family="sans-serif" '
        f'font-size="18" fill="#fff">{escape(shown)}</text>'
        "</svg>"
    )
