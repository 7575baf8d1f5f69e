"""National self-exclusion registers (GAMSTOP, OASIS, CRUKS, Spelpaus, RGIAJ): the port,
an answer cache and the one rule that turns an answer into a refusal.

A register is asked before money can move (registration, session creation, deposits),
never inside the wallet's atomic step: it is remote I/O that may be slow or down. The
market decides what "down" means (`check_register(fail_closed=...)`). Identity values
(names, email, postcode, mobile) go to the register and nowhere else: they are kept out
of reprs, and the cache keys on a digest of them.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Protocol

from core.errors import ExclusionCheckUnavailable, RegisterExcluded
from core.wallet.records import PlayerRecord

__all__ = [
    "IDENTITY_FIELDS",
    "CachedRegister",
    "ExclusionRegister",
    "RegisterSubject",
    "RegisterUnavailable",
    "Verdict",
    "check_register",
]

IDENTITY_FIELDS = frozenset({"first_name", "last_name", "email", "postcode", "mobile"})
"""What a register may match a person on, besides the date of birth."""


class RegisterUnavailable(Exception):
    """The register gave no usable answer (timeout, connection error, 5xx after the
    retries, a refused request, a malformed answer). Not a `GatewayError`: whether it
    refuses anything is the market's call, made by `check_register`."""


class Verdict(enum.Enum):
    EXCLUDED = "excluded"
    NOT_EXCLUDED = "not_excluded"
    PREVIOUSLY_EXCLUDED = "previously_excluded"
    """Excluded once, the minimum period lapsed and the person asked to be let back
    (GAMSTOP's `P`): not excluded, kept apart for the record."""

    @property
    def excluded(self) -> bool:
        return self is Verdict.EXCLUDED


@dataclass(frozen=True, slots=True)
class RegisterSubject:
    """The person a register is asked about. `market` picks the register."""

    player_id: str
    market: str
    date_of_birth: date = field(repr=False)
    identity: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Keys among `IDENTITY_FIELDS`; read-only once built."""

    def __post_init__(self) -> None:
        unknown = sorted(self.identity.keys() - IDENTITY_FIELDS)
        if unknown:
            raise ValueError(f"unknown identity fields {unknown}; known: {sorted(IDENTITY_FIELDS)}")
        object.__setattr__(self, "identity", MappingProxyType(dict(self.identity)))

    @classmethod
    def of(cls, player: PlayerRecord) -> RegisterSubject:
        return cls(
            player.player_id, player.jurisdiction, player.date_of_birth, dict(player.identity)
        )

    def digest(self, key: bytes) -> bytes:
        """Tells subjects apart without holding their identity in clear; `key` (secret,
        random per process) keeps a digest from being checked against guessed people."""
        parts: list[object] = [self.player_id, self.market, self.date_of_birth.isoformat()]
        parts += sorted(self.identity.items())
        text = json.dumps(parts, ensure_ascii=False)
        return hashlib.blake2b(text.encode(), key=key, digest_size=20).digest()


class ExclusionRegister(Protocol):
    name: str

    async def lookup(self, subject: RegisterSubject) -> Verdict:
        """The register's answer; `RegisterUnavailable` when it has none."""
        ...


async def check_register(
    registers: Mapping[str, ExclusionRegister],
    subject: RegisterSubject,
    *,
    fail_closed: bool,
) -> RegisterUnavailable | None:
    """Refuse a subject the register of their market lists (`RegisterExcluded`).

    A market without a register passes. When the register cannot answer, a market that
    fails closed refuses (`ExclusionCheckUnavailable`); one that fails open passes, and
    the failure let through is returned so the caller can log it (None otherwise).
    """
    register = registers.get(subject.market)
    if register is None:
        return None
    try:
        verdict = await register.lookup(subject)
    except RegisterUnavailable as failure:
        if fail_closed:
            raise ExclusionCheckUnavailable(
                f"self-exclusion register {register.name} of {subject.market} did not answer"
            ) from failure
        return failure
    if verdict.excluded:
        raise RegisterExcluded(f"listed by the {register.name} self-exclusion register")
    return None


Clock = Callable[[], float]


@dataclass(slots=True)
class _Answer:
    verdict: Verdict
    expires_at_s: float


class CachedRegister:
    """A register's answers, kept for a bounded time in a bounded number of entries.

    A "not excluded" answer is the one whose staleness lets an excluded person play, so
    it is kept for `ttl_s` (short); an "excluded" answer that goes stale only keeps
    someone out a little longer, so it may be kept for `excluded_ttl_s` (longer) and
    spare the register. Failures are never kept: the next lookup asks again. Lookups of
    one subject while a call is in flight wait for that call instead of making their
    own, and a waiter that is cancelled does not cancel it for the others.
    """

    def __init__(
        self,
        register: ExclusionRegister,
        *,
        ttl_s: float,
        excluded_ttl_s: float,
        entries_max: int,
        clock_s: Clock = time.monotonic,
    ) -> None:
        assert ttl_s >= 0, ttl_s
        assert excluded_ttl_s >= 0, excluded_ttl_s
        assert entries_max >= 1, entries_max
        self.name = register.name
        self.register = register
        self.ttl_s = ttl_s
        self.excluded_ttl_s = excluded_ttl_s
        self.entries_max = entries_max
        self._clock_s = clock_s
        self._digest_key = secrets.token_bytes(32)
        self._answers: OrderedDict[bytes, _Answer] = OrderedDict()
        self._in_flight: dict[bytes, asyncio.Task[Verdict]] = {}

    def __len__(self) -> int:
        return len(self._answers)

    async def lookup(self, subject: RegisterSubject) -> Verdict:
        key = subject.digest(self._digest_key)
        answer = self._answers.get(key)
        if answer is not None:
            if self._clock_s() < answer.expires_at_s:
                self._answers.move_to_end(key)
                return answer.verdict
            del self._answers[key]
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self.register.lookup(subject))
            self._in_flight[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        return await asyncio.shield(task)

    def _settle(self, key: bytes, task: asyncio.Task[Verdict]) -> None:
        del self._in_flight[key]
        if task.cancelled() or task.exception() is not None:
            return  # exception() also marks it seen when every waiter has gone
        verdict = task.result()
        ttl_s = self.excluded_ttl_s if verdict.excluded else self.ttl_s
        self._answers[key] = _Answer(verdict, self._clock_s() + ttl_s)
        self._answers.move_to_end(key)
        while len(self._answers) > self.entries_max:
            self._answers.popitem(last=False)
