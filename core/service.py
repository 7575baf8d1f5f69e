"""The use cases every adapter calls: authenticate, balance, bet, win, rollback, close, batch.

Debits pass the compliance path (session, then `core.compliance`: account, market rules,
the player's limits, then any extra debit policies) inside the store's atomic step, as a
`DebitGuard`: one round trip, no window between check and debit, a refusal stored under
the transaction id, and an identical retry of an accepted bet still gets its stored
success. Deposits and withdrawals pass their part of the same path the same way.
Credits, rollbacks and round closes are never blocked by these checks: a won bet is
always paid, even after the session expired.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from core.catalogue.game import Game, GameKey
from core.compliance import Compliance
from core.errors import (
    CurrencyMismatch,
    PlayerNotFound,
    SessionExpired,
    SessionInvalid,
    StorageUnavailable,
)
from core.model import (
    Balance,
    CloseRound,
    Credit,
    Debit,
    Deposit,
    Rollback,
    TxOutcome,
    WalletCommand,
    Withdrawal,
)
from core.money import CurrencyTable
from core.time_limits import SharedTimeLimit, TimeLimitExpired
from core.wallet.figures import PlayFigures
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord
from core.wallet.store import (
    DebitGuard,
    GuardContext,
    GuardedCommand,
    PlayerAuditEntry,
    PlayerChange,
    WalletStore,
)

__all__ = ["DebitPolicy", "GameLookup", "SessionView", "WalletService"]

DEFAULT_STORE_TIMEOUT_S = 5.0
_T = TypeVar("_T")


class DebitPolicy(Protocol):
    """An extra rule on bets, after the compliance path (an operator's own). Raise to refuse.

    `game` is the catalogue's record of the session's game (vertical, features, markets),
    None for a debit without a session or a game the catalogue does not hold."""

    def check(self, debit: Debit, context: GuardContext, game: Game | None) -> None: ...


GameLookup = Callable[[GameKey], Game | None]
"""The served catalogue's game by key (`CatalogueIndex.game`, read at call time)."""


@dataclass(frozen=True, slots=True)
class SessionView:
    """What an authenticate call returns: the session, its player and their balance."""

    session: SessionRecord
    player: PlayerRecord
    balance: Balance


class WalletService:
    """Compliance path plus wallet calls, with a time limit on every store call."""

    def __init__(
        self,
        store: WalletStore,
        currencies: CurrencyTable,
        clock_us: Callable[[], int],
        *,
        compliance: Compliance | None = None,
        debit_policies: Sequence[DebitPolicy] = (),
        games: GameLookup | None = None,
        store_timeout_s: float = DEFAULT_STORE_TIMEOUT_S,
    ) -> None:
        assert store_timeout_s > 0
        self.store = store
        self.currencies = currencies
        self._clock_us = clock_us
        self.compliance = Compliance() if compliance is None else compliance
        self._debit_policies = tuple(debit_policies)
        self._games = games
        self._store_time_limit = SharedTimeLimit(store_timeout_s)

    # -- sessions and players ------------------------------------------------

    async def session(self, provider: str, token: str, *, allow_expired: bool) -> SessionRecord:
        """The session for `token` at `provider`; expired ones only if `allow_expired`."""
        session = await self._timed(self.store.get_session(token))
        if session is None or session.provider != provider:
            raise SessionInvalid("unknown session token")
        if not allow_expired and session.expires_at_us <= self._clock_us():
            raise SessionExpired("session expired")
        return session

    async def rotate_session(self, old: SessionRecord, new: SessionRecord) -> None:
        """Hand out `new` in place of `old`, which then refuses debits (credits still pass)."""
        assert (new.player_id, new.provider) == (old.player_id, old.provider)
        await self._timed(self.store.rotate_session(old.token, new))

    async def authenticate(self, provider: str, token: str) -> SessionView:
        session = await self.session(provider, token, allow_expired=False)
        player = await self.player(session.player_id)
        balance = await self.balance(player.player_id, player.currency)
        return SessionView(session, player, balance)

    async def player(self, player_id: str) -> PlayerRecord:
        player = await self.find_player(player_id)
        if player is None:
            raise PlayerNotFound(f"unknown player {player_id!r}")
        return player

    async def find_player(self, player_id: str) -> PlayerRecord | None:
        return await self._timed(self.store.get_player(player_id))

    async def create_player(self, player: PlayerRecord) -> PlayerRecord:
        """Idempotent for identical data; `ConflictingReplay` for different data."""
        return await self._timed(self.store.create_player(player))

    async def create_session(self, session: SessionRecord) -> None:
        await self._timed(self.store.create_session(session))

    async def change_player(
        self, player_id: str, change: PlayerChange, *, actor: str, why: str
    ) -> PlayerRecord:
        """Apply an account change (`core.pam`) with its audit entry, atomically."""
        return await self._timed(self.store.change_player(player_id, change, actor=actor, why=why))

    async def player_audit(
        self, player_id: str, *, limit: int, before_seq: int | None = None
    ) -> list[PlayerAuditEntry]:
        return await self._timed(
            self.store.player_audit(player_id, limit=limit, before_seq=before_seq)
        )

    async def figures(self, player_id: str) -> PlayFigures:
        """The player's play figures as stored; roll them to now before reading."""
        return await self._timed(self.store.figures(player_id))

    def check_may_play(self, player: PlayerRecord) -> None:
        """A provider asking whether the player may play at all, now."""
        self.compliance.check_may_play(player, self._clock_us())

    async def transactions(
        self, player_id: str, *, limit: int, before_seq: int | None = None
    ) -> list[TxRecord]:
        """A player's transaction records, newest first."""
        return await self._timed(
            self.store.transactions(player_id, limit=limit, before_seq=before_seq)
        )

    async def balance(self, player_id: str, currency: str | None = None) -> Balance:
        """In `currency`, or the player's wallet currency (`PlayerNotFound` if unknown)."""
        return await self._timed(self.store.balance(player_id, currency))

    async def round(self, provider: str, round_id: str) -> RoundRecord | None:
        return await self._timed(self.store.get_round(provider, round_id))

    async def round_transactions(self, provider: str, round_id: str) -> list[TxRecord]:
        return await self._timed(self.store.round_transactions(provider, round_id))

    # -- money ---------------------------------------------------------------

    async def debit(self, debit: Debit, *, session_token: str | None) -> TxOutcome:
        return (await self.execute([debit], session_token=session_token))[0]

    async def credit(self, credit: Credit) -> TxOutcome:
        return (await self.execute([credit], session_token=None))[0]

    async def rollback(self, rollback: Rollback) -> TxOutcome:
        return (await self.execute([rollback], session_token=None))[0]

    async def close_round(self, close: CloseRound) -> Balance:
        return (await self.execute([close], session_token=None))[0].balance

    async def execute(
        self, commands: Sequence[WalletCommand], *, session_token: str | None
    ) -> list[TxOutcome]:
        """Apply `commands` atomically, after the compliance path for any debit, deposit
        or withdrawal among them."""
        assert commands, "nothing to execute"
        guarded = any(isinstance(c, (Debit, Deposit, Withdrawal)) for c in commands)
        guard = DebitGuard(session_token, self._check) if guarded else None
        return await self._timed(self.store.apply(commands, guard=guard))

    def _check(self, command: GuardedCommand, context: GuardContext) -> None:
        """The compliance path of one movement; runs inside the store's atomic step."""
        if not isinstance(command, Debit):
            self.compliance.check_movement(command, context, None)
            return
        session, player = context.session, context.player
        if session is not None:
            if session.player_id != command.player_id:
                raise SessionInvalid("session belongs to another player")
            if session.expires_at_us <= context.now_us:
                raise SessionExpired("session expired")
        if command.currency != player.currency:
            raise CurrencyMismatch(f"player's wallet is in {player.currency}")
        game = self.game_of(session)
        self.compliance.check_movement(command, context, game)
        for policy in self._debit_policies:
            policy.check(command, context, game)

    def game_of(self, session: SessionRecord | None) -> Game | None:
        """The catalogue's record of the session's game, when there is one."""
        if session is None or self._games is None:
            return None
        return self._games(GameKey(session.provider, session.game_id))

    async def _timed(self, awaitable: Awaitable[_T]) -> _T:
        """Await a store call within the time limit; a timeout is an unknown outcome.

        One shared timer for every call (`SharedTimeLimit`), not `asyncio.timeout()`:
        arming and cancelling a loop timer per call is measurable on the event loop.
        """
        try:
            with self._store_time_limit.within():
                return await awaitable
        except TimeLimitExpired as exc:
            raise StorageUnavailable("wallet store timed out; outcome unknown") from exc
