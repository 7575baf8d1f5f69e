"""What the wallet stores: players, transaction records, rounds and ledger entries.

Records are immutable; a state change (a debit becoming settled or rolled back) is a
new record that replaces the old one under the same key. The records built on every
money command (transactions, rounds, ledger legs) are named tuples: as immutable as a
frozen dataclass and about three times cheaper to build, which the wallet's hot path
does several times per operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from core.errors import Reason
from core.limits import Limit
from core.model import FundingOrder, KycState, PlayerStatus, TxKind, TxStatus

__all__ = [
    "BONUS_POOL_ACCOUNT",
    "CASHIER_ACCOUNT",
    "Entry",
    "PlayerRecord",
    "RoundRecord",
    "SessionRecord",
    "TxRecord",
    "player_account",
    "provider_account",
]

CASHIER_ACCOUNT = "house:cashier"
BONUS_POOL_ACCOUNT = "house:bonus_pool"


def player_account(player_id: str, bucket: str) -> str:
    """Ledger name of a player's `real` or `bonus` account."""
    assert bucket in ("real", "bonus")
    return f"player:{player_id}:{bucket}"


def provider_account(provider: str) -> str:
    """Ledger name of the house account that takes stakes and pays wins for a provider."""
    return f"house:provider:{provider}"


@dataclass(frozen=True, slots=True)
class PlayerRecord:
    player_id: str
    brand: str
    jurisdiction: str
    currency: str
    date_of_birth: date
    status: PlayerStatus = PlayerStatus.ACTIVE
    funding_order: FundingOrder = FundingOrder.REAL_FIRST
    kyc: KycState = KycState.NONE
    kyc_changed_at_us: int | None = None
    """When the KYC state last changed; None for `none` never changed."""
    status_until_us: int | None = None
    """The end of a self-exclusion or a break (None: indefinite, or no such status)."""
    limits: tuple[Limit, ...] = ()
    """Responsible-gambling limits the player set (`core.limits`), pending raises included."""
    identity: tuple[tuple[str, str], ...] = ()
    """What a national self-exclusion register matches on (first_name, last_name,
    email, postcode, mobile), sorted by name; given at registration, never logged."""


@dataclass(frozen=True, slots=True)
class SessionRecord:
    token: str
    player_id: str
    provider: str
    game_id: str
    currency: str
    expires_at_us: int
    created_at_us: int
    device: str = ""
    """Where the game was launched: a `core.catalogue.game.Device` value ("desktop",
    "mobile"), or "" when unknown (sessions opened before devices were recorded, or
    without one). A plain string, so the wallet does not depend on the catalogue."""
    vertical: str = ""
    """The game's `core.catalogue.game.Vertical` value ("slots", "live"), "" when
    unknown: the step times game cycles per vertical (`core.wallet.figures`)."""
    reality_check_s: int = 0
    """Seconds between the reality-check reminders (elapsed time, net position: UKGC
    RTS 13) the player chose for this session; 0: none asked for. The game shows them,
    so the gateway only records the interval and hands it to the provider."""


class Entry(NamedTuple):
    """One leg of a double-entry movement; the legs of a transaction sum to zero."""

    account: str
    currency: str
    amount_minor: int


class TxRecord(NamedTuple):
    """A stored money command and its result: the idempotency record and the log row.

    `real_delta_minor`/`bonus_delta_minor` are the signed change to the player's
    accounts; a rollback reverses exactly these.
    """

    seq: int
    provider: str
    tx_id: str
    kind: TxKind
    player_id: str
    currency: str
    amount_minor: int
    real_delta_minor: int
    bonus_delta_minor: int
    round_id: str | None
    ref_tx_id: str | None
    fingerprint: bytes
    status: TxStatus
    reason: Reason | None
    created_at_us: int
    detail: str = ""
    """Credit kind for credits; `tombstone` for a rollback that found nothing to reverse."""

    @property
    def transaction_id(self) -> str:
        return str(self.seq)


class RoundRecord(NamedTuple):
    """A game round: its stakes and wins by bucket, enough for recall and open-round search.

    `settled_before_seq`: debits with a lower seq were settled by a round-level credit
    (one without a bet reference) and can no longer be rolled back.
    """

    provider: str
    round_id: str
    player_id: str
    currency: str
    game_id: str
    closed: bool
    stake_real_minor: int
    stake_bonus_minor: int
    win_real_minor: int
    win_bonus_minor: int
    bet_count: int
    settled_before_seq: int
    opened_at_us: int
    updated_at_us: int
