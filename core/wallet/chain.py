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
    r = record
    # One f-string (StrEnum members format as their value): the cheapest way to build it.
    body = (
        f"{r.seq}\x1f{r.provider}\x1f{r.tx_id}\x1f{r.kind}\x1f{r.player_id}\x1f{r.currency}"
        f"\x1f{r.amount_minor}\x1f{r.real_delta_minor}\x1f{r.bonus_delta_minor}"
        f"\x1f{r.round_id or ''}\x1f{r.ref_tx_id or ''}\x1f{r.fingerprint.hex()}"
        f"\x1f{r.reason or ''}\x1f{r.detail}\x1f{r.created_at_us}"
    )
    return hashlib.sha256(previous + body.encode()).digest()
