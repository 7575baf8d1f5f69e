"""Lobby answers kept in memory per catalogue version, and their HTTP validators.

A lobby front end asks the same few queries over and over (the first page of each
category, per market and device), so an answer is computed once per catalogue version
and served from memory after that. The ETag is derived from the catalogue version and
the canonical query alone: a client's `If-None-Match` is answered with `304` before the
index is touched, and any catalogue change gives every answer a new tag.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["LobbyAnswer", "LobbyAnswers", "etag_matches", "lobby_etag"]


@dataclass(frozen=True, slots=True)
class LobbyAnswer:
    etag: str
    body: bytes


def lobby_etag(version: int, canonical: str) -> str:
    """A strong validator: equal bytes for equal (version, query), quoted per RFC 9110."""
    digest = hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()
    return f'"{version:x}-{digest}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: `*`, or any listed tag equal under weak comparison."""
    if if_none_match is None:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


@dataclass(slots=True)
class _KnownQuery:
    canonical: str
    version: int
    etag: str


class LobbyAnswers:
    """The most recently used answers of the current catalogue version, at most
    `entries_max` of them and `bytes_max` of bodies; a new version starts empty."""

    def __init__(self, entries_max: int, bytes_max: int) -> None:
        assert entries_max >= 0
        assert bytes_max >= 0
        self._entries_max = entries_max
        self._bytes_max = bytes_max
        self._bytes = 0
        self._version = -1
        self._answers: OrderedDict[str, LobbyAnswer] = OrderedDict()
        self._known: OrderedDict[str, _KnownQuery] = OrderedDict()
        """Raw query strings already parsed and found valid -> their canonical form (and
        its last ETag): a repeat skips the strict parse (parsing reads no catalogue)."""

    def validators(self, version: int, raw_query: str) -> tuple[str, str] | None:
        """(canonical query, ETag) of a query string seen before, or None."""
        known = self._known.get(raw_query)
        if known is None:
            return None
        if known.version != version:
            known.version, known.etag = version, lobby_etag(version, known.canonical)
        return known.canonical, known.etag

    def remember_query(self, raw_query: str, canonical: str, version: int, etag: str) -> None:
        if self._entries_max == 0:
            return
        self._known[raw_query] = _KnownQuery(canonical, version, etag)
        if len(self._known) > self._entries_max:
            self._known.popitem(last=False)

    def get(self, version: int, canonical: str) -> LobbyAnswer | None:
        if version != self._version:
            return None
        answer = self._answers.get(canonical)
        if answer is not None:
            self._answers.move_to_end(canonical)
        return answer

    def put(self, version: int, canonical: str, answer: LobbyAnswer) -> None:
        size = len(answer.body)
        if self._entries_max == 0 or size > self._bytes_max:
            return
        if version != self._version:
            self._version = version
            self._answers.clear()
            self._bytes = 0
        replaced = self._answers.pop(canonical, None)
        if replaced is not None:
            self._bytes -= len(replaced.body)
        self._answers[canonical] = answer
        self._bytes += size
        while len(self._answers) > self._entries_max or self._bytes > self._bytes_max:
            _, evicted = self._answers.popitem(last=False)
            self._bytes -= len(evicted.body)

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._answers)
