"""`core.reporting.derive`: wallet records (and the facts around them) in, report events
and balances out. One scenario a row: the records of a batch, the facts the reader
found, and the events expected as (seq, part, kind, tx_id, real delta, bonus delta,
real after, bonus after, detail, ref_seq)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.catalogue.game import Game, GameKey, Vertical
from core.errors import Reason
from core.model import TxKind, TxStatus
from core.reporting.derive import balance_keys, derive
from core.reporting.events import EventKind, ReportEvent
from core.reporting.wallet_log import PlayerFacts, RefFacts, RoundFacts, WalletBatch
from core.wallet.records import TxRecord

P = "prov"
AT_US = 1_800_000_000_000_000
D, C, RB = TxKind.DEBIT, TxKind.CREDIT, TxKind.ROLLBACK
BET, WIN, ROLLBACK, SETTLED = EventKind.BET, EventKind.WIN, EventKind.ROLLBACK, EventKind.SETTLED
ROLLED_BACK, REFUSAL, REOPENED = EventKind.ROLLED_BACK, EventKind.REFUSAL, EventKind.REOPENED
PLAYERS = {"p1": PlayerFacts("brand-a", "MT", "EUR"), "p2": PlayerFacts("brand-b", "SE", "SEK")}
GAMES = {GameKey(P, "g-slot"): Game(instance=P, code="g-slot", title="S", studio="S",
                                    vertical=Vertical.SLOTS)}  # fmt: skip


def rec(
    seq: int,
    kind: TxKind,
    tx_id: str,
    real: int = 0,
    bonus: int = 0,
    *,
    amount: int | None = None,
    ref: str | None = None,
    round_id: str | None = "r1",
    status: TxStatus = TxStatus.APPLIED,
    reason: Reason | None = None,
    detail: str = "",
    player: str = "p1",
    currency: str = "EUR",
    provider: str = P,
) -> TxRecord:
    if amount is None:
        amount = 0 if kind is RB else abs(real + bonus)
    if kind is C and not detail and status is not TxStatus.REFUSED:
        detail = "win"
    return TxRecord(
        seq, provider, tx_id, kind, player, currency, amount, real, bonus, round_id, ref, b"",
        status, reason, AT_US + seq, detail,
    )  # fmt: skip


@dataclass
class Case:
    name: str
    records: list[TxRecord]
    expected: list[tuple[object, ...]]
    rounds: dict[tuple[str, str], RoundFacts] = field(default_factory=dict)
    refs: dict[tuple[str, str], RefFacts] = field(default_factory=dict)
    before: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    after: dict[tuple[str, str], tuple[int, int]] | None = None


Pairs = tuple[tuple[int, str], ...]


def round1(
    settled_before: int = 0, bets: Pairs = (), credits: Pairs = ()
) -> dict[tuple[str, str], RoundFacts]:
    return {(P, "r1"): RoundFacts("g-slot", settled_before, bets, credits)}


def ref(
    seq: int, kind: TxKind = D, status: TxStatus = TxStatus.APPLIED, names: str | None = None
) -> RefFacts:
    return RefFacts(seq, kind, status, names)


def reopen_case(
    name: str, rounds: dict[tuple[str, str], RoundFacts], reopens: bool, bet_seq: int = 5
) -> Case:
    """A rollback at seq 21 of win w1 (seq 6) that named bet b1."""
    expected: list[tuple[object, ...]] = [
        (21, 0, ROLLBACK, "rbw", -150, 0, -50, 0, "", 6),
        (21, 1, ROLLED_BACK, "w1", 0, 0, -50, 0, "", 6),
    ]
    if reopens:
        expected.append((21, 2, REOPENED, "b1", 0, 0, -50, 0, "", bet_seq))
    return Case(
        name,
        [rec(21, RB, "rbw", -150, ref="w1")],
        expected,
        rounds=rounds,
        refs={
            (P, "w1"): ref(6, kind=C, status=TxStatus.ROLLED_BACK, names="b1"),
            (P, "b1"): ref(bet_seq),
        },
        before={("p1", "EUR"): (100, 0)},
    )


CASES = [
    Case(
        "cashier movements have their own kinds and no game",
        [
            rec(1, TxKind.DEPOSIT, "dep", 1_000, round_id=None, provider="_cashier"),
            rec(2, TxKind.BONUS_GRANT, "bg", 0, 300, round_id=None, provider="_cashier"),
            rec(3, TxKind.WITHDRAWAL, "wd", -400, round_id=None, provider="_cashier"),
        ],
        [
            (1, 0, EventKind.DEPOSIT, "dep", 1_000, 0, 1_000, 0, "", None),
            (2, 0, EventKind.BONUS_GRANT, "bg", 0, 300, 1_000, 300, "", None),
            (3, 0, EventKind.WITHDRAWAL, "wd", -400, 0, 600, 300, "", None),
        ],
        after={("p1", "EUR"): (600, 300)},
    ),
    Case(
        "a bet, then a win naming it settles it",
        [rec(5, D, "b1", -80, -20), rec(6, C, "w1", 150, 50, ref="b1")],
        [
            (5, 0, BET, "b1", -80, -20, 920, 280, "", None),
            (6, 0, WIN, "w1", 150, 50, 1_070, 330, "win", None),
            (6, 1, SETTLED, "b1", 0, 0, 1_070, 330, "", 5),
        ],
        rounds=round1(),
        refs={(P, "b1"): ref(5)},
        before={("p1", "EUR"): (1_000, 300)},
        after={("p1", "EUR"): (1_070, 330)},
    ),
    Case(
        "the status a record has now does not change its events",
        [
            rec(5, D, "b1", -100, status=TxStatus.ROLLED_BACK),
            rec(6, D, "b2", -50, status=TxStatus.SETTLED),
        ],
        [
            (5, 0, BET, "b1", -100, 0, -100, 0, "", None),
            (6, 0, BET, "b2", -50, 0, -150, 0, "", None),
        ],
        rounds=round1(),
    ),
    Case(
        "a win naming a bet that came later, a refused bet or a tombstone settles nothing",
        [
            rec(5, C, "w1", 10, ref="late"),
            rec(6, C, "w2", 10, ref="refused"),
            rec(7, C, "w3", 10, ref="gone"),
            rec(8, C, "w4", 10, ref="missing"),
        ],
        [
            (5, 0, WIN, "w1", 10, 0, 10, 0, "win", None),
            (6, 0, WIN, "w2", 10, 0, 20, 0, "win", None),
            (7, 0, WIN, "w3", 10, 0, 30, 0, "win", None),
            (8, 0, WIN, "w4", 10, 0, 40, 0, "win", None),
        ],
        rounds=round1(),
        refs={
            (P, "late"): ref(9),
            (P, "refused"): ref(2, status=TxStatus.REFUSED),
            (P, "gone"): ref(3, status=TxStatus.TOMBSTONE),
        },
    ),
    Case(
        "a round-level win the round records settles every standing bet before it",
        [rec(10, C, "w", 500)],
        [
            (10, 0, WIN, "w", 500, 0, 500, 0, "win", None),
            (10, 1, SETTLED, "b1", 0, 0, 500, 0, "", 3),
            (10, 2, SETTLED, "b2", 0, 0, 500, 0, "", 7),
        ],
        rounds=round1(10, bets=((3, "b1"), (7, "b2")), credits=((10, "win"),)),
    ),
    Case(
        "a credit naming no bet after the round's last settlement settled nothing",
        [rec(12, C, "promo", 500, detail="promo")],
        [(12, 0, WIN, "promo", 500, 0, 500, 0, "promo", None)],
        rounds=round1(10, bets=((3, "b1"),), credits=((10, "win"), (12, "promo"))),
    ),
    Case(
        "a credit naming no bet before the round's last settlement: a win settled, a "
        "jackpot did not; the later win settles only the bets since the earlier one",
        [
            rec(4, C, "jp", 50, detail="jackpot"),
            rec(6, C, "w1", 10),
            rec(7, D, "b3", -5),
            rec(8, C, "w2", 10),
        ],
        [
            (4, 0, WIN, "jp", 50, 0, 50, 0, "jackpot", None),
            (6, 0, WIN, "w1", 10, 0, 60, 0, "win", None),
            (6, 1, SETTLED, "b1", 0, 0, 60, 0, "", 2),
            (6, 2, SETTLED, "b2", 0, 0, 60, 0, "", 5),
            (7, 0, BET, "b3", -5, 0, 55, 0, "", None),
            (8, 0, WIN, "w2", 10, 0, 65, 0, "win", None),
            (8, 1, SETTLED, "b3", 0, 0, 65, 0, "", 7),
        ],
        rounds=round1(
            8,
            bets=((2, "b1"), (5, "b2"), (7, "b3")),
            credits=((4, "jackpot"), (6, "win"), (8, "win")),
        ),
    ),
    Case(
        "a rollback gives back what its bet took and marks the bet rolled back",
        [rec(20, RB, "rb", 80, 20, ref="b1")],
        [
            (20, 0, ROLLBACK, "rb", 80, 20, 180, 20, "", 5),
            (20, 1, ROLLED_BACK, "b1", 0, 0, 180, 20, "", 5),
        ],
        rounds=round1(),
        refs={(P, "b1"): ref(5, status=TxStatus.ROLLED_BACK)},
        before={("p1", "EUR"): (100, 0)},
    ),
    Case(
        "a rollback of a win takes the win back, and may leave a debt",
        [rec(21, RB, "rbw", -150, ref="w1")],
        [
            (21, 0, ROLLBACK, "rbw", -150, 0, -50, 0, "", 6),
            (21, 1, ROLLED_BACK, "w1", 0, 0, -50, 0, "", 6),
        ],
        rounds=round1(),
        refs={(P, "w1"): ref(6, kind=C, status=TxStatus.ROLLED_BACK)},
        before={("p1", "EUR"): (100, 0)},
    ),
    reopen_case(
        "a rollback of a win that settled the bet it named reopens the bet", round1(), True
    ),
    reopen_case(
        "a round-level settlement after the rollback does not undo the reopening",
        round1(settled_before=30),
        True,
    ),
    reopen_case(
        "a bet the round settled since is not reopened (the round's last settlement)",
        round1(settled_before=8, credits=((8, "win"),)),
        False,
    ),
    reopen_case(
        "a bet the round settled since is not reopened (an earlier round-level win)",
        round1(settled_before=30, credits=((8, "win"),)),
        False,
    ),
    reopen_case(
        "a round-level bonus win before the round's last settlement settled nothing",
        round1(settled_before=30, credits=((8, "bonus_win"),)),
        True,
    ),
    reopen_case(
        "a win that named a bet placed after it settled nothing, so reopens nothing",
        round1(),
        False,
        bet_seq=7,
    ),
    Case(
        "a rollback before its bet: the rollback reverses nothing, the tombstone under "
        "the bet's key says the bet is rolled back",
        [
            rec(30, RB, "rb", ref="late", detail="tombstone"),
            rec(31, D, "late", ref="rb", amount=0, status=TxStatus.TOMBSTONE, detail="tombstone"),
        ],
        [
            (30, 0, ROLLBACK, "rb", 0, 0, 0, 0, "tombstone", 31),
            (31, 0, ROLLED_BACK, "late", 0, 0, 0, 0, "tombstone", 31),
        ],
        rounds=round1(),
        refs={(P, "late"): ref(31, status=TxStatus.TOMBSTONE)},
    ),
    Case(
        "a rollback of a refused bet reverses nothing either",
        [rec(32, RB, "rb", ref="refused", detail="tombstone")],
        [(32, 0, ROLLBACK, "rb", 0, 0, 0, 0, "tombstone", 4)],
        rounds=round1(),
        refs={(P, "refused"): ref(4, status=TxStatus.REFUSED)},
    ),
    Case(
        "refusals move nothing and carry their reason; a refused credit settles nothing",
        [
            rec(40, D, "b", amount=500, status=TxStatus.REFUSED, reason=Reason.INSUFFICIENT_FUNDS),
            rec(
                41,
                C,
                "w",
                amount=70,
                ref="b",
                status=TxStatus.REFUSED,
                reason=Reason.ALREADY_ROLLED_BACK,
                detail="win",
            ),
            rec(42, RB, "rb", ref="x", status=TxStatus.REFUSED, reason=Reason.ALREADY_SETTLED),
        ],
        [
            (40, 0, REFUSAL, "b", 0, 0, 10, 0, "", None),
            (41, 0, REFUSAL, "w", 0, 0, 10, 0, "win", None),
            (42, 0, REFUSAL, "rb", 0, 0, 10, 0, "", None),
        ],
        rounds=round1(),
        refs={(P, "b"): ref(39)},
        before={("p1", "EUR"): (10, 0)},
    ),
    Case(
        "players and currencies keep their own balances; a record without a currency is "
        "shown in the wallet's",
        [
            rec(50, D, "b1", -10, player="p1"),
            rec(51, D, "b2", -20, player="p2", currency="SEK"),
            rec(52, RB, "rb", ref="b9", player="p2", currency="", detail="tombstone"),
        ],
        [
            (50, 0, BET, "b1", -10, 0, 90, 0, "", None),
            (51, 0, BET, "b2", -20, 0, 980, 0, "", None),
            (52, 0, ROLLBACK, "rb", 0, 0, 980, 0, "tombstone", None),
        ],
        rounds=round1(),
        before={("p1", "EUR"): (100, 0), ("p2", "SEK"): (1_000, 0)},
        after={("p1", "EUR"): (90, 0), ("p2", "SEK"): (980, 0)},
    ),
]


def _batch(case: Case) -> WalletBatch:
    last = case.records[-1].seq if case.records else 0
    return WalletBatch(case.records, last, last, None, PLAYERS, case.rounds, case.refs)


def _shown(event: ReportEvent) -> tuple[object, ...]:
    return (
        event.seq, event.part, event.kind, event.tx_id, event.real_delta_minor,
        event.bonus_delta_minor, event.real_after_minor, event.bonus_after_minor, event.detail,
        event.ref_seq,
    )  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_events_of_a_batch(case: Case) -> None:
    derived = derive(_batch(case), case.before, GAMES.get)
    assert [_shown(event) for event in derived.events] == case.expected
    if case.after is not None:
        assert derived.balances == case.after
    keys = {(e.player_id, e.currency) for e in derived.events}
    assert set(balance_keys(_batch(case))) == keys == set(derived.balances)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_deltas_sum_to_the_balance_moves_and_state_changes_move_nothing(case: Case) -> None:
    derived = derive(_batch(case), case.before, GAMES.get)
    for key, (real, bonus) in derived.balances.items():
        mine = [e for e in derived.events if (e.player_id, e.currency) == key]
        before = case.before.get(key, (0, 0))
        assert sum(e.real_delta_minor for e in mine) == real - before[0]
        assert sum(e.bonus_delta_minor for e in mine) == bonus - before[1]
    for event in derived.events:
        if event.part or event.kind in (REFUSAL, ROLLED_BACK):
            assert (event.real_delta_minor, event.bonus_delta_minor) == (0, 0)


def test_enrichment_from_the_player_the_round_and_the_catalogue() -> None:
    rounds = {(P, "r1"): RoundFacts("g-slot", 0), (P, "r2"): RoundFacts("g-new", 0)}
    records = [
        rec(1, D, "b1", -10, round_id="r1"),
        rec(2, D, "b2", -10, round_id="r2"),
        rec(3, C, "w", 5, round_id="r3", detail="bonus_win"),
        rec(4, D, "b4", -1, player="nobody"),
    ]
    batch = WalletBatch(records, 4, 9, AT_US + 5, PLAYERS, rounds, {})
    events = derive(batch, {}, GAMES.get).events
    shown = [(e.brand, e.market, e.currency, e.game_id, e.vertical, e.round_id, e.at_us)
             for e in events]  # fmt: skip
    assert shown == [
        ("brand-a", "MT", "EUR", "g-slot", "slots", "r1", AT_US + 1),
        ("brand-a", "MT", "EUR", "g-new", "", "r2", AT_US + 2),
        ("brand-a", "MT", "EUR", "", "", "r3", AT_US + 3),
        ("", "", "EUR", "g-slot", "slots", "r1", AT_US + 4),
    ]
    assert (events[2].amount_minor, events[2].provider) == (5, P)


def test_an_empty_batch_has_no_events() -> None:
    assert derive(WalletBatch((), 7, 7, None, {}, {}, {}), {}, GAMES.get) == ([], {})
