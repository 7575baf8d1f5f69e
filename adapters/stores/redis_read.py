"""Reading what a wallet step decides on: one round trip for the usual step.

What is read: each player's snapshot (their hash, and the records and rounds under the
ids the job names), the claims of those ids (a command's own ids claimed with `SET NX
GET`, others only read) and the session the debit guard needs. On one server that is
one call, `gg_read_v2` (a non-cluster server lets a function touch keys of any slot).
On a cluster each piece goes to its own slot in the same pipelined write:
`gg_snapshot_v2` per player, the claims and the session as plain commands.

An id someone else owns is then read from its owner's keys; one whose owner has not
written it yet (their step is in flight) makes the read raise `InFlight`, and the
store tries again shortly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.stores.redis_claims import ROUND, TX, ClaimKey, Claims, claim_key
from adapters.stores.redis_codec import (
    decode_record,
    decode_round,
    decode_session,
    token_digest,
)
from adapters.stores.redis_functions import Functions
from adapters.stores.redis_keys import key_field, player_keys, session_key
from adapters.stores.redis_link import Link, ReplyError, replies_of
from adapters.stores.redis_lua import READ, SNAPSHOT
from adapters.stores.redis_view import MissingKeys, PlayerState, SnapshotView, TxKey
from core.model import CloseRound, Credit, Debit, Rollback, WalletCommand

__all__ = [
    "InFlight",
    "ReadRequest",
    "Wanted",
    "one_server_job",
    "prepare",
    "read_foreign",
    "read_view",
    "view_of",
    "wanted_by",
]


class InFlight(Exception):
    """An id is claimed by another player whose step has not written it yet."""


@dataclass(slots=True)
class Wanted:
    """What a step reads: players, and ids with the player that claims them (or None)."""

    players: list[str]
    txs: dict[TxKey, str | None] = field(default_factory=dict)
    rounds: dict[TxKey, str | None] = field(default_factory=dict)
    session_token: str | None = None

    def add_missing(self, missing: MissingKeys) -> None:
        """Also read what a planning pass asked for and the snapshot did not hold."""
        for key in missing.txs:
            self.txs.setdefault(key, None)
        for key in missing.rounds:
            self.rounds.setdefault(key, None)
        for player_id in missing.players:
            if player_id not in self.players:
                self.players.append(player_id)


def wanted_by(commands: Sequence[WalletCommand], session_token: str | None) -> Wanted:
    """The ids a job names: each command's own (claimed for its player) and its references."""
    players = list(dict.fromkeys(command.player_id for command in commands))
    wanted = Wanted(players, session_token=session_token)
    txs, rounds = wanted.txs, wanted.rounds
    for command in commands:
        provider, player_id = command.provider, command.player_id
        if isinstance(command, CloseRound):
            rounds[(provider, command.round_id)] = player_id
            continue
        txs[(provider, command.tx_id)] = player_id
        if isinstance(command, Debit | Credit):
            rounds[(provider, command.round_id)] = player_id
            if isinstance(command, Credit) and command.ref_tx_id is not None:
                txs.setdefault((provider, command.ref_tx_id), None)
        elif isinstance(command, Rollback):
            txs.setdefault((provider, command.ref_tx_id), None)
            if command.round_id is not None:
                rounds.setdefault((provider, command.round_id), None)
    return wanted


@dataclass(slots=True)
class ReadRequest:
    """One step's read, ready to send: the ids in claim order and what to do with each."""

    wanted: Wanted
    claim_keys: list[ClaimKey]
    claimants: list[str | None]
    """Per claim key: the player to claim it for, or None to only read who holds it."""
    tx_fields: list[str]
    round_fields: list[str]


def prepare(wanted: Wanted, claims: Claims) -> ReadRequest:
    tx_keys, round_keys = list(wanted.txs), list(wanted.rounds)
    claim_keys: list[ClaimKey] = [(TX, *key) for key in tx_keys]
    claim_keys += [(ROUND, *key) for key in round_keys]
    claimants = [*wanted.txs.values(), *wanted.rounds.values()]
    owners = claims.owners
    if owners:  # a later attempt: held already, only read (and learn if lost)
        for index, key in enumerate(claim_keys):
            if claimants[index] is not None and owners.get(key) == claimants[index]:
                claimants[index] = None
    return ReadRequest(
        wanted,
        claim_keys,
        claimants,
        [key_field(*key) for key in tx_keys],
        [key_field(*key) for key in round_keys],
    )


def one_server_job(request: ReadRequest) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of the request as `gg_read_v2` (and each job of `gg_read_many_v2`)
    takes them."""
    wanted = request.wanted
    keys: list[str] = []
    for player_id in wanted.players:
        k = player_keys(player_id)
        keys += (k.player, k.txs, k.rounds)
    keys += [claim_key(key) for key in request.claim_keys]
    token = wanted.session_token
    if token is not None:
        keys.append(session_key(token_digest(token)))
    tx_fields, round_fields = request.tx_fields, request.round_fields
    args = [
        len(wanted.players), len(tx_fields), *tx_fields, len(round_fields), *round_fields,
        *(claimant or "" for claimant in request.claimants), 0 if token is None else 1,
    ]  # fmt: skip
    return keys, args


def view_of(
    request: ReadRequest, reply: list[Any], claims: Claims
) -> tuple[SnapshotView, list[tuple[ClaimKey, str]]]:
    """The view a read's reply gives (`gg_read_v2`'s shape), and the ids held by players
    outside the job, still to be read from their owners."""
    snapshots, replies, session = reply
    wanted = request.wanted
    view = SnapshotView()
    for player_id, (flat, _, _) in zip(wanted.players, snapshots, strict=True):
        view.players[player_id] = PlayerState.parse(flat)
    if wanted.session_token is not None:
        view.sessions[wanted.session_token] = decode_session(wanted.session_token, session)
    foreign: list[tuple[ClaimKey, str]] = []
    by_player = dict(zip(wanted.players, snapshots, strict=True))
    owners, made, claimants = claims.owners, claims.made, request.claimants
    tx_count = len(request.tx_fields)
    for index, key in enumerate(request.claim_keys):
        found = replies[index]
        claimant = claimants[index]
        if claimant is not None and found is None:
            made[key] = claimant
            owner: str | None = claimant
        else:
            owner = None if found is None else found.decode()
        owners[key] = owner
        position = index if index < tx_count else index - tx_count
        if not _from_snapshot(view, by_player, key, owner, position):
            foreign.append((key, owner or ""))
    return view, foreign


async def read_view(
    link: Link, functions: Functions, wanted: Wanted, claims: Claims, *, one_server: bool
) -> SnapshotView:
    """A consistent view of each player and the owners' records of every id wanted."""
    request = prepare(wanted, claims)
    if one_server:
        keys, args = one_server_job(request)
        reply = await functions.call(READ, keys, args)
    else:
        reply = await _read_by_slot(link, functions, request, claims)
    view, foreign = view_of(request, reply, claims)
    if foreign:
        await read_foreign(link, view, foreign)
    return view


async def _read_by_slot(
    link: Link, functions: Functions, request: ReadRequest, claims: Claims
) -> list[Any]:
    """A cluster: the same reads, each to its own slot, sent in one pipelined write; the
    reply shaped as `gg_read_v2`'s."""
    wanted = request.wanted
    args = [len(request.tx_fields), *request.tx_fields, *request.round_fields]
    sent: list[tuple[list[str], Awaitable[Any]]] = []
    for player_id in wanted.players:
        k = player_keys(player_id)
        snap_keys = [k.player, k.txs, k.rounds]
        sent.append((snap_keys, functions.send(SNAPSHOT, snap_keys, args, read_only=True)))
    claim_sent = [
        claims.send_read(key) if claimant is None else claims.send_claim(key, claimant)
        for key, claimant in zip(request.claim_keys, request.claimants, strict=True)
    ]
    session_sent = None
    if wanted.session_token is not None:
        name = session_key(token_digest(wanted.session_token))
        session_sent = link.send(name, "HGETALL", name)
    snapshots = []
    for snap_keys, reply in sent:
        snapshot = await functions.settle(reply, SNAPSHOT, snap_keys, args, read_only=True)
        if isinstance(snapshot, ReplyError):
            raise snapshot
        snapshots.append(snapshot)
    replies = await replies_of(claim_sent)
    session = [] if session_sent is None else await session_sent
    return [snapshots, replies, session]


def _from_snapshot(
    view: SnapshotView,
    by_player: dict[str, list[Any]],
    key: ClaimKey,
    owner: str | None,
    index: int,
) -> bool:
    """Fill `key` from a job player's snapshot; False if its owner is someone else."""
    kind, provider, ident = key
    column = 1 if kind == TX else 2
    if owner is not None:
        snapshot = by_player.get(owner)
        if snapshot is None:
            return False
        raw = snapshot[column][index]
    else:  # an unclaimed id is nobody's, unless a job player holds it
        raw = None
        for snapshot in by_player.values():
            raw = snapshot[column][index]
            if raw is not None:
                break
    if kind == TX:
        view.txs[(provider, ident)] = None if raw is None else decode_record(raw)
        if raw is not None:
            view.raw_txs[(provider, ident)] = raw
    else:
        view.rounds[(provider, ident)] = None if raw is None else decode_round(raw)
    return True


async def read_foreign(link: Link, view: SnapshotView, foreign: list[tuple[ClaimKey, str]]) -> None:
    """Other players' records and rounds under ids the job names (to refuse it rightly)."""
    sent = []
    for (kind, provider, ident), owner in foreign:
        keys = player_keys(owner)
        name = keys.txs if kind == TX else keys.rounds
        sent.append(link.send(name, "HGET", name, key_field(provider, ident)))
    for ((kind, provider, ident), _), reply in zip(foreign, sent, strict=True):
        raw = await reply
        if raw is None:
            raise InFlight
        if kind == TX:
            view.txs[(provider, ident)] = decode_record(raw)
        else:
            view.rounds[(provider, ident)] = decode_round(raw)
