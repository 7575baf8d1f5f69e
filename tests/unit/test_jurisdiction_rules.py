"""Jurisdiction rules through the public API: one market's rules as plain data, resolved
at an instant, and each check's verdict and reason, before and after effective dates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest

from core.age import age_years
from core.catalogue.game import Feature, Game, Vertical
from core.errors import (
    CurrencyNotAllowed,
    FeatureBanned,
    GameCycleTooFast,
    GameNotCertified,
    KycDepositCapReached,
    KycRequired,
    LimitsNotSet,
    Reason,
    StakeAboveLimit,
    Underage,
    VerticalNotAllowed,
    error_for_reason,
)
from core.jurisdiction import (
    Checkpoint,
    Document,
    MarketRules,
    RuleBook,
    RulesInvalid,
    build_rule_book,
    check_cycle_time,
    check_game,
    check_kyc_pending_deposit,
    check_player_may_play,
    check_registration,
    check_stake,
    game_refusal,
)
from core.limits import LimitKind
from core.model import KycState
from core.money import CurrencyTable

Json = dict[str, Any]
CURRENCIES = CurrencyTable()
SLOTS, TABLE, LIVE = Vertical.SLOTS, Vertical.TABLE, Vertical.LIVE


def at(day: str, hour: int = 12) -> int:
    moment = datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000


def rule(rule_id: str, kind: str, params: Json | None = None, **extra: Any) -> Json:
    written: Json = {"id": rule_id, "kind": kind, "effective_from": "2020-01-01", "source": "T1"}
    if params is not None:
        written["params"] = params
    return {**written, **extra}


def book(*rules: Json, market: str = "GB", brands: Mapping[str, Json] | None = None) -> RuleBook:
    documents = [Document(f"{market}.toml", market, {"market": market, "rules": list(rules)})]
    overlays = [
        Document(f"brands/{name}.toml", name, data) for name, data in (brands or {}).items()
    ]
    return build_rule_book(documents, overlays, CURRENCIES)


def resolved(*rules: Json, when: str = "2026-01-01") -> MarketRules:
    return book(*rules).rules_for("GB", None, at(when))


def game(
    vertical: Vertical = SLOTS, *features: Feature, markets: frozenset[str] = frozenset({"GB"})
) -> Game:
    return Game(
        instance="acme", code="g1", title="G", studio="S", vertical=vertical,
        features=frozenset(features), markets=markets,
    )  # fmt: skip


GB_STAKES = (
    rule("gb.slots.stake_max.all", "max_stake", {"amount": "5.00", "currency": "GBP"},
         effective_from="2025-04-09", scope={"verticals": ["slots"]}),
    rule("gb.slots.stake_max.young", "max_stake", {"amount": "2.00", "currency": "GBP"},
         effective_from="2025-05-21",
         scope={"verticals": ["slots"], "age_min_years": 18, "age_max_years": 24}),
)  # fmt: skip


# -- each kind ---------------------------------------------------------------------


def test_min_age_refuses_registration_before_the_birthday_and_names_the_rule() -> None:
    rules = book(rule("on.age", "min_age", {"years": 19}), market="CA-ON").rules_for(
        "CA-ON", None, at("2026-01-01")
    )
    assert rules.min_age_years == 19
    with pytest.raises(Underage, match=r"at least 19 \(rule on.age\)"):
        check_registration(rules, date(2007, 1, 2), date(2026, 1, 1))
    check_registration(rules, date(2007, 1, 1), date(2026, 1, 1))


def test_kyc_is_required_before_the_listed_checkpoints_only() -> None:
    rules = resolved(rule("gb.kyc", "kyc_before", {"checkpoints": ["deposit", "demo_launch"]}))
    play: Json = {"age_years": 30, "limits_set": frozenset(), "currency": "GBP"}
    for checkpoint in (Checkpoint.DEPOSIT, Checkpoint.DEMO_LAUNCH):
        with pytest.raises(KycRequired, match=re.escape("rule gb.kyc")):
            check_player_may_play(rules, kyc=KycState.PENDING, checkpoint=checkpoint, **play)
        check_player_may_play(rules, kyc=KycState.VERIFIED, checkpoint=checkpoint, **play)
    check_player_may_play(rules, kyc=KycState.NONE, checkpoint=Checkpoint.BET, **play)
    assert rules.kyc_required_at(Checkpoint.BET) is None


def test_a_vertical_the_market_does_not_allow_is_refused_at_launch_and_in_the_lobby() -> None:
    rules = resolved(rule("de.verticals", "allowed_verticals", {"verticals": ["slots", "poker"]}))
    assert rules.allowed_verticals == frozenset({SLOTS, Vertical.POKER})
    refused = game_refusal(rules, game(LIVE))
    assert isinstance(refused, VerticalNotAllowed)
    assert "rule de.verticals" in refused.message
    with pytest.raises(VerticalNotAllowed):
        check_game(rules, game(LIVE), demo=True)
    assert game_refusal(rules, game(SLOTS)) is None


def test_certification_requires_the_market_among_the_games_markets() -> None:
    rules = resolved(rule("gb.cert", "certification_required"))
    with pytest.raises(GameNotCertified, match=re.escape("not certified for GB")):
        check_game(rules, game(markets=frozenset({"MT"})), demo=False)
    check_game(rules, game(markets=frozenset({"MT", "GB"})), demo=False)
    assert resolved().certification_rule is None


def test_banned_features_apply_to_their_verticals_from_their_date() -> None:
    casino = rule("gb.casino.features", "banned_features", {"features": ["autoplay", "turbo"]},
                  effective_from="2025-01-17", scope={"verticals": ["table", "live"]})  # fmt: skip
    slots = rule("gb.slots.features", "banned_features", {"features": ["autoplay"]},
                 effective_from="2021-10-31", scope={"verticals": ["slots"]})  # fmt: skip
    before, after = resolved(casino, slots, when="2025-01-16"), resolved(casino, slots)
    table_game = game(TABLE, Feature.TURBO)
    assert game_refusal(before, table_game) is None
    refused = game_refusal(after, table_game)
    assert isinstance(refused, FeatureBanned)
    assert "turbo" in refused.message
    assert "gb.casino.features" in refused.message
    assert after.banned_features_for(SLOTS) == {Feature.AUTOPLAY}
    assert after.banned_features_for(Vertical.POKER) == frozenset()
    assert game_refusal(after, game(SLOTS, Feature.BONUS_BUY)) is None


def test_the_same_slot_stake_is_judged_by_the_rules_in_force_at_its_time() -> None:
    stake: Json = {"vertical": SLOTS, "age_years": 40, "currency": "GBP", "stake_minor": 1_000}
    check_stake(resolved(*GB_STAKES, when="2025-04-08"), **stake)
    with pytest.raises(StakeAboveLimit, match=r"5.00 GBP cap .*gb.slots.stake_max.all"):
        check_stake(resolved(*GB_STAKES, when="2025-04-09"), **stake)
    check_stake(resolved(*GB_STAKES, when="2025-04-09"), **{**stake, "stake_minor": 500})


def test_a_young_players_cap_moves_from_2_to_5_pounds_on_their_25th_birthday() -> None:
    rules = book(*GB_STAKES)
    born = date(2001, 3, 10)
    for day, cap in (("2026-03-09", 200), ("2026-03-10", 500)):
        resolved_rules = rules.rules_for("GB", None, at(day))
        age = age_years(born, date.fromisoformat(day))
        found = resolved_rules.stake_cap_minor(SLOTS, age, "GBP")
        assert found is not None
        assert found[1] == cap
        with pytest.raises(StakeAboveLimit):
            check_stake(resolved_rules, vertical=SLOTS, age_years=age, currency="GBP",
                        stake_minor=cap + 1)  # fmt: skip
        check_stake(resolved_rules, vertical=SLOTS, age_years=age, currency="GBP", stake_minor=cap)


def test_a_cap_in_another_currency_allows_no_stake_and_other_verticals_are_uncapped() -> None:
    rules = resolved(*GB_STAKES)
    assert rules.stake_cap_minor(TABLE, 30, "GBP") is None
    with pytest.raises(StakeAboveLimit, match=re.escape("caps slots stakes in GBP")):
        check_stake(rules, vertical=SLOTS, age_years=30, currency="EUR", stake_minor=1)
    check_stake(rules, vertical=SLOTS, age_years=30, currency="EUR", stake_minor=0)


def test_min_cycle_time_counts_from_the_start_of_the_previous_cycle() -> None:
    cycle = rule("gb.slots.cycle", "min_cycle_time", {"ms": 2500}, scope={"verticals": ["slots"]})
    rules = resolved(cycle)
    now_us = at("2026-01-01")
    with pytest.raises(GameCycleTooFast, match=r"2499 ms .* 2500 ms \(rule gb.slots.cycle\)"):
        check_cycle_time(
            rules, vertical=SLOTS, now_us=now_us, last_cycle_start_us=now_us - 2_499_999
        )
    check_cycle_time(rules, vertical=SLOTS, now_us=now_us, last_cycle_start_us=now_us - 2_500_000)
    check_cycle_time(rules, vertical=SLOTS, now_us=now_us, last_cycle_start_us=None)
    check_cycle_time(rules, vertical=TABLE, now_us=now_us, last_cycle_start_us=now_us - 1)
    assert (rules.min_cycle_ms(SLOTS), rules.min_cycle_ms(TABLE)) == (2500, 0)


def test_the_longest_cycle_time_wins() -> None:
    rules = resolved(
        rule("a", "min_cycle_time", {"ms": 2500}, scope={"verticals": ["slots"]}),
        rule("b", "min_cycle_time", {"ms": 5000}),
    )
    cycle = rules.min_cycle(SLOTS)
    assert cycle is not None
    assert (cycle[0].id, cycle[1]) == ("b", 5000)


def test_currencies_are_the_intersection_of_the_rules() -> None:
    rules = resolved(
        rule("a", "allowed_currencies", {"currencies": ["EUR", "GBP"]}),
        rule("b", "allowed_currencies", {"currencies": ["GBP"]}),
    )
    assert rules.currencies == frozenset({"GBP"})
    with pytest.raises(CurrencyNotAllowed, match=r"in EUR \(rule b\)"):
        check_player_may_play(rules, age_years=30, kyc=KycState.VERIFIED, limits_set=frozenset(),
                              currency="EUR", checkpoint=Checkpoint.BET)  # fmt: skip
    check_player_may_play(rules, age_years=30, kyc=KycState.VERIFIED, limits_set=frozenset(),
                          currency=None, checkpoint=Checkpoint.DEMO_LAUNCH)  # fmt: skip


def test_required_limits_must_be_set_before_money_moves_not_for_fun_mode() -> None:
    rules = resolved(rule("se.limits", "required_limits", {"kinds": ["deposit", "session_time"]}))
    play: Json = {"age_years": 30, "kyc": KycState.VERIFIED, "currency": "SEK"}
    with pytest.raises(LimitsNotSet, match=r"session_time \(rule se.limits\)"):
        check_player_may_play(rules, limits_set=frozenset({LimitKind.DEPOSIT}),
                              checkpoint=Checkpoint.DEPOSIT, **play)  # fmt: skip
    check_player_may_play(rules, limits_set=frozenset(LimitKind), checkpoint=Checkpoint.BET, **play)
    check_player_may_play(rules, limits_set=frozenset(), checkpoint=Checkpoint.DEMO_LAUNCH, **play)


def test_deposits_while_kyc_is_pending_are_capped_in_all() -> None:
    rules = resolved(
        rule("es.kyc.cap", "kyc_pending_deposit_cap", {"amount": "150.00", "currency": "EUR"},
             uncertain=True)
    )  # fmt: skip
    deposit: Json = {"kyc": KycState.PENDING, "currency": "EUR"}
    check_kyc_pending_deposit(rules, deposited_total_minor=10_000, amount_minor=5_000, **deposit)
    with pytest.raises(KycDepositCapReached, match=r"150.00 EUR in all \(rule es.kyc.cap\)"):
        check_kyc_pending_deposit(
            rules, deposited_total_minor=10_000, amount_minor=5_001, **deposit
        )
    check_kyc_pending_deposit(
        rules, kyc=KycState.VERIFIED, deposited_total_minor=10**9, amount_minor=1, currency="EUR"
    )
    assert [entry["id"] for entry in rules.describe()["rules"] if entry["uncertain"]] == [
        "es.kyc.cap"
    ]


def test_registers_fail_closed_unless_every_rule_in_force_says_open() -> None:
    open_rule = rule("cw.reg", "register_failure", {"fail": "open", "register": "own list"})
    closed = rule("x.reg", "register_failure", {"fail": "closed", "register": "GAMSTOP"})
    assert resolved().register_fail_closed is True
    assert resolved(open_rule).register_fail_closed is False
    both = resolved(open_rule, closed)
    assert both.register_fail_closed is True
    assert both.describe()["register"] == "GAMSTOP"


def test_the_limit_increase_delay_is_the_longest_in_force_and_at_least_a_day() -> None:
    assert resolved().limit_increase_delay_s == 86_400
    assert (
        resolved(rule("se", "limit_increase_delay", {"seconds": 259_200})).limit_increase_delay_s
        == 259_200
    )
    assert (
        resolved(rule("x", "limit_increase_delay", {"seconds": 60})).limit_increase_delay_s
        == 86_400
    )


def test_each_reason_names_the_error_class_the_checks_raise() -> None:
    rules = resolved(*GB_STAKES)
    found = rules.stake_cap_minor(SLOTS, 30, "GBP")
    assert found is not None
    assert found[0].reason is Reason.STAKE_ABOVE_LIMIT
    assert error_for_reason(Reason.STAKE_ABOVE_LIMIT) is StakeAboveLimit


# -- time, caching, unknown markets ---------------------------------------------------


def test_resolved_rules_say_until_when_they_hold_and_the_book_caches_until_then() -> None:
    rules = book(*GB_STAKES)
    early = rules.rules_for("GB", None, at("2025-04-01"))
    assert early.valid_until_us == at("2025-04-09", hour=0)
    assert rules.rules_for("GB", None, at("2025-04-08", hour=23)) is early
    later = rules.rules_for("GB", None, at("2025-04-09", hour=0))
    assert later is not early
    assert later.valid_until_us == at("2025-05-21", hour=0)
    assert rules.rules_for("GB", None, at("2030-01-01")).valid_until_us is None


def test_effective_until_is_exclusive() -> None:
    ended = rule("x.cycle", "min_cycle_time", {"ms": 1000}, effective_until="2025-01-01")
    assert resolved(ended, when="2024-12-31").min_cycle_ms(SLOTS) == 1000
    assert resolved(ended, when="2025-01-01").min_cycle_ms(SLOTS) == 0


def test_a_market_without_a_file_has_no_rules_and_says_so() -> None:
    rules = book(*GB_STAKES).rules_for("FR", None, at("2026-01-01"))
    shown = rules.describe()
    assert (shown["configured"], shown["rules"], shown["market"]) == (False, [], "FR")
    assert rules.min_age_years is None
    assert rules.register_fail_closed


# -- brand overlays --------------------------------------------------------------------


def overlay(*rules: Json, market: str = "GB") -> Json:
    return {"markets": {market: {"rules": list(rules)}}}


def test_an_overlay_tightens_a_rule_by_restating_only_the_tighter_field() -> None:
    tighter = {"id": "gb.slots.stake_max.all", "params": {"amount": "4.00"}}
    rules = book(*GB_STAKES, brands={"acme": overlay(tighter)})
    branded = rules.rules_for("GB", "acme", at("2026-01-01"))
    cap = branded.stake_cap_minor(SLOTS, 40, "GBP")
    assert cap is not None
    assert (cap[0].id, cap[0].brand, cap[1]) == (
        "gb.slots.stake_max.all",
        "acme",
        400,
    )
    assert rules.rules_for("GB", None, at("2026-01-01")).stake_cap_minor(SLOTS, 40, "GBP") == (
        rules.rules_for("GB", None, at("2026-01-01")).rules[0],
        500,
    )
    assert rules.rules_for("GB", "other", at("2026-01-01")).brand == "other"


def test_an_overlay_adds_rules_that_only_restrict() -> None:
    added = rule("acme.bonus_buy", "banned_features", {"features": ["bonus_buy"]},
                 scope={"verticals": ["slots"]})  # fmt: skip
    rules = book(*GB_STAKES, brands={"acme": overlay(added)})
    assert rules.rules_for("GB", "acme", at("2026-01-01")).banned_features_for(SLOTS) == {
        Feature.BONUS_BUY
    }


@pytest.mark.parametrize(
    ("entry", "field", "why"),
    [
        ({"id": "gb.slots.stake_max.all", "params": {"amount": "6.00"}}, "params.amount",
         "6.00 GBP is above the market's 5.00 GBP"),
        ({"id": "gb.slots.stake_max.all", "params": {"currency": "EUR"}}, "params.currency",
         "EUR is not the market's GBP"),
        ({"id": "gb.slots.stake_max.all", "effective_from": "2025-05-01"}, "effective_from",
         "later than the market's"),
        ({"id": "gb.slots.stake_max.all", "effective_until": "2030-01-01"}, "effective_until",
         "earlier than the market's"),
        ({"id": "gb.slots.stake_max.young", "scope": {"age_max_years": 20}},
         "scope.age_max_years", "narrower"),
        ({"id": "gb.slots.stake_max.all", "kind": "min_age"}, "kind", "cannot change"),
        ({"id": "gb.slots.stake_max.all", "disabled": True}, "disabled", "uncertain"),
        ({"id": "gb.nothing", "params": {"amount": "1.00"}}, "id", "no such rule"),
        (rule("acme.reg", "register_failure", {"fail": "open", "register": "x"}), "params.fail",
         "permits"),
    ],
)  # fmt: skip
def test_an_overlay_that_would_loosen_fails_naming_file_rule_and_field(
    entry: Json, field: str, why: str
) -> None:
    with pytest.raises(RulesInvalid) as caught:
        book(*GB_STAKES, brands={"acme": overlay(entry)})
    message = str(caught.value)
    assert message.startswith(f"brands/acme.toml: market GB: rule {entry['id']}: {field}: "), (
        message
    )
    assert why in message


def test_an_overlay_may_disable_an_uncertain_rule_only() -> None:
    uncertain = rule("gb.currency", "allowed_currencies", {"currencies": ["GBP"]}, uncertain=True)
    rules = book(uncertain, brands={"acme": overlay({"id": "gb.currency", "disabled": True})})
    assert rules.rules_for("GB", None, at("2026-01-01")).currencies == frozenset({"GBP"})
    assert rules.rules_for("GB", "acme", at("2026-01-01")).currencies is None


def test_a_permission_may_not_be_stretched_in_time_by_an_overlay() -> None:
    open_rule = rule("cw.reg", "register_failure", {"fail": "open", "register": "x"},
                     effective_from="2024-12-24")  # fmt: skip
    earlier = {"id": "cw.reg", "effective_from": "2024-01-01"}
    with pytest.raises(RulesInvalid, match=re.escape("rule cw.reg: effective_from: earlier")):
        book(open_rule, market="CW", brands={"acme": overlay(earlier, market="CW")})
    closed = {"id": "cw.reg", "effective_from": "2024-01-01", "params": {"fail": "closed"}}
    rules = book(open_rule, market="CW", brands={"acme": overlay(closed, market="CW")})
    assert rules.rules_for("CW", "acme", at("2024-06-01")).register_fail_closed


# -- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (rule("gb.x", "max_stake", {"amount": "5.001", "currency": "GBP"}),
         "rule gb.x: params.amount: amount '5.001' has more than 2 decimals for GBP"),
        (rule("gb.x", "max_stake", {"amount": 5, "currency": "GBP"}), "rule gb.x: params.amount"),
        (rule("gb.x", "max_stake", {"amount": "5", "currency": "XXQ"}),
         "rule gb.x: params.currency: unknown currency 'XXQ'"),
        (rule("gb.x", "min_age", {"years": 18, "yaers": 1}),
         "rule gb.x: params.yaers: unknown key"),
        (rule("gb.x", "min_age", {"years": 18}, colour="red"), "rule gb.x: colour: unknown key"),
        (rule("gb.x", "min_age", {"years": True}), "rule gb.x: params.years: must be a whole"),
        (rule("gb.x", "min_age", {"years": 18}, effective_from="2025-02-30"),
         "rule gb.x: effective_from: '2025-02-30' is not a date"),
        (rule("gb.x", "min_age", {"years": 18}, effective_until="2019-12-31"),
         "rule gb.x: effective_until: must be after effective_from"),
        (rule("gb.x", "min_age", {"years": 18}, scope={"verticals": ["slots"]}),
         "rule gb.x: scope.verticals: min_age rules apply to every vertical"),
        (rule("gb.x", "banned_features", {"features": ["autoplay", "sparkles"]}),
         "rule gb.x: params.features: 'sparkles' is not one of"),
        (rule("gb.x", "kyc_before", {"checkpoints": []}), "rule gb.x: params.checkpoints"),
        (rule("gb.x", "flux"), "rule gb.x: kind: 'flux' is not one of"),
        (rule("gb.x", "register_failure", {"fail": "ajar", "register": "x"}),
         "rule gb.x: params.fail"),
        ({**rule("gb.x", "min_age", {"years": 18}), "source": ""}, "rule gb.x: source"),
        (rule("GB X", "min_age", {"years": 18}), "rules[0]: id: 'GB X' is not a rule id"),
    ],
)  # fmt: skip
def test_a_bad_rule_fails_naming_the_file_rule_and_field(entry: Json, expected: str) -> None:
    with pytest.raises(RulesInvalid) as caught:
        book(entry)
    assert str(caught.value).startswith("GB.toml: "), caught.value
    assert expected in str(caught.value)


def test_duplicate_ids_unknown_top_level_keys_and_a_wrong_market_are_errors() -> None:
    twice = rule("gb.x", "min_age", {"years": 18})
    with pytest.raises(RulesInvalid, match=re.escape("GB.toml: rule gb.x: id: used twice")):
        book(twice, twice)
    with pytest.raises(RulesInvalid, match=re.escape("GB.toml: colour: unknown key")):
        build_rule_book([Document("GB.toml", "GB", {"market": "GB", "colour": 1})], [], CURRENCIES)
    with pytest.raises(
        RulesInvalid, match=re.escape("GB.toml: market: 'DE' is not the file's market 'GB'")
    ):
        build_rule_book([Document("GB.toml", "GB", {"market": "DE"})], [], CURRENCIES)
    with pytest.raises(RulesInvalid, match=re.escape("gb.toml: 'gb' is not a market code")):
        build_rule_book([Document("gb.toml", "gb", {"market": "gb"})], [], CURRENCIES)
    entry = rule("a", "min_age", {"years": 18})
    with pytest.raises(
        RulesInvalid, match=re.escape("acme.toml: market GB: rule a: id: used twice")
    ):
        book(brands={"acme": overlay(entry, entry)})


def test_the_lobby_filter_hides_what_a_launch_would_refuse() -> None:
    rules = resolved(
        rule("v", "allowed_verticals", {"verticals": ["slots", "table"]}),
        rule("f", "banned_features", {"features": ["autoplay"]}, scope={"verticals": ["slots"]}),
    )
    market_filter = rules.lobby_filter()
    assert rules.lobby_filter() is market_filter
    for candidate in (game(SLOTS), game(SLOTS, Feature.AUTOPLAY), game(TABLE, Feature.AUTOPLAY),
                      game(LIVE)):  # fmt: skip
        assert market_filter.hides(candidate) == (game_refusal(rules, candidate) is not None)
