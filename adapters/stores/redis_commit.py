"""A decided step as the arguments of `gg_apply_v1`: one part per player it writes.

A part is everything one player's step writes, all under that player's hash tag: the
new records with their chain links and ledger legs (idempotency records, log rows),
records whose status changed, the history and round index entries of the new records,
the rounds, the player's balances and chain head, the house legs summed per account
into the group's house shard, and one outbox event. The guard of a part is the
player's version as read (or, for a step spanning several slots, the lock it holds).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from adapters.stores.redis_claims import ROUND, TX, ClaimKey
from adapters.stores.redis_codec import (
    encode_balance,
    encode_head,
    encode_round,
    encode_tx,
    outbox_event,
    with_status,
)
from adapters.stores.redis_keys import PlayerKeys, key_field, player_keys, round_index_member
from adapters.stores.redis_view import SnapshotView
from core.wallet.chain import GENESIS_HASH, link_hash
from core.wallet.records import Entry, TxRecord
from core.wallet.step import StepWrites

__all__ = ["ARGS_FORMAT", "Part", "build_parts", "function_args"]

ARGS_FORMAT = "1"
PLAYER_ACCOUNT_PREFIX = "player:"
INT64_MAX = 2**63 - 1


@dataclass(slots=True)
class Part:
    """One player's share of a step, as `gg_apply_v1` takes it."""

    player_id: str
    keys: PlayerKeys
    records: list[TxRecord] = field(default_factory=list)
    updates: list[TxRecord] = field(default_factory=list)
    entries: dict[int, list[Entry]] = field(default_factory=lambda: defaultdict(list))
    rounds: list[Any] = field(default_factory=list)
    balances: dict[str, tuple[int, int]] = field(default_factory=dict)
    data: list[Any] = field(default_factory=list)
    """The part's ARGV after its guard (see `_encode`)."""

    @property
    def function_keys(self) -> list[str]:
        k = self.keys
        return [k.player, k.txs, k.rounds, k.history, k.round_index, k.house, k.outbox, k.players]

    def claims(self) -> set[ClaimKey]:
        """The ids this part writes under: each must be claimed by this player."""
        used: set[ClaimKey] = {(TX, r.provider, r.tx_id) for r in self.records}
        used.update((ROUND, r.provider, r.round_id) for r in self.rounds)
        return used


def build_parts(writes: StepWrites, view: SnapshotView) -> list[Part]:
    """Split the step's writes by player and encode each player's part."""
    parts: dict[str, Part] = {}

    def part_of(player_id: str) -> Part:
        found = parts.get(player_id)
        if found is None:
            found = parts[player_id] = Part(player_id, player_keys(player_id))
        return found

    owner_of_seq: dict[int, str] = {}
    for record in writes.records:
        part_of(record.player_id).records.append(record)
        owner_of_seq[record.seq] = record.player_id
    for updated in writes.updates:
        part_of(updated.player_id).updates.append(updated)
    for seq, entry in writes.entries:
        part_of(owner_of_seq[seq]).entries[seq].append(entry)
    for round_ in writes.rounds:
        part_of(round_.player_id).rounds.append(round_)
    for (player_id, currency), balance in writes.balances.items():
        part_of(player_id).balances[currency] = balance
    for part in parts.values():
        _encode(part, view)
    return list(parts.values())


def _encode(part: Part, view: SnapshotView) -> None:
    """The part's data: counts, then player-hash pairs, tx pairs, history pairs,
    round-index members, round pairs, house pairs and the outbox event."""
    state = view.players[part.player_id]
    head_seq, link = state.head or (0, GENESIS_HASH)
    player_pairs: list[Any] = []
    tx_pairs: list[Any] = []
    history: list[Any] = []
    round_index: list[str] = []
    stored: list[bytes] = []
    house: dict[str, int] = defaultdict(int)
    for record in part.records:
        assert record.seq > head_seq, "seqs rise per player"
        entries = part.entries.get(record.seq, [])
        link = link_hash(link, record)
        tx_field = key_field(record.provider, record.tx_id)
        encoded = encode_tx(record, link, head_seq, entries)
        tx_pairs += (tx_field, encoded)
        history += (record.seq, tx_field)
        if record.round_id is not None:
            round_index.append(
                round_index_member(record.provider, record.round_id, record.seq, record.tx_id)
            )
        stored.append(encoded)
        for account, currency, amount in entries:
            if not account.startswith(PLAYER_ACCOUNT_PREFIX):
                house[f"{currency}:{account}"] += amount
        head_seq = record.seq
    if part.records:
        player_pairs += ("h", encode_head(head_seq, link))
    for updated in part.updates:
        key = (updated.provider, updated.tx_id)
        raw = view.raw_txs[key]  # read from this player's own keys
        tx_pairs += (key_field(*key), with_status(raw, updated.status))
    for currency, (real, bonus) in part.balances.items():
        assert -INT64_MAX <= real <= INT64_MAX, "a balance Redis would not hold exactly"
        assert -INT64_MAX <= bonus <= INT64_MAX, "a balance Redis would not hold exactly"
        player_pairs += (f"b:{currency}", encode_balance(real, bonus))
    round_pairs: list[Any] = []
    for round_ in part.rounds:
        round_pairs += (key_field(round_.provider, round_.round_id), encode_round(round_))
    house_pairs: list[Any] = []
    for name, delta in house.items():
        if delta:
            house_pairs += (name, delta)
    event = [outbox_event(stored)] if stored else []
    part.data = [
        part.player_id, len(player_pairs) // 2, len(tx_pairs) // 2, len(history) // 2,
        len(round_index), len(round_pairs) // 2, len(house_pairs) // 2, len(event),
        *player_pairs, *tx_pairs, *history, *round_index, *round_pairs, *house_pairs, *event,
    ]  # fmt: skip


def function_args(parts: list[Part], guards: list[str]) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of one `gg_apply_v1` call committing `parts`, each under its guard
    (`v:<version>` or `l:<lock>`)."""
    keys: list[str] = []
    args: list[Any] = [ARGS_FORMAT, len(parts)]
    for part, guard in zip(parts, guards, strict=True):
        keys += part.function_keys
        args.append(guard)
        args += part.data
    return keys, args
