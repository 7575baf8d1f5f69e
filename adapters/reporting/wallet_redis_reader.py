"""The Redis wallet's committed log: its outbox streams, read without writing anything.

The Redis wallet writes one outbox stream per hash-slot group (`{gg:n}:outbox`,
`adapters.stores.redis_keys`), one entry per wallet step part, in the same Lua call as
the records the entry holds (`redis_codec.outbox_event`): an entry that is visible is
committed, and so are its records. A group's seqs (`counter * GROUPS + group`) rise
along its stream, but not across groups, so one seq cannot say where the relay stands:
the position is per group, `redis:<n>` -> the id of the last entry relayed, which the
relay takes from the reporting store (`ReportingStore.positions`), hands to `read`,
and stores with the events from `WalletBatch.positions`. The cursor the relay also
stores is a high-water mark (`through_seq`: the largest seq read, never less than the
cursor given), so every event's seq is at or below it and it never goes back.

All of one player's keys carry their group's tag, so each player's records come in the
order they were written. One `read`:

1. Each group's stream after its position, a small page each: on one server one
   `XREAD` over every stream (it answers for the streams that hold something new, so
   an idle poll is one command), on a cluster an `XRANGE` per group, pipelined (the
   streams live on different nodes); groups whose page came back full are read again
   with the rest of the budget, and
   only for them `XREVRANGE ... COUNT 1` asks for the last entry (the wallet's last seq,
   for the lag): a group whose page was not full has shown its last entry already.
2. Keep the oldest entries (by stream id, so no group starves) up to `seqs_max`
   records, a prefix of each group's: the positions move to the last one kept.
3. Gather the facts `core.reporting.derive` needs, as `redis_view` reads them: each
   player's `rec`, the round records and the records under the keys credits and
   rollbacks name (the player's own hashes first; else the owner the global claim
   names), the bets the credits among those name, and for a credit without a
   reference or a rollback the round's bets and credits from the player's round index
   (`ZRANGEBYLEX` below the record's seq) and their records.

Facts are read after the entries, so a status may have moved on since: derive relies
only on what never changes, as with SQLite. Works on one server and on a cluster (each
command goes to its key's slot); the link opens no wallet functions and takes no lock.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from adapters.reporting.redis_wallet_link import RedisWalletReader
from adapters.stores.redis_codec import (
    decode_outbox_event,
    decode_player,
    decode_record,
    decode_round,
)
from adapters.stores.redis_keys import (
    claim_round_key,
    claim_tx_key,
    group_keys,
    key_field,
    player_keys,
    round_index_prefix,
)
from adapters.stores.redis_link import Link, NodeLink, replies_of
from core.model import TxKind, TxStatus
from core.reporting.wallet_log import (
    PlayerFacts,
    RefFacts,
    RoundFacts,
    WalletBatch,
    needs_round_txs,
)
from core.wallet.records import RoundRecord, TxRecord

__all__ = ["READ_TIMEOUT_S", "SOURCE_PREFIX", "RedisWalletLog", "source_of"]

SOURCE_PREFIX = "redis:"
"""A group's source name is this and the group number."""
READ_TIMEOUT_S = 30.0
"""A whole `read` (both pages, the facts): the relay's failure path takes it from there."""
_PAGES_PER_BATCH = 4
"""The first page of each group: this many batches' worth spread over every group, so
a read asks for at most a few batches of entries while the load is spread out."""
_LIVE_BET = (TxStatus.APPLIED, TxStatus.SETTLED)


def source_of(group: int) -> str:
    return f"{SOURCE_PREFIX}{group}"


class _Entry(NamedTuple):
    order: tuple[int, int]
    """The stream id as numbers (milliseconds, sequence): the oldest first."""
    group: int
    entry_id: str
    records: list[TxRecord]


class RedisWalletLog(RedisWalletReader):
    """`WalletLog` on a Redis wallet (one server or a cluster). Use `await
    RedisWalletLog.open(url)`."""

    READS = "outbox streams"

    async def read(
        self, after_seq: int, seqs_max: int, positions: Mapping[str, str] | None = None
    ) -> WalletBatch:
        """`after_seq` is the store's cursor (the high-water mark `through_seq` starts
        from); where each group's stream is read from is `positions`."""
        assert seqs_max >= 1
        async with asyncio.timeout(READ_TIMEOUT_S):
            return await self._read(after_seq, seqs_max, positions or {})

    async def _read(
        self, after_seq: int, seqs_max: int, positions: Mapping[str, str]
    ) -> WalletBatch:
        entries, last_seq, more = await self._entries(seqs_max, positions)
        kept, left = _oldest(entries, seqs_max)
        records = [record for entry in kept for record in entry.records]
        last_seq = max(last_seq, after_seq)
        if not records:
            return WalletBatch((), after_seq, last_seq, None, {}, {}, {})
        through_seq = max(after_seq, max(record.seq for record in records))
        moved = {source_of(entry.group): entry.entry_id for entry in kept}
        next_at = [entry.records[0].created_at_us for entry in left if entry.records]
        next_at += [kept[-1].records[-1].created_at_us] if more and not left else []
        players, rounds, refs = await asyncio.gather(
            self._players({r.player_id for r in records}),
            self._rounds(records),
            self._refs(records),
        )
        return WalletBatch(
            records,
            through_seq,
            max(last_seq, through_seq),
            min(next_at, default=None),
            players,
            rounds,
            refs,
            moved,
        )

    async def _entries(
        self, seqs_max: int, positions: Mapping[str, str]
    ) -> tuple[list[_Entry], int, bool]:
        """Entries after each group's position: a first page of every group, then the
        rest of the budget from the groups whose page was full. Also the largest seq of
        any group's last entry, and whether a group may hold more than was read."""
        link = self._link
        first = max(1, math.ceil(seqs_max * _PAGES_PER_BATCH / self._groups))
        after = {g: positions.get(source_of(g)) for g in range(self._groups)}
        if isinstance(link, NodeLink):
            by_group = await _first_pages_at_once(link, after, first)
        else:
            pages = [_send_page(link, g, _after(after[g]), first) for g in range(self._groups)]
            by_group = {g: _decoded(g, page) for g, page in enumerate(await replies_of(pages))}
        full = [g for g, got in by_group.items() if len(got) == first]
        # A group not full has shown its last entry; a group with nothing new holds
        # nothing past the cursor. Only the full ones are asked how far they go.
        lasts = [
            link.send(key, "XREVRANGE", key, "+", "-", "COUNT", 1)
            for key in (group_keys(g).outbox for g in full)
        ]
        last_seq = max(
            (r.seq for got in by_group.values() for entry in got for r in entry.records),
            default=0,
        )
        for reply in await replies_of(lasts):
            for _, fields in reply:
                last_seq = max(last_seq, max((r.seq for r in _event_records(fields)), default=0))
        read = sum(len(entry.records) for got in by_group.values() for entry in got)
        more = bool(full)
        if full and read < seqs_max:
            rest = seqs_max - read
            again = [_send_page(link, g, "(" + by_group[g][-1].entry_id, rest) for g in full]
            more = False
            for g, page in zip(full, await replies_of(again), strict=True):
                got = _decoded(g, page)
                by_group[g] += got
                more = more or len(got) == rest
        return [entry for got in by_group.values() for entry in got], last_seq, more

    async def _players(self, player_ids: set[str]) -> dict[str, PlayerFacts]:
        ordered = sorted(player_ids)
        keys = [player_keys(p).player for p in ordered]
        raws = await replies_of([self._link.send(key, "HGET", key, "rec") for key in keys])
        players: dict[str, PlayerFacts] = {}
        for player_id, raw in zip(ordered, raws, strict=True):
            if raw is not None:
                p = decode_player(raw)
                players[player_id] = PlayerFacts(p.brand, p.jurisdiction, p.currency)
        return players

    async def _rounds(self, records: list[TxRecord]) -> dict[tuple[str, str], RoundFacts]:
        """Every round the records name; for rounds with a credit naming no bet or a
        rollback, also the round's bets and credits naming no bet below the last of
        them (as SQLite's reader)."""
        wanted = {(r.provider, r.round_id): r.player_id for r in records if r.round_id is not None}
        found = await self._owned(wanted, _ROUNDS)
        rounds: dict[tuple[str, str], RoundFacts] = {}
        owners: dict[tuple[str, str], str] = {}
        for key, (owner, raw) in found.items():
            round_: RoundRecord = decode_round(raw)
            rounds[key] = RoundFacts(round_.game_id, round_.settled_before_seq)
            owners[key] = owner
        bounds: dict[tuple[str, str], int] = {}
        for r in records:
            if needs_round_txs(r) and r.round_id is not None:
                key = (r.provider, r.round_id)
                bounds[key] = max(bounds.get(key, 0), r.seq + 1)
        listed = [key for key in bounds if key in rounds]
        txs = await asyncio.gather(*(self._round_txs(owners[k], *k, bounds[k]) for k in listed))
        for key, (bets, credits) in zip(listed, txs, strict=True):
            rounds[key] = rounds[key]._replace(bets=bets, round_credits=credits)
        return rounds

    async def _round_txs(
        self, owner: str, provider: str, round_id: str, below_seq: int
    ) -> tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]:
        """The round's standing bets and its credits naming no bet, below `below_seq`,
        from the owner's round index (members sorted by seq within the round)."""
        keys = player_keys(owner)
        prefix = round_index_prefix(provider, round_id)
        members = await self._link.call(
            keys.round_index, "ZRANGEBYLEX", keys.round_index,
            "[" + prefix, "(" + prefix + f"{below_seq:020d}",
        )  # fmt: skip
        fields = [bytes(member)[len(prefix.encode()) + 21 :] for member in members]
        if not fields:
            return (), ()
        raws = await self._link.call(keys.txs, "HMGET", keys.txs, *fields)
        bets: list[tuple[int, str]] = []
        credits: list[tuple[int, str]] = []
        for raw in raws:
            if raw is None:
                continue
            r = decode_record(raw)
            if r.kind is TxKind.DEBIT and r.status in _LIVE_BET:
                bets.append((r.seq, r.tx_id))
            elif (
                r.kind is TxKind.CREDIT and r.ref_tx_id is None and r.status is not TxStatus.REFUSED
            ):
                credits.append((r.seq, r.detail))
        return tuple(sorted(bets)), tuple(sorted(credits))

    async def _refs(self, records: list[TxRecord]) -> dict[tuple[str, str], RefFacts]:
        wanted = {
            (r.provider, r.ref_tx_id): r.player_id
            for r in records
            if r.ref_tx_id is not None
            and r.kind in (TxKind.CREDIT, TxKind.ROLLBACK)
            and r.status is not TxStatus.REFUSED
        }
        found = await self._owned(wanted, _TXS)
        named: dict[tuple[str, str], str] = {}
        for (provider, _), (owner, raw) in found.items():
            r = decode_record(raw)
            if r.kind is TxKind.CREDIT and r.ref_tx_id is not None:
                named[(provider, r.ref_tx_id)] = owner
        for key in found:
            named.pop(key, None)
        if named:
            found.update(await self._owned(named, _TXS))
        refs: dict[tuple[str, str], RefFacts] = {}
        for key, (_, raw) in found.items():
            r = decode_record(raw)
            refs[key] = RefFacts(r.seq, r.kind, r.status, r.ref_tx_id)
        return refs

    async def _owned(
        self, wanted: Mapping[tuple[str, str], str], kind: str
    ) -> dict[tuple[str, str], tuple[str, bytes]]:
        """(provider, id) -> (owner, raw value) from the naming player's hash (`kind`:
        txs or rounds), or, where that lacks it, from the owner its claim names."""
        link = self._link
        keys = list(wanted)
        sent = []
        for provider, ident in keys:
            name = _hash(wanted[(provider, ident)], kind)
            sent.append(link.send(name, "HGET", name, key_field(provider, ident)))
        found: dict[tuple[str, str], tuple[str, bytes]] = {}
        missing: list[tuple[str, str]] = []
        for key, raw in zip(keys, await replies_of(sent), strict=True):
            if raw is None:
                missing.append(key)
            else:
                found[key] = (wanted[key], raw)
        if not missing:
            return found
        claim = claim_tx_key if kind == _TXS else claim_round_key
        claims = [claim(key_field(*key)) for key in missing]
        owners = await replies_of([link.send(name, "GET", name) for name in claims])
        elsewhere = [
            (key, owner.decode())
            for key, owner in zip(missing, owners, strict=True)
            if owner is not None and owner.decode() != wanted[key]
        ]
        sent = []
        for (provider, ident), owner in elsewhere:
            name = _hash(owner, kind)
            sent.append(link.send(name, "HGET", name, key_field(provider, ident)))
        for (key, owner), raw in zip(elsewhere, await replies_of(sent), strict=True):
            if raw is not None:
                found[key] = (owner, raw)
        return found


_TXS = "txs"
_ROUNDS = "rounds"


def _hash(player_id: str, kind: str) -> str:
    keys = player_keys(player_id)
    return keys.txs if kind == _TXS else keys.rounds


def _after(position: str | None) -> str:
    """XRANGE's start after a stored position (exclusive), or the stream's start."""
    return "-" if position is None else "(" + position


async def _first_pages_at_once(
    link: NodeLink, after: Mapping[int, str | None], count: int
) -> dict[int, list[_Entry]]:
    """Every group's first page with one `XREAD` (one server holds every stream); a group
    with nothing past its position is absent from the answer, and empty here."""
    keys = [group_keys(g).outbox for g in after]
    ids = ["0-0" if position is None else position for position in after.values()]
    reply = await link.call(keys[0], "XREAD", "COUNT", count, "STREAMS", *keys, *ids)
    group_of = dict(zip(keys, after, strict=True))
    by_group: dict[int, list[_Entry]] = {g: [] for g in after}
    for raw_key, page in reply or ():
        group = group_of[raw_key.decode()]
        by_group[group] = _decoded(group, page)
    return by_group


def _send_page(link: Link, group: int, start: str, count: int) -> Awaitable[Any]:
    key = group_keys(group).outbox
    return link.send(key, "XRANGE", key, start, "+", "COUNT", count)


def _decoded(group: int, page: Sequence[Any]) -> list[_Entry]:
    entries = []
    for raw_id, fields in page:
        entry_id = raw_id.decode()
        ms, _, sequence = entry_id.partition("-")
        entries.append(_Entry((int(ms), int(sequence)), group, entry_id, _event_records(fields)))
    return entries


def _event_records(fields: Sequence[bytes]) -> list[TxRecord]:
    """An outbox entry's records: its one field, `e`, holds them (`outbox_event`)."""
    values = dict(zip(fields[::2], fields[1::2], strict=True))
    return decode_outbox_event(values[b"e"])


def _oldest(entries: Iterable[_Entry], seqs_max: int) -> tuple[list[_Entry], list[_Entry]]:
    """The oldest entries holding at most `seqs_max` records (at least one entry), and
    the rest. Within a group the stream id rises, so what is kept is a prefix of each
    group's entries."""
    ordered = sorted(entries)
    kept: list[_Entry] = []
    count = 0
    for index, entry in enumerate(ordered):
        if kept and count + len(entry.records) > seqs_max:
            return kept, ordered[index:]
        kept.append(entry)
        count += len(entry.records)
    return kept, []
