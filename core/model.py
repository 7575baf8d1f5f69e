"""The canonical model: every provider protocol is translated into these commands.

Commands are immutable and carry only wallet-relevant facts, already in exact minor
units. Who may send them (session, PAM, jurisdiction) is checked by `core.service`
before they reach the store. Each money command is idempotent by `(provider, tx_id)`:
the adapter picks `tx_id` so that it names exactly one money movement in its protocol
(and namespaces it by operation kind where the protocol reuses ids across kinds).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

__all__ = [
    "CASHIER_PROVIDER",
    "Balance",
    "BonusGrant",
    "CloseRound",
    "Credit",
    "CreditKind",
    "Debit",
    "Deposit",
    "FundingOrder",
    "KycState",
    "MoneyCommand",
    "PlayerStatus",
    "Rollback",
    "TxKind",
    "TxOutcome",
    "TxStatus",
    "WalletCommand",
    "Withdrawal",
]

CASHIER_PROVIDER = "_cashier"
"""Namespace of operator cashier idempotency keys (deposits, withdrawals, bonus grants)."""


class CreditKind(enum.StrEnum):
    """Why money is credited. Jackpot, promo and bonus wins may come without a bet."""

    WIN = "win"
    BONUS_WIN = "bonus_win"
    JACKPOT = "jackpot"
    PROMO = "promo"
    REFUND = "refund"


class FundingOrder(enum.StrEnum):
    """Which account a bet consumes first; set per brand."""

    REAL_FIRST = "real_first"
    BONUS_FIRST = "bonus_first"


class PlayerStatus(enum.StrEnum):
    """An account's status; `core.pam` says which operations each one allows.

    `self_excluded` and `cooling_off` carry an end (`PlayerRecord.status_until_us`, None:
    indefinite). A break ends by itself; a self-exclusion does not: after its end the
    operator must set the account active again (the player asks to come back)."""

    ACTIVE = "active"
    RESTRICTED = "restricted"
    """May withdraw; may neither bet nor deposit (source of funds pending, a dispute)."""
    SUSPENDED = "suspended"
    CLOSED = "closed"
    SELF_EXCLUDED = "self_excluded"
    COOLING_OFF = "cooling_off"


class KycState(enum.StrEnum):
    NONE = "none"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class TxKind(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"
    ROLLBACK = "rollback"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    BONUS_GRANT = "bonus_grant"


class TxStatus(enum.StrEnum):
    """State of a stored transaction record."""

    APPLIED = "applied"
    SETTLED = "settled"
    """A debit that a credit has settled: it can no longer be rolled back."""
    ROLLED_BACK = "rolled_back"
    REFUSED = "refused"
    """A refusal stored under its key, so a retry gets the same answer."""
    TOMBSTONE = "tombstone"
    """A rollback arrived first: the key is taken and the late original is refused."""


def _fingerprint(*values: object) -> bytes:
    return hashlib.blake2b(repr(values).encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class Debit:
    """A bet: take `amount_minor` from the player (real and bonus per the funding order)."""

    provider: str
    tx_id: str
    player_id: str
    currency: str
    amount_minor: int
    round_id: str
    game_id: str
    close_round: bool = False
    reference: str = ""
    """The provider's own id of this movement, when `tx_id` is derived from something else
    (Evolution keys a bet by `refId`): a retry must carry the same one, or it conflicts."""

    kind = TxKind.DEBIT

    def fingerprint(self) -> bytes:
        values: tuple[object, ...] = (
            "debit", self.player_id, self.currency, self.amount_minor, self.round_id,
            self.game_id, self.close_round,
        )  # fmt: skip
        # Only when set, so records stored before the field existed still replay.
        return _fingerprint(*values, self.reference) if self.reference else _fingerprint(*values)


@dataclass(frozen=True, slots=True)
class Credit:
    """A win (or refund, jackpot, promo): pay `amount_minor` to the player.

    `ref_tx_id` names the bet it settles when the protocol says so; without it the
    credit settles the open bets of its round. A zero amount is a loss that settles.
    """

    provider: str
    tx_id: str
    player_id: str
    currency: str
    amount_minor: int
    round_id: str
    game_id: str
    credit_kind: CreditKind = CreditKind.WIN
    ref_tx_id: str | None = None
    close_round: bool = False
    requires_bet: bool = True
    """Refuse with `ReferenceNotFound` unless a bet exists (by reference or in the round)."""

    kind = TxKind.CREDIT

    def fingerprint(self) -> bytes:
        return _fingerprint(
            "credit", self.player_id, self.currency, self.amount_minor, self.round_id,
            self.game_id, self.credit_kind.value, self.ref_tx_id, self.close_round,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rollback:
    """Reverse the debit or credit stored under `(provider, ref_tx_id)`, exactly.

    If the referenced transaction is unknown, a tombstone is stored under `ref_tx_id`
    so that the original, arriving late, is refused.
    """

    provider: str
    tx_id: str
    player_id: str
    ref_tx_id: str
    round_id: str | None = None
    close_round: bool = False

    kind = TxKind.ROLLBACK

    def fingerprint(self) -> bytes:
        return _fingerprint(
            "rollback", self.player_id, self.ref_tx_id, self.round_id, self.close_round
        )


@dataclass(frozen=True, slots=True)
class Deposit:
    """Cashier money in: house cashier account to the player's real account."""

    tx_id: str
    player_id: str
    currency: str
    amount_minor: int
    provider: str = CASHIER_PROVIDER

    kind = TxKind.DEPOSIT

    def fingerprint(self) -> bytes:
        return _fingerprint("deposit", self.player_id, self.currency, self.amount_minor)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """Cashier money out, from the real account only (bonus funds cannot be withdrawn)."""

    tx_id: str
    player_id: str
    currency: str
    amount_minor: int
    provider: str = CASHIER_PROVIDER

    kind = TxKind.WITHDRAWAL

    def fingerprint(self) -> bytes:
        return _fingerprint("withdrawal", self.player_id, self.currency, self.amount_minor)


@dataclass(frozen=True, slots=True)
class BonusGrant:
    """Bonus funds from the house bonus pool into the player's bonus account."""

    tx_id: str
    player_id: str
    currency: str
    amount_minor: int
    provider: str = CASHIER_PROVIDER

    kind = TxKind.BONUS_GRANT

    def fingerprint(self) -> bytes:
        return _fingerprint("bonus_grant", self.player_id, self.currency, self.amount_minor)


@dataclass(frozen=True, slots=True)
class CloseRound:
    """Mark a round closed. Idempotent by nature: closing a closed round is a no-op."""

    provider: str
    player_id: str
    round_id: str
    game_id: str = ""


MoneyCommand: TypeAlias = Debit | Credit | Rollback | Deposit | Withdrawal | BonusGrant
WalletCommand: TypeAlias = MoneyCommand | CloseRound


class Balance(NamedTuple):
    """A player's balances in one currency, in minor units. Negative only as recorded debt.

    A named tuple, like `TxOutcome`: built for every answer, and cheaper than a frozen
    dataclass while just as immutable.
    """

    currency: str
    real_minor: int
    bonus_minor: int

    @property
    def total_minor(self) -> int:
        return self.real_minor + self.bonus_minor


class TxOutcome(NamedTuple):
    """What a money command did: the gateway's id for it and the balance after.

    `replay` is true when this is the stored answer to an identical earlier request
    (`balance` is then the current balance). `tombstone` is true for a rollback whose
    reference was unknown: nothing moved, the late original will be refused.
    """

    transaction_id: str
    balance: Balance
    real_delta_minor: int = 0
    bonus_delta_minor: int = 0
    replay: bool = False
    tombstone: bool = False
