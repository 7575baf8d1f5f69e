"""Part of `gamegate verify`: can the operator API render every record in the file?

The history and round endpoints look each record's currency up (an unknown one is a
400 for the whole page) and show its amounts. Version 3 stored refused and tombstone
rollbacks without a currency, and nothing noticed until a player's history failed;
this check states what every stored record must satisfy, as `core.wallet.engine`
writes them:

- a currency the gateway knows (the built-in table plus the configured extras), and
  so for every player and round;
- a non-negative amount;
- a refusal and a tombstone move nothing, and a tombstone carries no amount;
- a bet takes its whole amount, from real and bonus funds, and a win pays its whole
  amount into them; a deposit, withdrawal or bonus grant moves its amount on its one
  account;
- a rollback carries no amount of its own and moves exactly the reverse of the
  transaction it names, which is then rolled back (or nothing, if it found none).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from adapters.stores.sqlite_schema import TX_COLUMNS, tx_from_row
from core.model import TxKind, TxStatus
from core.money import CurrencyTable
from core.wallet.engine import TOMBSTONE_DETAIL
from core.wallet.records import TxRecord

__all__ = ["RenderCheck"]

_SELECT_TX = f"SELECT {TX_COLUMNS} FROM txs WHERE provider = ? AND tx_id = ?"
_REVERSIBLE = frozenset({TxKind.DEBIT, TxKind.CREDIT})


class RenderCheck:
    """Fed every transaction record in seq order, then `finish` for players and rounds;
    reports each record's first problem to `fail`."""

    def __init__(
        self, conn: sqlite3.Connection, currencies: CurrencyTable, fail: Callable[[str], None]
    ) -> None:
        self._conn = conn
        self._currencies = currencies
        self._fail = fail

    def record(self, record: TxRecord) -> None:
        problem = self._problem(record)
        if problem is not None:
            where = f"seq {record.seq} ({record.kind.value} {record.provider}/{record.tx_id})"
            self._fail(f"{where}: {problem}")

    def finish(self) -> None:
        for table in ("players", "rounds"):
            for (currency,) in self._conn.execute(
                f"SELECT DISTINCT currency FROM {table} ORDER BY currency"
            ):
                if currency not in self._currencies:
                    self._fail(f"{table}: unknown currency {currency!r}")

    def _problem(self, r: TxRecord) -> str | None:
        if r.currency not in self._currencies:
            return f"unknown currency {r.currency!r}"
        if r.amount_minor < 0:
            return f"amount {r.amount_minor} is negative"
        if r.status is TxStatus.REFUSED or r.status is TxStatus.TOMBSTONE:
            return _moves_nothing(r)
        if r.kind is TxKind.ROLLBACK:
            return self._rollback_problem(r)
        return _movement_problem(r)

    def _rollback_problem(self, r: TxRecord) -> str | None:
        if r.amount_minor:
            return f"a rollback carries amount {r.amount_minor}"
        if r.detail == TOMBSTONE_DETAIL:
            return _moves_nothing(r)
        row = self._conn.execute(_SELECT_TX, (r.provider, r.ref_tx_id)).fetchone()
        original = None if row is None else tx_from_row(row)
        if (
            original is None
            or original.kind not in _REVERSIBLE
            or original.status is not TxStatus.ROLLED_BACK
            or (original.player_id, original.currency) != (r.player_id, r.currency)
        ):
            return f"no rolled-back bet or win {r.ref_tx_id!r} of this player and currency"
        expected = (-original.real_delta_minor, -original.bonus_delta_minor)
        if (r.real_delta_minor, r.bonus_delta_minor) != expected:
            return (
                f"expected to reverse {original.tx_id}'s {_moved(original)} with "
                f"{_real_bonus(*expected)}, found {_moved(r)}"
            )
        return None


def _moved(r: TxRecord) -> str:
    return _real_bonus(r.real_delta_minor, r.bonus_delta_minor)


def _real_bonus(real: int, bonus: int) -> str:
    return f"real {real}, bonus {bonus}"


def _moves_nothing(r: TxRecord) -> str | None:
    if r.real_delta_minor or r.bonus_delta_minor:
        return f"a {r.status.value} record moved {_moved(r)}"
    if r.status is TxStatus.TOMBSTONE and r.amount_minor:
        return f"a tombstone carries amount {r.amount_minor}"
    return None


def _movement_problem(r: TxRecord) -> str | None:
    """A bet, win or cashier movement that went through (applied, settled, rolled back)."""
    real, bonus, amount = r.real_delta_minor, r.bonus_delta_minor, r.amount_minor
    if r.kind is TxKind.DEBIT:
        if real > 0 or bonus > 0 or real + bonus != -amount:
            return f"debit of {amount}: expected real+bonus {-amount}, found {_moved(r)}"
        return None
    if r.kind is TxKind.CREDIT:
        if real < 0 or bonus < 0 or real + bonus != amount:
            return f"credit of {amount}: expected real+bonus {amount}, found {_moved(r)}"
        return None
    expected = {
        TxKind.DEPOSIT: (amount, 0),
        TxKind.WITHDRAWAL: (-amount, 0),
        TxKind.BONUS_GRANT: (0, amount),
    }[r.kind]
    if (real, bonus) != expected:
        return f"{r.kind.value} of {amount}: expected {_real_bonus(*expected)}, found {_moved(r)}"
    return None
