"""Rule kinds: each kind's parameters, how they are read, and which way is tighter.

A rule's parameters are one small immutable class per kind. Each knows how to read
itself from a plain table (`read`), how to show itself (`as_json`), and whether a brand
overlay's version of it would be looser than the market's (`loosening`): most
restrictive wins, and an overlay may only tighten.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from core.catalogue.game import Feature, Vertical
from core.errors import InvalidAmount, Reason, UnknownCurrency
from core.jurisdiction.fields import FieldError, FieldReader
from core.limits import LimitKind
from core.money import Currency, CurrencyTable, format_minor, minor_from_decimal

__all__ = [
    "KIND_SPECS",
    "AllowedCurrencies",
    "AllowedVerticals",
    "Amount",
    "BannedFeatures",
    "CertificationRequired",
    "Checkpoint",
    "KindSpec",
    "KycBefore",
    "KycPendingDepositCap",
    "LimitIncreaseDelay",
    "MaxStake",
    "MinAge",
    "MinCycleTime",
    "Params",
    "RegisterFailure",
    "RequiredLimits",
    "RuleKind",
]

AGE_YEARS_MAX = 99
CYCLE_MS_MAX = 600_000
"""Ten minutes between game cycles: far above any market's rule, low enough to catch a
value written in microseconds."""
INCREASE_DELAY_S_MAX = 366 * 86_400


class RuleKind(enum.StrEnum):
    MIN_AGE = "min_age"
    KYC_BEFORE = "kyc_before"
    ALLOWED_VERTICALS = "allowed_verticals"
    CERTIFICATION_REQUIRED = "certification_required"
    BANNED_FEATURES = "banned_features"
    MAX_STAKE = "max_stake"
    MIN_CYCLE_TIME = "min_cycle_time"
    ALLOWED_CURRENCIES = "allowed_currencies"
    REQUIRED_LIMITS = "required_limits"
    KYC_PENDING_DEPOSIT_CAP = "kyc_pending_deposit_cap"
    REGISTER_FAILURE = "register_failure"
    LIMIT_INCREASE_DELAY = "limit_increase_delay"


class Checkpoint(enum.StrEnum):
    """Where a player's KYC state is checked: a market says before which ones it must be
    verified (GB: before deposit and any play, fun mode included)."""

    REGISTRATION = "registration"
    DEPOSIT = "deposit"
    BET = "bet"
    LAUNCH = "launch"
    DEMO_LAUNCH = "demo_launch"


@dataclass(frozen=True, slots=True)
class Amount:
    """An exact amount in one currency's minor units, as a rule states it."""

    minor: int
    currency: Currency

    def __str__(self) -> str:
        return f"{format_minor(self.minor, self.currency)} {self.currency.code}"

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> Amount:
        code = fields.text("currency")
        try:
            currency = currencies.get(code)
        except UnknownCurrency:
            raise FieldError(fields.name("currency"), f"unknown currency {code!r}") from None
        value = fields.raw("amount")
        if not isinstance(value, str):
            raise FieldError(fields.name("amount"), 'must be decimal text, e.g. "5.00"')
        try:
            minor = minor_from_decimal(value, currency)
        except InvalidAmount as exc:
            raise FieldError(fields.name("amount"), exc.message) from None
        return cls(minor, currency)

    def looser_than(self, base: Amount, fields: str) -> str | None:
        if self.currency != base.currency:
            return (
                f"{fields}.currency: {self.currency.code} is not the market's {base.currency.code}"
            )
        if self.minor > base.minor:
            return f"{fields}.amount: {self} is above the market's {base}"
        return None


class Params:
    """A rule's parameters. Subclasses are frozen dataclasses, one per kind."""

    __slots__ = ()

    def as_json(self) -> dict[str, object]:
        raise NotImplementedError

    def loosening(self, base: Params) -> str | None:
        """What makes these parameters looser than `base` (same kind): `field: why`."""
        raise NotImplementedError

    @property
    def permits(self) -> bool:
        """True when the rule grants more than having no rule at all would (a register
        that may fail open): such a rule must not be added or stretched by an overlay."""
        return False


def _fewer(name: str, mine: frozenset[str], base: frozenset[str]) -> str | None:
    extra = sorted(mine - base)
    return f"params.{name}: {', '.join(extra)} not allowed by the market's rule" if extra else None


def _more(name: str, mine: frozenset[str], base: frozenset[str]) -> str | None:
    dropped = sorted(base - mine)
    return (
        f"params.{name}: {', '.join(dropped)} dropped from the market's rule" if dropped else None
    )


def _at_least(name: str, mine: int, base: int) -> str | None:
    return f"params.{name}: {mine} is below the market's {base}" if mine < base else None


@dataclass(frozen=True, slots=True)
class MinAge(Params):
    years: int

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> MinAge:
        years = fields.whole("years", low=0, high=AGE_YEARS_MAX)
        assert years is not None
        return cls(years)

    def as_json(self) -> dict[str, object]:
        return {"years": self.years}

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, MinAge)
        return _at_least("years", self.years, base.years)


@dataclass(frozen=True, slots=True)
class KycBefore(Params):
    checkpoints: frozenset[Checkpoint]

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> KycBefore:
        checkpoints = fields.names("checkpoints", Checkpoint)
        assert checkpoints is not None
        return cls(checkpoints)

    def as_json(self) -> dict[str, object]:
        return {"checkpoints": sorted(self.checkpoints)}

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, KycBefore)
        return _more("checkpoints", frozenset(self.checkpoints), frozenset(base.checkpoints))


@dataclass(frozen=True, slots=True)
class AllowedVerticals(Params):
    verticals: frozenset[Vertical]

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> AllowedVerticals:
        verticals = fields.names("verticals", Vertical)
        assert verticals is not None
        return cls(verticals)

    def as_json(self) -> dict[str, object]:
        return {"verticals": sorted(self.verticals)}

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, AllowedVerticals)
        return _fewer("verticals", frozenset(self.verticals), frozenset(base.verticals))


@dataclass(frozen=True, slots=True)
class CertificationRequired(Params):
    """The game's certified markets must contain the rule's market."""

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> CertificationRequired:
        return cls()

    def as_json(self) -> dict[str, object]:
        return {}

    def loosening(self, base: Params) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class BannedFeatures(Params):
    features: frozenset[Feature]

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> BannedFeatures:
        features = fields.names("features", Feature)
        assert features is not None
        return cls(features)

    def as_json(self) -> dict[str, object]:
        return {"features": sorted(self.features)}

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, BannedFeatures)
        return _more("features", frozenset(self.features), frozenset(base.features))


@dataclass(frozen=True, slots=True)
class MaxStake(Params):
    """The full cost of one game cycle: base stake, ante and side bets, a bought feature."""

    amount: Amount

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> MaxStake:
        return cls(Amount.read(fields, currencies))

    def as_json(self) -> dict[str, object]:
        return _amount_json(self.amount)

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, MaxStake)
        return self.amount.looser_than(base.amount, "params")


@dataclass(frozen=True, slots=True)
class MinCycleTime(Params):
    """Milliseconds from the start of one game cycle to the start of the next."""

    ms: int

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> MinCycleTime:
        ms = fields.whole("ms", low=1, high=CYCLE_MS_MAX)
        assert ms is not None
        return cls(ms)

    def as_json(self) -> dict[str, object]:
        return {"ms": self.ms}

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, MinCycleTime)
        return _at_least("ms", self.ms, base.ms)


@dataclass(frozen=True, slots=True)
class AllowedCurrencies(Params):
    currencies: frozenset[str]

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> AllowedCurrencies:
        codes = fields.texts("currencies")
        for code in codes:
            if code not in currencies:
                raise FieldError(fields.name("currencies"), f"unknown currency {code!r}")
        if len(set(codes)) != len(codes):
            raise FieldError(fields.name("currencies"), "a currency is listed twice")
        return cls(frozenset(codes))

    def as_json(self) -> dict[str, object]:
        return {"currencies": sorted(self.currencies)}

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, AllowedCurrencies)
        return _fewer("currencies", self.currencies, base.currencies)


@dataclass(frozen=True, slots=True)
class RequiredLimits(Params):
    """Kinds of responsible-gambling limit the player must have set before playing."""

    kinds: frozenset[LimitKind]

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> RequiredLimits:
        kinds = fields.names("kinds", LimitKind)
        assert kinds is not None
        return cls(kinds)

    def as_json(self) -> dict[str, object]:
        return {"kinds": sorted(self.kinds)}

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, RequiredLimits)
        return _more("kinds", frozenset(self.kinds), frozenset(base.kinds))


@dataclass(frozen=True, slots=True)
class KycPendingDepositCap(Params):
    """Deposits in all while the player's KYC is not verified (ES: EUR 150)."""

    amount: Amount

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> KycPendingDepositCap:
        return cls(Amount.read(fields, currencies))

    def as_json(self) -> dict[str, object]:
        return _amount_json(self.amount)

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, KycPendingDepositCap)
        return self.amount.looser_than(base.amount, "params")


class RegisterFailureMode(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class RegisterFailure(Params):
    """What to do when the market's self-exclusion register does not answer. Without
    such a rule a market fails closed: unknown is not allowed."""

    fail_closed: bool
    register: str

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> RegisterFailure:
        mode = fields.text("fail")
        if mode not in set(RegisterFailureMode):
            raise FieldError(fields.name("fail"), f'{mode!r} is not "closed" or "open"')
        return cls(mode == RegisterFailureMode.CLOSED, fields.text("register"))

    def as_json(self) -> dict[str, object]:
        return {"fail": "closed" if self.fail_closed else "open", "register": self.register}

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, RegisterFailure)
        if base.fail_closed and not self.fail_closed:
            return 'params.fail: "open" where the market fails closed'
        return None

    @property
    def permits(self) -> bool:
        return not self.fail_closed


@dataclass(frozen=True, slots=True)
class LimitIncreaseDelay(Params):
    """Seconds before a raised limit counts. The longest in force wins, and never less
    than the default (`core.limits.INCREASE_DELAY_S_DEFAULT`, 24 h)."""

    seconds: int

    @classmethod
    def read(cls, fields: FieldReader, currencies: CurrencyTable) -> LimitIncreaseDelay:
        seconds = fields.whole("seconds", low=0, high=INCREASE_DELAY_S_MAX)
        assert seconds is not None
        return cls(seconds)

    def as_json(self) -> dict[str, object]:
        return {"seconds": self.seconds}

    def loosening(self, base: Params) -> str | None:
        assert isinstance(base, LimitIncreaseDelay)
        return _at_least("seconds", self.seconds, base.seconds)


def _amount_json(amount: Amount) -> dict[str, object]:
    return {
        "amount": format_minor(amount.minor, amount.currency),
        "currency": amount.currency.code,
        "amount_minor": amount.minor,
    }


class KindSpec(NamedTuple):
    """What a kind reads, the refusal it raises, and which scope fields it honours."""

    read: Callable[[FieldReader, CurrencyTable], Params]
    reason: Reason | None
    """None: the rule refuses nothing by itself (it sets how something behaves)."""
    by_vertical: bool
    by_age: bool


KIND_SPECS: Mapping[RuleKind, KindSpec] = MappingProxyType(
    {
        RuleKind.MIN_AGE: KindSpec(MinAge.read, Reason.UNDERAGE, False, False),
        RuleKind.KYC_BEFORE: KindSpec(KycBefore.read, Reason.KYC_REQUIRED, False, False),
        RuleKind.ALLOWED_VERTICALS: KindSpec(
            AllowedVerticals.read, Reason.VERTICAL_NOT_ALLOWED, False, False
        ),
        RuleKind.CERTIFICATION_REQUIRED: KindSpec(
            CertificationRequired.read, Reason.GAME_NOT_CERTIFIED, False, False
        ),
        RuleKind.BANNED_FEATURES: KindSpec(BannedFeatures.read, Reason.FEATURE_BANNED, True, False),
        RuleKind.MAX_STAKE: KindSpec(MaxStake.read, Reason.STAKE_ABOVE_LIMIT, True, True),
        RuleKind.MIN_CYCLE_TIME: KindSpec(
            MinCycleTime.read, Reason.GAME_CYCLE_TOO_FAST, True, False
        ),
        RuleKind.ALLOWED_CURRENCIES: KindSpec(
            AllowedCurrencies.read, Reason.CURRENCY_NOT_ALLOWED, False, False
        ),
        RuleKind.REQUIRED_LIMITS: KindSpec(
            RequiredLimits.read, Reason.LIMITS_NOT_SET, False, False
        ),
        RuleKind.KYC_PENDING_DEPOSIT_CAP: KindSpec(
            KycPendingDepositCap.read, Reason.KYC_DEPOSIT_CAP_REACHED, False, False
        ),
        RuleKind.REGISTER_FAILURE: KindSpec(
            RegisterFailure.read, Reason.EXCLUSION_CHECK_UNAVAILABLE, False, False
        ),
        RuleKind.LIMIT_INCREASE_DELAY: KindSpec(LimitIncreaseDelay.read, None, False, False),
    }
)
