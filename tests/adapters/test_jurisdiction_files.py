"""The shipped rule files and the loader: every file loads, the researched facts hold at
their dates, and a bad file or directory fails naming the file, the rule and the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.jurisdictions import FILE_BYTES_MAX, load_rule_book
from core.catalogue.game import Feature, Vertical
from core.jurisdiction import Checkpoint, MarketRules, RuleBook, RulesInvalid
from core.limits import LimitKind
from core.money import CurrencyTable

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "jurisdictions"
MARKETS = ("CA-ON", "CW", "DE", "ES", "GB", "MT", "NL", "SE")
GOOD = """
market = "GB"
[[rules]]
id = "gb.slots.stake_max.all"
kind = "max_stake"
effective_from = 2025-04-09
scope = { verticals = ["slots"] }
params = { amount = "5.00", currency = "GBP" }
source = "UK1"
"""


def at(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) * 1_000_000


@pytest.fixture(scope="module")
def shipped() -> RuleBook:
    return load_rule_book(SHIPPED, CurrencyTable())


def test_every_shipped_file_loads(shipped: RuleBook) -> None:
    assert shipped.markets == MARKETS
    assert shipped.brands == ("demo",)
    for market in MARKETS:
        described = shipped.rules_for(market, None, at("2026-06-01")).describe()
        assert described["configured"] is True
        assert described["rules"], market
        assert all(rule["source"] for rule in described["rules"])


def cap_minor(rules: MarketRules, vertical: Vertical, age_years: int, currency: str) -> int | None:
    found = rules.stake_cap_minor(vertical, age_years, currency)
    return None if found is None else found[1]


def test_gb_rules_change_on_their_dates(shipped: RuleBook) -> None:
    before_2021 = shipped.rules_for("GB", None, at("2021-10-30"))
    after_2021 = shipped.rules_for("GB", None, at("2021-10-31"))
    assert Feature.AUTOPLAY not in before_2021.banned_features_for(Vertical.SLOTS)
    assert Feature.AUTOPLAY in after_2021.banned_features_for(Vertical.SLOTS)
    assert (after_2021.min_cycle_ms(Vertical.SLOTS), after_2021.min_cycle_ms(Vertical.TABLE)) == (
        2500,
        0,
    )
    casino = shipped.rules_for("GB", None, at("2025-01-17"))
    assert casino.min_cycle_ms(Vertical.TABLE) == 5000
    assert Feature.AUTOPLAY in casino.banned_features_for(Vertical.LIVE)
    assert cap_minor(casino, Vertical.SLOTS, 30, "GBP") is None
    capped = shipped.rules_for("GB", None, at("2025-04-09"))
    assert cap_minor(capped, Vertical.SLOTS, 20, "GBP") == 500
    young = shipped.rules_for("GB", None, at("2025-05-21"))
    assert cap_minor(young, Vertical.SLOTS, 24, "GBP") == 200
    assert cap_minor(young, Vertical.SLOTS, 25, "GBP") == 500
    assert young.kyc_required_at(Checkpoint.DEMO_LAUNCH) is not None
    assert young.register_fail_closed


def test_the_other_markets_hold_the_researched_facts(shipped: RuleBook) -> None:
    now = at("2026-06-01")
    de = shipped.rules_for("DE", None, now)
    assert de.allowed_verticals == frozenset({Vertical.SLOTS, Vertical.POKER, Vertical.SPORTSBOOK})
    assert cap_minor(de, Vertical.SLOTS, 40, "EUR") == 100
    assert de.min_cycle_ms(Vertical.SLOTS) == 5000
    assert de.banned_features_for(Vertical.SLOTS) == {
        Feature.AUTOPLAY, Feature.JACKPOT, Feature.TURBO, Feature.BONUS_BUY,
    }  # fmt: skip
    assert de.currencies == frozenset({"EUR"})
    assert de.required_limits == frozenset({LimitKind.DEPOSIT})
    assert de.register_fail_closed
    assert de.limit_increase_delay_s == 7 * 86_400
    on = shipped.rules_for("CA-ON", None, now)
    assert (on.min_age_years, on.currencies) == (19, frozenset({"CAD"}))
    es = shipped.rules_for("ES", None, now)
    cap = es.kyc_pending_deposit_cap("EUR")
    assert cap is not None
    assert (cap[0].uncertain, cap[1]) == (True, 15_000)
    se = shipped.rules_for("SE", None, now)
    assert se.required_limits == frozenset({LimitKind.DEPOSIT})
    assert se.limit_increase_delay_s == 72 * 3_600
    assert shipped.rules_for("CW", None, now).register_fail_closed is False
    mt = shipped.rules_for("MT", None, now)
    assert (mt.min_age_years, mt.kyc_required_at(Checkpoint.DEPOSIT)) == (18, None)


def test_the_demo_brand_tightens_its_markets(shipped: RuleBook) -> None:
    now = at("2026-06-01")
    assert Feature.BONUS_BUY not in shipped.rules_for("MT", None, now).banned_features_for(
        Vertical.SLOTS
    )
    assert shipped.rules_for("MT", "demo", now).banned_features_for(Vertical.SLOTS) == {
        Feature.BONUS_BUY
    }
    assert cap_minor(shipped.rules_for("GB", "demo", now), Vertical.SLOTS, 40, "GBP") == 400


def _directory(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"GB.toml": GOOD.replace('"5.00"', '"5.001"')},
         "GB.toml: rule gb.slots.stake_max.all: params.amount: amount '5.001' has more than 2 "
         "decimals for GBP"),
        ({"GB.toml": GOOD + 'colour = "red"\n'}, "GB.toml: rule gb.slots.stake_max.all: colour: "
         "unknown key"),
        ({"GB.toml": "market = \n"}, "GB.toml: not valid TOML"),
        ({"GB.toml": b"market = '\xff'"}, "GB.toml: not UTF-8"),
        ({"GB.toml": "#" * (FILE_BYTES_MAX + 1)}, f"GB.toml: larger than {FILE_BYTES_MAX} bytes"),
        ({"GB.toml": GOOD, "brands/acme.toml": '[[markets.GB.rules]]\nid = '
          '"gb.slots.stake_max.all"\nparams = { amount = "9.00" }\n'},
         "brands/acme.toml: market GB: rule gb.slots.stake_max.all: params.amount: 9.00 GBP is "
         "above the market's 5.00 GBP"),
        ({"GB.toml": GOOD, "brands/acme.toml": "[markets.GB]\nrules = 3\n"},
         "brands/acme.toml: markets.GB.rules: must be a list"),
    ],
)  # fmt: skip
def test_a_bad_file_fails_naming_the_file_rule_and_field(
    tmp_path: Path, files: dict[str, str | bytes], expected: str
) -> None:
    directory = _directory(tmp_path, files)
    with pytest.raises(RulesInvalid) as caught:
        load_rule_book(directory, CurrencyTable())
    assert str(caught.value).startswith(str(tmp_path)), caught.value
    assert expected in str(caught.value)


def test_a_missing_directory_and_other_files_beside_the_rules(tmp_path: Path) -> None:
    with pytest.raises(RulesInvalid, match="not a directory"):
        load_rule_book(tmp_path / "nothing", CurrencyTable())
    directory = _directory(tmp_path, {"GB.toml": GOOD, "README.md": "# notes"})
    assert load_rule_book(directory, CurrencyTable()).markets == ("GB",)


def test_currencies_from_the_settings_are_known_to_the_rules(tmp_path: Path) -> None:
    directory = _directory(tmp_path, {"GB.toml": GOOD.replace('"GBP"', '"XAU"')})
    with pytest.raises(RulesInvalid, match="unknown currency 'XAU'"):
        load_rule_book(directory, CurrencyTable())
    assert load_rule_book(directory, CurrencyTable({"XAU": 4})).markets == ("GB",)
