"""The wallet's records as report events: pure, from a `WalletBatch` and the balances
before it.

One event per record (part 0), and one per state change the record made in place
(parts 1, 2, ...):

- a refused record: `refusal` with its reason code, no money;
- a debit: `bet`; a credit: `win` (`detail`: the credit kind) and a `settled` event for
  each bet it settled; a rollback: `rollback` (its deltas give back what the reversed
  record moved; `detail` `tombstone` when it reversed nothing), a `rolled_back` event
  for the record it reversed and, for a win that had settled the bet it named, a
  `reopened` event for that bet (the wallet puts it back to open, unless its round has
  settled it since: `_reopened`);
- a tombstone (the placeholder a rollback that came first leaves under the late bet's
  key): `rolled_back` with `detail` `tombstone` and `ref_seq` its own seq. It moves no
  money and is no bet, but it is a seq of the log (every seq has an event, so "each seq
  exactly once" is checkable) and it says what the wallet decided: that bet id is
  rolled back, and the bet, should it come, is refused without a record;
- deposits, withdrawals and bonus grants: their own kinds.

Records are read some time after they were written, when their status may have moved on
(settled, rolled back, reopened): events come from what never changes (kind, amounts,
deltas, references, seqs), and from the status only where it is final at insert
(`refused`, `tombstone`). Which bets a credit without a reference settled is not on the
record either (it depends on the command's `requires_bet`): the round's last round-level
settlement tells for the last one, and a `win` or `refund` is taken to settle for
earlier ones (`_settles_round`). A `settled` event means "settled by this seq at the
latest": a bet may get another one (a win that named it, then a round-level win), and
so may a `reopened` one (two wins named it, both rolled back). What holds is the last
of a bet's `settled` and `reopened` events by seq: one player's records, and so one
bet's events, are in seq order on every wallet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from core.catalogue.game import Game, GameKey
from core.model import TxKind, TxStatus
from core.reporting.events import EventKind, ReportEvent
from core.reporting.wallet_log import PlayerFacts, RefFacts, RoundFacts, WalletBatch
from core.wallet.records import TxRecord

__all__ = [
    "ROUND_SETTLING_KINDS",
    "TOMBSTONE_DETAIL",
    "Balances",
    "Derived",
    "GameLookup",
    "balance_keys",
    "derive",
]

TOMBSTONE_DETAIL = "tombstone"
"""`core.wallet.engine.TOMBSTONE_DETAIL`, as the records carry it."""
ROUND_SETTLING_KINDS = frozenset({"win", "refund"})
"""Credit kinds taken to have settled their round when the round's record no longer
says (a later round-level credit moved it on): the kinds protocols send as the result
of a round; bonus wins, jackpots and promos usually come without a bet to settle."""

Balances = Mapping[tuple[str, str], tuple[int, int]]
"""(player_id, currency) -> (real, bonus) in minor units."""
GameLookup = Callable[[GameKey], Game | None]

_KINDS = {
    TxKind.DEBIT: EventKind.BET,
    TxKind.CREDIT: EventKind.WIN,
    TxKind.ROLLBACK: EventKind.ROLLBACK,
    TxKind.DEPOSIT: EventKind.DEPOSIT,
    TxKind.WITHDRAWAL: EventKind.WITHDRAWAL,
    TxKind.BONUS_GRANT: EventKind.BONUS_GRANT,
}
_NO_PLAYER = PlayerFacts("", "", "")


class Derived(NamedTuple):
    events: list[ReportEvent]
    balances: dict[tuple[str, str], tuple[int, int]]
    """The balances after the batch, of every (player, currency) it names."""


def balance_keys(batch: WalletBatch) -> list[tuple[str, str]]:
    """The (player, currency) balances `derive` needs, in first-seen order."""
    keys: dict[tuple[str, str], None] = {}
    players = batch.players
    for r in batch.records:
        keys[(r.player_id, r.currency or players.get(r.player_id, _NO_PLAYER).currency)] = None
    return list(keys)


def derive(batch: WalletBatch, balances: Balances, games: GameLookup) -> Derived:
    """The events of `batch.records` and the balances after them; `balances` holds
    those before the batch (a key absent: (0, 0))."""
    running: dict[tuple[str, str], tuple[int, int]] = {}
    events: list[ReportEvent] = []
    verticals: dict[tuple[str, str], str] = {}
    for r in batch.records:
        player = batch.players.get(r.player_id, _NO_PLAYER)
        currency = r.currency or player.currency
        key = (r.player_id, currency)
        real, bonus = running[key] if key in running else balances.get(key, (0, 0))
        real += r.real_delta_minor
        bonus += r.bonus_delta_minor
        running[key] = (real, bonus)
        round_ = None if r.round_id is None else batch.rounds.get((r.provider, r.round_id))
        game_id = "" if round_ is None else round_.game_id
        kind, reason, detail, ref_seq = _own(r, batch)
        vertical = _vertical(verticals, games, r.provider, game_id)
        event = ReportEvent(
            r.seq, 0, r.created_at_us, kind, r.player_id, player.brand, player.market,
            currency, r.provider, r.tx_id, game_id, vertical,
            r.round_id or "", r.amount_minor, r.real_delta_minor, r.bonus_delta_minor, real, bonus,
            reason, detail, ref_seq,
        )  # fmt: skip
        events.append(event)
        for part, (change, tx_id, seq) in enumerate(_changes(r, batch, round_), start=1):
            events.append(
                event._replace(
                    part=part, kind=change, tx_id=tx_id, amount_minor=0, real_delta_minor=0,
                    bonus_delta_minor=0, reason="", detail="", ref_seq=seq,
                )
            )  # fmt: skip
    return Derived(events, running)


def _own(r: TxRecord, batch: WalletBatch) -> tuple[EventKind, str, str, int | None]:
    """The kind, reason, detail and `ref_seq` of the record's own event."""
    if r.status is TxStatus.REFUSED:
        return EventKind.REFUSAL, "" if r.reason is None else r.reason.value, r.detail, None
    if r.status is TxStatus.TOMBSTONE:
        return EventKind.ROLLED_BACK, "", TOMBSTONE_DETAIL, r.seq
    if r.kind is TxKind.ROLLBACK:
        ref = None if r.ref_tx_id is None else batch.refs.get((r.provider, r.ref_tx_id))
        return EventKind.ROLLBACK, "", r.detail, None if ref is None else ref.seq
    return _KINDS[r.kind], "", r.detail if r.kind is TxKind.CREDIT else "", None


def _changes(
    r: TxRecord, batch: WalletBatch, round_: RoundFacts | None
) -> list[tuple[EventKind, str, int]]:
    """(kind, tx_id, ref_seq) of each state change record `r` made to other records."""
    if r.status is TxStatus.REFUSED or r.status is TxStatus.TOMBSTONE:
        return []
    if r.kind is TxKind.CREDIT:
        return [(EventKind.SETTLED, tx_id, seq) for seq, tx_id in _settled(r, batch, round_)]
    if r.kind is not TxKind.ROLLBACK or r.detail == TOMBSTONE_DETAIL or r.ref_tx_id is None:
        return []
    reversed_ = batch.refs.get((r.provider, r.ref_tx_id))
    if reversed_ is None:
        return []
    reopened = _reopened(r, reversed_, batch, round_)
    return [(EventKind.ROLLED_BACK, r.ref_tx_id, reversed_.seq), *reopened]


def _reopened(
    r: TxRecord, win: RefFacts, batch: WalletBatch, round_: RoundFacts | None
) -> list[tuple[EventKind, str, int]]:
    """The `reopened` change of rollback `r` of credit `win`: the bet the credit named,
    if the credit settled it (as `_settled` has it), and no round-level settlement came
    between the bet and the rollback (the wallet counts such a bet settled whatever its
    status, `core.wallet.engine._is_settled`). Emitted even when another rollback has
    reopened the bet already: a bet's last `settled`/`reopened` event is what holds.
    The round is the rollback's, the round of the win, which is the bet's."""
    if win.kind is not TxKind.CREDIT or win.ref_tx_id is None:
        return []
    bet = _bet_named(r.provider, win.ref_tx_id, win.seq, batch)
    if bet is None:
        return []
    if round_ is not None and _round_settled_between(bet.seq, r.seq, round_):
        return []
    return [(EventKind.REOPENED, win.ref_tx_id, bet.seq)]


def _bet_named(
    provider: str, bet_tx_id: str, credit_seq: int, batch: WalletBatch
) -> RefFacts | None:
    """The bet a credit names, if the key held a live bet when the credit came (a lower
    seq: a bet that came later was not there to settle; a refused or a tombstone key
    held none)."""
    bet = batch.refs.get((provider, bet_tx_id))
    if (
        bet is None
        or bet.kind is not TxKind.DEBIT
        or bet.status in (TxStatus.REFUSED, TxStatus.TOMBSTONE)
        or bet.seq > credit_seq
    ):
        return None
    return bet


def _round_settled_between(after_seq: int, before_seq: int, round_: RoundFacts) -> bool:
    """Whether a round-level settlement came between the two seqs (the round's last one,
    or one of its earlier credits without a reference, as `_settles_round` decides)."""
    if after_seq < round_.settled_before_seq < before_seq:
        return True
    return any(
        after_seq < seq < before_seq and _settles_round(seq, kind, round_)
        for seq, kind in round_.round_credits
    )


def _vertical(
    verticals: dict[tuple[str, str], str], games: GameLookup, provider: str, game_id: str
) -> str:
    """The game's vertical, '' when the catalogue does not know it (asked once a batch)."""
    key = (provider, game_id)
    vertical = verticals.get(key)
    if vertical is None:
        game = games(GameKey(provider, game_id)) if game_id else None
        vertical = verticals[key] = "" if game is None else game.vertical.value
    return vertical


def _settled(r: TxRecord, batch: WalletBatch, round_: RoundFacts | None) -> list[tuple[int, str]]:
    """The (seq, tx_id) of the bets credit `r` settled.

    A credit naming a bet settles it, if the key held a live bet when the credit came
    (`_bet_named`). One naming nothing settles, if it settled its round, the
    round's bets since the round's previous settlement that were not rolled back (a
    bet rolled back after the settlement cannot be: the wallet refuses that).
    """
    if r.ref_tx_id is not None:
        bet = _bet_named(r.provider, r.ref_tx_id, r.seq, batch)
        return [] if bet is None else [(bet.seq, r.ref_tx_id)]
    if round_ is None or not _settles_round(r.seq, r.detail, round_):
        return []
    since = max(
        (seq for seq, kind in round_.round_credits
         if seq < r.seq and _settles_round(seq, kind, round_)),
        default=0,
    )  # fmt: skip
    return [(seq, tx_id) for seq, tx_id in round_.bets if since < seq < r.seq]


def _settles_round(seq: int, credit_kind: str, round_: RoundFacts) -> bool:
    """Whether the credit without a reference at `seq` settled its round's bets.

    The round records its last round-level settlement: at `seq`, it did; before it, it
    did not; after it, the record has moved on and the credit's kind decides."""
    if round_.settled_before_seq == seq:
        return True
    if round_.settled_before_seq < seq:
        return False
    return credit_kind in ROUND_SETTLING_KINDS
