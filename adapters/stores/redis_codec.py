"""How the Redis wallet's records are written as Redis values, and read back.

Every record is a JSON array (orjson: a record encodes or decodes in about a
microsecond), in the field order of its named tuple. A transaction record carries what
SQLite keeps in other tables beside it: the link of its player's hash chain, the seq
of the player's previous record, and its ledger legs. Those never change after the
record is written; only its status does, and a status change rewrites the same array
with the one field replaced (`with_status`).

Session records are stored under the SHA-256 of their token, as in SQLite: a copy of
the data must not let anyone play.

Redis has no schema to migrate: records written by an older gateway are converted
when read (`decode_player`, `decode_session`); a player is stored in the current form
again by their next change.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, NamedTuple

import orjson

from core.errors import Reason
from core.limits import decode_limits, encode_limits
from core.model import FundingOrder, KycState, PlayerStatus, TxKind, TxStatus
from core.wallet.records import Entry, PlayerRecord, RoundRecord, SessionRecord, TxRecord
from core.wallet.store import PlayerAuditEntry

__all__ = [
    "StoredTx",
    "audit_tail",
    "decode_audit",
    "decode_balance",
    "decode_head",
    "decode_outbox_event",
    "decode_player",
    "decode_record",
    "decode_round",
    "decode_session",
    "decode_tx",
    "encode_balance",
    "encode_head",
    "encode_player",
    "encode_round",
    "encode_tx",
    "outbox_event",
    "session_fields",
    "token_digest",
    "with_status",
]

_STATUS_AT = TxRecord._fields.index("status")
_LINK_AT = len(TxRecord._fields)
"""Index of the chain link in a stored transaction array; the previous seq and the
entries follow it."""


class StoredTx(NamedTuple):
    """A transaction record as stored: the record plus what only the store keeps."""

    record: TxRecord
    link: bytes
    prev_seq: int
    """The player's previous record's seq (0: this is their first)."""
    entries: list[Entry]


def encode_tx(record: TxRecord, link: bytes, prev_seq: int, entries: list[Entry]) -> bytes:
    r = record
    values = [
        r.seq, r.provider, r.tx_id, r.kind._value_, r.player_id, r.currency, r.amount_minor,
        r.real_delta_minor, r.bonus_delta_minor, r.round_id, r.ref_tx_id, r.fingerprint.hex(),
        r.status._value_, None if r.reason is None else r.reason._value_, r.created_at_us,
        r.detail, link.hex(), prev_seq, [list(entry) for entry in entries],
    ]  # fmt: skip
    return orjson.dumps(values)


_KINDS = {kind._value_: kind for kind in TxKind}
_STATUSES = {status._value_: status for status in TxStatus}
_REASONS = {reason._value_: reason for reason in Reason}
"""Enum members by value: a dict lookup, where calling the enum costs a microsecond."""


def decode_record(raw: bytes) -> TxRecord:
    """The record alone (what a step reads): its link and legs stay undecoded."""
    v = orjson.loads(raw)
    return _record(v)


def decode_tx(raw: bytes) -> StoredTx:
    v = orjson.loads(raw)
    entries = [Entry(account, currency, amount) for account, currency, amount in v[18]]
    return StoredTx(_record(v), bytes.fromhex(v[16]), v[17], entries)


def _record(v: list[Any]) -> TxRecord:
    reason = v[13]
    return TxRecord(
        v[0], v[1], v[2], _KINDS[v[3]], v[4], v[5], v[6], v[7], v[8], v[9], v[10],
        bytes.fromhex(v[11]), _STATUSES[v[12]], None if reason is None else _REASONS[reason],
        v[14], v[15],
    )  # fmt: skip


def with_status(raw: bytes, status: TxStatus) -> bytes:
    """The stored array of a record in another state; link, legs and all else unchanged."""
    v: list[Any] = orjson.loads(raw)
    v[_STATUS_AT] = status._value_
    return orjson.dumps(v)


def encode_round(r: RoundRecord) -> bytes:
    return orjson.dumps(list(r))


def decode_round(raw: bytes) -> RoundRecord:
    return RoundRecord._make(orjson.loads(raw))


def encode_player(p: PlayerRecord) -> bytes:
    values = [
        p.player_id, p.brand, p.jurisdiction, p.currency, p.date_of_birth.isoformat(),
        p.status._value_, p.funding_order._value_, p.kyc._value_, p.kyc_changed_at_us,
        p.status_until_us, encode_limits(p.limits), [list(pair) for pair in p.identity],
    ]  # fmt: skip
    return orjson.dumps(values)


_OLD_PLAYER_ITEMS = 8
"""A player stored before KYC states, account limits and identity: its last item is
`kyc_verified` (a bool)."""
_PLAYER_STATUSES = {status._value_: status for status in PlayerStatus}
_PLAYER_STATUSES["blocked"] = PlayerStatus.SUSPENDED  # the one status that was renamed
_KYC_STATES = {state._value_: state for state in KycState}


def decode_player(raw: bytes) -> PlayerRecord:
    """A stored player; the Redis wallet's migration of players is here, at read time.
    An old array (8 items) reads as kyc `verified` (its change time unknown) or `none`,
    no limits and no identity; status `blocked`, in any array, reads as `suspended`."""
    v = orjson.loads(raw)
    status = _PLAYER_STATUSES[v[5]]
    if len(v) == _OLD_PLAYER_ITEMS:
        return PlayerRecord(
            v[0], v[1], v[2], v[3], date.fromisoformat(v[4]), status, FundingOrder(v[6]),
            KycState.VERIFIED if v[7] else KycState.NONE,
        )  # fmt: skip
    return PlayerRecord(
        v[0], v[1], v[2], v[3], date.fromisoformat(v[4]), status, FundingOrder(v[6]),
        _KYC_STATES[v[7]], v[8], v[9], decode_limits(v[10]),
        tuple((name, value) for name, value in v[11]),
    )  # fmt: skip


def audit_tail(at_us: int, actor: str, action: str, why: str, before: str, after: str) -> bytes:
    """A player audit entry as stored, less its seq, which `gg_change_player_v2` draws and
    puts in front: the member is then `[seq,at_us,actor,action,why,before,after]`."""
    return orjson.dumps([at_us, actor, action, why, before, after])[1:]


def decode_audit(player_id: str, raw: bytes) -> PlayerAuditEntry:
    seq, at_us, actor, action, why, before, after = orjson.loads(raw)
    return PlayerAuditEntry(seq, player_id, at_us, actor, action, why, before, after)


def token_digest(token: str) -> str:
    """What Redis keeps of a session token: its SHA-256 in hex (tokens are random, 24
    bytes or more, so an unsalted digest cannot be reversed by guessing)."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_fields(s: SessionRecord) -> list[str | int]:
    """HSET pairs of a session hash (a hash, so that `gg_end_session` can shorten its
    expiry in place). `dv`, the device, `vt`, the game's vertical, and `rc`, the
    reality-check interval, came later: a hash without one reads it as '' (`rc`: 0)."""
    return [
        "p", s.player_id, "pr", s.provider, "g", s.game_id, "c", s.currency,
        "e", s.expires_at_us, "cr", s.created_at_us, "dv", s.device, "vt", s.vertical,
        "rc", s.reality_check_s,
    ]  # fmt: skip


def decode_session(token: str, flat: list[bytes]) -> SessionRecord | None:
    """From HGETALL's flat reply; None for no such session."""
    if not flat:
        return None
    v = dict(zip(flat[::2], flat[1::2], strict=True))
    return SessionRecord(
        token, v[b"p"].decode(), v[b"pr"].decode(), v[b"g"].decode(), v[b"c"].decode(),
        int(v[b"e"]), int(v[b"cr"]), v.get(b"dv", b"").decode(), v.get(b"vt", b"").decode(),
        int(v.get(b"rc", 0)),
    )  # fmt: skip


def encode_balance(real: int, bonus: int) -> str:
    return f"{real} {bonus}"


def decode_balance(raw: bytes | None) -> tuple[int, int]:
    """(real, bonus); (0, 0) for a currency never moved."""
    if raw is None:
        return 0, 0
    real, bonus = raw.split()
    return int(real), int(bonus)


def encode_head(seq: int, link: bytes) -> str:
    return f"{seq} {link.hex()}"


def decode_head(raw: bytes | None) -> tuple[int, bytes] | None:
    if raw is None:
        return None
    seq, link = raw.split()
    return int(seq), bytes.fromhex(link.decode())


def outbox_event(encoded: list[bytes]) -> bytes:
    """One stream event for one wallet step: a JSON array of its new records exactly as
    stored (`encode_tx`: the fields of SQLite's `txs` row in column order with the status
    as written, then the chain link, the player's previous seq and the ledger legs). A
    relay dedupes by seq (each record's first field); a later status change (settled,
    rolled back) is told by the later record that caused it (a win, a rollback)."""
    return b"[" + b",".join(encoded) + b"]"


def decode_outbox_event(raw: bytes) -> list[TxRecord]:
    """The records of one outbox stream event (`outbox_event`), in the order written."""
    return [_record(v) for v in orjson.loads(raw)]
