"""Reconciliation of an embedded wallet file: `gamegate verify`.

Re-derives everything the store caches or chains from the rows themselves and reports
the first mismatch of each kind. It opens the file read-only, in one read transaction
(a consistent snapshot even while the gateway writes), and never as a second writer:
the bundled SQLite 3.40 can corrupt a WAL file when two connections write or
checkpoint at once. Rows are streamed in key order, so memory stays flat for
millions of entries; only the per-currency totals and a seq or two per player are held.
"""

from __future__ import annotations

import sqlite3
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.stores.check_result import CheckResult
from adapters.stores.sqlite_render_check import RenderCheck
from adapters.stores.sqlite_schema import (
    SCHEMA_VERSION,
    SNAPSHOT_SEQ_KEY,
    TX_COLUMNS,
    meta_int,
    schema_version,
    tx_from_row,
)
from core.model import TxKind, TxStatus
from core.money import CurrencyTable
from core.wallet.chain import GENESIS_HASH, link_hash
from core.wallet.records import Entry, TxRecord, player_account

__all__ = ["CHECK_RENDERABLE", "CheckResult", "VerifyReport", "verify_wallet"]

FETCH_ROWS_MAX = 2_000
"""Rows pulled from SQLite per fetch while streaming."""

_MONEY_KINDS = frozenset(TxKind)
_MOVED_STATUSES = frozenset({TxStatus.APPLIED, TxStatus.SETTLED, TxStatus.ROLLED_BACK})


@dataclass(slots=True)
class VerifyReport:
    """The result of `verify_wallet`: one `CheckResult` per check, counts and timing."""

    path: Path
    checks: list[CheckResult] = field(default_factory=list)
    txs: int = 0
    entries: int = 0
    accounts: int = 0
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def check(self, name: str) -> CheckResult:
        """The check called `name` (for tests and callers that want one verdict)."""
        for found in self.checks:
            if found.name == name:
                return found
        raise KeyError(name)

    def lines(self) -> list[str]:
        verdict = "OK" if self.ok else "FAILED"
        head = (
            f"wallet {self.path}: {verdict} — {self.txs} txs, {self.entries} entries, "
            f"{self.accounts} accounts in the snapshot, verified in {self.elapsed_s:.3f} s"
        )
        return [head, *(check.line() for check in self.checks)]


CHECK_INTEGRITY = "integrity: PRAGMA integrity_check"
CHECK_BALANCES = "balances: each account equals the sum of its entries up to the snapshot"
CHECK_CURRENCIES = "conservation: entries sum to zero per currency"
CHECK_TX_BALANCED = "double entry: the entries of each transaction sum to zero"
CHECK_CHAIN = "hash chain: dense seqs from 1, each link recomputed"
CHECK_NEGATIVE = "no negative player balance except debt from a reversed win"
CHECK_PLAYER_LEGS = "player legs: each transaction's entries match its real/bonus deltas"
CHECK_OUTBOX = "outbox: events tile the transaction log, seq 1 to the last, in order"
CHECK_PLAYER_CHAINS = (
    "player chains: each transaction links to its player's previous one, heads are current"
)
CHECK_RENDERABLE = (
    "renderable: known currencies, each transaction's amounts as its kind and status allow"
)


def verify_wallet(path: Path, *, currencies_extra: Mapping[str, int] | None = None) -> VerifyReport:
    """Check a wallet file without changing it; `report.ok` is the verdict.

    `currencies_extra`: the currencies configured beyond the built-in table (settings'
    `currencies_extra`), which the operator API renders too."""
    started = time.perf_counter()
    report = VerifyReport(path=Path(path))
    conn = _connect_read_only(report.path)
    try:
        conn.execute("BEGIN")  # one snapshot for every check
        _require_current_schema(conn)
        report.checks.append(_check_integrity(conn))
        balances, negative = _check_balances(conn, report)
        report.checks.append(balances)
        report.checks.append(_check_currency_totals(conn))
        renderable = CheckResult(CHECK_RENDERABLE)
        render = RenderCheck(conn, CurrencyTable(currencies_extra), renderable.fail)
        report.checks.extend(_check_log(conn, report, render))
        render.finish()
        report.checks.append(renderable)
        report.checks.append(_check_negative(conn, negative))
        report.checks.append(_check_outbox(conn))
        conn.execute("COMMIT")
    finally:
        conn.close()
    report.elapsed_s = time.perf_counter() - started
    return report


def _connect_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise FileNotFoundError(f"no wallet database at {path}")
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    return sqlite3.connect(uri, uri=True, isolation_level=None)


def _require_current_schema(conn: sqlite3.Connection) -> None:
    version = schema_version(conn)
    if version != SCHEMA_VERSION:
        raise RuntimeError(
            f"wallet schema version {version}, this build verifies {SCHEMA_VERSION}; "
            "start the gateway on (a copy of) the file once to migrate it"
        )


def _stream(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
    cursor = conn.execute(sql, params)
    while rows := cursor.fetchmany(FETCH_ROWS_MAX):
        yield from rows


def _check_integrity(conn: sqlite3.Connection) -> CheckResult:
    check = CheckResult(CHECK_INTEGRITY)
    for (message,) in _stream(conn, "PRAGMA integrity_check"):
        if message != "ok":
            check.fail(str(message))
    return check


_Balance = tuple[str, str, int]
"""(account, currency, balance_minor)"""


def _check_balances(
    conn: sqlite3.Connection, report: VerifyReport
) -> tuple[CheckResult, list[_Balance]]:
    """Merge-join the stored balances with the sums of the entries they cover (up to
    the snapshot; the writer adds the later ones in memory), both in key order.

    The same pass sums every entry too, and returns the player accounts whose balance,
    all entries counted, is negative (for `_check_negative`)."""
    check = CheckResult(CHECK_BALANCES)
    through_seq = _meta_int(conn, SNAPSHOT_SEQ_KEY, check)
    stored = _stream(
        conn, "SELECT account, currency, balance_minor FROM accounts ORDER BY account, currency"
    )
    negative: list[_Balance] = []

    def summed() -> Iterator[tuple[str, str, int, int]]:
        for row in _stream(
            conn,
            "SELECT account, currency, SUM(IIF(seq <= ?, amount_minor, 0)), SUM(amount_minor) "
            "FROM entries GROUP BY account, currency ORDER BY account, currency",
            (through_seq,),
        ):
            account, currency, _, balance = row
            if balance < 0 and account.startswith("player:"):
                negative.append((account, currency, balance))
            yield row

    try:
        for key, balance, total in _merge(stored, summed()):
            report.accounts += balance is not None
            if balance is None and total != 0:
                check.fail(f"{key[0]} {key[1]}: has entries summing to {total}, no account row")
            elif balance is not None and balance != (total or 0):
                check.fail(
                    f"{key[0]} {key[1]}: expected {total or 0} (sum of entries), "
                    f"found balance {balance}"
                )
    except sqlite3.OperationalError as exc:  # SUM overflowed 64 bits: a corrupt amount
        check.fail(f"cannot sum entries: {exc}")
    return check, negative


def _meta_int(conn: sqlite3.Connection, key: str, check: CheckResult) -> int:
    value = meta_int(conn, key)
    if value is None:
        check.fail(f"meta has no {key}")
        return 0
    return value


def _merge(
    left: Iterator[Any], right: Iterator[Any]
) -> Iterator[tuple[tuple[str, str], int | None, int | None]]:
    """Full outer join of two streams of (account, currency, value) sorted by key."""
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        # (False, key) sorts before the (True,) of an exhausted stream
        key_a: tuple[Any, ...] = (True,) if a is None else (False, a[0], a[1])
        key_b: tuple[Any, ...] = (True,) if b is None else (False, b[0], b[1])
        key = min(key_a, key_b)
        yield (key[1], key[2]), _value_at(a, key_a == key), _value_at(b, key_b == key)
        if key_a == key:
            a = next(left, None)
        if key_b == key:
            b = next(right, None)


def _value_at(row: Any, matches: bool) -> int | None:
    return row[2] if matches else None


def _check_currency_totals(conn: sqlite3.Connection) -> CheckResult:
    check = CheckResult(CHECK_CURRENCIES)
    try:
        rows = conn.execute(
            "SELECT currency, SUM(amount_minor) FROM entries GROUP BY currency ORDER BY currency"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        check.fail(f"cannot sum entries: {exc}")
        return check
    for currency, total in rows:
        if total != 0:
            check.fail(f"{currency}: expected 0, found {total}")
    return check


def _entry_groups(
    conn: sqlite3.Connection, report: VerifyReport
) -> Iterator[tuple[int, list[Entry]]]:
    """Entries grouped by seq, in seq order."""
    seq: int | None = None
    group: list[Entry] = []
    for row_seq, account, currency, amount in _stream(
        conn, "SELECT seq, account, currency, amount_minor FROM entries ORDER BY seq, rowid"
    ):
        report.entries += 1
        if row_seq != seq:
            if seq is not None:
                yield seq, group
            seq, group = row_seq, []
        group.append(Entry(account, currency, amount))
    if seq is not None:
        yield seq, group


def _check_log(
    conn: sqlite3.Connection, report: VerifyReport, render: RenderCheck
) -> list[CheckResult]:
    """One pass over txs and entries, both by seq: balance per tx, chains, player legs
    and whether the operator API can render each record."""
    balanced = CheckResult(CHECK_TX_BALANCED)
    chain = CheckResult(CHECK_CHAIN)
    legs = CheckResult(CHECK_PLAYER_LEGS)
    players = _PlayerChainCheck(conn)
    groups = _entry_groups(conn, report)
    group = next(groups, None)
    link, expected_seq = GENESIS_HASH, 1
    for chained_row in _stream(
        conn, f"SELECT {TX_COLUMNS}, hash, prev_player_seq FROM txs ORDER BY seq"
    ):
        report.txs += 1
        row, prev_player_seq = chained_row[:-1], chained_row[-1]
        seq = row[0]
        players.link(seq, row[4], prev_player_seq)
        while group is not None and group[0] < seq:
            _check_group_sum(balanced, group)
            legs.fail(f"seq {group[0]}: {len(group[1])} entries but no transaction")
            group = next(groups, None)
        entries: list[Entry] = []
        if group is not None and group[0] == seq:
            _check_group_sum(balanced, group)
            entries = group[1]
            group = next(groups, None)
        if seq != expected_seq:
            chain.fail(f"seq {seq}: expected seq {expected_seq} (seqs must be dense from 1)")
            expected_seq = seq
        expected_seq += 1
        record = _record(row, chain)
        if record is None:
            link = row[-1]
            continue
        link = _check_link(chain, record, link, row[-1])
        _check_legs(legs, record, entries)
        render.record(record)
    while group is not None:
        _check_group_sum(balanced, group)
        legs.fail(f"seq {group[0]}: {len(group[1])} entries but no transaction")
        group = next(groups, None)
    return [balanced, chain, legs, players.finish()]


class _PlayerChainCheck:
    """Each row's `prev_player_seq` is its player's previous seq, and `player_heads`
    holds each player's last seq up to meta's `snapshot_through_seq` (the rows after it
    are the in-memory tail). Holds one seq per player, twice."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.check = CheckResult(CHECK_PLAYER_CHAINS)
        self._through_seq = _meta_int(conn, SNAPSHOT_SEQ_KEY, self.check)
        self._last: dict[str, int] = {}
        self._at_through: dict[str, int] | None = None

    def link(self, seq: int, player_id: str, prev_player_seq: int | None) -> None:
        if self._at_through is None and seq > self._through_seq:
            self._at_through = dict(self._last)
        expected = self._last.get(player_id)
        if prev_player_seq != expected:
            self.check.fail(
                f"seq {seq}: expected the link to {player_id}'s previous seq {expected}, "
                f"found {prev_player_seq}"
            )
        self._last[player_id] = seq

    def finish(self) -> CheckResult:
        expected = self._last if self._at_through is None else self._at_through
        stored = dict(_stream(self._conn, "SELECT player_id, last_seq FROM player_heads"))
        for player_id in sorted(expected.keys() | stored.keys()):
            if stored.get(player_id) != expected.get(player_id):
                self.check.fail(
                    f"player_heads {player_id}: expected {expected.get(player_id)}, "
                    f"found {stored.get(player_id)}"
                )
        return self.check


def _record(row: tuple[Any, ...], chain: CheckResult) -> TxRecord | None:
    try:
        return tx_from_row(row[:-1])
    except (ValueError, TypeError) as exc:
        chain.fail(f"seq {row[0]}: unreadable row ({exc})")
        return None


def _check_group_sum(check: CheckResult, group: tuple[int, list[Entry]]) -> None:
    seq, entries = group
    total = sum(entry.amount_minor for entry in entries)
    if total != 0:
        check.fail(f"seq {seq}: expected entries to sum to 0, found {total}")


def _check_link(check: CheckResult, record: TxRecord, previous: bytes, stored: object) -> bytes:
    """Recompute the link; continue from the stored hash so one break is reported once."""
    expected = link_hash(previous, record)
    if expected != stored:
        found = stored.hex()[:16] if isinstance(stored, bytes) else repr(stored)
        check.fail(f"seq {record.seq}: expected hash {expected.hex()[:16]}…, found {found}…")
        return stored if isinstance(stored, bytes) and len(stored) == 32 else expected
    return expected


def _check_legs(check: CheckResult, record: TxRecord, entries: list[Entry]) -> None:
    where = f"seq {record.seq} ({record.kind.value} {record.provider}/{record.tx_id})"
    moved = record.kind in _MONEY_KINDS and record.status in _MOVED_STATUSES
    if not moved:
        if entries:
            check.fail(f"{where}: a {record.status.value} record must have no entries")
        return
    real_account = player_account(record.player_id, "real")
    bonus_account = player_account(record.player_id, "bonus")
    real = bonus = 0
    for entry in entries:
        if entry.currency != record.currency:
            check.fail(f"{where}: expected currency {record.currency}, found {entry.currency}")
            return
        if entry.account == real_account:
            real += entry.amount_minor
        elif entry.account == bonus_account:
            bonus += entry.amount_minor
        elif entry.account.startswith("player:"):
            check.fail(f"{where}: leg on another player's account {entry.account}")
            return
    if (real, bonus) != (record.real_delta_minor, record.bonus_delta_minor):
        check.fail(
            f"{where}: expected real/bonus legs {record.real_delta_minor}/"
            f"{record.bonus_delta_minor}, found {real}/{bonus}"
        )


def _check_negative(conn: sqlite3.Connection, negative: list[_Balance]) -> CheckResult:
    """A negative player balance (the sum of all its entries) is allowed only as debt left
    by a reversed win."""
    check = CheckResult(CHECK_NEGATIVE)
    if not negative:
        return check
    with_reversed_win = {
        player_id
        for (player_id,) in _stream(
            conn,
            "SELECT DISTINCT player_id FROM txs WHERE kind = ? AND status = ?",
            (TxKind.CREDIT.value, TxStatus.ROLLED_BACK.value),
        )
    }
    for account, currency, balance in negative:
        player_id = account[len("player:") :].rsplit(":", 1)[0]
        if player_id not in with_reversed_win:
            check.fail(f"{account} {currency}: balance {balance} but no reversed win left a debt")
    return check


def _check_outbox(conn: sqlite3.Connection) -> CheckResult:
    """Every transaction is in exactly one outbox event: a reporting consumer that reads
    the events in order sees the whole log, once."""
    check = CheckResult(CHECK_OUTBOX)
    expected_first = 1
    for event_id, first_seq, last_seq in _stream(
        conn, "SELECT event_id, first_seq, last_seq FROM outbox ORDER BY event_id"
    ):
        if first_seq != expected_first or last_seq < first_seq:
            check.fail(
                f"event {event_id}: expected seqs from {expected_first}, "
                f"found {first_seq}..{last_seq}"
            )
        expected_first = max(expected_first, last_seq + 1)
    (last_seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM txs").fetchone()
    if expected_first - 1 != last_seq:
        check.fail(f"the events end at seq {expected_first - 1}, the log at seq {last_seq}")
    return check
