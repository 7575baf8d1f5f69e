"""What the wallet's rules read: the ledger as of the current atomic step.

A store implements these reads over its own state (the SQLite writer's caches, a Redis
snapshot of one player's keys); the rules in `core.wallet.engine` and the atomic step in
`core.wallet.step` read nothing else, so every store decides alike.
"""

from __future__ import annotations

from typing import Protocol

from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord

__all__ = ["LedgerView", "StepView"]


class LedgerView(Protocol):
    """Read access to the state a plan depends on, as of the current atomic step."""

    def player(self, player_id: str) -> PlayerRecord | None: ...
    def balances(self, player_id: str, currency: str) -> tuple[int, int]:
        """(real, bonus) in minor units; (0, 0) for an account never moved."""
        ...

    def tx(self, provider: str, tx_id: str) -> TxRecord | None: ...
    def round(self, provider: str, round_id: str) -> RoundRecord | None: ...


class StepView(LedgerView, Protocol):
    """Everything the atomic step reads: the ledger, plus what the debit guard needs.

    Adding a figure for the compliance checks (a player's wagers or net losses in a
    day/week/month window, the time of their last bet per vertical) is three steps, and
    no store's rules change:

    1. a method here that names the figure exactly, e.g.
       `def wagered_minor(self, player_id: str, currency: str, since_us: int) -> int`
       (debits less their rollbacks since `since_us`), or
       `def last_bet_us(self, player_id: str, vertical: str) -> int | None`;
    2. each store answers it from what it keeps (SQLite: a per-player, per-period
       aggregate maintained next to its balances; Redis: a counter in the player's hash
       slot), and `core.wallet.step`'s overlay adds the job's own earlier debits to it,
       so the second bet of a batch counts the first;
    3. the guard reads it: `DebitCheck` gains the view as a last argument
       (`check(player, session, debit, view)`), which the step already holds, and a
       limit check calls `view.wagered_minor(...)`. The guard runs inside the atomic
       step, so the figure and the debit it admits are one state: no window in which
       two bets both fit under a limit that only one fits under.
    """

    def session(self, token: str) -> SessionRecord | None: ...
