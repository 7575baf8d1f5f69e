"""The shared wallet store: Redis or Redis Cluster, for many gateway processes at once.

Decide in Python, commit in Redis. A wallet call reads a snapshot of its player's keys
(`redis_read`), runs the core's atomic step on it (`core.wallet.step.run_step`), and
commits the writes with one Lua function call that checks that the player's version is
still the one read and then applies every write or none (`redis_commit`, `redis_lua`).
If another process changed the player in between, the call reads and decides again,
up to `ATTEMPTS_MAX` times, then answers retryable (`StorageUnavailable`). Pure reads,
replays and refusals that store nothing are answered from the snapshot.

On one server the calls in flight share those round trips (`redis_group_commit`); a
call the batch cannot finish, and every call on a cluster, goes the long way here
(`_apply`), which handles every case: ids held by other players, claims to make after
the decision or to release, seq reservations, players locked by a job across slots
(`redis_multislot`).

A change to a player's account (`change_player`) takes the same path: read the
player's hash, decide in Python, write the record and its audit entry with one
function call that checks the version read.

Durable before acknowledged: the store refuses to start on a server without
`appendonly yes` and `appendfsync always` (`redis_durability`), and Redis replies to
the commit only after its fsync. A lost connection or any Redis error is an unknown
outcome, answered retryable; the retry meets the idempotency record if the commit had
happened.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.crc import key_slot

from adapters.providers.redis_nonces import RedisNonceCache
from adapters.stores.redis_claims import TX, Claims
from adapters.stores.redis_cluster_link import ClusterLink
from adapters.stores.redis_codec import (
    audit_tail,
    decode_audit,
    decode_player,
    decode_round,
    decode_session,
    decode_tx,
    encode_player,
    session_fields,
    token_digest,
)
from adapters.stores.redis_commit import Part, build_parts, function_args, used_claims
from adapters.stores.redis_durability import (
    EVERYSEC_LOSS,
    ServerDurability,
    check_durability,
)
from adapters.stores.redis_figures import FIGURES_FIELD, decode_stored
from adapters.stores.redis_functions import Functions
from adapters.stores.redis_group_commit import GroupCommit
from adapters.stores.redis_keys import (
    GROUPS,
    claim_round_key,
    group_of,
    key_field,
    player_keys,
    round_index_prefix,
    session_key,
)
from adapters.stores.redis_link import Link, LinkError, NodeLink, ReplyError
from adapters.stores.redis_lua import (
    APPLY,
    CHANGE_PLAYER,
    CREATE_PLAYER,
    END_SESSION,
    HISTORY,
    ROUND_RECORDS,
)
from adapters.stores.redis_multislot import (
    LOCK_STALE_S,
    commit_across_slots,
    lock_age_s,
    recover,
)
from adapters.stores.redis_read import InFlight, Wanted, read_view, wanted_by
from adapters.stores.redis_seqs import SeqBlocks, SeqsExhausted
from adapters.stores.redis_turns import PlayerTurns
from adapters.stores.redis_url import RedisTarget, parse_redis_url
from adapters.stores.redis_view import MissingKeys, PlayerState, SnapshotView
from core.duration_buckets import COMMIT_SECONDS_BOUNDS, DurationBuckets
from core.errors import (
    ConflictingReplay,
    GatewayError,
    PlayerNotFound,
    SessionInvalid,
    StorageUnavailable,
)
from core.model import Balance, TxOutcome, WalletCommand
from core.wallet.figures import PlayFigures
from core.wallet.records import PlayerRecord, RoundRecord, SessionRecord, TxRecord
from core.wallet.step import StepResult, run_step
from core.wallet.store import DebitGuard, PlayerAuditEntry, PlayerChange, StoreStats

__all__ = ["ATTEMPTS_MAX", "RedisWalletStore"]

ATTEMPTS_MAX = 16
"""Reads and decisions per wallet call before it answers retryable: version conflicts
(another process wrote the player meanwhile), ids being written by another player's
step, keys the step found it needed. Under contention on one player, each conflict
means another call of that player committed, so the player always makes progress."""
CONFLICT_PAUSE_S = 0.000_5
"""After a version conflict, a random pause of up to this (doubling per attempt) before
reading again: two processes betting on one player then stop meeting in lockstep."""
IN_FLIGHT_WAIT_S = 0.002
"""Pause before reading again when an id's owner is mid-step (doubling each time)."""
SEQS_PER_COMMAND = 2
"""A command writes at most two records (a rollback and its tombstone); a refused job
writes one. Seqs made ready per step: this times the job's commands, plus one."""


def wall_clock_us() -> int:
    return time.time_ns() // 1_000


class RedisWalletStore:
    """`WalletStore` on Redis. Use `await RedisWalletStore.open(url)`."""

    def __init__(
        self,
        target: RedisTarget,
        link: Link,
        functions: Functions,
        servers: list[ServerDurability],
        clock_us: Callable[[], int],
    ) -> None:
        self.target = target
        self.servers = servers
        self._link = link
        self._functions = functions
        self._clock_us = clock_us
        self._seqs = SeqBlocks(link)
        self._turns = PlayerTurns()
        self._one_server = not target.cluster
        self._commit_durations = DurationBuckets(COMMIT_SECONDS_BOUNDS)
        """Each commit call, from sending it to its reply (the server fsyncs before it
        replies): as this process sees it, its event loop's delays included."""
        self._group = (
            GroupCommit(link, functions, self._seqs, clock_us, self._commit_durations)
            if self._one_server
            else None
        )
        self._commits = 0
        self._operations = 0
        self._in_flight = 0
        self.conflicts_total = 0
        """Commits refused because the player's version had moved (then retried)."""

    @classmethod
    async def open(
        cls, url: str, *, clock_us: Callable[[], int] = wall_clock_us
    ) -> RedisWalletStore:
        """Connect, refuse a server that would not keep acknowledged writes
        (`DurabilityRefused`), and load the wallet's functions on every master."""
        target = parse_redis_url(url)
        link: NodeLink | ClusterLink
        if target.cluster:
            link = ClusterLink(target.endpoints)
            await link.start()
        else:
            link = NodeLink(target.endpoints[0])
        try:
            servers = await check_durability(link.masters, target.appendfsync)
            functions = Functions(link, lambda: link.masters)
            await functions.load()
        except BaseException:
            await link.close()
            raise
        return cls(target, link, functions, servers, clock_us)

    def describe(self) -> str:
        fsync = sorted({server.appendfsync for server in self.servers})
        loss = f"; {EVERYSEC_LOSS}" if "everysec" in fsync else ""
        return f"{self.target.describe()}, servers at appendfsync={'/'.join(fsync)}{loss}"

    @property
    def grouped(self) -> tuple[int, int]:
        """(steps committed through the group commit, the calls that committed them);
        (0, 0) on a cluster, which commits each step on its own."""
        group = self._group
        return (0, 0) if group is None else (group.commits_total, group.commit_calls_total)

    @property
    def reloads_total(self) -> int:
        """Times the wallet's functions were missing on a server and loaded again."""
        return self._functions.reloads_total

    def stats(self) -> StoreStats:
        grouped = 0 if self._group is None else self._group.commit_calls_total
        return StoreStats(
            self._commits + grouped,
            self._operations,
            self._in_flight,
            self._commit_durations.snapshot(),
        )

    # -- money -------------------------------------------------------------------

    async def apply(
        self,
        commands: Sequence[WalletCommand],
        *,
        refusal: GatewayError | None = None,
        guard: DebitGuard | None = None,
    ) -> list[TxOutcome]:
        assert commands, "nothing to apply"
        self._operations += 1
        self._in_flight += 1
        players = [commands[0].player_id]
        if len(commands) > 1:
            players = list(dict.fromkeys(command.player_id for command in commands))
        try:
            await self._turns.take(players)
            try:
                result = await self._apply_grouped(commands, refusal, guard, players)
            finally:
                self._turns.give_back(players)
        except (LinkError, ReplyError) as exc:
            raise StorageUnavailable(
                "wallet store (Redis) did not answer; outcome unknown"
            ) from exc
        finally:
            self._in_flight -= 1
        if isinstance(result, GatewayError):
            try:
                raise result  # a refusal, stored (if it is stored) before this answer
            finally:
                del result  # this frame, in the traceback, must not hold the error: a cycle
        return result

    async def _apply_grouped(
        self,
        commands: Sequence[WalletCommand],
        refusal: GatewayError | None,
        guard: DebitGuard | None,
        players: list[str],
    ) -> list[TxOutcome] | GatewayError:
        """Through the group commit when it can take the call (one server, one player),
        else (or when it hands the call back) the long way, `_apply`."""
        group = self._group
        if group is None or len(players) > 1:
            return await self._apply(commands, refusal, guard)
        job = group.submit(commands, refusal, guard)
        answer = await job.done
        if answer is not None:
            return answer
        return await self._apply(commands, refusal, guard, job.wanted, job.claims)

    async def _apply(
        self,
        commands: Sequence[WalletCommand],
        refusal: GatewayError | None,
        guard: DebitGuard | None,
        wanted: Wanted | None = None,
        claims: Claims | None = None,
    ) -> list[TxOutcome] | GatewayError:
        """The long way: read, decide and commit this call on its own, retrying on
        version conflicts; every case (ids of others, locks, several slots)."""
        claims = claims or Claims(self._link, self._functions)
        wanted = wanted or wanted_by(commands, None if guard is None else guard.session_token)
        known = True
        """Whether the outcome of every commit sent is known (else claims stay)."""
        views: list[SnapshotView] = []
        parts: list[Part] = []
        try:
            for attempt in range(ATTEMPTS_MAX):
                decided = await self._attempt(
                    commands, refusal, guard, wanted, claims, attempt, views
                )
                if decided is None:
                    continue
                result, view, parts = decided
                known = False
                committed = not parts or await self._commit(parts, view)
                known = True
                if not committed:
                    parts = []
                    await asyncio.sleep(random.uniform(0, CONFLICT_PAUSE_S * 2 ** min(attempt, 5)))
                    continue
                if result.refusal is not None:
                    return result.refusal
                assert result.outcomes is not None
                return result.outcomes
            raise StorageUnavailable("the player's wallet kept changing; retry")
        finally:
            if known and claims.made:
                used = used_claims(views[-1], parts) if views else set()
                await claims.release_unused(used)

    async def _attempt(
        self,
        commands: Sequence[WalletCommand],
        refusal: GatewayError | None,
        guard: DebitGuard | None,
        wanted: Wanted,
        claims: Claims,
        attempt: int,
        views: list[SnapshotView],
    ) -> tuple[StepResult, SnapshotView, list[Part]] | None:
        """Read, decide, and claim what the decision writes; None: try again."""
        try:
            view = await read_view(
                self._link, self._functions, wanted, claims, one_server=self._one_server
            )
            views.append(view)
        except InFlight:
            await asyncio.sleep(IN_FLIGHT_WAIT_S * 2 ** min(attempt, 6))
            return None
        locked = [(p, s.lock) for p, s in view.players.items() if s.lock is not None]
        if locked:
            await self._wait_or_recover(locked, attempt)
            return None
        group = group_of(commands[0].player_id)
        floor = max((state.head or (0, b""))[0] for state in view.players.values())
        count = SEQS_PER_COMMAND * len(commands) + 1
        if not self._seqs.ready(group, floor, count):
            await self._seqs.reserve(group, floor, count)
        try:
            result = run_step(
                commands, view, refusal=refusal, guard=guard,
                new_seq=self._seqs.taker(group, floor), now_us=self._clock_us(),
            )  # fmt: skip
        except MissingKeys as missing:
            wanted.add_missing(missing)
            return None
        except SeqsExhausted:  # not with SEQS_PER_COMMAND right; stay safe anyway
            return None
        only = wanted.players[0] if len(wanted.players) == 1 else None
        parts = build_parts(result.writes, view, only)
        if not await self._claim_written(parts, claims, wanted):
            return None
        return result, view, parts

    async def _wait_or_recover(self, locked: list[tuple[str, bytes]], attempt: int) -> None:
        """A step spanning slots holds these players: wait for it, or finish it if its
        process died (`redis_multislot`)."""
        now_s = time.time()
        for player_id, lock in locked:
            if lock_age_s(lock, now_s) > LOCK_STALE_S:
                await recover(self._link, self._functions, lock, player_keys(player_id).player)
                return
        await asyncio.sleep(IN_FLIGHT_WAIT_S * 2 ** min(attempt, 6))

    async def _claim_written(self, parts: list[Part], claims: Claims, wanted: Wanted) -> bool:
        """Claim the ids the step writes under that it does not hold yet (a tombstone's);
        False if another player holds one (then the step is decided again, seeing it)."""
        missing = [
            (key, part.player_id)
            for part in parts
            for key in part.claims()
            if claims.owners.get(key) != part.player_id
        ]
        sent = [(key, player, claims.send_claim(key, player)) for key, player in missing]
        ok = True
        for key, player, reply in sent:
            if claims.claimed(key, player, await reply) != player:
                ok = False
                target = wanted.txs if key[0] == TX else wanted.rounds
                target.setdefault((key[1], key[2]), None)
        return ok

    async def _commit(self, parts: list[Part], view: SnapshotView) -> bool:
        """One `gg_apply_v2` call; False if a player's version moved since the read."""
        versions = [view.players[part.player_id].version for part in parts]
        if len(parts) > 1 and isinstance(self._link, ClusterLink):
            slots = {key_slot(part.keys.player.encode()) for part in parts}
            if len(slots) > 1:
                with self._commit_durations.timing():
                    committed = await commit_across_slots(
                        self._link, self._functions, parts, versions
                    )
                self._commits += committed
                self.conflicts_total += not committed
                return committed
        guards = [f"v:{version.decode()}" for version in versions]
        keys, args = function_args(parts, guards)
        with self._commit_durations.timing():
            reply = await self._functions.call_raw(APPLY, keys, args)
        if isinstance(reply, ReplyError):
            if str(reply).startswith("GGINVALID"):
                raise RuntimeError(f"the wallet's commit refused its arguments: {reply}")
            raise reply
        if reply[0] == b"ok":
            self._commits += 1
            return True
        self.conflicts_total += 1
        return False

    # -- players and sessions --------------------------------------------------------

    async def create_player(self, player: PlayerRecord) -> PlayerRecord:
        keys = player_keys(player.player_id)
        raw = await self._call(
            self._functions.call(
                CREATE_PLAYER,
                [keys.player, keys.players],
                [player.player_id, encode_player(player)],
            )
        )
        stored = decode_player(raw)
        if stored != player:
            raise ConflictingReplay("player exists with different data")
        return stored

    async def get_player(self, player_id: str) -> PlayerRecord | None:
        key = player_keys(player_id).player
        raw = await self._call(self._link.call(key, "HGET", key, "rec"))
        return None if raw is None else decode_player(raw)

    async def change_player(
        self, player_id: str, change: PlayerChange, *, actor: str, why: str
    ) -> PlayerRecord:
        """Like a wallet step: read the player's hash, decide in Python, then write the
        record and its audit entry with one `gg_change_player_v2` call that checks the
        version read (a bet meanwhile makes it read and decide again). Durable as a step
        is: the server fsyncs before it replies."""
        await self._turns.take([player_id])
        try:
            for attempt in range(ATTEMPTS_MAX):
                changed = await self._change_once(player_id, change, actor, why, attempt)
                if changed is not None:
                    return changed
                await asyncio.sleep(random.uniform(0, CONFLICT_PAUSE_S * 2 ** min(attempt, 5)))
            raise StorageUnavailable("the player's account kept changing; retry")
        except (LinkError, ReplyError) as exc:  # from a lock's recovery
            raise StorageUnavailable("wallet store (Redis) did not answer") from exc
        finally:
            self._turns.give_back([player_id])

    async def _change_once(
        self, player_id: str, change: PlayerChange, actor: str, why: str, attempt: int
    ) -> PlayerRecord | None:
        """One read, decision and commit; None: the version moved, try again."""
        keys = player_keys(player_id)
        state = await self._player_state(player_id)
        if state.record is None:
            raise PlayerNotFound(f"unknown player {player_id!r}")
        if state.lock is not None:
            await self._wait_or_recover([(player_id, state.lock)], attempt)
            return None
        now_us = self._clock_us()
        changed, action, before, after = change(state.record, now_us)
        assert changed.player_id == player_id, "a change keeps the player's id"
        if changed == state.record:
            return changed
        entry = audit_tail(now_us, actor, action, why, before, after)
        args = [state.version, encode_player(changed), group_of(player_id), GROUPS, entry]
        call = self._functions.call(CHANGE_PLAYER, [keys.player, keys.audit, keys.seq], args)
        with self._commit_durations.timing():
            reply = await self._call(call)
        if reply[0] == b"ok":
            self._commits += 1
            return changed
        self.conflicts_total += reply[0] == b"conflict"
        return None

    async def player_audit(
        self, player_id: str, *, limit: int, before_seq: int | None = None
    ) -> list[PlayerAuditEntry]:
        assert 1 <= limit <= 1_000
        key = player_keys(player_id).audit
        top = "+inf" if before_seq is None else f"({before_seq}"
        raws = await self._call(
            self._link.call(key, "ZREVRANGEBYSCORE", key, top, "-inf", "LIMIT", 0, limit)
        )
        return [decode_audit(player_id, raw) for raw in raws]

    async def figures(self, player_id: str) -> PlayFigures:
        key = player_keys(player_id).player
        raw = await self._call(self._link.call(key, "HGET", key, FIGURES_FIELD))
        return decode_stored(player_id, raw)

    async def balance(self, player_id: str, currency: str | None = None) -> Balance:
        state = await self._player_state(player_id)
        if currency is None:
            if state.record is None:
                raise PlayerNotFound(f"unknown player {player_id!r}")
            currency = state.record.currency
        return Balance(currency, *state.balances.get(currency, (0, 0)))

    async def _player_state(self, player_id: str) -> PlayerState:
        key = player_keys(player_id).player
        return PlayerState.parse(await self._call(self._link.call(key, "HGETALL", key)))

    async def create_session(self, session: SessionRecord) -> None:
        key = session_key(token_digest(session.token))
        await self._call(self._link.call(key, "HSET", key, *session_fields(session)))

    async def get_session(self, token: str) -> SessionRecord | None:
        key = session_key(token_digest(token))
        return decode_session(token, await self._call(self._link.call(key, "HGETALL", key)))

    async def rotate_session(self, old_token: str, new: SessionRecord) -> None:
        """The new session is stored first, then the old one ends: a crash in between
        leaves both usable until the old one's own expiry, never neither."""
        old = await self.get_session(old_token)
        if old is None:
            raise SessionInvalid("unknown session token")
        await self.create_session(new)
        key = session_key(token_digest(old_token))
        ends_at_us = min(old.expires_at_us, new.created_at_us)
        await self._call(self._functions.call(END_SESSION, [key], [ends_at_us]))

    # -- reads -------------------------------------------------------------------------

    async def transactions(
        self, player_id: str, *, limit: int, before_seq: int | None = None
    ) -> list[TxRecord]:
        assert 1 <= limit <= 1_000
        keys = player_keys(player_id)
        before = "+inf" if before_seq is None else before_seq
        raws = await self._call(
            self._functions.call(HISTORY, [keys.history, keys.txs], [before, limit], read_only=True)
        )
        return [decode_tx(raw).record for raw in raws if raw is not None]

    async def get_round(self, provider: str, round_id: str) -> RoundRecord | None:
        owner = await self._round_owner(provider, round_id)
        if owner is None:
            return None
        key = player_keys(owner).rounds
        raw = await self._call(self._link.call(key, "HGET", key, key_field(provider, round_id)))
        return None if raw is None else decode_round(raw)

    async def round_transactions(self, provider: str, round_id: str) -> list[TxRecord]:
        owner = await self._round_owner(provider, round_id)
        if owner is None:
            return []
        keys = player_keys(owner)
        raws = await self._call(
            self._functions.call(
                ROUND_RECORDS,
                [keys.round_index, keys.txs],
                [round_index_prefix(provider, round_id)],
                read_only=True,
            )
        )
        return [decode_tx(raw).record for raw in raws if raw is not None]

    async def _round_owner(self, provider: str, round_id: str) -> str | None:
        key = claim_round_key(key_field(provider, round_id))
        raw = await self._call(self._link.call(key, "GET", key))
        return None if raw is None else raw.decode()

    def nonce_cache(self, *, window_s: float) -> RedisNonceCache:
        """A nonce memory in this Redis, shared by every process using this wallet
        (`adapters.providers.base.SharedNonceCaches`)."""
        return RedisNonceCache(self._link, window_s=window_s)

    async def ping(self) -> None:
        await self._call(self._link.ping())

    async def close(self) -> None:
        await self._link.close()

    async def _call(self, awaitable: Any) -> Any:
        """A read or single write: connection failures and error replies are retryable."""
        self._operations += 1
        try:
            return await awaitable
        except (LinkError, ReplyError) as exc:
            raise StorageUnavailable("wallet store (Redis) did not answer") from exc
