"""One history both wallet readers are tested on: the rollback of a win reopens the bet
the win settled, unless a round-level win has settled the bet's round since."""

from __future__ import annotations

from core.model import Credit, Debit, Rollback
from core.reporting.derive import derive
from core.reporting.events import EventKind
from core.reporting.wallet_log import WalletBatch
from core.wallet.store import WalletStore

__all__ = ["assert_reopened", "play_reopening"]

P = "prov"


async def play_reopening(wallet: WalletStore, player_id: str, currency: str) -> None:
    """r4: a bet, a win naming it, the win's rollback (reopens), a win again (settles);
    r5: a bet, a win naming it, a round-level win, the first win's rollback (the round
    keeps the bet settled)."""
    for round_id in ("r4", "r5"):
        bet, win = f"b-{round_id}", f"w-{round_id}"
        await wallet.apply([Debit(P, bet, player_id, currency, 100, round_id, "g-slot")])
        await wallet.apply(
            [Credit(P, win, player_id, currency, 30, round_id, "g-slot", ref_tx_id=bet)]
        )
        if round_id == "r5":
            await wallet.apply([Credit(P, "wr-r5", player_id, currency, 5, round_id, "g-slot")])
        await wallet.apply([Rollback(P, f"rb-{round_id}", player_id, win, round_id)])
    await wallet.apply([Credit(P, "w2-r4", player_id, currency, 40, "r4", "g-slot",
                               ref_tx_id="b-r4")])  # fmt: skip


def assert_reopened(batch: WalletBatch) -> None:
    """The state changes derive finds in `batch`, which holds the whole history."""
    seqs = {r.tx_id: r.seq for r in batch.records}
    events = derive(batch, {}, lambda key: None).events
    changes = [
        (e.seq, e.part, e.kind, e.tx_id, e.ref_seq)
        for e in events
        if e.part > 0 and e.round_id in ("r4", "r5")
    ]
    r4, r5 = seqs["b-r4"], seqs["b-r5"]
    assert sorted(changes) == sorted([
        (seqs["w-r4"], 1, EventKind.SETTLED, "b-r4", r4),
        (seqs["rb-r4"], 1, EventKind.ROLLED_BACK, "w-r4", seqs["w-r4"]),
        (seqs["rb-r4"], 2, EventKind.REOPENED, "b-r4", r4),
        (seqs["w2-r4"], 1, EventKind.SETTLED, "b-r4", r4),
        (seqs["w-r5"], 1, EventKind.SETTLED, "b-r5", r5),
        (seqs["wr-r5"], 1, EventKind.SETTLED, "b-r5", r5),
        (seqs["rb-r5"], 1, EventKind.ROLLED_BACK, "w-r5", seqs["w-r5"]),
    ])  # fmt: skip
