"""What the compliance path costs per bet, in process: the guard's check of one debit.

`bench_gateway` compares whole requests with the market rules on and off, but a request
costs ~400 µs on these machines and the runs drift by 10 %, so a few microseconds
drown. This measures the check itself (`Compliance.check_movement`, as the wallet's
guard calls it inside the atomic step) for a debit on a slot, with the shipped rules of
a market and a player with limits, against the check with no rule book (the account
alone), interleaved in one run.

    python -m loadtests.bench_compliance                 # GB, MT and DE, 200,000 checks each
    python -m loadtests.bench_compliance --markets GB --checks 1000000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from adapters.jurisdictions import load_rule_book
from core.catalogue.game import Game, Vertical
from core.compliance import Compliance
from core.errors import GatewayError
from core.limits import Limit, LimitKind, LimitPeriod
from core.model import Debit, KycState
from core.money import CurrencyTable
from core.wallet.figures import NO_FIGURES, moved, rolled
from core.wallet.records import PlayerRecord, SessionRecord
from core.wallet.store import GuardContext

RULES_DIR = Path(__file__).parents[1] / "config" / "jurisdictions"
CURRENCY = {"GB": "GBP", "MT": "EUR", "DE": "EUR", "NL": "EUR", "SE": "SEK", "CA-ON": "CAD"}
NOW_US = 1_780_000_000_000_000  # 2026-05-28
REPEATS = 5


def _context(market: str, *, with_limits: bool) -> tuple[Debit, GuardContext, Game]:
    currency = CURRENCY[market]
    limits = (
        (
            Limit(LimitKind.DEPOSIT, LimitPeriod.MONTH, 10**9),
            Limit(LimitKind.LOSS, LimitPeriod.DAY, 10**9),
            Limit(LimitKind.WAGER, LimitPeriod.WEEK, 10**9),
            Limit(LimitKind.SESSION_TIME, LimitPeriod.DAY, 86_400),
        )
        if with_limits
        else ()
    )
    player = PlayerRecord(
        "p1", "acme", market, currency, date(1980, 1, 1), kyc=KycState.VERIFIED, limits=limits
    )
    session = SessionRecord("tok", "p1", "gamegate", "slot", currency, NOW_US + 10**9, NOW_US,
                            vertical="slots")  # fmt: skip
    game = Game(instance="gamegate", code="slot", title="Slot", studio="S",
                vertical=Vertical.SLOTS, markets=frozenset(CURRENCY))  # fmt: skip
    figures = moved(rolled(NO_FIGURES, NOW_US - 10**7), NOW_US - 10**7, wagered_minor=100,
                    lost_minor=100, bet=True, cycle_vertical="slots")  # fmt: skip
    debit = Debit("gamegate", "tx", "p1", currency, 50, "r2", "slot")
    return debit, GuardContext(player, session, figures, True, 0, NOW_US), game


def _per_check_us(
    compliance: Compliance, debit: Debit, context: GuardContext, game: Game, checks: int
) -> float:
    check = compliance.check_movement
    started = time.perf_counter()
    for _ in range(checks):
        check(debit, context, game)
    return (time.perf_counter() - started) / checks * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--markets", default="GB,MT,DE")
    parser.add_argument("--checks", type=int, default=200_000)
    args = parser.parse_args(argv)
    book = load_rule_book(RULES_DIR, CurrencyTable())
    ruled = Compliance(book.rules_for)
    bare = Compliance()
    print(f"{'market':8} {'limits':7} {'rules off µs':>13} {'rules on µs':>12} {'added µs':>9}")
    for market in args.markets.split(","):
        for with_limits in (False, True):
            debit, context, game = _context(market, with_limits=with_limits)
            try:
                ruled.check_movement(debit, context, game)
            except GatewayError as refused:  # DE wants a deposit limit set before play
                print(f"{market:8} {with_limits!s:7} refused: {refused.reason.value}")
                continue
            off: list[float] = []
            on: list[float] = []
            for _ in range(REPEATS):  # interleaved, so drift spreads over both
                off.append(_per_check_us(bare, debit, context, game, args.checks))
                on.append(_per_check_us(ruled, debit, context, game, args.checks))
            off_us, on_us = statistics.median(off), statistics.median(on)
            print(f"{market:8} {with_limits!s:7} {off_us:13.2f} {on_us:12.2f} "
                  f"{on_us - off_us:9.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
