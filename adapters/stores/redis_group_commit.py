"""Group commit on one Redis server: many players' steps in two calls, not two each.

The wallet calls in flight in one process are gathered into batches. A batch reads
every step's snapshot with one `gg_read_many_v2` call, decides each step in Python, and
commits every step that writes with one `gg_apply_many_v2` call, in which each step is
checked against its own player's version and applied on its own. Per wallet call that
saves most of what a Redis command costs both sides (packing, parsing, a future and a
wake-up here; dispatch and a function call there); what remains per call is its own
reads and writes. A few batches are in flight at once, so one is decided here while
Redis runs another. On one server only: a function may touch keys of any slot there,
while a cluster runs each call as its own steps.

A step that needs more than this common path gives (another round of reads, a seq
reservation, an id held by another player or not claimed yet, a locked player, a
version that moved) is handed back, with the claims it made, to run the whole way on
its own (`RedisWalletStore`), which handles every case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.stores.redis_claims import ClaimKey, Claims
from adapters.stores.redis_commit import Part, build_parts, function_args, used_claims
from adapters.stores.redis_functions import Functions
from adapters.stores.redis_keys import group_of
from adapters.stores.redis_link import Link
from adapters.stores.redis_lua import APPLY_MANY, READ_MANY
from adapters.stores.redis_read import (
    ReadRequest,
    Wanted,
    one_server_job,
    prepare,
    view_of,
    wanted_by,
)
from adapters.stores.redis_seqs import SeqBlocks, SeqsExhausted
from adapters.stores.redis_view import MissingKeys, SnapshotView
from core.duration_buckets import DurationBuckets
from core.errors import GatewayError
from core.model import TxOutcome, WalletCommand
from core.wallet.step import StepResult, run_step
from core.wallet.store import DebitGuard

__all__ = ["BATCHES_IN_FLIGHT", "BATCH_JOBS_MAX", "GroupCommit", "Job"]

BATCH_JOBS_MAX = 64
"""Steps per batch: large enough to spread a call's fixed costs, small enough that the
next batch is decided while Redis runs this one."""
BATCHES_IN_FLIGHT = 4
SEQS_PER_COMMAND = 2
"""As `redis_store.SEQS_PER_COMMAND`: a rollback and its tombstone."""


@dataclass(slots=True, eq=False)
class Job:
    """One wallet call of one player, and what became of it."""

    commands: Sequence[WalletCommand]
    refusal: GatewayError | None
    guard: DebitGuard | None
    wanted: Wanted
    claims: Claims
    done: asyncio.Future[list[TxOutcome] | GatewayError | None]
    """Its answer; None: run it on its own (`RedisWalletStore._apply`)."""
    request: ReadRequest | None = None
    step: StepResult | None = None
    view: SnapshotView | None = None
    parts: list[Part] = field(default_factory=list)

    def settle(self, answer: list[TxOutcome] | GatewayError | None) -> None:
        if not self.done.done():  # its caller may have given up (timed out) meanwhile
            self.done.set_result(answer)

    def fail(self, error: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(error)


class GroupCommit:
    """Batches of steps on one server; `run` one and get its answer, or None."""

    def __init__(
        self,
        link: Link,
        functions: Functions,
        seqs: SeqBlocks,
        clock_us: Callable[[], int],
        commit_durations: DurationBuckets,
        *,
        batch_jobs_max: int = BATCH_JOBS_MAX,
        batches_in_flight: int = BATCHES_IN_FLIGHT,
    ) -> None:
        self._link = link
        self._functions = functions
        self._seqs = seqs
        self._clock_us = clock_us
        self._commit_durations = commit_durations
        self._batch_jobs_max = batch_jobs_max
        self._batches_in_flight = batches_in_flight
        self._pending: list[Job] = []
        self._running = 0
        self._start_scheduled = False
        self.commits_total = 0
        """Steps committed through here."""
        self.commit_calls_total = 0
        """`gg_apply_many_v2` calls: durable writes, each holding many steps."""
        self.batches_total = 0

    def submit(
        self,
        commands: Sequence[WalletCommand],
        refusal: GatewayError | None,
        guard: DebitGuard | None,
    ) -> Job:
        """Queue one call of one player; await `job.done`."""
        loop = asyncio.get_running_loop()
        wanted = wanted_by(commands, None if guard is None else guard.session_token)
        job = Job(
            commands, refusal, guard, wanted, Claims(self._link, self._functions),
            loop.create_future(),
        )  # fmt: skip
        self._pending.append(job)
        if not self._start_scheduled:
            self._start_scheduled = True
            loop.call_soon(self._start)
        return job

    def _start(self) -> None:
        """Start batches of what is pending, as many as may run (called once per turn)."""
        self._start_scheduled = False
        while self._pending and self._running < self._batches_in_flight:
            batch = self._pending[: self._batch_jobs_max]
            del self._pending[: self._batch_jobs_max]
            self._running += 1
            asyncio.ensure_future(self._run(batch)).add_done_callback(self._finished)

    def _finished(self, _: asyncio.Future[None]) -> None:
        self._running -= 1
        if self._pending and not self._start_scheduled:
            self._start_scheduled = True
            asyncio.get_running_loop().call_soon(self._start)

    async def _run(self, batch: list[Job]) -> None:
        self.batches_total += 1
        try:
            reply = await self._read(batch)
        except Exception as exc:  # noqa: BLE001 -- every caller gets it (mapped by the store)
            _fail(batch, exc)
            return
        committing = [
            job for job, found in zip(batch, reply, strict=True) if self._decide(job, found)
        ]
        if not committing:
            return
        try:
            replies = await self._commit(committing)
        except Exception as exc:  # noqa: BLE001 -- outcome unknown: every caller gets it
            _fail(committing, exc)
            return
        for job, found in zip(committing, replies, strict=True):
            if found[0] == b"ok":
                self.commits_total += 1
                _answer(job)
            elif found[0] == b"invalid":
                job.fail(RuntimeError(f"the wallet's commit refused a step: {found!r}"))
            else:  # version moved, player locked, or skipped: the long way
                job.settle(None)

    async def _read(self, batch: list[Job]) -> list[Any]:
        keys: list[str] = []
        args: list[Any] = [len(batch)]
        for job in batch:
            job.request = prepare(job.wanted, job.claims)
            job_keys, job_args = one_server_job(job.request)
            keys += job_keys
            args += job_args
        replies: list[Any] = await self._functions.call(READ_MANY, keys, args)
        return replies

    def _decide(self, job: Job, reply: list[Any]) -> bool:
        """Decide `job` on its read; True if it has writes to commit. A job answered now
        (nothing to write) or handed back (None) is settled here."""
        assert job.request is not None
        view, foreign = view_of(job.request, reply, job.claims)
        state = view.players[job.commands[0].player_id]
        group = group_of(job.commands[0].player_id)
        floor = 0 if state.head is None else state.head[0]
        if foreign or state.lock is not None:
            job.settle(None)
            return False
        if not self._seqs.ready(group, floor, SEQS_PER_COMMAND * len(job.commands) + 1):
            job.settle(None)
            return False
        try:
            step = run_step(
                job.commands, view, refusal=job.refusal, guard=job.guard,
                new_seq=self._seqs.taker(group, floor), now_us=self._clock_us(),
            )  # fmt: skip
        except (MissingKeys, SeqsExhausted) as missing:
            if isinstance(missing, MissingKeys):
                job.wanted.add_missing(missing)
            job.settle(None)
            return False
        parts = build_parts(step.writes, view, job.commands[0].player_id)
        job.step, job.view, job.parts = step, view, parts
        owners, made = job.claims.owners, job.claims.made
        written: set[ClaimKey] = set()
        for part in parts:
            claims = part.claims()
            if any(owners.get(key) != part.player_id for key in claims):
                job.settle(None)  # an id it writes is not claimed yet (a tombstone's)
                return False
            written |= claims
        if made and not written.issuperset(made) and not used_claims(view, parts).issuperset(made):
            job.settle(None)  # a claim it will not use is released first: the long way
            return False
        if not parts:
            _answer(job)
            return False
        return True

    async def _commit(self, committing: list[Job]) -> list[Any]:
        keys: list[str] = []
        args: list[Any] = ["1", len(committing)]
        for job in committing:
            assert job.view is not None
            versions = [job.view.players[part.player_id].version for part in job.parts]
            job_keys, job_args = function_args(
                job.parts, [f"v:{version.decode()}" for version in versions]
            )
            keys += job_keys
            args += job_args[1:]  # gg_apply_many_v2 takes each job without its format
        self.commit_calls_total += 1
        with self._commit_durations.timing():
            replies: list[Any] = await self._functions.call(APPLY_MANY, keys, args)
        return replies


def _answer(job: Job) -> None:
    step = job.step
    assert step is not None
    if step.refusal is not None:
        job.settle(step.refusal)
    else:
        assert step.outcomes is not None
        job.settle(step.outcomes)


def _fail(jobs: list[Job], error: Exception) -> None:
    for job in jobs:
        job.fail(error)
