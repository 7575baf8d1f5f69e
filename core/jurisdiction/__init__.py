"""Jurisdiction rules as data: what each market (and a brand's overlay) requires, in
force at a given instant, and the checks that enforce it.

    build_rule_book(markets, brands, currencies) -> RuleBook     validate plain dicts
    RuleBook.rules_for(market, brand, at_us) -> MarketRules      resolved, cached
    check_registration / check_game / game_refusal / check_player_may_play /
    check_stake / check_cycle_time / check_kyc_pending_deposit   the checks

Pure: the adapter (`adapters.jurisdictions`) reads the files; nothing here does I/O.
"""

from __future__ import annotations

from core.jurisdiction.book import CACHED_RESOLUTIONS_MAX, RuleBook, build_rule_book
from core.jurisdiction.checks import (
    check_cycle_time,
    check_game,
    check_kyc_pending_deposit,
    check_player_may_play,
    check_registration,
    check_stake,
    game_refusal,
    refusal,
)
from core.jurisdiction.kinds import Checkpoint, RuleKind
from core.jurisdiction.parse import Document, MarketRuleSet, RuleOverlay
from core.jurisdiction.resolved import MarketRules
from core.jurisdiction.rule import Rule, RulesInvalid, Scope, day_start_us

__all__ = [
    "CACHED_RESOLUTIONS_MAX",
    "Checkpoint",
    "Document",
    "MarketRuleSet",
    "MarketRules",
    "Rule",
    "RuleBook",
    "RuleKind",
    "RuleOverlay",
    "RulesInvalid",
    "Scope",
    "build_rule_book",
    "check_cycle_time",
    "check_game",
    "check_kyc_pending_deposit",
    "check_player_may_play",
    "check_registration",
    "check_stake",
    "day_start_us",
    "game_refusal",
    "refusal",
]
