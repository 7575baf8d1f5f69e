"""Part of the Redis wallet's `verify`: every check that one player's keys allow.

Fed one player's keys as one instant (`gg_dump_group_v2` reads a whole group at
once): their records re-derive their balances, chain, history and round index, and
their house legs are summed for the group's house shard (`redis_verify`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from adapters.stores.redis_codec import StoredTx, decode_head, decode_tx
from adapters.stores.redis_keys import key_field, round_index_member
from adapters.stores.redis_view import PlayerState
from core.model import TxKind, TxStatus
from core.money import CurrencyTable
from core.wallet.chain import GENESIS_HASH, link_hash
from core.wallet.records import Entry, TxRecord, player_account

__all__ = ["PlayerChecks", "PlayerDump"]

_MOVED = frozenset({TxStatus.APPLIED, TxStatus.SETTLED, TxStatus.ROLLED_BACK})
_PLAYER_PREFIX = "player:"


@dataclass(slots=True)
class PlayerDump:
    """One player's keys as read: hash, records, rounds, history, round index."""

    player_id: str
    state: PlayerState
    raw_state: dict[bytes, bytes]
    txs: dict[str, StoredTx]
    rounds: dict[str, bytes]
    history: dict[str, int]
    round_index: list[str]

    @classmethod
    def parse(cls, player_id: str, reply: list[Any]) -> PlayerDump:
        flat, txs, rounds, history, round_index = reply
        pairs = dict(zip(flat[::2], flat[1::2], strict=True))
        return cls(
            player_id,
            PlayerState.parse(flat),
            pairs,
            {k.decode(): decode_tx(v) for k, v in zip(txs[::2], txs[1::2], strict=True)},
            {k.decode(): v for k, v in zip(rounds[::2], rounds[1::2], strict=True)},
            {k.decode(): int(float(s)) for k, s in zip(history[::2], history[1::2], strict=True)},
            [member.decode() for member in round_index],
        )


@dataclass(slots=True)
class PlayerChecks:
    """Failures by check name, and what the whole-wallet checks need from each player."""

    currencies: CurrencyTable
    fail: Any
    """`fail(check_name, detail)`."""
    house: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    """(currency, house account) -> sum of the house legs seen."""
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    """currency -> sum of the player balances seen."""
    txs: int = 0

    def check(self, dump: PlayerDump) -> None:
        records = sorted(dump.txs.values(), key=lambda stored: stored.record.seq)
        self.txs += len(records)
        self._chain(dump, records)
        self._balances(dump, records)
        self._indexes(dump, records)
        for stored in records:
            self._legs(stored)
            self._renderable(stored.record)
        if dump.state.lock is not None:
            self.fail("locks", f"player {dump.player_id}: still locked ({dump.state.lock!r})")
        if dump.state.record is not None and dump.state.record.currency not in self.currencies:
            self.fail("renderable", f"player {dump.player_id}: unknown currency")

    def _chain(self, dump: PlayerDump, records: list[StoredTx]) -> None:
        previous_seq, link = 0, GENESIS_HASH
        for stored in records:
            record = stored.record
            if stored.prev_seq != previous_seq:
                self.fail(
                    "chain",
                    f"{_where(record)}: links to seq {stored.prev_seq}, expected {previous_seq}",
                )
            link = link_hash(link, record)
            if stored.link != link:
                self.fail("chain", f"{_where(record)}: hash does not match its chain")
                link = stored.link
            previous_seq = record.seq
        head = decode_head(dump.raw_state.get(b"h"))
        expected = None if not records else (previous_seq, link)
        if head != expected:
            self.fail(
                "chain", f"player {dump.player_id}: head {head} but records end at {expected}"
            )

    def _balances(self, dump: PlayerDump, records: list[StoredTx]) -> None:
        summed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        real_account = player_account(dump.player_id, "real")
        bonus_account = player_account(dump.player_id, "bonus")
        reversed_win = False
        for stored in records:
            record = stored.record
            if record.kind is TxKind.CREDIT and record.status is TxStatus.ROLLED_BACK:
                reversed_win = True
            for account, currency, amount in stored.entries:
                if account == real_account:
                    summed[currency][0] += amount
                elif account == bonus_account:
                    summed[currency][1] += amount
                elif not account.startswith(_PLAYER_PREFIX):
                    self.house[(currency, account)] += amount
        stored_balances = dump.state.balances
        for currency in sorted(set(summed) | set(stored_balances)):
            expected = tuple(summed.get(currency, [0, 0]))
            found = stored_balances.get(currency, (0, 0))
            if found != expected:
                self.fail(
                    "balances", f"player {dump.player_id} {currency}: {found}, entries {expected}"
                )
            self.totals[currency] += sum(found)
            if min(found) < 0 and not reversed_win:
                self.fail(
                    "negative", f"player {dump.player_id} {currency}: {found} but no reversed win"
                )

    def _indexes(self, dump: PlayerDump, records: list[StoredTx]) -> None:
        expected_history = {
            key_field(s.record.provider, s.record.tx_id): s.record.seq for s in records
        }
        if dump.history != expected_history:
            self.fail("indexes", f"player {dump.player_id}: history differs from the records")
        expected_rounds = sorted(
            round_index_member(r.provider, r.round_id, r.seq, r.tx_id)
            for r in (s.record for s in records)
            if r.round_id is not None
        )
        if sorted(dump.round_index) != expected_rounds:
            self.fail("indexes", f"player {dump.player_id}: round index differs from the records")

    def _legs(self, stored: StoredTx) -> None:
        record, entries = stored.record, stored.entries
        if sum(entry.amount_minor for entry in entries) != 0:
            self.fail("double-entry", f"{_where(record)}: entries do not sum to zero")
        moved = record.status in _MOVED
        if not moved:
            if entries:
                self.fail("legs", f"{_where(record)}: a {record.status.value} record moved money")
            return
        real, bonus = _player_legs(record, entries)
        if (real, bonus) != (record.real_delta_minor, record.bonus_delta_minor):
            self.fail("legs", f"{_where(record)}: legs {real}/{bonus} differ from its deltas")
        if any(entry.currency != record.currency for entry in entries):
            self.fail("legs", f"{_where(record)}: a leg in another currency")

    def _renderable(self, record: TxRecord) -> None:
        """Known currency, and amounts as `core.wallet.engine` writes them: a bet takes its
        whole amount from real and bonus funds, a win pays its whole amount into them, a
        cashier record moves its amount on its one account, a refusal or tombstone moves
        nothing, a rollback carries no amount (what it reverses is `legs`' to check)."""
        if record.currency not in self.currencies:
            self.fail("renderable", f"{_where(record)}: unknown currency {record.currency!r}")
        if record.amount_minor < 0:
            self.fail("renderable", f"{_where(record)}: negative amount")
        moved = (record.real_delta_minor, record.bonus_delta_minor)
        expected = _expected_deltas(record)
        if expected is not None and moved != expected:
            self.fail("renderable", f"{_where(record)}: moves {moved}, its amount says {expected}")


def _expected_deltas(record: TxRecord) -> tuple[int, int] | None:
    """(real, bonus) a record must move given its kind, status and amount; None: the
    split is the engine's (a bet's or win's real/bonus share), only the total is fixed."""
    amount = record.amount_minor
    if record.status not in _MOVED:
        return 0, 0
    kind = record.kind
    if kind is TxKind.DEPOSIT:
        return amount, 0
    if kind is TxKind.WITHDRAWAL:
        return -amount, 0
    if kind is TxKind.BONUS_GRANT:
        return 0, amount
    total = record.real_delta_minor + record.bonus_delta_minor
    if kind is TxKind.DEBIT and total != -amount:
        return -amount, 0
    if kind is TxKind.CREDIT and total != amount:
        return amount, 0
    if kind is TxKind.ROLLBACK and amount != 0:
        return 0, 0
    return None


def _player_legs(record: TxRecord, entries: list[Entry]) -> tuple[int, int]:
    real_account = player_account(record.player_id, "real")
    bonus_account = player_account(record.player_id, "bonus")
    real = sum(e.amount_minor for e in entries if e.account == real_account)
    bonus = sum(e.amount_minor for e in entries if e.account == bonus_account)
    return real, bonus


def _where(record: TxRecord) -> str:
    return f"seq {record.seq} ({record.kind.value} {record.provider}/{record.tx_id})"
