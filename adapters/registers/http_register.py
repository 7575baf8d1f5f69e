"""A GAMSTOP-style self-exclusion register over HTTP.

The shape implemented is GAMSTOP's Remote API as its operator documentation describes
it and a published client (CPAN Webservice::GAMSTOP) sends it: a form POST with
`firstName`, `lastName`, `dateOfBirth` (YYYY-MM-DD), `email`, `postcode` and, in v2,
`mobile`; the operator's key in the `X-API-Key` header; the answer is in the headers,
`X-Exclusion: Y` (excluded), `N` (not excluded) or `P` (previously excluded, now not),
with `X-Unique-Id` naming the lookup in GAMSTOP's audit log. The v2 field list and the
body (ignored here, only bounded) could not be confirmed against GAMSTOP's own current
documentation; identity fields the player record lacks are left out of the form.

A player is waiting, so attempts are short (`timeout_s` each, connect to last byte) and
few (`retries_max`, after connection errors, timeouts and 5xx, with a small backoff).
A 4xx is a request the register refuses (a bad key, a malformed form): retrying cannot
help, so it fails at once and says what to check. Logs name the register, the player id
and the market, never an identity value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import structlog

from core.registers import RegisterSubject, RegisterUnavailable, Verdict

__all__ = ["ANSWER_BYTES_MAX", "BACKOFF_FIRST_S", "BACKOFF_MAX_S", "FORM_FIELDS", "HttpRegister"]

ANSWER_BYTES_MAX = 65_536
"""The answer is in the headers; a body larger than this is not a register's answer."""
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 1.0
FORM_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "postcode": "postcode",
    "mobile": "mobile",
}
"""Identity field -> the register's form field."""
_REQUIRED = ("first_name", "last_name")
_VERDICTS = {"Y": Verdict.EXCLUDED, "N": Verdict.NOT_EXCLUDED, "P": Verdict.PREVIOUSLY_EXCLUDED}
_SERVER_ERROR_MIN = 500
_HINTS = {
    400: "the register refused the form as malformed; check the player's identity fields",
    401: "the register refused the API key; check api_key_file",
    403: "the register refused the API key; check api_key_file",
    404: "no register at this URL; check url",
    429: "the register is limiting this operator's request rate",
}

Sleep = Callable[[float], Awaitable[None]]
_log = structlog.get_logger("gamegate.registers")


class _Retry(Exception):
    """This attempt failed in a way another attempt may not."""


class HttpRegister:
    """One register endpoint; `client` belongs to the caller, who closes it."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        name: str,
        url: str,
        api_key: str,
        timeout_s: float,
        retries_max: int,
        answer_bytes_max: int = ANSWER_BYTES_MAX,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        assert timeout_s > 0, timeout_s
        assert retries_max >= 0, retries_max
        assert answer_bytes_max > 0, answer_bytes_max
        self.name = name
        self._client = client
        self._url = url
        self._headers = {"X-API-Key": api_key}
        self._timeout_s = timeout_s
        self._retries_max = retries_max
        self._answer_bytes_max = answer_bytes_max
        self._sleep = sleep

    async def lookup(self, subject: RegisterSubject) -> Verdict:
        form = self._form(subject)
        attempts_max = 1 + self._retries_max
        for attempt in range(1, attempts_max + 1):
            try:
                async with asyncio.timeout(self._timeout_s):
                    return await self._attempt(form, subject)
            except (TimeoutError, httpx.TimeoutException):
                problem = f"no complete answer within {self._timeout_s:g} s"
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
            except _Retry as error:
                problem = str(error)
            self._log_failure(subject, problem, attempt=attempt)
            if attempt == attempts_max:
                raise RegisterUnavailable(
                    f"register {self.name} gave no answer after {attempt} attempts: {problem}"
                )
            await self._sleep(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1)))
        raise AssertionError("unreachable")

    def _form(self, subject: RegisterSubject) -> dict[str, str]:
        missing = [name for name in _REQUIRED if not subject.identity.get(name)]
        if missing:
            raise self._unavailable(
                subject, f"the player record has no {', '.join(missing)} to match on"
            )
        form = {"dateOfBirth": subject.date_of_birth.isoformat()}
        for name, field in FORM_FIELDS.items():
            value = subject.identity.get(name)
            if value:
                form[field] = value
        return form

    async def _attempt(self, form: dict[str, str], subject: RegisterSubject) -> Verdict:
        request = self._client.stream(
            "POST",
            self._url,
            data=form,
            headers=self._headers,
            timeout=httpx.Timeout(self._timeout_s),
        )
        async with request as response:
            status = response.status_code
            if status >= _SERVER_ERROR_MIN:
                raise _Retry(f"HTTP {status}")
            if status != httpx.codes.OK:
                hint = _HINTS.get(status, "the register refused the request")
                raise self._unavailable(subject, f"HTTP {status} (not retried): {hint}")
            await self._drain(response, subject)
            flag = response.headers.get("X-Exclusion", "").strip().upper()
            verdict = _VERDICTS.get(flag)
            if verdict is None:
                shown = flag[:8] if flag.isalnum() else "missing or not a flag"
                raise self._unavailable(subject, f"X-Exclusion is {shown!r}, not Y, N or P")
        _log.info(
            "register_answer",
            register=self.name,
            player_id=subject.player_id,
            market=subject.market,
            verdict=verdict.value,
            unique_id=response.headers.get("X-Unique-Id", "")[:64],
        )
        return verdict

    async def _drain(self, response: httpx.Response, subject: RegisterSubject) -> None:
        """Read the body to its end (so the connection can be reused), up to the bound."""
        declared = response.headers.get("Content-Length", "")
        too_big = f"answer larger than {self._answer_bytes_max} bytes"
        if declared.isdigit() and int(declared) > self._answer_bytes_max:
            raise self._unavailable(subject, too_big)
        received = 0
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > self._answer_bytes_max:
                raise self._unavailable(subject, too_big)

    def _unavailable(self, subject: RegisterSubject, problem: str) -> RegisterUnavailable:
        self._log_failure(subject, problem, attempt=None)
        return RegisterUnavailable(f"register {self.name}: {problem}")

    def _log_failure(self, subject: RegisterSubject, problem: str, *, attempt: int | None) -> None:
        _log.warning(
            "register_failed",
            register=self.name,
            player_id=subject.player_id,
            market=subject.market,
            attempt=attempt,
            problem=problem,
        )
