"""Hypothesis: random market rules and random brand overlays. The loader either refuses
the overlay, or the rules it resolves are never looser than the market's own on any rule
kind, at any instant, for any vertical, age and currency (a market rule the overlay
disabled excepted: only a rule marked uncertain may be, and the comparison leaves it out).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from core.catalogue.game import Feature, Vertical
from core.jurisdiction import (
    Checkpoint,
    Document,
    MarketRules,
    RuleBook,
    RuleKind,
    RulesInvalid,
    build_rule_book,
    day_start_us,
)
from core.limits import LimitKind
from core.money import CurrencyTable

Json = dict[str, Any]
MARKET, BRAND = "GB", "acme"
CURRENCIES = CurrencyTable()
DAYS = ("2020-01-01", "2022-01-01", "2024-01-01", "2026-01-01")
AGES = (17, 18, 20, 24, 25, 40)
CODES = ("GBP", "EUR", "SEK")
AMOUNTS = ("1.00", "2.00", "5.00", "10.00")
_DAY_US = 86_400_000_000


def _subset(values: Any) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from([str(value) for value in values]), min_size=1, unique=True)


def params_for(kind: RuleKind) -> st.SearchStrategy[Json]:
    amount = st.fixed_dictionaries(
        {"amount": st.sampled_from(AMOUNTS), "currency": st.sampled_from(CODES[:2])}
    )
    return {
        RuleKind.MIN_AGE: st.builds(lambda years: {"years": years}, st.integers(16, 21)),
        RuleKind.KYC_BEFORE: st.builds(lambda c: {"checkpoints": c}, _subset(Checkpoint)),
        RuleKind.ALLOWED_VERTICALS: st.builds(lambda v: {"verticals": v}, _subset(Vertical)),
        RuleKind.CERTIFICATION_REQUIRED: st.just({}),
        RuleKind.BANNED_FEATURES: st.builds(lambda f: {"features": f}, _subset(Feature)),
        RuleKind.MAX_STAKE: amount,
        RuleKind.MIN_CYCLE_TIME: st.builds(
            lambda ms: {"ms": ms}, st.sampled_from((1000, 2500, 5000))
        ),
        RuleKind.ALLOWED_CURRENCIES: st.builds(lambda c: {"currencies": c}, _subset(CODES)),
        RuleKind.REQUIRED_LIMITS: st.builds(lambda k: {"kinds": k}, _subset(LimitKind)),
        RuleKind.KYC_PENDING_DEPOSIT_CAP: amount,
        RuleKind.REGISTER_FAILURE: st.builds(
            lambda fail: {"fail": fail, "register": "R"}, st.sampled_from(("open", "closed"))
        ),
        RuleKind.LIMIT_INCREASE_DELAY: st.builds(
            lambda s: {"seconds": s}, st.sampled_from((3_600, 86_400, 259_200))
        ),
    }[kind]


def scope_for(kind: RuleKind) -> st.SearchStrategy[Json]:
    by_vertical = kind in (RuleKind.BANNED_FEATURES, RuleKind.MAX_STAKE, RuleKind.MIN_CYCLE_TIME)
    if not by_vertical:
        return st.just({})
    scope = {"verticals": _subset(Vertical)}
    if kind is RuleKind.MAX_STAKE:
        band = st.sampled_from(((None, None), (18, 24), (18, None), (None, 24), (20, 30)))
        return st.builds(_scope, st.one_of(st.none(), _subset(Vertical)), band)
    return st.fixed_dictionaries({}, optional=scope)


def _scope(verticals: list[str] | None, band: tuple[int | None, int | None]) -> Json:
    scope: Json = {} if verticals is None else {"verticals": verticals}
    if band[0] is not None:
        scope["age_min_years"] = band[0]
    if band[1] is not None:
        scope["age_max_years"] = band[1]
    return scope


@st.composite
def dates(draw: st.DrawFn) -> Json:
    start = draw(st.sampled_from(DAYS[:-1]))
    later = [day for day in DAYS if day > start]
    until = draw(st.one_of(st.none(), st.sampled_from(later)))
    return {"effective_from": start} | ({} if until is None else {"effective_until": until})


@st.composite
def rules(draw: st.DrawFn, rule_id: str) -> Json:
    kind = draw(st.sampled_from(list(RuleKind)))
    written: Json = {"id": rule_id, "kind": kind.value, "source": "T", **draw(dates())}
    written["params"] = draw(params_for(kind))
    scope = draw(scope_for(kind))
    if scope:
        written["scope"] = scope
    if draw(st.booleans()):
        written["uncertain"] = True
    return written


@st.composite
def overrides(draw: st.DrawFn, base: Json) -> Json:
    """A restatement of `base` with some fields redrawn: tighter, looser or the same."""
    kind = RuleKind(base["kind"])
    entry: Json = {"id": base["id"]}
    if draw(st.booleans()):
        params = draw(params_for(kind))
        keep = draw(st.lists(st.sampled_from(sorted(params) or ["-"]), unique=True))
        entry["params"] = {key: params[key] for key in keep if key in params}
    if draw(st.booleans()):
        entry.update(draw(dates()))
    if draw(st.booleans()):
        entry["scope"] = draw(scope_for(kind))
    if draw(st.booleans()):
        entry["uncertain"] = False
    return entry


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Json], list[Json], set[str]]:
    base = [draw(rules(f"b{n}")) for n in range(draw(st.integers(0, 6)))]
    entries: list[Json] = []
    disabled: set[str] = set()
    for written in draw(st.permutations(base)):
        choice = draw(st.sampled_from(("keep", "override", "disable")))
        if choice == "override":
            entries.append(draw(overrides(written)))
        elif choice == "disable":
            entries.append({"id": written["id"], "disabled": True})
            disabled.add(written["id"])
    entries += [draw(rules(f"o{n}")) for n in range(draw(st.integers(0, 3)))]
    return base, entries, disabled


def book(base: list[Json], entries: list[Json] | None = None) -> RuleBook:
    market = Document("GB.toml", MARKET, {"market": MARKET, "rules": base})
    brands = [] if entries is None else [
        Document("acme.toml", BRAND, {"markets": {MARKET: {"rules": entries}}})
    ]  # fmt: skip
    return build_rule_book([market], brands, CURRENCIES)


def instants() -> list[int]:
    starts = [day_start_us(date.fromisoformat(day)) for day in DAYS]
    return sorted({edge + shift for edge in starts for shift in (-_DAY_US, 0)})


def _cap(found: tuple[object, int] | None) -> float:
    return float("inf") if found is None else found[1]


def _or_all(verticals: frozenset[Vertical] | None) -> frozenset[Vertical]:
    return frozenset(Vertical) if verticals is None else verticals


def assert_not_looser(tight: MarketRules, base: MarketRules) -> None:
    assert (tight.min_age_years or 0) >= (base.min_age_years or 0)
    for checkpoint in Checkpoint:
        assert base.kyc_required_at(checkpoint) is None or tight.kyc_required_at(checkpoint)
    assert _or_all(tight.allowed_verticals) <= _or_all(base.allowed_verticals)
    assert base.certification_rule is None or tight.certification_rule is not None
    for vertical in Vertical:
        assert tight.banned_features_for(vertical) >= base.banned_features_for(vertical)
        assert tight.min_cycle_ms(vertical) >= base.min_cycle_ms(vertical)
        for age in AGES:
            for code in CODES:
                assert _cap(tight.stake_cap_minor(vertical, age, code)) <= _cap(
                    base.stake_cap_minor(vertical, age, code)
                ), (vertical, age, code)
    for code in (*CODES, "USD"):
        assert base.currency_refusal(code) is None or tight.currency_refusal(code) is not None
        assert _cap(tight.kyc_pending_deposit_cap(code)) <= _cap(base.kyc_pending_deposit_cap(code))
    assert tight.required_limits >= base.required_limits
    assert tight.register_fail_closed or not base.register_fail_closed
    assert tight.limit_increase_delay_s >= base.limit_increase_delay_s


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_an_overlay_is_refused_or_never_looser_than_its_market(
    case: tuple[list[Json], list[Json], set[str]],
) -> None:
    base, entries, disabled = case
    try:
        overlaid = book(base, entries)
    except RulesInvalid as refused:
        note(f"refused: {refused}")
        event("refused")
        return
    event("loaded")
    compared = book([rule for rule in base if rule["id"] not in disabled])
    for at_us in instants():
        assert_not_looser(
            overlaid.rules_for(MARKET, BRAND, at_us), compared.rules_for(MARKET, None, at_us)
        )


@settings(max_examples=30, deadline=None)
@given(cases())
def test_the_generated_market_rules_are_valid_and_overlays_often_load(
    case: tuple[list[Json], list[Json], set[str]],
) -> None:
    """The generator's market rules always load, so the property above is not vacuous."""
    base, _, _ = case
    assert book(base).markets == (MARKET,)
