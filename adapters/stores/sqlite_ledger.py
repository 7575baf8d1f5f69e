"""The wallet's state inside the SQLite writer thread: a cached `LedgerView` plus writes.

Only the writer thread touches this object. Players, player balances, recent
transaction records and rounds are cached in memory, and what a batch will look up is
loaded in bulk before it runs (`sqlite_prefetch`), so a command is decided without a
query of its own. What a command writes is staged (rows per table) and `flush()`
writes each table with one `executemany`: per group commit normally, or per job when
the writer replays a batch one SAVEPOINT at a time. Balances and the heads of the
players' chains are not staged: they are kept exact in memory and written with the next
snapshot (`sqlite_snapshot`).

A refused command has written nothing: every refusal is decided before its plan is
written. So only a job of several commands, whose later command can be refused after
an earlier one was written, logs its cache and staging changes for `undo_command`; a
single command (nearly every job) skips the log. A job the database refuses is
forgotten with `reload()` instead.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.stores.sqlite_player_chains import PlayerChains
from adapters.stores.sqlite_prefetch import SELECT_ROUNDS, SELECT_TXS, load_keyed, load_players
from adapters.stores.sqlite_schema import (
    TX_COLUMNS,
    player_from_row,
    player_to_row,
    round_from_row,
    session_from_row,
    session_to_row,
    token_digest,
    tx_from_row,
    tx_to_row,
)
from adapters.stores.sqlite_snapshot import SNAPSHOT_ROWS_MAX, SNAPSHOT_TXS_MIN, Snapshot
from adapters.stores.sqlite_staging import StagedWrites
from core.errors import (
    ConflictingReplay,
    GatewayError,
    InvalidRequest,
    PlayerNotFound,
    ReferenceNotFound,
    SessionInvalid,
    StorageUnavailable,
)
from core.model import (
    Balance,
    CloseRound,
    Debit,
    MoneyCommand,
    TxOutcome,
    WalletCommand,
)
from core.wallet.chain import GENESIS_HASH, link_hash
from core.wallet.engine import TOMBSTONE_DETAIL, Plan, check_replay, plan, refusal_record
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord
from core.wallet.store import DebitGuard

__all__ = ["DEFAULT_CACHE_LIMITS", "BatchRefused", "CacheLimits", "SqliteLedger"]


_MISSING: Any = object()
TX_CACHE_ENTRIES_MAX = 200_000
ROUND_CACHE_ENTRIES_MAX = 100_000
SESSION_CACHE_ENTRIES_MAX = 50_000
PLAYER_CACHE_ENTRIES_MAX = 200_000


@dataclass(frozen=True, slots=True)
class CacheLimits:
    """Entries each cache of the writer keeps; the oldest go first, between batches."""

    txs: int = TX_CACHE_ENTRIES_MAX
    rounds: int = ROUND_CACHE_ENTRIES_MAX
    sessions: int = SESSION_CACHE_ENTRIES_MAX
    players: int = PLAYER_CACHE_ENTRIES_MAX
    """Players, and as many balances and chain heads (a head that no snapshot holds yet
    stays until one does)."""


DEFAULT_CACHE_LIMITS = CacheLimits()


UndoLog = list[tuple[dict[Any, Any], Any, Any]]
"""(cache, key, old value) per change of the current job (`_undo` is None: no log)."""
_SELECT_LINK = "SELECT player_id, prev_player_seq FROM txs WHERE seq = ?"
_SELECT_CHAINED = f"SELECT {TX_COLUMNS}, prev_player_seq FROM txs WHERE seq = ?"
_HEAD = "head"
"""Key of the chain head (next seq, last hash) in `SqliteLedger._head`."""


class SqliteLedger:
    """Cached ledger state and the SQL that persists each plan. Writer thread only."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        clock_us: Callable[[], int],
        snapshot_txs_min: int = SNAPSHOT_TXS_MIN,
        snapshot_rows_max: int = SNAPSHOT_ROWS_MAX,
        cache_limits: CacheLimits = DEFAULT_CACHE_LIMITS,
    ) -> None:
        self._conn = conn
        self._clock_us = clock_us
        self._limits = cache_limits
        self._players: OrderedDict[str, PlayerRecord] = OrderedDict()
        self._sessions: OrderedDict[str, SessionRecord] = OrderedDict()
        self._balances: OrderedDict[tuple[str, str], tuple[int, int]] = OrderedDict()
        self._txs: OrderedDict[tuple[str, str], TxRecord | None] = OrderedDict()
        self._rounds: OrderedDict[tuple[str, str], RoundRecord | None] = OrderedDict()
        self._staged = StagedWrites()
        self._undo: UndoLog | None = None
        self._head: dict[str, tuple[int, bytes]] = {_HEAD: (1, GENESIS_HASH)}
        self._chains = PlayerChains(conn)
        self._snapshot = Snapshot(conn, self._chains, snapshot_txs_min, snapshot_rows_max)
        self._account_deltas = self._snapshot.account_deltas
        self.reload()

    # -- lifecycle ---------------------------------------------------------------

    def reload(self) -> None:
        """Forget every cache and re-read the chain head (after a failed commit)."""
        self._players.clear()
        self._sessions.clear()
        self._balances.clear()
        self._txs.clear()
        self._rounds.clear()
        self._staged.clear()
        self._undo = None
        row = self._conn.execute("SELECT seq, hash FROM txs ORDER BY seq DESC LIMIT 1").fetchone()
        self._head[_HEAD] = (1, GENESIS_HASH) if row is None else (row[0] + 1, row[1])
        self._snapshot.load()

    def undo_command(self) -> None:
        """Forget what the refused job staged or cached (a job of one command: nothing)."""
        undo, self._undo = self._undo, None
        if undo is None:
            return
        for cache, key, old in reversed(undo):
            if old is _MISSING:
                cache.pop(key, None)
            else:
                cache[key] = old
        self._staged.truncate_to_mark()

    def flush(self) -> None:
        """Write what the batch (or, when isolating, the job) staged."""
        self._staged.flush(self._conn)
        self._snapshot.write_if_due(self._next_seq - 1)

    def trim_caches(self) -> None:
        """Bound the caches; only between batches, so nothing staged is ever evicted.

        An evicted balance is read again as its snapshot plus the changes since."""
        limits = self._limits
        caches: tuple[tuple[OrderedDict[Any, Any], int], ...] = (
            (self._txs, limits.txs),
            (self._rounds, limits.rounds),
            (self._sessions, limits.sessions),
            (self._players, limits.players),
            (self._balances, limits.players),
        )
        for cache, entries_max in caches:
            while len(cache) > entries_max:
                cache.popitem(last=False)
        self._chains.trim(limits.players)

    # -- prefetch ------------------------------------------------------------------

    def prefetch(self, batches: Sequence[Sequence[WalletCommand]]) -> None:
        """Load what a batch will look up with a few bulk SELECTs instead of several per command.

        Every lookup still goes through the cache afterwards; a key found missing is
        cached as missing (it cannot appear: this thread is the only writer).
        """
        txs, rounds = self._txs, self._rounds
        tx_keys: set[tuple[str, str]] = set()
        round_keys: set[tuple[str, str]] = set()
        player_ids: set[str] = set()
        # One pass, keeping only what the caches miss (this runs for every command).
        for commands in batches:
            for command in commands:
                player_ids.add(command.player_id)
                provider = command.provider
                round_id = getattr(command, "round_id", None)
                if round_id and (provider, round_id) not in rounds:
                    round_keys.add((provider, round_id))
                if isinstance(command, CloseRound):
                    continue
                if (provider, command.tx_id) not in txs:
                    tx_keys.add((provider, command.tx_id))
                ref_tx_id = getattr(command, "ref_tx_id", None)
                if ref_tx_id and (provider, ref_tx_id) not in txs:
                    tx_keys.add((provider, ref_tx_id))
        conn = self._conn
        if tx_keys:
            load_keyed(conn, tx_keys, SELECT_TXS, txs, tx_from_row)
        if round_keys:
            load_keyed(conn, round_keys, SELECT_ROUNDS, rounds, round_from_row)
        players = self._players
        if missing_players := {p for p in player_ids if p not in players}:
            load_players(conn, missing_players, players, self._balances, self._account_deltas)
        self._chains.prefetch(player_ids)

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
        self._txs[key] = record
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
        self._rounds[key] = record
        return record

    # -- commands --------------------------------------------------------------

    def apply(
        self,
        commands: Sequence[WalletCommand],
        refusal: GatewayError | None,
        guard: DebitGuard | None = None,
    ) -> list[TxOutcome]:
        """Apply a job's commands, or raise `BatchRefused` for `undo_command` to undo them.

        Only through `apply_or_refuse`, which ends the undo log this may start.
        """
        if len(commands) > 1:  # a later command's refusal must undo the earlier ones
            self._undo = []
            self._staged.mark()
        now_us = self._clock_us()
        outcomes: list[TxOutcome] = []
        guarded: tuple[PlayerRecord, SessionRecord | None] | None = None
        for command in commands:
            if isinstance(command, CloseRound):
                outcomes.append(self._close_round(command, now_us))
                continue
            try:
                stored = check_replay(command, self)
                if stored is not None:
                    outcomes.append(self._replayed(stored))
                    continue
                if isinstance(command, Debit):
                    if refusal is not None:
                        raise refusal
                    if guard is not None:
                        guarded = guarded or self._guard_context(guard, command)
                        guard.check(*guarded, command)
                outcomes.append(self._write_plan(plan(command, self, self._next_seq, now_us)))
            except GatewayError as error:
                raise BatchRefused(command, error) from error
        return outcomes

    def apply_or_refuse(
        self,
        commands: Sequence[WalletCommand],
        refusal: GatewayError | None,
        guard: DebitGuard | None,
    ) -> list[TxOutcome] | GatewayError:
        """`apply`, or the refusal to raise once the batch commits (with the refusal stored
        under the refused command's key, and the player's balance attached)."""
        try:
            outcomes = self.apply(commands, refusal, guard)
            self._undo = None
            return outcomes
        except BatchRefused as refused:
            self.undo_command()
            if refused.command is not None:
                self.store_refusal(refused.command, refused.error)
            player_id = commands[0].player_id
            if self.player(player_id) is not None:
                refused.error.balance = self.balance_of(player_id)
            # Without its traceback: the frames in it reach back to the writer's whole
            # batch, which would then live on as cyclic garbage for the collector.
            return refused.error.with_traceback(None)

    def _guard_context(
        self, guard: DebitGuard, debit: Debit
    ) -> tuple[PlayerRecord, SessionRecord | None]:
        """The player and session a guarded debit is checked against."""
        session = None
        if guard.session_token is not None:
            session = self.get_session(guard.session_token)
            if session is None or session.provider != debit.provider:
                raise SessionInvalid("unknown session token")
        player = self.player(debit.player_id)
        if player is None:
            raise PlayerNotFound(f"unknown player {debit.player_id!r}")
        return player, session

    def store_refusal(self, command: MoneyCommand, error: GatewayError) -> None:
        """Persist a refusal under the command's key (conflicts are never stored)."""
        if isinstance(error, ConflictingReplay) or error.replay:
            return
        if isinstance(error, PlayerNotFound | InvalidRequest | ReferenceNotFound | SessionInvalid):
            return  # not a decision about this transaction: its bet may still arrive
        if self.tx(command.provider, command.tx_id) is not None:
            return  # the key already holds a tombstone or an earlier answer
        record = refusal_record(command, error, self, self._next_seq, self._clock_us())
        if record is not None:
            self._insert_records([record])

    def balance_of(self, player_id: str, currency: str | None = None) -> Balance:
        """Balances in `currency`, by default the player's wallet currency."""
        if currency is None:
            player = self.player(player_id)
            if player is None:
                raise PlayerNotFound(f"unknown player {player_id!r}")
            currency = player.currency
        real, bonus = self.balances(player_id, currency)
        return Balance(currency, real, bonus)

    def _replayed(self, record: TxRecord) -> TxOutcome:
        return TxOutcome(
            transaction_id=record.transaction_id,
            balance=self.balance_of(record.player_id, record.currency),
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
            self._write_round(existing._replace(closed=True, updated_at_us=now_us))
        return TxOutcome(
            transaction_id="", balance=self.balance_of(player.player_id, player.currency)
        )

    def _write_plan(self, planned: Plan) -> TxOutcome:
        """Stage a plan's rows and move the caches, logging each old value if undoable.

        The cache writes are inlined (not `_set`): this runs once per money command.
        """
        currency = planned.currency
        balance_key = (planned.player_id, currency)
        real, bonus = self.balances(*balance_key)  # read before the deltas are staged
        self._insert_records(planned.records)
        undo, staged, txs = self._undo, self._staged, self._txs
        for updated in planned.updates:
            staged.status_rows.append((updated.status._value_, updated.seq))
            key = (updated.provider, updated.tx_id)
            if undo is not None:
                undo.append((txs, key, txs.get(key, _MISSING)))
            txs[key] = updated
        if planned.entries:
            seq = planned.record.seq
            deltas, entry_rows = self._account_deltas, staged.entry_rows
            for account, entry_currency, amount_minor in planned.entries:
                entry_rows.append((seq, account, entry_currency, amount_minor))
                delta_key = (account, entry_currency)
                old_delta = deltas.get(delta_key, _MISSING)
                if undo is not None:
                    undo.append((deltas, delta_key, old_delta))
                deltas[delta_key] = (
                    amount_minor if old_delta is _MISSING else old_delta + amount_minor
                )
        for round_ in planned.rounds:
            self._write_round(round_)
        record = planned.record
        if planned.real_delta_minor or planned.bonus_delta_minor:
            real += planned.real_delta_minor
            bonus += planned.bonus_delta_minor
            balances = self._balances
            if undo is not None:
                undo.append((balances, balance_key, balances.get(balance_key, _MISSING)))
            balances[balance_key] = (real, bonus)
        return TxOutcome(
            record.transaction_id,
            Balance(currency, real, bonus),
            planned.real_delta_minor,
            planned.bonus_delta_minor,
            False,
            record.detail == TOMBSTONE_DETAIL,
        )

    def _insert_records(self, records: list[TxRecord]) -> None:
        undo, txs, head = self._undo, self._txs, self._head
        chains = self._chains
        player_heads, moved = chains.heads, chains.moved
        next_seq, link = head[_HEAD]
        if undo is not None:
            undo.append((head, _HEAD, (next_seq, link)))
        tx_rows = self._staged.tx_rows
        for record in records:
            assert record.seq == next_seq, "seqs are dense and ordered"
            link = link_hash(link, record)
            player_id = record.player_id
            previous = player_heads.get(player_id)  # prefetched: a miss is rare
            if previous is None:
                previous = chains.head(player_id)
            tx_rows.append(tx_to_row(record, link, previous or None))
            key = (record.provider, record.tx_id)
            if undo is not None:
                undo.append((player_heads, player_id, previous))
                undo.append((txs, key, txs.get(key, _MISSING)))
            player_heads[player_id] = next_seq
            moved.add(player_id)
            next_seq += 1
            txs[key] = record
        head[_HEAD] = (next_seq, link)

    @property
    def _next_seq(self) -> int:
        seq: int = self._head[_HEAD][0]
        return seq

    def _write_round(self, round_: RoundRecord) -> None:
        key = (round_.provider, round_.round_id)
        rows, rounds = self._staged.round_rows, self._rounds
        undo = self._undo
        if undo is not None:
            undo.append((rows, key, rows.get(key, _MISSING)))
            undo.append((rounds, key, rounds.get(key, _MISSING)))
        rows[key] = round_  # its row at flush: same fields, same order (`round_to_row`)
        rounds[key] = round_

    def _set(self, cache: dict[Any, Any], key: Any, value: Any) -> None:
        """Set a cache entry, logging the old value if `undo_command` may need it."""
        if self._undo is not None:
            self._undo.append((cache, key, cache.get(key, _MISSING)))
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
        """Stored under the token's digest: the file never holds a token that could bet."""
        self._conn.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)", session_to_row(session)
        )

    def rotate_session(self, old_token: str, new: SessionRecord) -> None:
        old = self.get_session(old_token)
        if old is None:
            raise SessionInvalid("unknown session token")
        self.create_session(new)
        ends_at_us = min(old.expires_at_us, new.created_at_us)
        self._conn.execute(
            "UPDATE sessions SET expires_at_us = ? WHERE token_sha256 = ?",
            (ends_at_us, token_digest(old_token)),
        )
        self._set(self._sessions, old_token, dataclasses.replace(old, expires_at_us=ends_at_us))

    def get_session(self, token: str) -> SessionRecord | None:
        cached = self._sessions.get(token)
        if cached is not None:
            return cached
        row = self._conn.execute(
            "SELECT * FROM sessions WHERE token_sha256 = ?", (token_digest(token),)
        ).fetchone()
        if row is None:
            return None
        session = session_from_row(token, row)
        self._sessions[token] = session
        return session

    def transactions(self, player_id: str, limit: int, before_seq: int | None) -> list[TxRecord]:
        """Newest first, walking the player's chain: one lookup by seq per transaction."""
        seq: int | None = self._chains.head(player_id) or None
        if before_seq is not None and seq is not None and seq >= before_seq:
            # A page cursor is the last seq of the page before: continue from its link.
            row = self._conn.execute(_SELECT_LINK, (before_seq,)).fetchone()
            if row is not None and row[0] == player_id:
                seq = row[1]
        records: list[TxRecord] = []
        while seq is not None and len(records) < limit:
            row = self._conn.execute(_SELECT_CHAINED, (seq,)).fetchone()
            if row is None:
                break
            if before_seq is None or seq < before_seq:
                records.append(self._fresh(tx_from_row(row)))
            seq = row[-1]
        return records

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
