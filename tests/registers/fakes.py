"""A scripted register and subjects for the register tests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date

from core.registers import RegisterSubject, RegisterUnavailable, Verdict


def subject(
    player_id: str = "p-1", market: str = "GB", identity: Mapping[str, str] | None = None
) -> RegisterSubject:
    names = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    return RegisterSubject(
        player_id, market, date(1990, 12, 10), names if identity is None else identity
    )


class ScriptedRegister:
    """Answers each lookup with the next scripted verdict or failure, after `gate` opens."""

    def __init__(self, *answers: Verdict | RegisterUnavailable, name: str = "scripted") -> None:
        self.name = name
        self.answers = list(answers)
        self.asked: list[RegisterSubject] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def lookup(self, subject: RegisterSubject) -> Verdict:
        self.asked.append(subject)
        await self.gate.wait()
        answer = self.answers.pop(0)
        if isinstance(answer, RegisterUnavailable):
            raise answer
        return answer
