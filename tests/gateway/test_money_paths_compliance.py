"""Compliance on the operator's money paths and at registration: deposits and withdrawals
by account status, deposit limits and the KYC-pending cap from the wallet's own
figures, the market's minimum age and its self-exclusion register (file and HTTP, fail
closed and fail open), and the market's cooling-off for a raised limit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from core.limits import Limit, LimitKind, LimitPeriod
from core.model import Deposit, KycState, PlayerStatus
from core.wallet.records import PlayerRecord
from gateway.keys import STORE
from tests.conftest import FakeClock
from tests.gateway.conftest import ADMIN, Client, MakeClient, app_of
from tests.gateway.helpers import cashier, player_body

RULES_DIR = Path(__file__).parents[2] / "config" / "jurisdictions"
BORN = date(1990, 1, 1)
GAMSTOP_URL = "https://gamstop.example/v2"
S = PlayerStatus

# status, operation -> HTTP status and reason code (None: accepted)
BY_STATUS: list[tuple[PlayerStatus, str, tuple[int, str | None]]] = [
    (S.ACTIVE, "deposits", (201, None)),
    (S.RESTRICTED, "deposits", (403, "account_restricted")),
    (S.RESTRICTED, "withdrawals", (201, None)),
    (S.SELF_EXCLUDED, "deposits", (403, "self_excluded")),
    (S.SELF_EXCLUDED, "withdrawals", (201, None)),
    (S.COOLING_OFF, "deposits", (403, "cooling_off")),
    (S.COOLING_OFF, "withdrawals", (201, None)),
    (S.SUSPENDED, "withdrawals", (403, "account_suspended")),
    (S.CLOSED, "deposits", (403, "account_closed")),
    (S.CLOSED, "withdrawals", (403, "account_closed")),
]


async def _player(client: Client, player: PlayerRecord, funds_minor: int = 10_000) -> None:
    """Stored as the PAM holds it, with money in the wallet (seeded by the store: the
    cashier would meet the rules under test)."""
    store = app_of(client)[STORE]
    await store.create_player(player)
    if funds_minor:
        await store.apply([Deposit(f"seed-{player.player_id}", player.player_id,
                                   player.currency, funds_minor)])  # fmt: skip


def _code(shown: dict[str, Any]) -> str | None:
    error = shown.get("error")
    return None if error is None else str(error["code"])


@pytest.mark.parametrize(("status", "operation", "expected"), BY_STATUS)
async def test_what_each_status_allows_at_the_cashier(
    client: Client, clock: FakeClock, status: PlayerStatus, operation: str,
    expected: tuple[int, str | None],
) -> None:  # fmt: skip
    until = clock.micros() + 3_600_000_000 if status is S.COOLING_OFF else None
    await _player(client, PlayerRecord("p1", "demo", "MT", "EUR", BORN, status=status,
                                       status_until_us=until))  # fmt: skip
    answered, shown = await cashier(client, "p1", operation, "10.00", "k-1")
    assert (answered, _code(shown)) == expected, shown
    again, _ = await cashier(client, "p1", operation, "10.00", "k-1")
    assert again == (200 if expected[0] == 201 else expected[0])  # a retry: the same answer


async def test_a_deposit_limit_counts_the_deposits_of_its_period(
    client: Client, clock: FakeClock
) -> None:
    limits = (Limit(LimitKind.DEPOSIT, LimitPeriod.DAY, 5_000),)
    await _player(client, PlayerRecord("p1", "demo", "MT", "EUR", BORN, limits=limits), 0)
    assert (await cashier(client, "p1", "deposits", "30.00", "d-1"))[0] == 201
    status, shown = await cashier(client, "p1", "deposits", "20.01", "d-2")
    assert (status, _code(shown)) == (403, "deposit_limit_reached")
    assert (await cashier(client, "p1", "deposits", "20.00", "d-3"))[0] == 201
    clock.advance(86_400)  # a new day
    assert (await cashier(client, "p1", "deposits", "50.00", "d-4"))[0] == 201


@pytest.fixture
async def ruled(make_client: MakeClient) -> Client:
    """The shipped market rules."""
    return await make_client(jurisdictions={"dir": RULES_DIR})


async def test_spain_caps_deposits_while_kyc_is_pending(ruled: Client) -> None:
    pending = PlayerRecord("p-es", "demo", "ES", "EUR", BORN, kyc=KycState.PENDING)
    await _player(ruled, pending, 0)
    assert (await cashier(ruled, "p-es", "deposits", "100.00", "d-1"))[0] == 201
    status, shown = await cashier(ruled, "p-es", "deposits", "50.01", "d-2")
    assert (status, _code(shown)) == (403, "kyc_deposit_cap_reached")
    verified = PlayerRecord("p-es2", "demo", "ES", "EUR", BORN, kyc=KycState.VERIFIED)
    await _player(ruled, verified, 0)
    assert (await cashier(ruled, "p-es2", "deposits", "500.00", "d-3"))[0] == 201


async def test_great_britain_wants_kyc_before_a_deposit(ruled: Client) -> None:
    await _player(ruled, PlayerRecord("p-gb", "demo", "GB", "GBP", BORN), 0)
    status, shown = await cashier(ruled, "p-gb", "deposits", "10.00", "d-1")
    assert (status, _code(shown)) == (403, "kyc_required")


@pytest.mark.parametrize(
    ("market", "born", "expected"),
    [
        ("CA-ON", date(2008, 6, 1), (422, "underage")),  # 18 on the test clock's day: 19 needed
        ("CA-ON", date(2008, 1, 15), (201, None)),  # 19 that day
        ("GB", date(2008, 6, 1), (201, None)),
        ("GB", date(2010, 1, 1), (422, "underage")),  # the gateway's floor
    ],
)
async def test_registration_meets_the_markets_minimum_age(
    ruled: Client, clock: FakeClock, market: str, born: date, expected: tuple[int, str | None]
) -> None:
    clock.now_s = 1_800_000_000  # 2027-01-15
    body = player_body("p-new", jurisdiction=market, date_of_birth=born.isoformat())
    response = await ruled.post("/v1/players", json=body, headers=ADMIN)
    shown = await response.json()
    assert (response.status, _code(shown)) == expected, shown


def _file_register(data_dir: Path, excluded: str) -> dict[str, Any]:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "excluded.txt").write_text(f"player_id {excluded}\n")
    return {"MT": {"kind": "file", "path": "excluded.txt"}}


async def test_the_register_refuses_registration_sessions_and_deposits(
    make_client: MakeClient, tmp_path: Path
) -> None:
    registers = _file_register(tmp_path / "data", "p-out")
    client = await make_client(registers=registers)
    response = await client.post("/v1/players", json=player_body("p-out"), headers=ADMIN)
    assert (response.status, _code(await response.json())) == (403, "register_excluded")
    assert (await client.post("/v1/players", json=player_body("p-in"), headers=ADMIN)).status == 201
    # Listed after registering (the register changed): deposits are refused, withdrawals pass.
    (tmp_path / "data" / "excluded.txt").write_text("player_id p-in\n")
    await _player(client, PlayerRecord("p-in2", "demo", "MT", "EUR", BORN), 1_000)
    (tmp_path / "data" / "excluded.txt").write_text("player_id p-in2\n")
    status, shown = await cashier(client, "p-in2", "deposits", "1.00", "d-1")
    assert (status, _code(shown)) == (403, "register_excluded")
    assert (await cashier(client, "p-in2", "withdrawals", "1.00", "w-1"))[0] == 201


@respx.mock
async def test_a_register_that_does_not_answer_fails_closed_or_open_by_market(
    make_client: MakeClient, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "secrets").mkdir(parents=True)
    (data_dir / "secrets" / "key").write_text("register-key\n")
    register = {"kind": "http", "url": GAMSTOP_URL, "api_key_file": "secrets/key",
                "retries_max": 0, "timeout_s": 0.5}  # fmt: skip
    client = await make_client(
        jurisdictions={"dir": RULES_DIR}, registers={"GB": register, "CW": register}
    )
    respx.post(GAMSTOP_URL).mock(return_value=httpx.Response(503))
    identity = {"first_name": "Ada", "last_name": "Lovelace"}
    gb = {**player_body("p-gb", jurisdiction="GB", currency="GBP"), "identity": identity}
    response = await client.post("/v1/players", json=gb, headers=ADMIN)
    assert (response.status, _code(await response.json())) == (
        503, "exclusion_check_unavailable")  # fmt: skip
    cw = {**player_body("p-cw", jurisdiction="CW", currency="USD"), "identity": identity}
    assert (await client.post("/v1/players", json=cw, headers=ADMIN)).status == 201
    metrics = await (await client.get("/metrics")).text()
    assert 'gamegate_register_checks_total{market="GB",result="unavailable"} 1.0' in metrics
    assert 'gamegate_register_checks_total{market="CW",result="failed_open"} 1.0' in metrics


async def test_a_raised_limit_waits_for_the_markets_cooling_off(
    ruled: Client, clock: FakeClock
) -> None:
    await _player(ruled, PlayerRecord("p-se", "demo", "SE", "SEK", BORN), 0)
    path = "/v1/players/p-se/limits/deposit/month"
    body = {"value": "1000.00", "why": "set at sign-up"}
    assert (await ruled.put(path, json=body, headers=ADMIN)).status == 200
    raised = await ruled.put(path, json={"value": "5000.00", "why": "asked"}, headers=ADMIN)
    [limit] = (await raised.json())["limits"]
    assert limit["pending"]["value"] == "5000.00"
    in_force_at = datetime.fromtimestamp(clock.now_s + 72 * 3_600, tz=UTC)  # SE: 72 hours
    assert datetime.fromisoformat(limit["pending"]["from"]) == in_force_at
