"""Rule files as plain data, validated: a market's rules and a brand's overlays.

The adapter parses the files (TOML) into dicts; this module checks them and refuses a
whole file for one bad value, naming the file, the rule and the field. An overlay may
only tighten its market: a rule it adds restricts more (most restrictive wins), a rule
it replaces must be at least as strict in every field, and the one loosening it may
make is to disable a market rule the reference marks uncertain.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from core.catalogue.game import MARKET_PATTERN, Vertical
from core.jurisdiction.fields import FieldError, FieldReader
from core.jurisdiction.kinds import AGE_YEARS_MAX, KIND_SPECS, KindSpec, RuleKind
from core.jurisdiction.rule import Rule, RulesInvalid, Scope
from core.money import CurrencyTable

__all__ = [
    "BRAND_PATTERN",
    "RULE_ID_PATTERN",
    "Document",
    "MarketRuleSet",
    "RuleOverlay",
    "read_market",
    "read_overlay",
]

RULE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
BRAND_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
RULES_PER_FILE_MAX = 1_000
_NESTED = ("params", "scope")


class Document(NamedTuple):
    """One parsed file: where it came from (for errors), whose it is (a market code or
    a brand), and its contents."""

    source: str
    name: str
    data: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class MarketRuleSet:
    """A market's own rules, from its file."""

    market: str
    source: str
    rules: tuple[Rule, ...]
    regulator: str = ""
    raw_by_id: Mapping[str, Mapping[str, object]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Each rule as written, so an overlay may restate only the fields it tightens."""


@dataclass(frozen=True, slots=True)
class RuleOverlay:
    """What one brand changes in one market."""

    brand: str
    market: str
    source: str
    rules: tuple[Rule, ...]
    """Rules the brand adds, or that replace the market's rule with the same id."""
    disabled: frozenset[str] = frozenset()
    """Uncertain market rules the brand switches off."""

    def apply(self, base: tuple[Rule, ...]) -> tuple[Rule, ...]:
        gone = self.disabled | {rule.id for rule in self.rules}
        return tuple(rule for rule in base if rule.id not in gone) + self.rules


def read_market(document: Document, currencies: CurrencyTable) -> MarketRuleSet:
    """A market file: `market` (its code, as the file is named), an optional
    `regulator` and `note`, and its `rules`."""
    source, market = document.source, document.name
    if not MARKET_PATTERN.match(market):
        raise RulesInvalid(f"{source}: {market!r} is not a market code (GB, CA-ON)")
    with _problems_in(source):
        fields = FieldReader(document.data)
        stated = fields.text("market")
        if stated != market:
            raise FieldError("market", f"{stated!r} is not the file's market {market!r}")
        regulator = fields.text("regulator", required=False)
        fields.text("note", required=False)
        entries = _entries(fields.raw("rules"), "rules")
        fields.done()
    rules: list[Rule] = []
    raw_by_id: dict[str, Mapping[str, object]] = {}
    for index, entry in enumerate(entries):
        rule_id = _rule_id(source, entry, f"rules[{index}]")
        if rule_id in raw_by_id:
            raise RulesInvalid(f"{source}: rule {rule_id}: id: used twice")
        with _problems_in(source, rule_id):
            rules.append(_read_rule(entry, currencies))
        raw_by_id[rule_id] = entry
    return MarketRuleSet(market, source, tuple(rules), regulator, MappingProxyType(raw_by_id))


def read_overlay(
    document: Document, bases: Mapping[str, MarketRuleSet], currencies: CurrencyTable
) -> tuple[RuleOverlay, ...]:
    """A brand file: `[[markets.<MARKET>.rules]]` tables, one set per market."""
    source, brand = document.source, document.name
    if not BRAND_PATTERN.match(brand):
        raise RulesInvalid(f"{source}: {brand!r} is not a brand name (letters, digits, - _)")
    with _problems_in(source):
        fields = FieldReader(document.data)
        fields.text("note", required=False)
        markets = fields.raw("markets") or {}
        if not isinstance(markets, Mapping):
            raise FieldError("markets", "must be a table of market codes")
        tables = {
            str(code): FieldReader(table, f"markets.{code}") for code, table in markets.items()
        }
        fields.done()
    overlays = []
    for market, table in sorted(tables.items()):
        if not MARKET_PATTERN.match(market):
            raise RulesInvalid(f"{source}: markets.{market}: not a market code (GB, CA-ON)")
        with _problems_in(source):
            entries = _entries(table.raw("rules"), f"markets.{market}.rules")
            table.done()
        base = bases.get(market) or MarketRuleSet(market, "", ())
        overlays.append(_read_market_overlay(source, brand, base, entries, currencies))
    return tuple(overlays)


def _read_market_overlay(
    source: str,
    brand: str,
    base: MarketRuleSet,
    entries: list[Mapping[str, object]],
    currencies: CurrencyTable,
) -> RuleOverlay:
    market = base.market
    base_by_id = {rule.id: rule for rule in base.rules}
    rules: list[Rule] = []
    disabled: set[str] = set()
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        rule_id = _rule_id(source, entry, f"markets.{market}.rules[{index}]")
        where = f"{source}: market {market}: rule {rule_id}"
        if rule_id in seen:
            raise RulesInvalid(f"{where}: id: used twice")
        seen.add(rule_id)
        with _problems_in(where):
            known = base_by_id.get(rule_id)
            if "disabled" in entry:
                _check_disable(entry, known, market)
                disabled.add(rule_id)
            elif known is not None:
                rule = _read_rule(_restated(entry, base.raw_by_id[rule_id]), currencies, brand)
                _check_tighter(known, rule)
                rules.append(rule)
            else:
                if "kind" not in entry:
                    raise FieldError("id", f"market {market} has no such rule to override")
                rule = _read_rule(entry, currencies, brand)
                if rule.params.permits:
                    raise FieldError("params.fail", "an overlay may not add a rule that permits")
                rules.append(rule)
    return RuleOverlay(brand, market, source, tuple(rules), frozenset(disabled))


def _check_disable(entry: Mapping[str, object], known: Rule | None, market: str) -> None:
    fields = FieldReader(entry)
    fields.text("id")
    fields.text("note", required=False)
    if fields.raw("disabled") is not True:
        raise FieldError("disabled", "can only be true")
    fields.done()
    if known is None:
        raise FieldError("id", f"market {market} has no such rule to disable")
    if not known.uncertain:
        raise FieldError(
            "disabled", "only a rule the market marks uncertain may be disabled by an overlay"
        )


def _restated(entry: Mapping[str, object], base: Mapping[str, object]) -> dict[str, object]:
    """The market's rule with the overlay's fields over it (`params` and `scope` merged
    key by key), so an overlay restates only what it tightens."""
    if "kind" in entry and entry["kind"] != base.get("kind"):
        raise FieldError("kind", "an overlay cannot change a rule's kind")
    merged = {**base, **entry}
    for name in _NESTED:
        mine, theirs = entry.get(name), base.get(name)
        if isinstance(mine, Mapping) and isinstance(theirs, Mapping):
            merged[name] = {**theirs, **mine}
    return merged


def _check_tighter(base: Rule, rule: Rule) -> None:
    """`FieldError` naming the first field in which `rule` is looser than `base`."""
    if rule.params.permits:  # a permission may shrink in time, never grow
        if rule.from_us < base.from_us:
            raise FieldError("effective_from", "earlier than the market's, for a permission")
        if _until(rule) > _until(base):
            raise FieldError("effective_until", "later than the market's, for a permission")
    else:
        if rule.from_us > base.from_us:
            raise FieldError(
                "effective_from", f"{rule.effective_from} is later than the market's "
                f"{base.effective_from}"
            )  # fmt: skip
        if _until(rule) < _until(base):
            raise FieldError("effective_until", "earlier than the market's")
    _check_scope_wider(base.scope, rule.scope)
    loosened = rule.params.loosening(base.params)
    if loosened is not None:
        field_name, _, why = loosened.partition(": ")
        raise FieldError(field_name, f"{why} (an overlay may only tighten)")


def _until(rule: Rule) -> float:
    until_us = rule.until_us
    return float("inf") if until_us is None else until_us


def _check_scope_wider(base: Scope, scope: Scope) -> None:
    if base.verticals is None and scope.verticals is not None:
        raise FieldError("scope.verticals", "narrower than the market's (every vertical)")
    if base.verticals is not None and scope.verticals is not None:
        dropped = sorted(base.verticals - scope.verticals)
        if dropped:
            raise FieldError("scope.verticals", f"{', '.join(dropped)} dropped from the market's")
    low, base_low = scope.age_min_years, base.age_min_years
    if low is not None and (base_low is None or low > base_low):
        raise FieldError("scope.age_min_years", "narrower than the market's age band")
    high, base_high = scope.age_max_years, base.age_max_years
    if high is not None and (base_high is None or high < base_high):
        raise FieldError("scope.age_max_years", "narrower than the market's age band")


def _read_rule(
    entry: Mapping[str, object], currencies: CurrencyTable, brand: str | None = None
) -> Rule:
    fields = FieldReader(entry)
    rule_id = fields.text("id")
    kind_text = fields.text("kind")
    try:
        kind = RuleKind(kind_text)
    except ValueError:
        known = ", ".join(RuleKind)
        raise FieldError("kind", f"{kind_text!r} is not one of: {known}") from None
    spec = KIND_SPECS[kind]
    params_fields = fields.table("params")
    params = spec.read(params_fields, currencies)
    params_fields.done()
    effective_from = fields.day("effective_from")
    effective_until = fields.day("effective_until", required=False)
    assert effective_from is not None
    if effective_until is not None and effective_until <= effective_from:
        raise FieldError("effective_until", "must be after effective_from")
    scope = _read_scope(fields.table("scope"), kind, spec)
    source = fields.text("source")
    uncertain = fields.flag("uncertain")
    note = fields.text("note", required=False)
    fields.done()
    return Rule(
        id=rule_id, kind=kind, params=params, effective_from=effective_from,
        effective_until=effective_until, scope=scope, source=source, uncertain=uncertain,
        note=note, brand=brand,
    )  # fmt: skip


def _read_scope(fields: FieldReader, kind: RuleKind, spec: KindSpec) -> Scope:
    verticals = fields.names("verticals", Vertical, required=False)
    low = fields.whole("age_min_years", low=0, high=AGE_YEARS_MAX, required=False)
    high = fields.whole("age_max_years", low=0, high=AGE_YEARS_MAX, required=False)
    fields.done()
    if verticals is not None and not spec.by_vertical:
        raise FieldError("scope.verticals", f"{kind} rules apply to every vertical")
    if (low is not None or high is not None) and not spec.by_age:
        given = "age_min_years" if low is not None else "age_max_years"
        raise FieldError(f"scope.{given}", f"{kind} rules apply to every age")
    if low is not None and high is not None and low > high:
        raise FieldError("scope.age_max_years", "below age_min_years")
    return Scope(verticals, low, high)


def _rule_id(source: str, entry: Mapping[str, object], where: str) -> str:
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not RULE_ID_PATTERN.match(rule_id):
        raise RulesInvalid(
            f"{source}: {where}: id: {rule_id!r} is not a rule id "
            "(lower-case letters, digits, '.', '_', '-'; at most 100)"
        )
    return rule_id


def _entries(value: object, field_name: str) -> list[Mapping[str, object]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > RULES_PER_FILE_MAX:
        raise FieldError(field_name, f"must be a list of at most {RULES_PER_FILE_MAX} tables")
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise FieldError(f"{field_name}[{index}]", "must be a table")
    return value


@contextmanager
def _problems_in(source: str, rule_id: str | None = None) -> Iterator[None]:
    """A `FieldError` inside becomes `RulesInvalid` naming the file (and the rule)."""
    try:
        yield
    except FieldError as error:
        where = source if rule_id is None else f"{source}: rule {rule_id}"
        raise RulesInvalid(f"{where}: {error}") from None
