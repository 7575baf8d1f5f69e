"""One jurisdiction rule: what it restricts, where, when, and on whose word.

A rule is in force from the start of its `effective_from` UTC day until the start of
its `effective_until` day (exclusive; None: open-ended). A bet is judged by the rules in
force at its time, so rules that change on known dates are data, not code changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from core.catalogue.game import Vertical
from core.errors import Reason
from core.jurisdiction.kinds import KIND_SPECS, Params, RuleKind

__all__ = ["Rule", "RulesInvalid", "Scope", "day_start_us"]

_EPOCH = date(1970, 1, 1)
_DAY_US = 86_400_000_000


class RulesInvalid(Exception):
    """A rule file that cannot be used; the message names the file, the rule and the field.
    Nothing of it is applied."""


def day_start_us(day: date) -> int:
    """Microseconds since the epoch at the start of `day`, UTC."""
    return (day - _EPOCH).days * _DAY_US


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a rule applies: some verticals (None: all), some ages in whole years,
    both bounds inclusive (None: unbounded)."""

    verticals: frozenset[Vertical] | None = None
    age_min_years: int | None = None
    age_max_years: int | None = None

    def covers_age(self, age_years: int) -> bool:
        return (self.age_min_years is None or age_years >= self.age_min_years) and (
            self.age_max_years is None or age_years <= self.age_max_years
        )

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        if self.verticals is not None:
            shown["verticals"] = sorted(self.verticals)
        if self.age_min_years is not None:
            shown["age_min_years"] = self.age_min_years
        if self.age_max_years is not None:
            shown["age_max_years"] = self.age_max_years
        return shown


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    id: str
    kind: RuleKind
    params: Params
    effective_from: date
    effective_until: date | None = None
    scope: Scope = Scope()
    source: str
    """The reference's source key(s), e.g. `UK1`, or where the fact comes from."""
    uncertain: bool = False
    """The reference tags the fact [U]: shown to operators, who may disable it."""
    note: str = ""
    brand: str | None = None
    """The brand overlay that added or replaced this rule; None: the market's own."""

    @property
    def reason(self) -> Reason | None:
        """The stable refusal code; None for a rule that refuses nothing by itself."""
        return KIND_SPECS[self.kind].reason

    @property
    def from_us(self) -> int:
        return day_start_us(self.effective_from)

    @property
    def until_us(self) -> int | None:
        return None if self.effective_until is None else day_start_us(self.effective_until)

    def in_force(self, at_us: int) -> bool:
        until_us = self.until_us
        return self.from_us <= at_us and (until_us is None or at_us < until_us)

    def as_json(self) -> dict[str, Any]:
        until = self.effective_until
        return {
            "id": self.id,
            "kind": self.kind.value,
            "reason": None if self.reason is None else self.reason.value,
            "uncertain": self.uncertain,
            "source": self.source,
            "effective_from": self.effective_from.isoformat(),
            "effective_until": None if until is None else until.isoformat(),
            "scope": self.scope.as_json(),
            "params": self.params.as_json(),
            "note": self.note,
            "brand": self.brand,
        }
