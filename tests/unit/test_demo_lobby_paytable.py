"""The demo provider's paytable: its return to player, and what one draw can give."""

from __future__ import annotations

import random

from gateway.demo_lobby.paytable import PAYTABLE, RTP_BP, WEIGHT_TOTAL, draw, paytable_rtp_bp
from gateway.demo_lobby.tiles import initials

DRAWS = 20_000


def test_the_paytable_returns_what_it_says() -> None:
    assert paytable_rtp_bp() == RTP_BP
    assert sum(line.weight for line in PAYTABLE) < WEIGHT_TOTAL
    assert len({line.symbol for line in PAYTABLE}) == len(PAYTABLE)


def test_draws_pay_whole_minor_units_of_a_paytable_line() -> None:
    rng = random.Random(11)
    multipliers = {line.multiplier_pct: line.symbol for line in PAYTABLE}
    staked = won = 0
    for _ in range(DRAWS):
        outcome = draw(rng, 100)
        staked += outcome.stake_minor
        won += outcome.win_minor
        if outcome.win_minor:
            assert outcome.win_minor == outcome.multiplier_pct
            assert outcome.symbols == (multipliers[outcome.multiplier_pct],) * 3
        else:
            assert len(set(outcome.symbols)) > 1, "a losing draw never shows three of a kind"
    assert 0.85 < won / staked < 1.07, "20,000 draws stay near 96 % (seeded, so exact)"


def test_a_win_is_rounded_down_to_the_minor_unit() -> None:
    rng = random.Random(3)
    outcomes = [draw(rng, 1) for _ in range(DRAWS)]
    half = [outcome for outcome in outcomes if outcome.multiplier_pct == 50]
    assert half
    assert all(outcome.win_minor == 0 for outcome in half)


def test_initials_take_the_first_letters_of_the_first_words() -> None:
    assert initials("Book of Gold Deluxe") == "BOG"
    assert initials("7 Sevens") == "7S"
    assert initials("   ") == "?"
    assert initials("« Éclair » royal") == "ÉR"
