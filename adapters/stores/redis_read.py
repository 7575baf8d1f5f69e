"""Reading what a wallet step decides on: one round trip for the usual step.

In one pipelined write: each player's snapshot (`gg_snapshot_v1`: their hash and the
records and rounds under the ids the job names), the claims of those ids (a command's
own ids claimed with `SET NX GET`, others read), and the session the debit guard needs.
An id someone else owns is then read from its owner's keys; one whose owner has not
written it yet (their step is in flight) makes the read report `InFlight`, and the
store tries again shortly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.stores.redis_claims import ROUND, TX, ClaimKey, Claims
from adapters.stores.redis_codec import decode_round, decode_session, decode_tx, token_digest
from adapters.stores.redis_functions import Functions
from adapters.stores.redis_keys import key_field, player_keys, session_key
from adapters.stores.redis_link import Link, ReplyError
from adapters.stores.redis_lua import SNAPSHOT
from adapters.stores.redis_view import PlayerState, SnapshotView, TxKey
from core.model import CloseRound, Credit, Debit, Rollback, WalletCommand

__all__ = ["InFlight", "Wanted", "read_view", "wanted_by"]


class InFlight(Exception):
    """An id is claimed by another player whose step has not written it yet."""


@dataclass(slots=True)
class Wanted:
    """What a step reads: players, and ids with the player that claims them (or None)."""

    players: list[str]
    txs: dict[TxKey, str | None] = field(default_factory=dict)
    rounds: dict[TxKey, str | None] = field(default_factory=dict)
    session_token: str | None = None


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


async def read_view(
    link: Link, functions: Functions, wanted: Wanted, claims: Claims
) -> SnapshotView:
    """A consistent view of each player and the owners' records of every id wanted."""
    tx_keys, round_keys = list(wanted.txs), list(wanted.rounds)
    tx_fields = [key_field(*key) for key in tx_keys]
    round_fields = [key_field(*key) for key in round_keys]
    args = [len(tx_fields), *tx_fields, *round_fields]
    snapshots = []
    for player_id in wanted.players:
        keys = player_keys(player_id)
        snap_keys = [keys.player, keys.txs, keys.rounds]
        snapshots.append((snap_keys, functions.send(SNAPSHOT, snap_keys, args, read_only=True)))
    claim_replies = [
        _send_claim(claims, (TX, *key), owner) for key, owner in wanted.txs.items()
    ] + [_send_claim(claims, (ROUND, *key), owner) for key, owner in wanted.rounds.items()]
    session_reply = None
    if wanted.session_token is not None:
        name = session_key(token_digest(wanted.session_token))
        session_reply = link.send(name, "HGETALL", name)
    view = SnapshotView()
    by_player: dict[str, tuple[list[Any], list[Any]]] = {}
    for player_id, (snap_keys, sent) in zip(wanted.players, snapshots, strict=True):
        reply = await functions.settle(sent, SNAPSHOT, snap_keys, args, read_only=True)
        if isinstance(reply, ReplyError):
            raise reply
        flat, txs, rounds = reply
        view.players[player_id] = PlayerState.parse(flat)
        by_player[player_id] = (txs, rounds)
    owners = [await _settle_claim(claims, key, owner, sent) for key, owner, sent in claim_replies]
    if session_reply is not None and wanted.session_token is not None:
        view.sessions[wanted.session_token] = decode_session(
            wanted.session_token, await session_reply
        )
    foreign: list[tuple[ClaimKey, str]] = []
    for index, key in enumerate(tx_keys):
        owner = owners[index]
        if not _from_snapshot(view, by_player, (TX, *key), owner, index):
            foreign.append(((TX, *key), owner or ""))
    for index, key in enumerate(round_keys):
        owner = owners[len(tx_keys) + index]
        if not _from_snapshot(view, by_player, (ROUND, *key), owner, index):
            foreign.append(((ROUND, *key), owner or ""))
    if foreign:
        await _read_foreign(link, view, foreign)
    return view


def _send_claim(
    claims: Claims, key: ClaimKey, claimant: str | None
) -> tuple[ClaimKey, str | None, Awaitable[Any]]:
    """Claim for `claimant` unless it already holds the id (then only read), or read."""
    if claimant is not None and claims.owners.get(key) != claimant:
        return key, claimant, claims.send_claim(key, claimant)
    return key, None, claims.send_read(key)


async def _settle_claim(
    claims: Claims, key: ClaimKey, claimant: str | None, sent: Awaitable[Any]
) -> str | None:
    reply = await sent
    if isinstance(reply, ReplyError):
        raise reply
    if claimant is not None:
        return claims.claimed(key, claimant, reply)
    return claims.read(key, reply)


def _from_snapshot(
    view: SnapshotView,
    by_player: dict[str, tuple[list[Any], list[Any]]],
    key: ClaimKey,
    owner: str | None,
    index: int,
) -> bool:
    """Fill `key` from a job player's snapshot; False if its owner is someone else."""
    kind, provider, ident = key
    if owner is not None and owner not in by_player:
        return False
    holders = [owner] if owner is not None else list(by_player)
    raw = None
    for holder in holders:  # an unclaimed id is nobody's, unless a job player holds it
        raw = by_player[holder][0 if kind == TX else 1][index]
        if raw is not None:
            break
    if kind == TX:
        view.txs[(provider, ident)] = None if raw is None else decode_tx(raw)
        if raw is not None:
            view.raw_txs[(provider, ident)] = raw
    else:
        view.rounds[(provider, ident)] = None if raw is None else decode_round(raw)
    return True


async def _read_foreign(
    link: Link, view: SnapshotView, foreign: list[tuple[ClaimKey, str]]
) -> None:
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
            view.txs[(provider, ident)] = decode_tx(raw)
        else:
            view.rounds[(provider, ident)] = decode_round(raw)
