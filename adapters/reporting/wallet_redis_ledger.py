"""What reconciliation reads from a Redis wallet (one server or a cluster): entries per
day and a provider's transactions, with read-only commands only.

The ledger is in the records: each player's `{gg:n}:t:<player>` hash holds, per key, the
record with its entries (`redis_codec.encode_tx`); entries never change once written (a
status may). A read walks every group: `SSCAN` its players set, `HSCAN` each player's
records, pages of a bounded size, a few groups at a time, each command to its key's
slot. No `KEYS`, no Lua, no lock: the wallet goes on while it reads. SCAN may return a
field twice; records are keyed by field, so none is counted twice.

Which records the reporting store holds: a group's seqs rise along its outbox stream,
so the store's position in that stream (`ReportingStore.positions`, the id of the last
entry relayed) says it: the records with seqs up to the largest in the entry at or
before that position (`XREVRANGE ... COUNT 1`). Later records are left out of the day
sums, as SQLite's are past the cursor, so relay lag is no difference.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta

from adapters.reporting.redis_wallet_link import RedisWalletReader
from adapters.reporting.wallet_redis_reader import source_of
from adapters.stores.redis_codec import decode_outbox_event, decode_record, decode_tx
from adapters.stores.redis_keys import group_keys, player_keys
from adapters.stores.redis_link import Link, replies_of
from core.reporting.reconcile import LedgerTx
from core.reporting.store import DaySum
from core.reporting.wallet_ledger import DAY_US, day_window_us, ledger_tx

__all__ = ["GROUPS_IN_FLIGHT", "PLAYERS_PAGE", "TXS_PAGE", "RedisWalletLedger"]

GROUPS_IN_FLIGHT = 8
"""Groups walked at once: enough to keep a few round trips in flight, few enough that a
walk never floods the wallet's servers."""
PLAYERS_PAGE = 256
"""`SSCAN ... COUNT`: players asked for per page of a group's players set."""
TXS_PAGE = 512
"""`HSCAN ... COUNT`: records asked for per page of a player's records hash."""
_PLAYER_PREFIX, _REAL_SUFFIX, _BONUS_SUFFIX = "player:", ":real", ":bonus"
"""A player's accounts, as `core.wallet.records.player_account` names them (the SQLite
reader's `LIKE 'player:%:real'`)."""

Visit = Callable[[int, bytes], None]
"""Called with (group, raw record) for each record of the wallet."""


class RedisWalletLedger(RedisWalletReader):
    """`WalletLedger` on a Redis wallet. Use `await RedisWalletLedger.open(url)`."""

    READS = "records"

    async def day_sums(
        self, first_day: date, last_day: date, through_seq: int, positions: Mapping[str, str]
    ) -> list[DaySum]:
        """`through_seq` is not used: the positions say what the store holds."""
        start_us, end_us = day_window_us(first_day, last_day)
        relayed = await self._relayed_seqs(positions)
        sums: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])

        def visit(group: int, raw: bytes) -> None:
            stored = decode_tx(raw)
            r = stored.record
            if r.seq > relayed.get(group, 0) or not start_us <= r.created_at_us < end_us:
                return
            for entry in stored.entries:
                if not entry.account.startswith(_PLAYER_PREFIX):
                    continue
                row = sums[(r.created_at_us // DAY_US, entry.currency)]
                if entry.account.endswith(_REAL_SUFFIX):
                    row[0] += entry.amount_minor
                elif entry.account.endswith(_BONUS_SUFFIX):
                    row[1] += entry.amount_minor

        await self._walk(visit)
        return sorted(
            DaySum(date(1970, 1, 1) + timedelta(days=day), currency, real, bonus)
            for (day, currency), (real, bonus) in sums.items()
        )

    async def provider_txs(
        self, provider: str, window_us: tuple[int, int], tx_ids: Sequence[str]
    ) -> list[LedgerTx]:
        """A walk of every record: the wallet has no index by provider or time."""
        start_us, end_us = window_us
        wanted = set(tx_ids)
        found: dict[str, LedgerTx] = {}

        def visit(group: int, raw: bytes) -> None:
            r = decode_record(raw)
            if r.provider != provider:
                return
            if not (start_us <= r.created_at_us < end_us or r.tx_id in wanted):
                return
            tx = ledger_tx(
                r.tx_id, r.kind, r.status, r.amount_minor, r.real_delta_minor,
                r.bonus_delta_minor, r.currency, r.created_at_us,
            )  # fmt: skip
            if tx is not None:
                found[r.tx_id] = tx

        await self._walk(visit)
        return sorted(found.values(), key=lambda tx: (tx.at_us, tx.tx_id))

    async def _relayed_seqs(self, positions: Mapping[str, str]) -> dict[int, int]:
        """Group -> the largest seq the store holds of it (absent: none)."""
        groups = [g for g in range(self._groups) if source_of(g) in positions]
        sent = []
        for g in groups:
            key = group_keys(g).outbox
            sent.append(self._link.send(key, "XREVRANGE", key, positions[source_of(g)], "-",
                                        "COUNT", 1))  # fmt: skip
        relayed: dict[int, int] = {}
        for g, reply in zip(groups, await replies_of(sent), strict=True):
            for _, fields in reply:
                values = dict(zip(fields[::2], fields[1::2], strict=True))
                seqs = [r.seq for r in decode_outbox_event(values[b"e"])]
                relayed[g] = max(seqs, default=0)
        return relayed

    async def _walk(self, visit: Visit) -> None:
        """Every record of every group, each once, `GROUPS_IN_FLIGHT` groups at a time."""
        for first in range(0, self._groups, GROUPS_IN_FLIGHT):
            last = min(first + GROUPS_IN_FLIGHT, self._groups)
            walked = await asyncio.gather(*(self._group(g) for g in range(first, last)))
            for group, records in zip(range(first, last), walked, strict=True):
                for raw in records:
                    visit(group, raw)

    async def _group(self, group: int) -> list[bytes]:
        """The group's records: its players' hashes, `PLAYERS_PAGE` players at once."""
        players_key = group_keys(group).players
        players = sorted({p.decode() for p in await _scanned(self._link, players_key, "SSCAN")})
        records: list[bytes] = []
        for first in range(0, len(players), PLAYERS_PAGE):
            keys = [player_keys(p).txs for p in players[first : first + PLAYERS_PAGE]]
            for flat in await asyncio.gather(*(_scanned(self._link, k, "HSCAN") for k in keys)):
                records += _values(flat)
        return records


async def _scanned(link: Link, key: str, command: str) -> list[bytes]:
    """Every element `SSCAN`/`HSCAN` returns for `key` (`HSCAN`: field, value, ...), a
    page of about `PLAYERS_PAGE` (`SSCAN`) or `TXS_PAGE` (`HSCAN`) elements a call."""
    page = PLAYERS_PAGE if command == "SSCAN" else TXS_PAGE
    out: list[bytes] = []
    cursor: bytes = b"0"
    while True:
        cursor, items = await link.call(key, command, key, cursor, "COUNT", page)
        out += items
        if cursor == b"0":
            return out


def _values(flat: list[bytes]) -> list[bytes]:
    """An `HSCAN`'s values, one per field (a field SCAN returned twice counts once)."""
    return list(dict(zip(flat[::2], flat[1::2], strict=True)).values())
