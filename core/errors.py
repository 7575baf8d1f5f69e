"""The one error hierarchy of gamegate. Every refusal has a stable `Reason` code.

    GatewayError                      base; `reason` is stable, `retryable` says if a retry may help
    ├── RequestRejected               the request itself is unacceptable (nothing was looked at)
    │   ├── InvalidRequest            malformed body, missing field, wrong type
    │   │   ├── InvalidAmount         amount not exact in the currency, negative, out of range
    │   │   └── UnknownCurrency       currency code not in the currency table
    │   ├── BadSignature              signature/hash/token missing or wrong
    │   └── ReplayedRequest           nonce reused or timestamp outside the clock-skew window
    ├── SessionError
    │   ├── SessionInvalid            unknown token, or it belongs to another player/provider
    │   └── SessionExpired            known token past its expiry (debits only; credits pass)
    ├── PlayerError
    │   ├── PlayerNotFound
    │   ├── PlayerBlocked             the account's status forbids the operation
    │   │   ├── AccountRestricted     may withdraw; may not bet or deposit
    │   │   ├── AccountSuspended
    │   │   ├── AccountClosed
    │   │   └── CoolingOff            a timed break the player asked for (incl. 24 h panic button)
    │   ├── SelfExcluded              by the operator's own list, until a date or indefinitely
    │   │   └── RegisterExcluded      by the market's national register (GAMSTOP-style)
    │   ├── ExclusionCheckUnavailable the market fails closed and its register did not answer
    │   ├── KycRequired
    │   └── Underage                  younger than the minimum age (18, or the market's)
    ├── ComplianceRefused
    │   ├── GameNotAllowed            vertical/game not allowed in the player's market, or the
    │   │   │                         game is not certified for it or not made for the device
    │   │   ├── VerticalNotAllowed    the market does not allow the game's vertical
    │   │   ├── GameNotCertified      the game is not certified for the market
    │   │   └── FeatureBanned         the game has a feature the market bans
    │   ├── CurrencyNotAllowed        the market does not allow the wallet's currency
    │   ├── StakeAboveLimit           the cycle's cost exceeds the market's cap
    │   ├── GameCycleTooFast
    │   ├── LimitsNotSet              the market requires limits to be set before play
    │   └── LimitReached              a responsible-gaming limit (loss, wager, session)
    │       ├── DepositLimitReached
    │       ├── LossLimitReached
    │       ├── WagerLimitReached
    │       ├── SessionTimeLimitReached
    │       └── KycDepositCapReached  deposits capped while KYC is pending (the market's cap)
    ├── WalletRefused                 the wallet's own rules
    │   ├── InsufficientFunds
    │   ├── PlayerInDebt              a reversed win left a debt; betting is blocked until repaid
    │   ├── CurrencyMismatch
    │   ├── RoundClosed
    │   ├── ReferenceNotFound         the referenced bet/transaction does not exist
    │   ├── AlreadyRolledBack         the referenced transaction was reversed (or tombstoned)
    │   ├── AlreadySettled            a bet that a credit settled can no longer be rolled back
    │   └── ConflictingReplay         same idempotency key, different payload; nothing applied
    ├── CatalogueRefused              the game catalogue's own rules
    │   ├── GameNotFound              no game with this key in the catalogue
    │   ├── GameUnavailable           disabled, retired, or switched off for the brand
    │   ├── FeedInvalid               a provider game feed that cannot be read; nothing applied
    │   └── RetirementGuarded         a feed would retire too many games; needs confirmation
    └── RetryableError
        ├── StorageUnavailable        the store could not confirm durability; outcome unknown
        └── FeedUnavailable           a provider game feed could not be fetched; nothing applied

Adapters map these to their protocol's codes in one table each (MRO lookup). A refusal
of a money command is stored under its idempotency key, so a retry gets the same answer.
"""

from __future__ import annotations

import enum
from typing import ClassVar, TypeVar

__all__ = [
    "AccountClosed",
    "AccountRestricted",
    "AccountSuspended",
    "AlreadyRolledBack",
    "AlreadySettled",
    "BadSignature",
    "CatalogueRefused",
    "ComplianceRefused",
    "ConflictingReplay",
    "CoolingOff",
    "CurrencyMismatch",
    "CurrencyNotAllowed",
    "DepositLimitReached",
    "ExclusionCheckUnavailable",
    "FeatureBanned",
    "FeedInvalid",
    "FeedUnavailable",
    "GameCycleTooFast",
    "GameNotAllowed",
    "GameNotCertified",
    "GameNotFound",
    "GameUnavailable",
    "GatewayError",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidRequest",
    "KycDepositCapReached",
    "KycRequired",
    "LimitReached",
    "LimitsNotSet",
    "LossLimitReached",
    "PlayerBlocked",
    "PlayerError",
    "PlayerInDebt",
    "PlayerNotFound",
    "Reason",
    "ReferenceNotFound",
    "RegisterExcluded",
    "ReplayedRequest",
    "RequestRejected",
    "RetirementGuarded",
    "RetryableError",
    "RoundClosed",
    "SelfExcluded",
    "SessionError",
    "SessionExpired",
    "SessionInvalid",
    "SessionTimeLimitReached",
    "StakeAboveLimit",
    "StorageUnavailable",
    "Underage",
    "UnknownCurrency",
    "VerticalNotAllowed",
    "WagerLimitReached",
    "WalletRefused",
    "error_for_reason",
    "lookup_by_mro",
]


class Reason(enum.StrEnum):
    """Stable refusal codes: stored with refused transactions and shown to operators."""

    INVALID_REQUEST = "invalid_request"
    INVALID_AMOUNT = "invalid_amount"
    UNKNOWN_CURRENCY = "unknown_currency"
    BAD_SIGNATURE = "bad_signature"
    REPLAYED_REQUEST = "replayed_request"
    SESSION_INVALID = "session_invalid"
    SESSION_EXPIRED = "session_expired"
    PLAYER_NOT_FOUND = "player_not_found"
    PLAYER_BLOCKED = "player_blocked"
    SELF_EXCLUDED = "self_excluded"
    KYC_REQUIRED = "kyc_required"
    ACCOUNT_RESTRICTED = "account_restricted"
    ACCOUNT_SUSPENDED = "account_suspended"
    ACCOUNT_CLOSED = "account_closed"
    COOLING_OFF = "cooling_off"
    REGISTER_EXCLUDED = "register_excluded"
    EXCLUSION_CHECK_UNAVAILABLE = "exclusion_check_unavailable"
    UNDERAGE = "underage"
    GAME_NOT_ALLOWED = "game_not_allowed"
    VERTICAL_NOT_ALLOWED = "vertical_not_allowed"
    GAME_NOT_CERTIFIED = "game_not_certified"
    FEATURE_BANNED = "feature_banned"
    CURRENCY_NOT_ALLOWED = "currency_not_allowed"
    LIMITS_NOT_SET = "limits_not_set"
    DEPOSIT_LIMIT_REACHED = "deposit_limit_reached"
    LOSS_LIMIT_REACHED = "loss_limit_reached"
    WAGER_LIMIT_REACHED = "wager_limit_reached"
    SESSION_TIME_LIMIT_REACHED = "session_time_limit_reached"
    KYC_DEPOSIT_CAP_REACHED = "kyc_deposit_cap_reached"
    STAKE_ABOVE_LIMIT = "stake_above_limit"
    GAME_CYCLE_TOO_FAST = "game_cycle_too_fast"
    LIMIT_REACHED = "limit_reached"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    PLAYER_IN_DEBT = "player_in_debt"
    CURRENCY_MISMATCH = "currency_mismatch"
    ROUND_CLOSED = "round_closed"
    REFERENCE_NOT_FOUND = "reference_not_found"
    ALREADY_ROLLED_BACK = "already_rolled_back"
    ALREADY_SETTLED = "already_settled"
    CONFLICTING_REPLAY = "conflicting_replay"
    GAME_NOT_FOUND = "game_not_found"
    GAME_UNAVAILABLE = "game_unavailable"
    FEED_INVALID = "feed_invalid"
    RETIREMENT_GUARDED = "retirement_guarded"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    FEED_UNAVAILABLE = "feed_unavailable"


class GatewayError(Exception):
    """Base of every expected refusal. Programmer errors are assertions, not these."""

    reason: ClassVar[Reason] = Reason.INVALID_REQUEST
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str = "",
        *,
        balance: object | None = None,
        replay: bool = False,
    ) -> None:
        super().__init__(message or self.reason.value)
        self.message = message or self.reason.value
        self.balance = balance
        """The player's balance at refusal time, when known (many protocols echo it)."""
        self.replay = replay
        """True when this refusal is the stored answer to an earlier identical request."""


class RequestRejected(GatewayError):
    """The request cannot be processed as sent; nothing was looked up or changed."""


class InvalidRequest(RequestRejected):
    """Malformed body, missing or mistyped field."""

    reason = Reason.INVALID_REQUEST


class InvalidAmount(InvalidRequest):
    """An amount that is not exact in its currency, negative where not allowed, or too big."""

    reason = Reason.INVALID_AMOUNT


class UnknownCurrency(InvalidRequest):
    """A currency code that the currency table does not know."""

    reason = Reason.UNKNOWN_CURRENCY


class BadSignature(RequestRejected):
    """Missing or wrong signature, hash or shared token."""

    reason = Reason.BAD_SIGNATURE


class ReplayedRequest(RequestRejected):
    """A signed request seen before (nonce) or outside the allowed clock skew."""

    reason = Reason.REPLAYED_REQUEST


class SessionError(GatewayError):
    """The game session named by the request cannot be used."""


class SessionInvalid(SessionError):
    """Unknown token, or one that belongs to another player or provider."""

    reason = Reason.SESSION_INVALID


class SessionExpired(SessionError):
    """A known token past its expiry. Refuses debits; credits and rollbacks still pass."""

    reason = Reason.SESSION_EXPIRED


class PlayerError(GatewayError):
    """The player account refuses the operation."""


class PlayerNotFound(PlayerError):
    reason = Reason.PLAYER_NOT_FOUND


class PlayerBlocked(PlayerError):
    reason = Reason.PLAYER_BLOCKED


class AccountRestricted(PlayerBlocked):
    """Restricted: the player may withdraw, and may neither bet nor deposit."""

    reason = Reason.ACCOUNT_RESTRICTED


class AccountSuspended(PlayerBlocked):
    reason = Reason.ACCOUNT_SUSPENDED


class AccountClosed(PlayerBlocked):
    reason = Reason.ACCOUNT_CLOSED


class CoolingOff(PlayerBlocked):
    """A timed break the player asked for (a 24-hour panic button is one); withdrawals
    still pass."""

    reason = Reason.COOLING_OFF


class SelfExcluded(PlayerError):
    reason = Reason.SELF_EXCLUDED


class RegisterExcluded(SelfExcluded):
    """The market's national self-exclusion register lists the player."""

    reason = Reason.REGISTER_EXCLUDED


class ExclusionCheckUnavailable(PlayerError):
    """The market's self-exclusion register did not answer and the market fails closed:
    unknown is not allowed. A later attempt may pass."""

    reason = Reason.EXCLUSION_CHECK_UNAVAILABLE


class KycRequired(PlayerError):
    reason = Reason.KYC_REQUIRED


class Underage(PlayerError):
    """Younger than the minimum age, computed from the date of birth at the check's time."""

    reason = Reason.UNDERAGE


class ComplianceRefused(GatewayError):
    """A jurisdiction rule or responsible-gaming limit refuses a debit."""


class GameNotAllowed(ComplianceRefused):
    reason = Reason.GAME_NOT_ALLOWED


class VerticalNotAllowed(GameNotAllowed):
    reason = Reason.VERTICAL_NOT_ALLOWED


class GameNotCertified(GameNotAllowed):
    reason = Reason.GAME_NOT_CERTIFIED


class FeatureBanned(GameNotAllowed):
    reason = Reason.FEATURE_BANNED


class CurrencyNotAllowed(ComplianceRefused):
    reason = Reason.CURRENCY_NOT_ALLOWED


class StakeAboveLimit(ComplianceRefused):
    reason = Reason.STAKE_ABOVE_LIMIT


class GameCycleTooFast(ComplianceRefused):
    reason = Reason.GAME_CYCLE_TOO_FAST


class LimitsNotSet(ComplianceRefused):
    """The market requires the player to set limits (deposit, play time) before play."""

    reason = Reason.LIMITS_NOT_SET


class LimitReached(ComplianceRefused):
    reason = Reason.LIMIT_REACHED


class DepositLimitReached(LimitReached):
    reason = Reason.DEPOSIT_LIMIT_REACHED


class LossLimitReached(LimitReached):
    reason = Reason.LOSS_LIMIT_REACHED


class WagerLimitReached(LimitReached):
    reason = Reason.WAGER_LIMIT_REACHED


class SessionTimeLimitReached(LimitReached):
    reason = Reason.SESSION_TIME_LIMIT_REACHED


class KycDepositCapReached(LimitReached):
    """Deposits while KYC is pending are capped by the market (ES: EUR 150)."""

    reason = Reason.KYC_DEPOSIT_CAP_REACHED


class WalletRefused(GatewayError):
    """The wallet's own rules refuse the operation; nothing was applied."""


class InsufficientFunds(WalletRefused):
    reason = Reason.INSUFFICIENT_FUNDS


class PlayerInDebt(WalletRefused):
    """A reversed win left a negative balance; bets wait until it is repaid."""

    reason = Reason.PLAYER_IN_DEBT


class CurrencyMismatch(WalletRefused):
    reason = Reason.CURRENCY_MISMATCH


class RoundClosed(WalletRefused):
    reason = Reason.ROUND_CLOSED


class ReferenceNotFound(WalletRefused):
    reason = Reason.REFERENCE_NOT_FOUND


class AlreadyRolledBack(WalletRefused):
    reason = Reason.ALREADY_ROLLED_BACK


class AlreadySettled(WalletRefused):
    reason = Reason.ALREADY_SETTLED


class ConflictingReplay(WalletRefused):
    """The idempotency key is taken by a different payload. Nothing is applied or stored."""

    reason = Reason.CONFLICTING_REPLAY


class CatalogueRefused(GatewayError):
    """The catalogue's own rules: which games exist, may be launched, or may be synced."""


class GameNotFound(CatalogueRefused):
    reason = Reason.GAME_NOT_FOUND


class GameUnavailable(CatalogueRefused):
    """The game exists but is disabled, retired, or switched off for the player's brand."""

    reason = Reason.GAME_UNAVAILABLE


class FeedInvalid(CatalogueRefused):
    """A provider game feed that cannot be read as a whole; the message names the record
    and field. Nothing of the feed is applied."""

    reason = Reason.FEED_INVALID


class RetirementGuarded(CatalogueRefused):
    """A full feed would retire more than the allowed share of an instance's games: often
    a partial feed from a failing provider. Applied only when confirmed."""

    reason = Reason.RETIREMENT_GUARDED


class RetryableError(GatewayError):
    """The outcome is unknown or the service is degraded: the caller should retry as is."""

    retryable = True


class StorageUnavailable(RetryableError):
    """The store failed or timed out; the caller must retry with the same id."""

    reason = Reason.STORAGE_UNAVAILABLE


class FeedUnavailable(RetryableError):
    """A provider game feed could not be fetched (connection, timeout, HTTP status, size);
    the catalogue is unchanged and a later sync may succeed."""

    reason = Reason.FEED_UNAVAILABLE


def _all_subclasses(cls: type[GatewayError]) -> list[type[GatewayError]]:
    found: list[type[GatewayError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


_BY_REASON: dict[Reason, type[GatewayError]] = {}


def error_for_reason(reason: Reason) -> type[GatewayError]:
    """The most specific error class for a stored refusal code."""
    if not _BY_REASON:
        for cls in _all_subclasses(GatewayError):
            if "reason" in cls.__dict__:
                _BY_REASON.setdefault(cls.reason, cls)
    return _BY_REASON[reason]


_T = TypeVar("_T")


def lookup_by_mro(error: GatewayError, table: dict[type[GatewayError], _T]) -> _T:
    """Find `error`'s entry in a protocol's mapping table, most specific class first."""
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    raise KeyError(f"no mapping for {type(error).__name__}")
