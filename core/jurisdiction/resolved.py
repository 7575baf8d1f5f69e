"""The rules of one market (and brand) in force at one instant, ready for the bet path.

Resolving merges every rule in force, most restrictive first: the highest minimum age,
the fewest verticals and currencies, the most banned features, the lowest stake cap for
the player's vertical, age and currency, the longest cycle time. The result is a set of
dicts built once, so a check on the bet path is a lookup or two. It stays right until
`valid_until_us`, the next instant at which a rule starts or ends; callers cache it
until then (`RuleBook` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from core.catalogue.game import Feature, Vertical
from core.catalogue.query import MarketFilter
from core.jurisdiction.kinds import (
    AllowedCurrencies,
    AllowedVerticals,
    BannedFeatures,
    CertificationRequired,
    Checkpoint,
    KycBefore,
    KycPendingDepositCap,
    LimitIncreaseDelay,
    MaxStake,
    MinAge,
    MinCycleTime,
    RegisterFailure,
    RequiredLimits,
)
from core.jurisdiction.rule import Rule
from core.limits import INCREASE_DELAY_S_DEFAULT, LimitKind

__all__ = ["MarketRules"]

_ALL_VERTICALS = frozenset(Vertical)
_NO_FEATURES: frozenset[Feature] = frozenset()
_AGE_LOW, _AGE_HIGH = -1, 1_000


class _Cap(NamedTuple):
    """A cap of one currency for one age band: `max_stake` or `kyc_pending_deposit_cap`."""

    rule: Rule
    currency: str
    amount_minor: int
    age_min_years: int
    age_max_years: int


class MarketRules:
    """Rules of `market` (with `brand`'s overlay) in force at `at_us`. Immutable."""

    __slots__ = (
        "_banned",
        "_certification",
        "_currencies",
        "_currency_rules",
        "_cycles",
        "_deposit_caps",
        "_filter",
        "_kyc",
        "_limit_rules",
        "_register",
        "_stake_caps",
        "_vertical_refusals",
        "at_us",
        "brand",
        "configured",
        "limit_increase_delay_s",
        "market",
        "min_age_rule",
        "regulator",
        "rules",
        "valid_from_us",
        "valid_until_us",
    )

    def __init__(
        self,
        market: str,
        rules: Iterable[Rule],
        at_us: int,
        *,
        brand: str | None = None,
        configured: bool = True,
        regulator: str = "",
    ) -> None:
        every = tuple(rules)
        self.market = market
        self.brand = brand
        self.at_us = at_us
        self.configured = configured
        """False: the market has no rule file; only what callers enforce themselves."""
        self.regulator = regulator
        self.rules = tuple(sorted((r for r in every if r.in_force(at_us)), key=_order))
        """The rules in force, by kind then id."""
        self.valid_from_us, self.valid_until_us = _validity(every, at_us)
        self.min_age_rule: Rule | None = None
        self.limit_increase_delay_s = INCREASE_DELAY_S_DEFAULT
        self._kyc: dict[Checkpoint, Rule] = {}
        self._vertical_refusals: dict[Vertical, Rule] = {}
        self._certification: Rule | None = None
        self._banned: dict[Vertical, dict[Feature, Rule]] = {}
        self._stake_caps: dict[Vertical, list[_Cap]] = {}
        self._cycles: dict[Vertical, tuple[Rule, int]] = {}
        self._currencies: frozenset[str] | None = None
        self._currency_rules: list[Rule] = []
        self._limit_rules: dict[LimitKind, Rule] = {}
        self._deposit_caps: list[_Cap] = []
        self._register: Rule | None = None
        self._filter: MarketFilter | None = None
        for rule in self.rules:
            self._take(rule)
        for caps in self._stake_caps.values():
            caps.sort(key=lambda cap: cap.amount_minor)
        self._deposit_caps.sort(key=lambda cap: cap.amount_minor)

    def _take(self, rule: Rule) -> None:  # noqa: C901 -- one branch per kind, nothing more
        params = rule.params
        verticals = rule.scope.verticals or _ALL_VERTICALS
        if isinstance(params, MinAge):
            current = self.min_age_rule
            if current is None or params.years > _years(current):
                self.min_age_rule = rule
        elif isinstance(params, KycBefore):
            for checkpoint in params.checkpoints:
                self._kyc.setdefault(checkpoint, rule)
        elif isinstance(params, AllowedVerticals):
            for vertical in _ALL_VERTICALS - params.verticals:
                self._vertical_refusals.setdefault(vertical, rule)
        elif isinstance(params, CertificationRequired):
            self._certification = self._certification or rule
        elif isinstance(params, BannedFeatures):
            for vertical in verticals:
                for feature in params.features:
                    self._banned.setdefault(vertical, {}).setdefault(feature, rule)
        elif isinstance(params, MaxStake):
            cap = _cap(rule, params.amount.currency.code, params.amount.minor)
            for vertical in verticals:
                self._stake_caps.setdefault(vertical, []).append(cap)
        elif isinstance(params, MinCycleTime):
            for vertical in verticals:
                known = self._cycles.get(vertical)
                if known is None or params.ms > known[1]:
                    self._cycles[vertical] = (rule, params.ms)
        elif isinstance(params, AllowedCurrencies):
            known_codes = self._currencies
            self._currencies = (
                params.currencies if known_codes is None else known_codes & params.currencies
            )
            self._currency_rules.append(rule)
        elif isinstance(params, RequiredLimits):
            for kind in params.kinds:
                self._limit_rules.setdefault(kind, rule)
        elif isinstance(params, KycPendingDepositCap):
            self._deposit_caps.append(_cap(rule, params.amount.currency.code, params.amount.minor))
        elif isinstance(params, RegisterFailure):
            if self._register is None or (params.fail_closed and not _fails_closed(self._register)):
                self._register = rule
        elif isinstance(params, LimitIncreaseDelay):
            self.limit_increase_delay_s = max(self.limit_increase_delay_s, params.seconds)

    # -- accessors for the checks (each a lookup or two) ------------------------------

    @property
    def min_age_years(self) -> int | None:
        rule = self.min_age_rule
        return None if rule is None else _years(rule)

    def kyc_required_at(self, checkpoint: Checkpoint) -> Rule | None:
        """The rule that wants KYC verified before `checkpoint`, if any."""
        return self._kyc.get(checkpoint)

    @property
    def allowed_verticals(self) -> frozenset[Vertical] | None:
        """None: no rule restricts verticals."""
        if not self._vertical_refusals and not any(
            isinstance(rule.params, AllowedVerticals) for rule in self.rules
        ):
            return None
        return _ALL_VERTICALS - self._vertical_refusals.keys()

    def vertical_refusal(self, vertical: Vertical) -> Rule | None:
        """The rule that does not allow `vertical`, if any."""
        return self._vertical_refusals.get(vertical)

    @property
    def certification_rule(self) -> Rule | None:
        """The rule that wants games certified for this market, if any."""
        return self._certification

    def banned_features_for(self, vertical: Vertical) -> frozenset[Feature]:
        banned = self._banned.get(vertical)
        return _NO_FEATURES if banned is None else frozenset(banned)

    def feature_ban(self, vertical: Vertical, feature: Feature) -> Rule | None:
        banned = self._banned.get(vertical)
        return None if banned is None else banned.get(feature)

    def stake_cap_minor(
        self, vertical: Vertical, age_years: int, currency: str
    ) -> tuple[Rule, int] | None:
        """The lowest cap on one game cycle's cost for this vertical, age and currency.

        A cap stated in another currency allows nothing above zero: no conversion rule
        is known (GB states its caps in pounds only), so unknown is not allowed."""
        caps = self._stake_caps.get(vertical)
        return None if caps is None else _lowest(caps, age_years, currency)

    def min_cycle(self, vertical: Vertical) -> tuple[Rule, int] | None:
        """The rule and milliseconds between the starts of consecutive game cycles."""
        return self._cycles.get(vertical)

    def min_cycle_ms(self, vertical: Vertical) -> int:
        cycle = self._cycles.get(vertical)
        return 0 if cycle is None else cycle[1]

    @property
    def currencies(self) -> frozenset[str] | None:
        """Currencies a player may play in; None: no rule restricts them."""
        return self._currencies

    def currency_refusal(self, currency: str) -> Rule | None:
        """The rule that does not allow `currency`, if any."""
        allowed = self._currencies
        if allowed is None or currency in allowed:
            return None
        for rule in self._currency_rules:
            assert isinstance(rule.params, AllowedCurrencies)
            if currency not in rule.params.currencies:
                return rule
        raise AssertionError("the currencies are the rules' intersection")

    @property
    def required_limits(self) -> frozenset[LimitKind]:
        return frozenset(self._limit_rules)

    def required_limit_rule(self, kind: LimitKind) -> Rule | None:
        return self._limit_rules.get(kind)

    def kyc_pending_deposit_cap(self, currency: str) -> tuple[Rule, int] | None:
        """The most a player may deposit in all while KYC is not verified (a cap in
        another currency allows nothing, as for stakes)."""
        return _lowest(self._deposit_caps, 0, currency) if self._deposit_caps else None

    @property
    def register_fail_closed(self) -> bool:
        """Refuse when the self-exclusion register does not answer. True where no rule
        says otherwise: unknown is not allowed."""
        return self._register is None or _fails_closed(self._register)

    @property
    def register_rule(self) -> Rule | None:
        return self._register

    def lobby_filter(self) -> MarketFilter:
        """What these rules keep out of the market's lobby (verticals, banned features),
        the same facts `game_refusal` judges a launch by."""
        if self._filter is None:
            banned = {vertical: frozenset(found) for vertical, found in self._banned.items()}
            self._filter = MarketFilter(self.allowed_verticals, banned)
        return self._filter

    # -- for people -------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """JSON-able: each rule in force with its id, kind, reason, confidence, source,
        dates and parameters, and the values that have defaults."""
        register = self._register
        return {
            "market": self.market,
            "brand": self.brand,
            "configured": self.configured,
            "regulator": self.regulator,
            "at_us": self.at_us,
            "valid_until_us": self.valid_until_us,
            "register_fail_closed": self.register_fail_closed,
            "register": None if register is None else register.params.as_json()["register"],
            "limit_increase_delay_s": self.limit_increase_delay_s,
            "uncertain_rules": [rule.id for rule in self.rules if rule.uncertain],
            "rules": [rule.as_json() for rule in self.rules],
        }


def _order(rule: Rule) -> tuple[str, str]:
    return (rule.kind.value, rule.id)


def _years(rule: Rule) -> int:
    assert isinstance(rule.params, MinAge)
    return rule.params.years


def _fails_closed(rule: Rule) -> bool:
    assert isinstance(rule.params, RegisterFailure)
    return rule.params.fail_closed


def _cap(rule: Rule, currency: str, amount_minor: int) -> _Cap:
    scope = rule.scope
    low = _AGE_LOW if scope.age_min_years is None else scope.age_min_years
    high = _AGE_HIGH if scope.age_max_years is None else scope.age_max_years
    return _Cap(rule, currency, amount_minor, low, high)


def _lowest(caps: list[_Cap], age_years: int, currency: str) -> tuple[Rule, int] | None:
    """Caps are sorted by amount; one in another currency counts as zero."""
    found: tuple[Rule, int] | None = None
    for cap in caps:
        if cap.age_min_years <= age_years <= cap.age_max_years:
            if cap.currency != currency:
                return (cap.rule, 0)
            if found is None:
                found = (cap.rule, cap.amount_minor)
    return found


def _validity(rules: tuple[Rule, ...], at_us: int) -> tuple[int | None, int | None]:
    """The last rule boundary at or before `at_us` and the first after it (None: none)."""
    before: int | None = None
    after: int | None = None
    for rule in rules:
        for edge in (rule.from_us, rule.until_us):
            if edge is None:
                continue
            if edge <= at_us:
                before = edge if before is None else max(before, edge)
            else:
                after = edge if after is None else min(after, edge)
    return before, after
