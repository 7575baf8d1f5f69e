"""What the reporting store holds: the wallet's log as reporting events, enriched.

The relay (`adapters/reporting`, `gateway/relay.py`) turns each wallet record into one
event, and each state change the wallet makes in place into an event of its own: a
rollback's record is a `rollback` event and also a `rolled_back` event for the record it
reverses (and a `reopened` one for the bet a reversed win had settled); a credit settles
the bet it names (or the round's open bets) with `settled` events. Every event is keyed
by the wallet seq of the record that caused it and a part number (0: the record itself;
1, 2, ...: the state changes it caused, in order), so an event relayed twice is stored
once.

No personal data: the player id and market, never a date of birth or a token.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

__all__ = ["GAME_KINDS", "EventKind", "ReportEvent", "RequestRecord"]


class EventKind(enum.StrEnum):
    BET = "bet"
    WIN = "win"
    """Any credit: `detail` says which (win, bonus_win, jackpot, promo, refund)."""
    ROLLBACK = "rollback"
    """Its deltas restore what the reversed record moved (0 for a tombstone)."""
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    BONUS_GRANT = "bonus_grant"
    REFUSAL = "refusal"
    """A money command the wallet refused and stored; `reason` is its code."""
    SETTLED = "settled"
    """State change: the bet at `ref_seq` can no longer be rolled back."""
    ROLLED_BACK = "rolled_back"
    """State change: the record at `ref_seq` was reversed."""
    REOPENED = "reopened"
    """State change: the bet at `ref_seq` is open again (the win that settled it was
    rolled back); a later `settled` closes it again."""


GAME_KINDS = frozenset({EventKind.BET, EventKind.WIN, EventKind.ROLLBACK})
"""The events GGR counts."""


class ReportEvent(NamedTuple):
    seq: int
    """The wallet seq of the record this event comes from."""
    part: int
    """0: the record itself; 1, 2, ...: the state changes it caused."""
    at_us: int
    """When the wallet wrote the record (UTC microseconds): a report's day is this day."""
    kind: EventKind
    player_id: str
    brand: str
    market: str
    currency: str
    provider: str
    """The provider instance (`_cashier` for deposits, withdrawals and bonus grants)."""
    tx_id: str
    game_id: str
    """The game of the record's round ('' for cashier movements): a rollback is booked
    under its round's game, so a refunded stake leaves the game it was staked on."""
    vertical: str
    """The game's vertical as the catalogue holds it, '' when unknown."""
    round_id: str
    amount_minor: int
    real_delta_minor: int
    """The signed change to the player's real money (0 for state changes and refusals)."""
    bonus_delta_minor: int
    real_after_minor: int
    """The player's real balance in `currency` after this event."""
    bonus_after_minor: int
    reason: str
    """A refusal's reason code; '' otherwise."""
    detail: str
    """A credit's kind; `tombstone` for a rollback that found nothing to reverse."""
    ref_seq: int | None
    """State changes and rollbacks: the seq of the record they concern, when known."""


class RequestRecord(NamedTuple):
    """One HTTP request, as its log line says it: refusals before the wallet (bad
    signatures, replays, malformed bodies) are reportable too."""

    at_us: int
    request_id: str
    method: str
    route: str
    provider: str
    operation: str
    outcome: str
    status: int
    latency_us: int
    player_id: str
