"""The wallet's state inside the SQLite writer thread: a cached `LedgerView` plus writes.

Only the writer thread touches this object. Players, player balances and play figures,
recent transaction records and rounds are cached in memory, and what a batch will look up is
loaded in bulk before it runs (`sqlite_prefetch`), so a command is decided without a
query of its own. What a command writes is staged (rows per table) and `flush()`
writes each table with one `executemany`: per group commit normally, or per job when
the writer replays a batch one SAVEPOINT at a time. Balances and the heads of the
players' chains are not staged: they are kept exact in memory and written with the next
snapshot (`sqlite_snapshot`).

Each job is decided whole by `core.wallet.step.run_step`, with this object as its
view, before anything is staged: a refused job stages at most its stored refusal, and
nothing has to be undone. A job the database refuses (or that fails with a bug) is
forgotten with `reload()`.
"""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.stores.sqlite_figures import load_figures, read_figures
from adapters.stores.sqlite_player_audit import apply_player_change, read_player_audit
from adapters.stores.sqlite_player_chains import PlayerChains
from adapters.stores.sqlite_prefetch import SELECT_ROUNDS, SELECT_TXS, load_keyed, load_players
from adapters.stores.sqlite_schema import (
    PLAYER_INSERT,
    SESSION_COLUMNS,
    SESSION_INSERT,
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
    PlayerNotFound,
    SessionInvalid,
    StorageUnavailable,
)
from core.model import Balance, CloseRound, TxOutcome, WalletCommand
from core.wallet.chain import GENESIS_HASH, link_hash
from core.wallet.figures import PlayFigures
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord
from core.wallet.step import StepWrites, run_step
from core.wallet.store import DebitGuard, PlayerAuditEntry, PlayerChange

__all__ = ["DEFAULT_CACHE_LIMITS", "CacheLimits", "SqliteLedger"]


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
    """Players, and as many balances, play figures and chain heads (a head that no
    snapshot holds yet stays until one does)."""


DEFAULT_CACHE_LIMITS = CacheLimits()


_SELECT_LINK = "SELECT player_id, prev_player_seq FROM txs WHERE seq = ?"
_SELECT_CHAINED = f"SELECT {TX_COLUMNS}, prev_player_seq FROM txs WHERE seq = ?"
_HEAD = "head"
"""Key of the chain head (next seq, last hash) in `SqliteLedger._head`."""


class SqliteLedger:
    """Cached ledger state (a `StepView`) and the SQL that persists each job's writes.
    Writer thread only."""

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
        self._figures: OrderedDict[str, PlayFigures] = OrderedDict()
        """As committed, or staged by this batch (a rollback reloads: forgotten)."""
        self._txs: OrderedDict[tuple[str, str], TxRecord | None] = OrderedDict()
        self._rounds: OrderedDict[tuple[str, str], RoundRecord | None] = OrderedDict()
        self._staged = StagedWrites()
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
        self._figures.clear()
        self._txs.clear()
        self._rounds.clear()
        self._staged.clear()
        row = self._conn.execute("SELECT seq, hash FROM txs ORDER BY seq DESC LIMIT 1").fetchone()
        self._head[_HEAD] = (1, GENESIS_HASH) if row is None else (row[0] + 1, row[1])
        self._snapshot.load()

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
            (self._figures, limits.players),
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
        figures = self._figures
        if missing_figures := [p for p in player_ids if p not in figures]:
            load_figures(conn, missing_figures, figures)
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

    def figures(self, player_id: str) -> PlayFigures:
        cached = self._figures.get(player_id)
        if cached is None:
            cached = self._figures[player_id] = read_figures(self._conn, player_id)
        return cached

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

    def apply_or_refuse(
        self,
        commands: Sequence[WalletCommand],
        refusal: GatewayError | None,
        guard: DebitGuard | None,
    ) -> list[TxOutcome] | GatewayError:
        """Decide a job (`run_step`) and stage what it writes; the outcomes, or the
        refusal to raise once the batch commits (stored, if it is, by then)."""
        result = run_step(
            commands,
            self,
            refusal=refusal,
            guard=guard,
            new_seq=itertools.count(self._next_seq).__next__,  # dense: a job's seqs follow on
            now_us=self._clock_us(),
        )
        self._stage(result.writes)
        if result.refusal is not None:
            return result.refusal
        assert result.outcomes is not None
        return result.outcomes

    def balance_of(self, player_id: str, currency: str | None = None) -> Balance:
        """Balances in `currency`, by default the player's wallet currency."""
        if currency is None:
            player = self.player(player_id)
            if player is None:
                raise PlayerNotFound(f"unknown player {player_id!r}")
            currency = player.currency
        real, bonus = self.balances(player_id, currency)
        return Balance(currency, real, bonus)

    def _stage(self, writes: StepWrites) -> None:
        """Stage a job's rows and move the caches to the state after it.

        Inlined loops (no helper per row): this runs once per money command."""
        if writes.records:
            self._insert_records(writes.records)
        staged, txs = self._staged, self._txs
        for updated in writes.updates:
            staged.status_rows.append((updated.status._value_, updated.seq))
            txs[(updated.provider, updated.tx_id)] = updated
        if writes.entries:
            deltas, entry_rows = self._account_deltas, staged.entry_rows
            for seq, (account, currency, amount_minor) in writes.entries:
                entry_rows.append((seq, account, currency, amount_minor))
                delta_key = (account, currency)
                deltas[delta_key] = deltas.get(delta_key, 0) + amount_minor
        if writes.rounds:
            round_rows, rounds = staged.round_rows, self._rounds
            for round_ in writes.rounds:
                key = (round_.provider, round_.round_id)
                round_rows[key] = round_  # its row at flush: same fields, same order
                rounds[key] = round_
        if writes.balances:
            balances = self._balances
            for key, balance in writes.balances.items():  # cheaper than OrderedDict.update
                balances[key] = balance
        if writes.figures:
            figures, staged_figures = self._figures, staged.figures
            for player_id, played in writes.figures.items():
                figures[player_id] = staged_figures[player_id] = played

    def _insert_records(self, records: list[TxRecord]) -> None:
        txs, head = self._txs, self._head
        chains = self._chains
        player_heads, moved = chains.heads, chains.moved
        next_seq, link = head[_HEAD]
        tx_rows = self._staged.tx_rows
        for record in records:
            assert record.seq == next_seq, "seqs are dense and ordered"
            link = link_hash(link, record)
            player_id = record.player_id
            previous = player_heads.get(player_id)  # prefetched: a miss is rare
            if previous is None:
                previous = chains.head(player_id)
            tx_rows.append(tx_to_row(record, link, previous or None))
            player_heads[player_id] = next_seq
            moved.add(player_id)
            next_seq += 1
            txs[(record.provider, record.tx_id)] = record
        head[_HEAD] = (next_seq, link)

    @property
    def _next_seq(self) -> int:
        seq: int = self._head[_HEAD][0]
        return seq

    # -- players, sessions, reads ----------------------------------------------

    def create_player(self, player: PlayerRecord) -> PlayerRecord:
        existing = self.player(player.player_id)
        if existing is not None:
            if existing != player:
                raise ConflictingReplay("player exists with different data")
            return existing
        self._conn.execute(PLAYER_INSERT, player_to_row(player))
        self._players[player.player_id] = player
        return player

    def change_player(
        self, player_id: str, change: PlayerChange, actor: str, why: str
    ) -> PlayerRecord:
        """`sqlite_player_audit.apply_player_change` at the store's time; the cache
        follows (a rollback of the batch reloads it)."""
        changed = apply_player_change(
            self._conn, self.player(player_id), player_id, change, self._clock_us(), actor, why
        )
        self._players[player_id] = changed
        return changed

    def player_audit(
        self, player_id: str, limit: int, before_seq: int | None
    ) -> list[PlayerAuditEntry]:
        return read_player_audit(self._conn, player_id, limit, before_seq)

    def create_session(self, session: SessionRecord) -> None:
        """Stored under the token's digest: the file never holds a token that could bet."""
        self._conn.execute(SESSION_INSERT, session_to_row(session))

    def rotate_session(self, old_token: str, new: SessionRecord) -> None:
        old = self.session(old_token)
        if old is None:
            raise SessionInvalid("unknown session token")
        self.create_session(new)
        ends_at_us = min(old.expires_at_us, new.created_at_us)
        self._conn.execute(
            "UPDATE sessions SET expires_at_us = ? WHERE token_sha256 = ?",
            (ends_at_us, token_digest(old_token)),
        )
        self._sessions[old_token] = dataclasses.replace(old, expires_at_us=ends_at_us)

    def session(self, token: str) -> SessionRecord | None:
        cached = self._sessions.get(token)
        if cached is not None:
            return cached
        row = self._conn.execute(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE token_sha256 = ?", (token_digest(token),)
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
