"""Every market's rules and every brand's overlays, resolved on demand and cached.

`build_rule_book` validates plain-data documents (the adapter reads the files) into a
`RuleBook`; `RuleBook.rules_for` resolves one market and brand at one instant and keeps
the result until the next rule boundary, so the bet path resolves a market once per
rule change, not once per bet. A market without a file has no rules: only what callers
enforce by themselves, which `describe()` says (`"configured": false`).
"""

from __future__ import annotations

import bisect
import json
import zlib
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from core.jurisdiction.parse import Document, MarketRuleSet, RuleOverlay, read_market, read_overlay
from core.jurisdiction.resolved import MarketRules
from core.jurisdiction.rule import Rule, RulesInvalid
from core.money import CurrencyTable

__all__ = ["CACHED_RESOLUTIONS_MAX", "RuleBook", "build_rule_book"]

CACHED_RESOLUTIONS_MAX = 512
"""Resolved (market, brand) pairs kept; past it the cache starts afresh. Markets times brands
is small; the bound only stops unknown market codes from growing memory."""
_NO_RULES: tuple[Rule, ...] = ()


def build_rule_book(
    markets: Iterable[Document], brands: Iterable[Document], currencies: CurrencyTable
) -> RuleBook:
    """Validate every market's and brand's document; `RulesInvalid` names the file, the
    rule and the field of the first problem, and nothing is built."""
    bases: dict[str, MarketRuleSet] = {}
    for document in markets:
        if document.name in bases:
            raise RulesInvalid(f"{document.source}: market {document.name} is defined twice")
        bases[document.name] = read_market(document, currencies)
    overlays: dict[tuple[str, str], RuleOverlay] = {}
    for document in brands:
        for overlay in read_overlay(document, bases, currencies):
            key = (overlay.market, overlay.brand)
            if key in overlays:
                raise RulesInvalid(f"{document.source}: brand {overlay.brand} is defined twice")
            overlays[key] = overlay
    return RuleBook(bases, overlays)


class RuleBook:
    """Immutable rule data plus a small cache of resolved rules; swap a whole new book
    in to change rules (a reload)."""

    __slots__ = ("_bases", "_boundaries_us", "_cache", "_content", "_overlays")

    def __init__(
        self,
        bases: Mapping[str, MarketRuleSet] | None = None,
        overlays: Mapping[tuple[str, str], RuleOverlay] | None = None,
    ) -> None:
        self._bases = MappingProxyType(dict(bases or {}))
        self._overlays = MappingProxyType(dict(overlays or {}))
        self._cache: dict[tuple[str, str | None], MarketRules] = {}
        every = [rule for listing in self._rule_sets() for rule in listing]
        self._boundaries_us = sorted(
            {rule.from_us for rule in every}
            | {rule.until_us for rule in every if rule.until_us is not None}
        )
        self._content = zlib.crc32(json.dumps(self.all_rules(), sort_keys=True).encode())

    def revision(self, at_us: int) -> int:
        """A number that changes whenever what any market serves may change: another
        book (a reload that changed a rule) or a rule starting or ending. Equal books
        give equal numbers in every process, so a cache keyed by it (lobby answers,
        their ETags) agrees across workers."""
        passed = bisect.bisect_right(self._boundaries_us, at_us)
        return zlib.crc32(b"%d:%d" % (self._content, passed))

    def _rule_sets(self) -> list[tuple[Rule, ...]]:
        return [base.rules for base in self._bases.values()] + [
            overlay.rules for overlay in self._overlays.values()
        ]

    @property
    def markets(self) -> tuple[str, ...]:
        """Markets with a rule file."""
        return tuple(sorted(self._bases))

    @property
    def brands(self) -> tuple[str, ...]:
        """Brands with an overlay for at least one market."""
        return tuple(sorted({brand for _, brand in self._overlays}))

    def rules_for(self, market: str, brand: str | None, at_us: int) -> MarketRules:
        """The rules of `market` with `brand`'s overlay (None: none) in force at `at_us`."""
        key = (market, brand)
        cached = self._cache.get(key)
        if cached is not None and _covers(cached, at_us):
            return cached
        resolved = self._resolve(market, brand, at_us)
        if len(self._cache) >= CACHED_RESOLUTIONS_MAX:
            self._cache.clear()  # atomic, unlike evicting one while another thread looks
        self._cache[key] = resolved
        return resolved

    def _resolve(self, market: str, brand: str | None, at_us: int) -> MarketRules:
        base = self._bases.get(market)
        rules = _NO_RULES if base is None else base.rules
        overlay = None if brand is None else self._overlays.get((market, brand))
        if overlay is not None:
            rules = overlay.apply(rules)
        return MarketRules(
            market,
            rules,
            at_us,
            brand=brand,
            configured=base is not None,
            regulator="" if base is None else base.regulator,
        )

    def all_rules(self) -> list[dict[str, Any]]:
        """Every market's and overlay's rules, in force or not: for `gamegate rules check`."""
        shown = []
        for market, base in sorted(self._bases.items()):
            shown.append(_listing(market, None, base.source, base.rules))
        for (market, brand), overlay in sorted(self._overlays.items()):
            listing = _listing(market, brand, overlay.source, overlay.rules)
            listing["disabled"] = sorted(overlay.disabled)
            shown.append(listing)
        return shown


def _covers(rules: MarketRules, at_us: int) -> bool:
    low, high = rules.valid_from_us, rules.valid_until_us
    return (low is None or low <= at_us) and (high is None or at_us < high)


def _listing(
    market: str, brand: str | None, source: str, rules: tuple[Rule, ...]
) -> dict[str, Any]:
    return {
        "market": market,
        "brand": brand,
        "source": source,
        "rules": [rule.as_json() for rule in rules],
    }
