"""What the wallet's rules read: the ledger as of the current atomic step.

A store implements these reads over its own state (the SQLite writer's caches, a Redis
snapshot of one player's keys); the rules in `core.wallet.engine` and the atomic step in
`core.wallet.step` read nothing else, so every store decides alike.
"""

from __future__ import annotations

from typing import Protocol

from core.wallet.figures import PlayFigures
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
    """Everything the atomic step reads: the ledger, plus what the guard needs."""

    def session(self, token: str) -> SessionRecord | None: ...
    def figures(self, player_id: str) -> PlayFigures:
        """The player's play figures as stored (`NO_FIGURES` if none); the step rolls
        them to its time and keeps them up to date (`StepWrites.figures`)."""
        ...
