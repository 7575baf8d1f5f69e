"""A player's play figures as the Redis wallet stores them: field `f` of the player's hash.

Every bet reads and rewrites them, and decoding the stored text costs more than the rest
of reading the snapshot (about 10 µs). So the process keeps, per player, the figures it
last wrote beside their stored bytes: the player's next step, reading those same bytes
back, takes the figures as they are. Bytes that differ (another process wrote since, or
that commit lost its version check) are decoded; an entry is only ever a shortcut to
what decoding its own bytes gives.
"""

from __future__ import annotations

from core.wallet.figures import NO_FIGURES, PlayFigures, decode_figures, encode_figures

__all__ = ["FIGURES_FIELD", "decode_stored", "encode_stored"]

FIGURES_FIELD = "f"
WRITTEN_KEPT_MAX = 16_384
"""Players whose last written figures are kept (well under 1 KB each)."""

_written: dict[str, tuple[bytes, PlayFigures]] = {}


def encode_stored(player_id: str, figures: PlayFigures) -> bytes:
    """The stored form of `figures`, kept for the player's next read."""
    raw = encode_figures(figures).encode()
    if len(_written) >= WRITTEN_KEPT_MAX and player_id not in _written:
        _written.clear()
    _written[player_id] = (raw, figures)
    return raw


def decode_stored(player_id: str, raw: bytes | None) -> PlayFigures:
    """The figures stored as `raw` (None: never written)."""
    if raw is None:
        return NO_FIGURES
    kept = _written.get(player_id)
    if kept is not None and kept[0] == raw:
        return kept[1]
    return decode_figures(raw.decode())
