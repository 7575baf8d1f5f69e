"""Tamper evidence: each transaction record carries the hash of its predecessor.

The link covers every immutable field of a record (not its status, which moves from
applied to settled or rolled back). Replays add no link; stored refusals do, since
they are answers the provider has seen.
"""

from __future__ import annotations

import hashlib

from core.wallet.records import TxRecord

__all__ = ["GENESIS_HASH", "link_hash"]

GENESIS_HASH = bytes(32)


def link_hash(previous: bytes, record: TxRecord) -> bytes:
    """SHA-256 over the previous link and the record's immutable fields."""
    assert len(previous) == 32
    body = "\x1f".join(
        (
            str(record.seq),
            record.provider,
            record.tx_id,
            record.kind.value,
            record.player_id,
            record.currency,
            str(record.amount_minor),
            str(record.real_delta_minor),
            str(record.bonus_delta_minor),
            record.round_id or "",
            record.ref_tx_id or "",
            record.fingerprint.hex(),
            "" if record.reason is None else record.reason.value,
            record.detail,
            str(record.created_at_us),
        )
    )
    return hashlib.sha256(previous + body.encode()).digest()
