"""A decided step as the arguments of `gg_apply_v2`: one part per player it writes.

A part is everything one player's step writes, all under that player's hash tag: the
new records with their chain links and ledger legs (idempotency records, log rows),
records whose status changed, the history and round index entries of the new records,
the rounds, the player's balances, play figures and chain head, the house legs summed
per account into the group's house shard, and one outbox event. The guard of a part is
the player's version as read (or, for a step spanning several slots, the lock it holds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.stores.redis_claims import ROUND, TX, ClaimKey
from adapters.stores.redis_codec import (
    encode_round,
    encode_tx,
    outbox_event,
    with_status,
)
from adapters.stores.redis_figures import FIGURES_FIELD, encode_stored
from adapters.stores.redis_keys import PlayerKeys, key_field, player_keys, round_index_member
from adapters.stores.redis_view import SnapshotView
from core.wallet.chain import GENESIS_HASH, link_hash
from core.wallet.figures import PlayFigures
from core.wallet.records import Entry, TxRecord
from core.wallet.step import StepWrites

__all__ = ["ARGS_FORMAT", "Part", "build_parts", "function_args", "used_claims"]

ARGS_FORMAT = "1"
PLAYER_ACCOUNT_PREFIX = "player:"
INT64_MAX = 2**63 - 1


@dataclass(slots=True)
class Part:
    """One player's share of a step, as `gg_apply_v2` takes it."""

    player_id: str
    keys: PlayerKeys
    records: list[TxRecord] = field(default_factory=list)
    updates: list[TxRecord] = field(default_factory=list)
    entries: dict[int, list[Entry]] = field(default_factory=dict)
    """Ledger legs by the seq of their record."""
    rounds: list[Any] = field(default_factory=list)
    balances: dict[str, tuple[int, int]] = field(default_factory=dict)
    figures: PlayFigures | None = None
    """The player's play figures after the step, when it changed them."""
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


def build_parts(writes: StepWrites, view: SnapshotView, player_id: str | None = None) -> list[Part]:
    """Split the step's writes by player and encode each player's part. A job of one
    player (`player_id`) writes only that player's keys: no splitting to do."""
    if player_id is None:
        player_id = _only_player(writes)
    elif not (writes.records or writes.rounds or writes.balances or writes.figures):
        return []
    if player_id is not None:
        part = Part(
            player_id, player_keys(player_id), writes.records, writes.updates,
            _by_seq(writes.entries), writes.rounds,
            {currency: balance for (_, currency), balance in writes.balances.items()},
            writes.figures.get(player_id),
        )  # fmt: skip
        _encode(part, view)
        return [part]
    parts = _split(writes)
    for part in parts:
        _encode(part, view)
    return parts


def _split(writes: StepWrites) -> list[Part]:
    """The writes of a job of several players, one part per player (not yet encoded)."""
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
        part_of(owner_of_seq[seq]).entries.setdefault(seq, []).append(entry)
    for round_ in writes.rounds:
        part_of(round_.player_id).rounds.append(round_)
    for (player_id, currency), balance in writes.balances.items():
        part_of(player_id).balances[currency] = balance
    for player_id, figures in writes.figures.items():
        part_of(player_id).figures = figures
    return list(parts.values())


def _only_player(writes: StepWrites) -> str | None:
    """The one player every write is for, or None (several players, or no writes)."""
    found: set[str] = {record.player_id for record in writes.records}
    found.update(record.player_id for record in writes.updates)
    found.update(round_.player_id for round_ in writes.rounds)
    found.update(player_id for player_id, _ in writes.balances)
    found.update(writes.figures)
    return found.pop() if len(found) == 1 else None


def _by_seq(entries: list[tuple[int, Entry]]) -> dict[int, list[Entry]]:
    grouped: dict[int, list[Entry]] = {}
    for seq, entry in entries:
        found = grouped.get(seq)
        if found is None:
            grouped[seq] = [entry]
        else:
            found.append(entry)
    return grouped


def _encode(part: Part, view: SnapshotView) -> None:
    """The part's data: counts, then player-hash pairs, tx pairs, history pairs,
    round-index members, round pairs, house pairs and the outbox event."""
    head_seq, link = view.players[part.player_id].head or (0, GENESIS_HASH)
    player_pairs: list[Any] = []
    tx_pairs: list[Any] = []
    history: list[Any] = []
    round_index: list[str] = []
    stored: list[bytes] = []
    house: dict[str, int] = {}
    entries_by_seq = part.entries
    for record in part.records:
        seq = record.seq
        assert seq > head_seq, "seqs rise per player"
        entries = entries_by_seq.get(seq, [])
        link = link_hash(link, record)
        tx_field = f"{len(record.provider)}:{record.provider}:{record.tx_id}"  # key_field
        encoded = encode_tx(record, link, head_seq, entries)
        tx_pairs += (tx_field, encoded)
        history += (seq, tx_field)
        if record.round_id is not None:
            round_index.append(
                round_index_member(record.provider, record.round_id, seq, record.tx_id)
            )
        stored.append(encoded)
        for account, currency, amount in entries:
            if not account.startswith(PLAYER_ACCOUNT_PREFIX):
                name = f"{currency}:{account}"
                house[name] = house.get(name, 0) + amount
        head_seq = seq
    if stored:
        player_pairs += ("h", f"{head_seq} {link.hex()}")  # encode_head
    for updated in part.updates:
        field_name = key_field(updated.provider, updated.tx_id)
        raw = view.raw_txs[(updated.provider, updated.tx_id)]  # from this player's own keys
        tx_pairs += (field_name, with_status(raw, updated.status))
    for currency, (real, bonus) in part.balances.items():
        assert -INT64_MAX <= real <= INT64_MAX, "a balance Redis would not hold exactly"
        assert -INT64_MAX <= bonus <= INT64_MAX, "a balance Redis would not hold exactly"
        player_pairs += (f"b:{currency}", f"{real} {bonus}")  # encode_balance
    if part.figures is not None:
        player_pairs += (FIGURES_FIELD, encode_stored(part.player_id, part.figures))
    round_pairs: list[Any] = []
    for round_ in part.rounds:
        round_pairs += (key_field(round_.provider, round_.round_id), encode_round(round_))
    house_pairs = [item for name, delta in house.items() if delta for item in (name, delta)]
    part.data = [
        part.player_id, len(player_pairs) >> 1, len(tx_pairs) >> 1, len(history) >> 1,
        len(round_index), len(round_pairs) >> 1, len(house_pairs) >> 1, 1 if stored else 0,
        *player_pairs, *tx_pairs, *history, *round_index, *round_pairs, *house_pairs,
    ]  # fmt: skip
    if stored:
        part.data.append(outbox_event(stored))


def function_args(parts: list[Part], guards: list[str]) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of one `gg_apply_v2` call committing `parts`, each under its guard
    (`v:<version>` or `l:<lock>`)."""
    keys: list[str] = []
    args: list[Any] = [ARGS_FORMAT, len(parts)]
    for part, guard in zip(parts, guards, strict=True):
        keys += part.function_keys
        args.append(guard)
        args += part.data
    return keys, args


def used_claims(view: SnapshotView, parts: list[Part]) -> set[ClaimKey]:
    """Ids the job's players hold now: written by this step, or there before."""
    used: set[ClaimKey] = set()
    for part in parts:
        used |= part.claims()
    players = set(view.players)
    for (provider, tx_id), stored in view.txs.items():
        if stored is not None and stored.player_id in players:
            used.add((TX, provider, tx_id))
    for (provider, round_id), round_ in view.rounds.items():
        if round_ is not None and round_.player_id in players:
            used.add((ROUND, provider, round_id))
    return used
