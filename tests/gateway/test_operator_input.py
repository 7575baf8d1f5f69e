"""The operator API refuses ambiguous or sloppy input instead of guessing: a table of
requests, each with the status and error code it must get and the balance it must leave."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import FakeClock
from tests.gateway.conftest import ADMIN, Client
from tests.gateway.helpers import balance, cashier, new_player, player_body

JSON = {**ADMIN, "Content-Type": "application/json"}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    status: int = 400
    code: str = "invalid_request"


CASES = [
    Case(
        "a key given twice is ambiguous, not last-wins",
        "POST", "/v1/players/p1/deposits", b'{"amount":"1.00","amount":"2.00"}',
        {**JSON, "Idempotency-Key": "dup-1"},
    ),
    Case(
        "a nested duplicate too",
        "POST", "/v1/players",
        b'{"player_id":"p2","player_id":"p3","brand":"demo","jurisdiction":"MT",'
        b'"currency":"EUR","date_of_birth":"1990-01-01"}',
    ),
    Case(
        "text/plain is not JSON",
        "POST", "/v1/players/p1/deposits", b'{"amount":"1.00"}',
        {**ADMIN, "Content-Type": "text/plain", "Idempotency-Key": "tp-1"},
        415, "unsupported_media_type",
    ),
    Case(
        "no Content-Type at all",
        "POST", "/v1/players/p1/deposits", b'{"amount":"1.00"}',
        {**ADMIN, "Idempotency-Key": "nc-1"},
        415, "unsupported_media_type",
    ),
    Case(
        "an unknown currency is unknown before it is a mismatch",
        "POST", "/v1/players/p1/deposits", b'{"amount":"1.00","currency":"XXX"}',
        {**JSON, "Idempotency-Key": "xxx-1"},
        400, "unknown_currency",
    ),
    Case(
        "a known other currency is a mismatch",
        "POST", "/v1/players/p1/deposits", b'{"amount":"1.00","currency":"USD"}',
        {**JSON, "Idempotency-Key": "usd-1"},
        422, "currency_mismatch",
    ),
    Case("Arabic-Indic digits are not a limit", "GET", "/v1/players/p1/transactions?limit=١٢"),
    Case("full-width digits neither", "GET", "/v1/players/p1/transactions?before=１２"),
    Case("a trailing newline neither", "GET", "/v1/players/p1/transactions?limit=12%0A"),
    Case(
        "a player born in 2015 is a child",
        "POST", "/v1/players",
        b'{"player_id":"kid","brand":"demo","jurisdiction":"MT","currency":"EUR",'
        b'"date_of_birth":"2015-06-01"}',
        status=422, code="underage",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_sloppy_input_is_refused_and_changes_nothing(client: Client, case: Case) -> None:
    await new_player(client, "p1")
    await cashier(client, "p1", "deposits", "5.00", "seed-1")
    response = await client.request(case.method, case.path, data=case.body, headers=case.headers)
    shown = await response.json()
    assert (response.status, shown["error"]["code"]) == (case.status, case.code), shown
    assert (await balance(client, "p1"))["real"] == "5.00"
    for absent in ("p2", "p3", "kid"):
        missing = await client.get(f"/v1/players/{absent}/balance", headers=ADMIN)
        assert missing.status == 404


@pytest.mark.parametrize(("days_after_18th_birthday", "status"), [(0, 201), (-1, 422)])
async def test_the_age_floor_is_18_on_the_day_of_the_check(
    client: Client, clock: FakeClock, days_after_18th_birthday: int, status: int
) -> None:
    today = datetime.fromtimestamp(clock.seconds(), tz=UTC).date()
    assert (today.month, today.day) != (2, 29)  # the fixed test instant; keeps replace() simple
    born = today.replace(year=today.year - 18) - timedelta(days=days_after_18th_birthday)
    body = player_body("adult", date_of_birth=born.isoformat())
    response = await client.post("/v1/players", json=body, headers=ADMIN)
    assert response.status == status, await response.text()
