"""A self-exclusion register read from a text file: for demo mode and tests, where no
national register can be reached.

One entry per line, `player_id <id>` or `email <address>`; blank lines and lines
starting with `#` are ignored. Emails match without regard to case. The file is read
again when its modification time, size or inode changes, so an edit (or an atomic
replace) takes effect on the next lookup without a restart. A missing, unreadable,
oversized or malformed file is a register that cannot answer: the market's fail-closed
rule decides, as it would for a remote register that is down.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from core.registers import RegisterSubject, RegisterUnavailable, Verdict

__all__ = ["FILE_BYTES_MAX", "FILE_FIELDS", "FileRegister"]

FILE_BYTES_MAX = 16_777_216
FILE_FIELDS = ("player_id", "email")

_Signature = tuple[int, int, int]
"""(mtime in ns, size in bytes, inode)."""


@dataclass(frozen=True, slots=True)
class _Entries:
    player_ids: frozenset[str]
    emails: frozenset[str]


class FileRegister:
    def __init__(self, path: Path, *, name: str, file_bytes_max: int = FILE_BYTES_MAX) -> None:
        assert file_bytes_max > 0, file_bytes_max
        self.name = name
        self.path = path
        self.file_bytes_max = file_bytes_max
        self._signature: _Signature | None = None
        self._entries = _Entries(frozenset(), frozenset())

    async def lookup(self, subject: RegisterSubject) -> Verdict:
        entries = await self._current()
        email = subject.identity.get("email", "").strip().casefold()
        listed = subject.player_id in entries.player_ids or (
            bool(email) and email in entries.emails
        )
        return Verdict.EXCLUDED if listed else Verdict.NOT_EXCLUDED

    async def _current(self) -> _Entries:
        try:
            status = os.stat(self.path)
        except OSError as error:
            raise self._unavailable(f"cannot read: {error.strerror}") from error
        signature = (status.st_mtime_ns, status.st_size, status.st_ino)
        if signature != self._signature:
            self._entries = await asyncio.to_thread(self._read)
            self._signature = signature
        return self._entries

    def _read(self) -> _Entries:
        try:
            with self.path.open("rb") as file:
                data = file.read(self.file_bytes_max + 1)
        except OSError as error:
            raise self._unavailable(f"cannot read: {error.strerror}") from error
        if len(data) > self.file_bytes_max:
            raise self._unavailable(f"larger than {self.file_bytes_max} bytes")
        try:
            text = data.decode()
        except UnicodeDecodeError as error:
            raise self._unavailable("not UTF-8 text") from error
        return self._parse(text)

    def _parse(self, text: str) -> _Entries:
        found: dict[str, set[str]] = {name: set() for name in FILE_FIELDS}
        for number, line in enumerate(text.splitlines(), start=1):
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            name, _, value = entry.partition(" ")
            value = value.strip()
            if name not in found or not value:
                # the line itself may hold an identity value: name its number only
                raise self._unavailable(
                    f"line {number} is not `player_id <id>` or `email <address>`"
                )
            found[name].add(value.casefold() if name == "email" else value)
        return _Entries(frozenset(found["player_id"]), frozenset(found["email"]))

    def _unavailable(self, problem: str) -> RegisterUnavailable:
        return RegisterUnavailable(f"register {self.name} ({self.path}): {problem}")
