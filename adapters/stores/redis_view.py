"""The Redis wallet's `StepView`: a snapshot of the job's players, read before the step.

The step is decided in Python against what was read, and the commit checks that each
player's version is still the one read here, so the decision and the state it rests
on are one. A key the step asks for that was not read raises `MissingKeys`; the store
then reads again with that key added and decides again (planning is cheap, a guess
would not be). Records of other players (a reference to someone else's bet, another
player's round id) are read from their owner's keys, found through the claims.

The player's play figures are one field of their hash, read with the balances: the
guard's limits and the bet it admits rest on the same version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from adapters.stores.redis_codec import (
    decode_balance,
    decode_head,
    decode_player,
)
from adapters.stores.redis_figures import decode_stored
from core.wallet.figures import PlayFigures
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord

__all__ = ["MissingKeys", "PlayerState", "SnapshotView", "TxKey"]

TxKey = tuple[str, str]
"""(provider, tx_id) or (provider, round_id)."""


class MissingKeys(Exception):
    """The step asked for keys the snapshot does not hold; read them and decide again."""

    def __init__(
        self, txs: Iterable[TxKey] = (), rounds: Iterable[TxKey] = (), players: Iterable[str] = ()
    ) -> None:
        super().__init__("the step needs keys the snapshot does not hold")
        self.txs = set(txs)
        self.rounds = set(rounds)
        self.players = set(players)


@dataclass(slots=True)
class PlayerState:
    """One player's hash as read: what the commit's version check compares."""

    version: bytes = b"0"
    record: PlayerRecord | None = None
    balances: dict[str, tuple[int, int]] = field(default_factory=dict)
    head: tuple[int, bytes] | None = None
    """(seq, link) of the player's newest record; None before their first."""
    lock: bytes | None = None
    """Held by a step spanning several cluster slots (`redis_multislot`)."""
    figures_raw: bytes | None = None
    """The play figures as stored (`redis_figures`); None before the player's first."""
    figures_decoded: PlayFigures | None = None

    def figures(self, player_id: str) -> PlayFigures:
        """Decoded when first asked (a replay or a refusal never asks)."""
        found = self.figures_decoded
        if found is None:
            found = self.figures_decoded = decode_stored(player_id, self.figures_raw)
        return found

    @classmethod
    def parse(cls, flat: list[bytes]) -> PlayerState:
        """From HGETALL's flat reply."""
        state = cls()
        for index in range(0, len(flat), 2):
            name, value = flat[index], flat[index + 1]
            if name.startswith(b"b:"):
                state.balances[name[2:].decode()] = decode_balance(value)
            elif name == b"v":
                state.version = value
            elif name == b"rec":
                state.record = _player(value)
            elif name == b"h":
                state.head = decode_head(value)
            elif name == b"f":
                state.figures_raw = value
            elif name == b"lk":
                state.lock = value
        return state


_PLAYERS_DECODED_MAX = 65_536
_players_decoded: dict[bytes, PlayerRecord] = {}


def _player(raw: bytes) -> PlayerRecord:
    """Decoded once per distinct stored record: a player record rarely changes, and
    every wallet call reads its player's."""
    found = _players_decoded.get(raw)
    if found is None:
        if len(_players_decoded) >= _PLAYERS_DECODED_MAX:
            _players_decoded.clear()
        found = _players_decoded[raw] = decode_player(raw)
    return found


@dataclass(slots=True)
class SnapshotView:
    """What the step reads. Every dict holds only keys that were read (None: absent)."""

    players: dict[str, PlayerState] = field(default_factory=dict)
    txs: dict[TxKey, TxRecord | None] = field(default_factory=dict)
    raw_txs: dict[TxKey, bytes] = field(default_factory=dict)
    """The stored value of each record read from its owner, to rewrite its status."""
    rounds: dict[TxKey, RoundRecord | None] = field(default_factory=dict)
    sessions: dict[str, SessionRecord | None] = field(default_factory=dict)

    def player(self, player_id: str) -> PlayerRecord | None:
        state = self.players.get(player_id)
        if state is None:
            raise MissingKeys(players=[player_id])
        return state.record

    def balances(self, player_id: str, currency: str) -> tuple[int, int]:
        state = self.players.get(player_id)
        if state is None:
            raise MissingKeys(players=[player_id])
        return state.balances.get(currency, (0, 0))

    def tx(self, provider: str, tx_id: str) -> TxRecord | None:
        key = (provider, tx_id)
        try:
            return self.txs[key]
        except KeyError:
            raise MissingKeys(txs=[key]) from None

    def round(self, provider: str, round_id: str) -> RoundRecord | None:
        key = (provider, round_id)
        try:
            return self.rounds[key]
        except KeyError:
            raise MissingKeys(rounds=[key]) from None

    def session(self, token: str) -> SessionRecord | None:
        return self.sessions.get(token)

    def figures(self, player_id: str) -> PlayFigures:
        state = self.players.get(player_id)
        if state is None:
            raise MissingKeys(players=[player_id])
        return state.figures(player_id)
