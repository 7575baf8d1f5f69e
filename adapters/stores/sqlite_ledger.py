"""The wallet's state inside the SQLite writer thread: a cached `LedgerView` plus writes.

Only the writer thread touches this object. Player balances, players and recent
transaction records and rounds are cached in memory; each command's cache changes are
logged so that a rolled-back savepoint restores them exactly. Account balances are
written once per group commit as summed deltas, not once per command.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from adapters.stores.sqlite_schema import (
    TX_COLUMNS,
    player_from_row,
    player_to_row,
    round_from_row,
    round_to_row,
    session_from_row,
    tx_from_row,
    tx_to_row,
)
from core.errors import (
    ConflictingReplay,
    GatewayError,
    InvalidRequest,
    PlayerNotFound,
    StorageUnavailable,
)
from core.model import (
    Balance,
    CloseRound,
    MoneyCommand,
    TxOutcome,
    WalletCommand,
)
from core.wallet.chain import GENESIS_HASH, link_hash
from core.wallet.engine import TOMBSTONE_DETAIL, Plan, check_replay, plan, refusal_record
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord

__all__ = ["BatchRefused", "SqliteLedger"]

_MISSING: Any = object()
TX_CACHE_ENTRIES_MAX = 200_000
ROUND_CACHE_ENTRIES_MAX = 100_000

UndoLog = list[Callable[[], None]]


class SqliteLedger:
    """Cached ledger state and the SQL that persists each plan. Writer thread only."""

    def __init__(self, conn: sqlite3.Connection, clock_us: Callable[[], int]) -> None:
        self._conn = conn
        self._clock_us = clock_us
        self._players: dict[str, PlayerRecord] = {}
        self._balances: dict[tuple[str, str], tuple[int, int]] = {}
        self._txs: OrderedDict[tuple[str, str], TxRecord | None] = OrderedDict()
        self._rounds: OrderedDict[tuple[str, str], RoundRecord | None] = OrderedDict()
        self._account_deltas: dict[tuple[str, str], int] = {}
        self._undo: UndoLog = []
        self._next_seq = 1
        self._last_hash = GENESIS_HASH
        self.reload()

    # -- lifecycle ---------------------------------------------------------------

    def reload(self) -> None:
        """Forget every cache and re-read the chain head (after a failed commit)."""
        self._players.clear()
        self._balances.clear()
        self._txs.clear()
        self._rounds.clear()
        self._account_deltas.clear()
        self._undo = []
        row = self._conn.execute("SELECT seq, hash FROM txs ORDER BY seq DESC LIMIT 1").fetchone()
        self._next_seq, self._last_hash = (1, GENESIS_HASH) if row is None else (row[0] + 1, row[1])

    def begin_command(self) -> None:
        self._undo = []

    def undo_command(self) -> None:
        """Restore the caches changed since `begin_command` (the savepoint rolled back)."""
        for restore in reversed(self._undo):
            restore()
        self._undo = []

    def flush_accounts(self) -> None:
        """Write the batch's summed account deltas; called once before COMMIT."""
        if self._account_deltas:
            self._conn.executemany(
                "INSERT INTO accounts (account, currency, balance_minor) VALUES (?, ?, ?) "
                "ON CONFLICT (account, currency) DO UPDATE "
                "SET balance_minor = balance_minor + excluded.balance_minor",
                [(a, c, d) for (a, c), d in self._account_deltas.items() if d],
            )
            self._account_deltas.clear()

    # -- LedgerView ----------------------------------------------------------------

    def player(self, player_id: str) -> PlayerRecord | None:
        cached = self._players.get(player_id)
        if cached is not None:
            return cached
        row = self._conn.execute(
            "SELECT * FROM players WHERE player_id = ?", (player_id,)
        ).fetchone()
        if row is None:
            return None
        player = player_from_row(row)
        self._players[player_id] = player
        return player

    def balances(self, player_id: str, currency: str) -> tuple[int, int]:
        key = (player_id, currency)
        cached = self._balances.get(key)
        if cached is not None:
            return cached
        rows = self._conn.execute(
            "SELECT account, balance_minor FROM accounts WHERE account IN (?, ?) AND currency = ?",
            (f"player:{player_id}:real", f"player:{player_id}:bonus", currency),
        ).fetchall()
        by_account = dict(rows)
        pending = self._account_deltas
        real = by_account.get(f"player:{player_id}:real", 0)
        bonus = by_account.get(f"player:{player_id}:bonus", 0)
        real += pending.get((f"player:{player_id}:real", currency), 0)
        bonus += pending.get((f"player:{player_id}:bonus", currency), 0)
        self._balances[key] = (real, bonus)
        return real, bonus

    def tx(self, provider: str, tx_id: str) -> TxRecord | None:
        key = (provider, tx_id)
        cached = self._txs.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[no-any-return]  # -- sentinel checked above
        row = self._conn.execute(
            f"SELECT {TX_COLUMNS} FROM txs WHERE provider = ? AND tx_id = ?", (provider, tx_id)
        ).fetchone()
        record = None if row is None else tx_from_row(row)
        self._remember(self._txs, key, record, TX_CACHE_ENTRIES_MAX)
        return record

    def round(self, provider: str, round_id: str) -> RoundRecord | None:
        key = (provider, round_id)
        cached = self._rounds.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[no-any-return]  # -- sentinel checked above
        row = self._conn.execute(
            "SELECT * FROM rounds WHERE provider = ? AND round_id = ?", (provider, round_id)
        ).fetchone()
        record = None if row is None else round_from_row(row)
        self._remember(self._rounds, key, record, ROUND_CACHE_ENTRIES_MAX)
        return record

    @staticmethod
    def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, entries_max: int) -> None:
        cache[key] = value
        if len(cache) > entries_max:
            cache.popitem(last=False)

    # -- commands --------------------------------------------------------------

    def apply(
        self, commands: Sequence[WalletCommand], refusal: GatewayError | None
    ) -> list[TxOutcome]:
        """Apply a batch in the current savepoint; raise to have it rolled back."""
        now_us = self._clock_us()
        outcomes: list[TxOutcome] = []
        for command in commands:
            if isinstance(command, CloseRound):
                outcomes.append(self._close_round(command, now_us))
                continue
            try:
                replay = check_replay(command, self)
                if replay is not None:
                    outcomes.append(self._replayed(replay.record))
                    continue
                if refusal is not None:
                    raise refusal
                outcomes.append(self._write_plan(plan(command, self, self._next_seq, now_us)))
            except GatewayError as error:
                raise BatchRefused(command, error) from error
        return outcomes

    def store_refusal(self, command: MoneyCommand, error: GatewayError) -> None:
        """Persist a refusal under the command's key (conflicts are never stored)."""
        if isinstance(error, ConflictingReplay) or error.replay:
            return
        if isinstance(error, PlayerNotFound | InvalidRequest):
            return
        if self.tx(command.provider, command.tx_id) is not None:
            return  # the key already holds a tombstone or an earlier answer
        record = refusal_record(command, error, self._next_seq, self._clock_us())
        self._insert_records([record])

    def balance_of(self, player_id: str, currency: str) -> Balance:
        real, bonus = self.balances(player_id, currency)
        return Balance(currency, real, bonus)

    def _replayed(self, record: TxRecord) -> TxOutcome:
        player = self.player(record.player_id)
        currency = record.currency or (player.currency if player else "")
        return TxOutcome(
            transaction_id=record.transaction_id,
            balance=self.balance_of(record.player_id, currency),
            real_delta_minor=record.real_delta_minor,
            bonus_delta_minor=record.bonus_delta_minor,
            replay=True,
            tombstone=record.detail == TOMBSTONE_DETAIL,
        )

    def _close_round(self, command: CloseRound, now_us: int) -> TxOutcome:
        player = self.player(command.player_id)
        if player is None:
            raise BatchRefused(None, PlayerNotFound(f"unknown player {command.player_id!r}"))
        existing = self.round(command.provider, command.round_id)
        if existing is None:
            existing = RoundRecord(
                provider=command.provider, round_id=command.round_id,
                player_id=command.player_id, currency=player.currency,
                game_id=command.game_id, closed=False, stake_real_minor=0,
                stake_bonus_minor=0, win_real_minor=0, win_bonus_minor=0, bet_count=0,
                settled_before_seq=0, opened_at_us=now_us, updated_at_us=now_us,
            )  # fmt: skip
        elif existing.player_id != command.player_id:
            raise BatchRefused(None, InvalidRequest("round belongs to another player"))
        if not existing.closed:
            self._write_round(dataclasses.replace(existing, closed=True, updated_at_us=now_us))
        return TxOutcome(
            transaction_id="", balance=self.balance_of(player.player_id, player.currency)
        )

    def _write_plan(self, planned: Plan) -> TxOutcome:
        if planned.currency:
            self.balances(planned.player_id, planned.currency)  # cache before the deltas
        self._insert_records(planned.records)
        for updated in planned.updates:
            self._conn.execute(
                "UPDATE txs SET status = ? WHERE provider = ? AND tx_id = ?",
                (updated.status.value, updated.provider, updated.tx_id),
            )
            self._set(self._txs, (updated.provider, updated.tx_id), updated)
        if planned.entries:
            seq = planned.record.seq
            self._conn.executemany(
                "INSERT INTO entries (seq, account, currency, amount_minor) VALUES (?, ?, ?, ?)",
                [(seq, e.account, e.currency, e.amount_minor) for e in planned.entries],
            )
            for entry in planned.entries:
                key = (entry.account, entry.currency)
                self._set(
                    self._account_deltas, key, self._account_deltas.get(key, 0) + entry.amount_minor
                )
        for round_ in planned.rounds:
            self._write_round(round_)
        return self._outcome(planned)

    def _outcome(self, planned: Plan) -> TxOutcome:
        record = planned.record
        if planned.real_delta_minor or planned.bonus_delta_minor:
            key = (planned.player_id, planned.currency)
            real, bonus = self.balances(*key)
            self._set(
                self._balances,
                key,
                (real + planned.real_delta_minor, bonus + planned.bonus_delta_minor),
            )
        player = self.player(record.player_id)
        currency = planned.currency or (player.currency if player else "")
        self._outbox(record)
        return TxOutcome(
            transaction_id=record.transaction_id,
            balance=self.balance_of(record.player_id, currency),
            real_delta_minor=planned.real_delta_minor,
            bonus_delta_minor=planned.bonus_delta_minor,
            tombstone=record.detail == TOMBSTONE_DETAIL,
        )

    def _insert_records(self, records: list[TxRecord]) -> None:
        rows: list[tuple[Any, ...]] = []
        link = self._last_hash
        for record in records:
            assert record.seq == self._next_seq + len(rows), "seqs are dense and ordered"
            link = link_hash(link, record)
            rows.append(tx_to_row(record, link))
        self._conn.executemany(
            f"INSERT INTO txs ({TX_COLUMNS}, hash) VALUES ({', '.join('?' * 17)})", rows
        )
        self._set_chain(self._next_seq + len(rows), link)
        for record in records:
            self._set(self._txs, (record.provider, record.tx_id), record)

    def _set_chain(self, next_seq: int, last_hash: bytes) -> None:
        previous = (self._next_seq, self._last_hash)

        def restore() -> None:
            self._next_seq, self._last_hash = previous

        self._undo.append(restore)
        self._next_seq, self._last_hash = next_seq, last_hash

    def _write_round(self, round_: RoundRecord) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            round_to_row(round_),
        )
        self._set(self._rounds, (round_.provider, round_.round_id), round_)

    def _outbox(self, record: TxRecord) -> None:
        payload = orjson.dumps(
            {
                "seq": record.seq,
                "provider": record.provider,
                "tx_id": record.tx_id,
                "kind": record.kind.value,
                "detail": record.detail,
                "player_id": record.player_id,
                "currency": record.currency,
                "amount_minor": record.amount_minor,
                "real_delta_minor": record.real_delta_minor,
                "bonus_delta_minor": record.bonus_delta_minor,
                "round_id": record.round_id,
                "ref_tx_id": record.ref_tx_id,
                "created_at_us": record.created_at_us,
            }
        )
        self._conn.execute("INSERT INTO outbox (seq, payload) VALUES (?, ?)", (record.seq, payload))

    def _set(self, cache: dict[Any, Any], key: Any, value: Any) -> None:
        old = cache.get(key, _MISSING)

        def restore() -> None:
            if old is _MISSING:
                cache.pop(key, None)
            else:
                cache[key] = old

        self._undo.append(restore)
        cache[key] = value

    # -- players, sessions, reads ----------------------------------------------

    def create_player(self, player: PlayerRecord) -> PlayerRecord:
        existing = self.player(player.player_id)
        if existing is not None:
            if existing != player:
                raise ConflictingReplay("player exists with different data")
            return existing
        self._conn.execute(
            "INSERT INTO players VALUES (?, ?, ?, ?, ?, ?, ?, ?)", player_to_row(player)
        )
        self._set(self._players, player.player_id, player)
        return player

    def create_session(self, session: SessionRecord) -> None:
        self._conn.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                session.token, session.player_id, session.provider, session.game_id,
                session.currency, session.expires_at_us, session.created_at_us,
            ),
        )  # fmt: skip

    def get_session(self, token: str) -> SessionRecord | None:
        row = self._conn.execute("SELECT * FROM sessions WHERE token = ?", (token,)).fetchone()
        return None if row is None else session_from_row(row)

    def transactions(self, player_id: str, limit: int, before_seq: int | None) -> list[TxRecord]:
        rows = self._conn.execute(
            f"SELECT {TX_COLUMNS} FROM txs WHERE player_id = ? AND seq < ? "
            "ORDER BY seq DESC LIMIT ?",
            (player_id, before_seq if before_seq is not None else 2**63 - 1, limit),
        ).fetchall()
        return [self._fresh(tx_from_row(row)) for row in rows]

    def round_transactions(self, provider: str, round_id: str) -> list[TxRecord]:
        rows = self._conn.execute(
            f"SELECT {TX_COLUMNS} FROM txs WHERE provider = ? AND round_id = ? ORDER BY seq",
            (provider, round_id),
        ).fetchall()
        return [self._fresh(tx_from_row(row)) for row in rows]

    def _fresh(self, record: TxRecord) -> TxRecord:
        cached = self._txs.get((record.provider, record.tx_id))
        return cached if cached is not None else record

    def check_open(self) -> None:
        try:
            self._conn.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StorageUnavailable("wallet database is not readable") from exc


class BatchRefused(Exception):
    """A batch was refused because of `error` on `command` (None: not a money command)."""

    def __init__(self, command: MoneyCommand | None, error: GatewayError) -> None:
        super().__init__(error.message)
        self.command = command
        self.error = error
