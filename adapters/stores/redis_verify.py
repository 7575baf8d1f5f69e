"""Reconciliation of a Redis wallet: `gamegate verify` for `redis://` and `redis+cluster://`.

It walks the 1,024 player groups (`redis_keys.GROUPS`). Each group is read as one
instant by `gg_dump_group_v2` (a read-only function; the group's players and its house
shard share one slot), so a wallet in use verifies as cleanly as an idle one:

- per player (`redis_verify_player`): balances equal their entries, the hash chain
  relinks, history and round index hold exactly the records, legs match deltas and
  sum to zero, no negative balance without a reversed win, no lock left behind;
- per group: the house shard equals the sum of the house legs of its players' records;
- claims: every record's and round's id is claimed by the player holding it;
- outbox: each record is in exactly one event of its group's stream (read after the
  dump, so every dumped record's event is there). A relay trims a stream's oldest
  events once it has them (`XTRIM MINID`): such a trimmed prefix is noted and its
  records are not required; an event deleted from the middle is a failure;
- conservation: per currency, the player balances plus every house shard sum to zero.
  The groups are read one after another, so this total is exact while no money moves
  between the reads; the per-group checks above are exact under any load.

It writes nothing, except loading the wallet's functions where they are missing.
Each group's dump is one read-only function call holding the server for as long as
the group takes to read (about a millisecond per thousand records here).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from adapters.stores.check_result import CheckResult
from adapters.stores.redis_clients import sync_client
from adapters.stores.redis_keys import (
    GROUPS,
    claim_round_key,
    claim_tx_key,
    group_keys,
    player_keys,
    split_field,
)
from adapters.stores.redis_lua import DUMP_GROUP, LIBRARY_SOURCE
from adapters.stores.redis_url import parse_redis_url
from adapters.stores.redis_verify_player import PlayerChecks, PlayerDump
from core.money import CurrencyTable

__all__ = ["CHECKS", "RedisVerifyReport", "verify_redis_wallet"]

CHECKS = {
    "balances": "balances: each player balance equals the sum of its entries",
    "house": "house: each group's house shard equals the sum of its house legs",
    "conservation": "conservation: player balances and house shards sum to zero per currency",
    "double-entry": "double entry: the entries of each transaction sum to zero",
    "legs": "player legs: each transaction's entries match its real/bonus deltas",
    "chain": "hash chain: each player's records relink from genesis to the head",
    "indexes": "indexes: history and round index hold exactly the player's records",
    "negative": "no negative player balance except debt from a reversed win",
    "claims": "claims: every id is claimed by the player that holds it",
    "outbox": "outbox: every record is in exactly one event of its group's stream",
    "locks": "locks: no player is left locked by an unfinished step",
    "renderable": "renderable: known currencies, non-negative amounts",
}
GROUP_READS_MAX = 5
"""Dumps of one group before giving up on it (a player created between the two reads
of a group makes it read again)."""
STREAM_PAGE = 1_000
TIMEOUT_S = 30.0


@dataclass(slots=True)
class RedisVerifyReport:
    """The verdict (`ok`) and one line per check (`lines`), like SQLite's report."""

    target: str
    checks: dict[str, CheckResult] = field(
        default_factory=lambda: {name: CheckResult(text) for name, text in CHECKS.items()}
    )
    players: int = 0
    txs: int = 0
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def fail(self, name: str, detail: str) -> None:
        self.checks[name].fail(detail)

    def lines(self) -> list[str]:
        verdict = "OK" if self.ok else "FAILED"
        head = (
            f"wallet {self.target}: {verdict} — {self.players} players, {self.txs} txs, "
            f"{GROUPS} groups, verified in {self.elapsed_s:.3f} s"
        )
        return [head, *(check.line() for check in self.checks.values()), *self.notes]


def verify_redis_wallet(
    url: str, *, currencies_extra: Mapping[str, int] | None = None
) -> RedisVerifyReport:
    """Check the wallet `url` names without changing it; `report.ok` is the verdict."""
    started = time.perf_counter()
    target = parse_redis_url(url)
    report = RedisVerifyReport(target.describe())
    client = sync_client(target, TIMEOUT_S)
    try:
        checks = PlayerChecks(CurrencyTable(currencies_extra), report.fail)
        house_totals: dict[str, int] = defaultdict(int)
        for group in range(GROUPS):
            _verify_group(client, group, checks, house_totals, report)
        report.txs = checks.txs
        for currency in sorted(set(checks.totals) | set(house_totals)):
            total = checks.totals.get(currency, 0) + house_totals.get(currency, 0)
            if total != 0:
                report.fail("conservation", f"{currency}: players and house sum to {total}")
    finally:
        client.close()
    report.elapsed_s = time.perf_counter() - started
    return report


def _dump(client: Any, keys: list[str]) -> Any:
    """`gg_dump_group_v2`, loading the library (on every master) if it is missing."""
    try:
        return client.fcall_ro(DUMP_GROUP, len(keys), *keys)
    except redis.ResponseError as exc:
        if "Function not found" not in str(exc):
            raise
    client.function_load(LIBRARY_SOURCE, replace=True)
    return client.fcall_ro(DUMP_GROUP, len(keys), *keys)


def _verify_group(
    client: Any,
    group: int,
    checks: PlayerChecks,
    house_totals: dict[str, int],
    report: RedisVerifyReport,
) -> None:
    keys = group_keys(group)
    dumps: list[PlayerDump] | None = None
    house_flat: list[bytes] = []
    for _ in range(GROUP_READS_MAX):
        players = sorted(member.decode() for member in client.smembers(keys.players))
        function_keys = [keys.house, keys.players]
        for player_id in players:
            k = player_keys(player_id)
            function_keys += [k.player, k.txs, k.rounds, k.history, k.round_index]
        reply = _dump(client, function_keys)
        if reply[1] == len(players):
            house_flat = reply[0]
            dumps = [
                PlayerDump.parse(player_id, part)
                for player_id, part in zip(players, reply[2:], strict=True)
            ]
            break
    if dumps is None:
        report.fail("house", f"group {group}: its players kept changing; not checked")
        return
    checks.house.clear()  # this group's house legs only
    for dump in dumps:
        checks.check(dump)
        report.players += 1
    _check_house(group, house_flat, checks.house, house_totals, report)
    _check_claims(client, dumps, report)
    _check_outbox(client, group, dumps, report)


def _check_house(
    group: int,
    house_flat: list[bytes],
    legs: dict[tuple[str, str], int],
    house_totals: dict[str, int],
    report: RedisVerifyReport,
) -> None:
    stored: dict[tuple[str, str], int] = {}
    for name, value in zip(house_flat[::2], house_flat[1::2], strict=True):
        currency, _, account = name.decode().partition(":")
        stored[(currency, account)] = int(value)
        house_totals[currency] += int(value)
    for key in sorted(set(stored) | set(legs)):
        if stored.get(key, 0) != legs.get(key, 0):
            report.fail(
                "house",
                f"group {group} {key[1]} {key[0]}: shard {stored.get(key, 0)}, "
                f"legs {legs.get(key, 0)}",
            )


def _check_claims(client: Any, dumps: list[PlayerDump], report: RedisVerifyReport) -> None:
    expected: list[tuple[str, str]] = []
    for dump in dumps:
        expected += [(claim_tx_key(f), dump.player_id) for f in dump.txs]
        expected += [(claim_round_key(f), dump.player_id) for f in dump.rounds]
    if not expected:
        return
    pipe = client.pipeline(transaction=False)
    for name, _ in expected:
        pipe.get(name)
    for (name, owner), found in zip(expected, pipe.execute(), strict=True):
        if found is None or found.decode() != owner:
            held = None if found is None else found.decode()
            report.fail("claims", f"{name}: held by {held!r}, used by {owner!r}")


def _check_outbox(
    client: Any, group: int, dumps: list[PlayerDump], report: RedisVerifyReport
) -> None:
    key = group_keys(group).outbox
    seen: dict[int, int] = defaultdict(int)
    start = "-"
    while True:
        page = client.xrange(key, min=start, max="+", count=STREAM_PAGE)
        for _, fields in page:
            for stored in orjson.loads(fields[b"e"]):
                seen[stored[0]] += 1  # a record as `encode_tx` stores it: seq first
        if len(page) < STREAM_PAGE:
            break
        start = "(" + page[-1][0].decode()
    try:
        trimmed = _trimmed(client, key)
    except _Gap as gap:
        report.fail("outbox", f"group {group}: {gap}")
        return
    if trimmed:
        report.notes.append(f"note: group {group}'s outbox was trimmed by its relay ({trimmed})")
    for dump in dumps:
        for field_name, stored in dump.txs.items():
            count = seen.get(stored.record.seq, 0)
            if count > 1 or (count == 0 and not trimmed):
                provider, tx_id = split_field(field_name)
                report.fail(
                    "outbox", f"seq {stored.record.seq} ({provider}/{tx_id}): in {count} events"
                )


def _trimmed(client: Any, key: str) -> str:
    """Why some events may be gone: a prefix the relay trimmed once it had them (`XTRIM
    MINID`; empty: nothing was ever deleted). An event deleted from the middle of the
    stream is no trimming: that raises `_Gap`."""
    if not client.exists(key):
        return ""
    info = client.xinfo_stream(key)
    added, length = int(info.get("entries-added", 0)), int(info.get("length", 0))
    if added == length:
        return ""
    first = info.get("first-entry")
    deleted = _stream_id(info.get("max-deleted-entry-id", b"0-0"))
    if first is not None and deleted > _stream_id(first[0]):
        raise _Gap(f"{added - length} of {added} events deleted, not only a trimmed prefix")
    return f"a prefix of {added - length} of {added} events trimmed"


class _Gap(Exception):
    """Events are missing from the middle of an outbox stream."""


def _stream_id(value: bytes | str) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, sequence = text.partition("-")
    return int(ms), int(sequence or 0)
