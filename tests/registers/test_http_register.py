"""The GAMSTOP-style HTTP register against the documented request and answer shapes:
a form POST with the X-API-Key header; the verdict in `X-Exclusion` (Y, N, P)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from adapters.registers.http_register import BACKOFF_FIRST_S, HttpRegister
from core.registers import RegisterSubject, RegisterUnavailable, Verdict
from tests.registers.fakes import subject

URL = "https://register.example/v2"
KEY = "operator-api-key-0001"
FULL_IDENTITY = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "postcode": "SW1A 1AA",
    "mobile": "07700900123",
}


class Sleeps:
    """Records the backoff instead of waiting it."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay_s: float) -> None:
        self.delays.append(delay_s)


def _answer(flag: str | None, **headers: str) -> httpx.Response:
    if flag is not None:
        headers["X-Exclusion"] = flag
    return httpx.Response(200, headers=headers)


async def _lookup(
    who: RegisterSubject | None = None,
    *,
    sleeps: Sleeps | None = None,
    retries_max: int = 2,
    timeout_s: float = 2.0,
) -> Verdict:
    async with httpx.AsyncClient() as client:
        register = HttpRegister(
            client,
            name="gamstop",
            url=URL,
            api_key=KEY,
            timeout_s=timeout_s,
            retries_max=retries_max,
            answer_bytes_max=1_024,
            sleep=sleeps or Sleeps(),
        )
        return await register.lookup(who or subject(identity=FULL_IDENTITY))


@respx.mock
async def test_the_request_is_the_documented_form_with_the_api_key() -> None:
    route = respx.post(URL).mock(return_value=_answer("N", **{"X-Unique-Id": "u-1"}))
    assert await _lookup() is Verdict.NOT_EXCLUDED
    request = route.calls.last.request
    assert request.headers["X-API-Key"] == KEY
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode(), strict_parsing=True) == {
        "firstName": ["Ada"],
        "lastName": ["Lovelace"],
        "dateOfBirth": ["1990-12-10"],
        "email": ["ada@example.com"],
        "postcode": ["SW1A 1AA"],
        "mobile": ["07700900123"],
    }


@respx.mock
async def test_identity_fields_the_player_lacks_are_left_out() -> None:
    route = respx.post(URL).mock(return_value=_answer("N"))
    await _lookup(subject(identity={"first_name": "Ada", "last_name": "Lovelace"}))
    form = parse_qs(route.calls.last.request.content.decode())
    assert sorted(form) == ["dateOfBirth", "firstName", "lastName"]


@respx.mock
async def test_without_names_the_register_is_not_asked() -> None:
    route = respx.post(URL).mock(return_value=_answer("N"))
    with pytest.raises(RegisterUnavailable, match="no first_name, last_name"):
        await _lookup(subject(identity={"email": "ada@example.com"}))
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("flag", "verdict"),
    [
        ("Y", Verdict.EXCLUDED),
        ("N", Verdict.NOT_EXCLUDED),
        ("P", Verdict.PREVIOUSLY_EXCLUDED),
        (" y ", Verdict.EXCLUDED),
    ],
)
@respx.mock
async def test_the_exclusion_header_is_the_verdict(flag: str, verdict: Verdict) -> None:
    respx.post(URL).mock(return_value=_answer(flag))
    assert await _lookup() is verdict


@respx.mock
async def test_the_answer_is_logged_without_identity() -> None:
    respx.post(URL).mock(return_value=_answer("Y", **{"X-Unique-Id": "gs-42"}))
    with capture_logs() as events:
        await _lookup()
    (event,) = events
    assert event["event"] == "register_answer"
    assert (event["player_id"], event["market"], event["verdict"]) == ("p-1", "GB", "excluded")
    assert event["unique_id"] == "gs-42"
    text = repr(events)
    for value in (*FULL_IDENTITY.values(), "1990-12-10", KEY):
        assert value not in text


@pytest.mark.parametrize("flag", [None, "", "maybe", "1"])
@respx.mock
async def test_a_missing_or_unknown_flag_is_no_answer(flag: str | None) -> None:
    route = respx.post(URL).mock(return_value=_answer(flag))
    with pytest.raises(RegisterUnavailable, match="X-Exclusion"):
        await _lookup()
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("status", "hint"),
    [(400, "identity fields"), (401, "api_key_file"), (403, "api_key_file"), (418, "refused")],
)
@respx.mock
async def test_a_4xx_fails_at_once_and_says_what_to_check(status: int, hint: str) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(status))
    sleeps = Sleeps()
    with pytest.raises(RegisterUnavailable, match=f"HTTP {status}") as caught:
        await _lookup(sleeps=sleeps)
    assert hint in str(caught.value)
    assert (route.call_count, sleeps.delays) == (1, [])


@respx.mock
async def test_5xx_is_retried_with_backoff_then_the_answer_counts() -> None:
    route = respx.post(URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(500), _answer("Y")]
    )
    sleeps = Sleeps()
    assert await _lookup(sleeps=sleeps) is Verdict.EXCLUDED
    assert route.call_count == 3
    assert sleeps.delays == [BACKOFF_FIRST_S, 2 * BACKOFF_FIRST_S]


@respx.mock
async def test_connection_errors_are_retried() -> None:
    respx.post(URL).mock(side_effect=[httpx.ConnectError("refused"), _answer("N")])
    assert await _lookup() is Verdict.NOT_EXCLUDED


@respx.mock
async def test_timeouts_exhaust_retries_max_then_no_answer() -> None:
    route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with capture_logs() as events, pytest.raises(RegisterUnavailable) as caught:
        await _lookup(retries_max=2)
    assert route.call_count == 3
    assert "after 3 attempts" in str(caught.value)
    assert [event["attempt"] for event in events] == [1, 2, 3]
    assert {event["player_id"] for event in events} == {"p-1"}


@respx.mock
async def test_5xx_every_time_is_no_answer() -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(502))
    with pytest.raises(RegisterUnavailable, match="HTTP 502"):
        await _lookup(retries_max=1)
    assert route.call_count == 2


async def _slow_body() -> AsyncIterator[bytes]:
    yield b""
    await asyncio.sleep(1)


@respx.mock
async def test_a_slow_answer_times_out_as_a_whole() -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(200, headers={"X-Exclusion": "N"}, content=_slow_body())
    )
    with pytest.raises(RegisterUnavailable, match=r"within 0.05 s"):
        await _lookup(retries_max=0, timeout_s=0.05)


async def _endless_body() -> AsyncIterator[bytes]:
    for _ in range(100):
        yield b"x" * 100


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
@respx.mock
async def test_an_oversized_answer_is_no_answer_and_not_retried(declared: bool) -> None:
    body: bytes | AsyncIterator[bytes] = b"x" * 2_000 if declared else _endless_body()
    route = respx.post(URL).mock(
        return_value=httpx.Response(200, headers={"X-Exclusion": "N"}, content=body)
    )
    with pytest.raises(RegisterUnavailable, match="larger than 1024 bytes"):
        await _lookup()
    assert route.call_count == 1
