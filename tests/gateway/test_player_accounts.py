"""The operator API for player accounts: reading a player, status, KYC, self-exclusion,
breaks, limits and identity changes, their audit trail, and who may make them.

The test clock starts at 2027-01-15T08:00:00Z (a Friday) and moves only when a test
moves it. Keys are named in a key file, so the audit trail shows who made a change.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.credentials import OPERATOR_KEYS_FILE
from gateway.logging import configure_logging, reset_logging
from tests.conftest import FakeClock
from tests.gateway.conftest import ADMIN, ADMIN_KEY, VIEWER, VIEWER_KEY, Client, MakeClient
from tests.gateway.helpers import cashier, new_player, player_body

Json = Any
OTHER_ADMIN_KEY = "other-admin-key-0123456789"
OTHER_ADMIN = {"Authorization": f"Bearer {OTHER_ADMIN_KEY}"}
NOW = datetime(2027, 1, 15, 8, tzinfo=UTC)
HOUR_S = 3_600
DAY_S = 24 * HOUR_S
WHY = "player asked by phone, ticket 4711"


@pytest.fixture
async def client(make_client: MakeClient, tmp_path: Path) -> Client:
    """Named keys (`<key> <role> <name>` lines): alice and bob are admins."""
    keys = tmp_path / "data" / OPERATOR_KEYS_FILE
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.write_text(
        f"{ADMIN_KEY} admin alice\n{OTHER_ADMIN_KEY} admin bob\n{VIEWER_KEY} viewer carol\n"
    )
    keys.chmod(0o600)
    client = await make_client(operator_api_keys=None)
    await new_player(client, "p1")
    return client


def at(hours: float) -> str:
    """The test clock's start plus `hours`, as the API shows times."""
    return (NOW + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def change(
    client: Client, what: str, body: dict[str, Json], *, headers: dict[str, str] = ADMIN
) -> tuple[int, Json]:
    """POST (or PUT, for limits and identity) a change to p1, with a reason."""
    method = "PUT" if what.startswith(("limits/", "identity")) else "POST"
    response = await client.request(
        method, f"/v1/players/p1/{what}", json={"why": WHY, **body}, headers=headers
    )
    return response.status, await response.json()


async def player(client: Client, player_id: str = "p1") -> Json:
    response = await client.get(f"/v1/players/{player_id}", headers=VIEWER)
    assert response.status == 200, await response.text()
    return await response.json()


# -- status, self-exclusion and breaks, as a table ---------------------------------

Step = tuple[str, dict[str, Json]]
ACTIVE: Step = ("status", {"status": "active"})
SUSPEND: Step = ("status", {"status": "suspended"})


def exclude(hours: float | None) -> Step:
    return ("self-exclusion", {"until": None if hours is None else at(hours)})


def rest(seconds: int) -> Step:
    return ("breaks", {"duration_s": seconds})


# name, changes before, the change -> HTTP status, then (status, status_until) or the code
CHANGES: list[tuple[str, list[Step], Step, int, tuple[str, str | None] | str]] = [
    ("restrict", [], ("status", {"status": "restricted"}), 200, ("restricted", None)),
    ("suspend", [], SUSPEND, 200, ("suspended", None)),
    ("close", [], ("status", {"status": "closed"}), 200, ("closed", None)),
    ("reactivate a suspended account", [SUSPEND], ACTIVE, 200, ("active", None)),
    ("self-exclusion is not a plain status", [], ("status", {"status": "self_excluded"}), 400,
     "invalid_request"),
    ("self-exclude for a year", [], exclude(365 * 24), 200, ("self_excluded", at(365 * 24))),
    ("self-exclude indefinitely", [], exclude(None), 200, ("self_excluded", None)),
    ("extend a self-exclusion", [exclude(24)], exclude(48), 200, ("self_excluded", at(48))),
    ("make a self-exclusion indefinite", [exclude(24)], exclude(None), 200,
     ("self_excluded", None)),
    ("shorten a self-exclusion", [exclude(48)], exclude(24), 409, "self_excluded"),
    ("end an indefinite self-exclusion", [exclude(None)], exclude(24), 409, "self_excluded"),
    ("lift a self-exclusion before its end", [exclude(24)], ACTIVE, 409, "self_excluded"),
    ("lift an indefinite self-exclusion", [exclude(None)], ACTIVE, 409, "self_excluded"),
    ("a self-exclusion that ended already", [], exclude(-1), 400, "invalid_request"),
    ("close a self-excluded account", [exclude(None)], ("status", {"status": "closed"}), 200,
     ("closed", None)),
    ("the 24-hour panic button", [], rest(DAY_S), 200, ("cooling_off", at(24))),
    ("extend a break", [rest(HOUR_S)], rest(2 * HOUR_S), 200, ("cooling_off", at(2))),
    ("shorten a break", [rest(2 * HOUR_S)], rest(HOUR_S), 409, "cooling_off"),
    ("cut a break short", [rest(HOUR_S)], ACTIVE, 409, "cooling_off"),
    ("a break while self-excluded", [exclude(None)], rest(60), 409, "self_excluded"),
    ("a break of a suspended account", [SUSPEND], rest(60), 409, "account_suspended"),
    ("a break of no time", [], rest(0), 400, "invalid_request"),
    ("a break longer than a year and a day", [], rest(367 * DAY_S), 400, "invalid_request"),
    ("self-exclude a player on a break", [rest(HOUR_S)], exclude(None), 200,
     ("self_excluded", None)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "before", "step", "status", "expected"), CHANGES, ids=[c[0] for c in CHANGES]
)
async def test_account_changes(
    client: Client,
    name: str,
    before: list[Step],
    step: Step,
    status: int,
    expected: tuple[str, str | None] | str,
) -> None:
    for what, body in before:
        answered, shown = await change(client, what, body)
        assert answered == 200, shown
    prior = await player(client)
    answered, shown = await change(client, *step)
    assert answered == status, shown
    if isinstance(expected, str):
        assert shown["error"]["code"] == expected
        assert await player(client) == prior  # refused: nothing changed
    else:
        assert (shown["status"], shown["status_until"]) == expected
        assert await player(client) == shown  # the answer is the player as GET shows it


async def test_the_end_of_a_self_exclusion_may_be_given_with_any_offset(client: Client) -> None:
    status, shown = await change(client, "self-exclusion", {"until": "2027-02-01T09:30:00+01:00"})
    assert status == 200, shown
    assert shown["status_until"] == "2027-02-01T08:30:00.000000Z"


async def test_a_self_exclusion_stays_after_its_end_until_the_operator_reopens(
    client: Client, clock: FakeClock
) -> None:
    await change(client, *exclude(24))
    clock.advance(25 * HOUR_S)
    assert (await player(client))["status"] == "self_excluded"
    status, shown = await change(client, *ACTIVE)
    assert (status, shown["status"]) == (200, "active")


async def test_the_panic_button_refuses_deposits_and_the_break_ends_by_itself(
    client: Client, clock: FakeClock
) -> None:
    status, shown = await change(client, *rest(DAY_S))
    assert (status, shown["status"], shown["status_until"]) == (200, "cooling_off", at(24))
    refused, answer = await cashier(client, "p1", "deposits", "10.00", "d-1")
    assert (refused, answer["error"]["code"]) == (403, "cooling_off")
    clock.advance(DAY_S - 1)
    assert (await player(client))["status"] == "cooling_off"
    clock.advance(1)
    shown = await player(client)
    assert (shown["status"], shown["status_until"]) == ("active", None)
    deposited, _ = await cashier(client, "p1", "deposits", "10.00", "d-2")
    assert deposited == 201


# -- limits --------------------------------------------------------------------------


def limit(kind: str, period: str, value: Json, pending: Json = None) -> dict[str, Json]:
    return {"kind": kind, "period": period, "value": value, "pending": pending}


async def test_a_limit_decrease_counts_at_once_and_an_increase_after_a_day(
    client: Client, clock: FakeClock
) -> None:
    status, shown = await change(client, "limits/deposit/day", {"value": "100.00"})
    assert (status, shown["limits"]) == (200, [limit("deposit", "day", "100.00")])
    _, shown = await change(client, "limits/deposit/day", {"value": "50.00"})
    assert shown["limits"] == [limit("deposit", "day", "50.00")]
    _, shown = await change(client, "limits/deposit/day", {"value": "80.00"})
    raise_pending = {"value": "80.00", "from": at(24)}
    assert shown["limits"] == [limit("deposit", "day", "50.00", raise_pending)]
    refused, answer = await cashier(client, "p1", "deposits", "60.00", "d-1")
    assert (refused, answer["error"]["code"]) == (403, "deposit_limit_reached")
    clock.advance(DAY_S)
    assert (await player(client))["limits"] == [limit("deposit", "day", "80.00")]
    deposited, _ = await cashier(client, "p1", "deposits", "60.00", "d-2")
    assert deposited == 201
    figures = (await player(client))["figures"]
    assert (figures["day"]["deposited"], figures["day"]["deposited_minor"]) == ("60.00", 6_000)
    assert figures["month"]["deposited"] == "60.00"


async def test_removing_a_limit_waits_like_an_increase(client: Client, clock: FakeClock) -> None:
    await change(client, "limits/session_time/week", {"value": 7_200})
    status, shown = await change(client, "limits/session_time/week", {"value": None})
    removal = {"value": None, "from": at(24)}
    assert (status, shown["limits"]) == (200, [limit("session_time", "week", 7_200, removal)])
    clock.advance(DAY_S)
    assert (await player(client))["limits"] == []


async def test_limits_of_every_kind_show_in_the_wallet_currency_or_seconds(
    client: Client,
) -> None:
    await new_player(client, "jp", currency="JPY")
    for kind, value in (("loss", "5000"), ("wager", "20000"), ("session_time", 3_600)):
        response = await client.put(
            f"/v1/players/jp/limits/{kind}/month", json={"value": value, "why": WHY}, headers=ADMIN
        )
        assert response.status == 200, await response.text()
    shown = (await player(client, "jp"))["limits"]
    assert shown == [
        limit("loss", "month", "5000"),
        limit("wager", "month", "20000"),
        limit("session_time", "month", 3_600),
    ]


@pytest.mark.parametrize(
    ("path", "value", "code", "said"),
    [
        ("limits/deposit/day", 100, "invalid_amount", "value"),
        ("limits/deposit/day", "1.001", "invalid_amount", ""),
        ("limits/loss/day", "-5.00", "invalid_amount", ""),
        ("limits/session_time/day", "3600", "invalid_request", "value"),
        ("limits/session_time/day", DAY_S + 1, "invalid_request", "value"),
        ("limits/session_time/day", 1.5, "invalid_request", "value"),
        ("limits/bets/day", "10.00", "invalid_request", "kind"),
        ("limits/deposit/year", "10.00", "invalid_request", "period"),
    ],
)
async def test_a_bad_limit_is_a_400_and_changes_nothing(
    client: Client, path: str, value: Json, code: str, said: str
) -> None:
    status, shown = await change(client, path, {"value": value})
    assert (status, shown["error"]["code"]) == (400, code), shown
    assert said in shown["error"]["message"]
    assert (await player(client))["limits"] == []


# -- the audit trail -------------------------------------------------------------------


async def test_the_audit_trail_says_who_when_why_and_what_newest_first(
    client: Client, clock: FakeClock
) -> None:
    await change(client, "kyc", {"state": "pending"})
    clock.advance(60)
    await change(client, "status", {"status": "restricted", "why": "source of funds"})
    clock.advance(60)
    await change(client, "limits/loss/week", {"value": "25.00"}, headers=OTHER_ADMIN)
    await change(client, "identity", {"email": "ada@example.org"})
    await change(client, "kyc", {"state": "pending"})  # no change: not audited
    await change(client, *exclude(-1))  # refused: not audited
    response = await client.get("/v1/players/p1/audit?limit=3", headers=VIEWER)
    assert response.status == 200
    page = await response.json()
    assert [(e["action"], e["actor"]) for e in page["items"]] == [
        ("identity", "alice"),
        ("limit", "bob"),
        ("status", "alice"),
    ]
    identity, limit_entry, status = page["items"]
    assert (identity["before"], identity["after"]) == ({"identity": []}, {"identity": ["email"]})
    assert limit_entry["before"] == {"limits": ""}
    assert limit_entry["after"] == {"limits": "loss/week=2500"}
    assert status == {
        "seq": status["seq"],
        "at": at(1 / 60),
        "actor": "alice",
        "action": "status",
        "why": "source of funds",
        "before": {"status": "active", "status_until_us": None},
        "after": {"status": "restricted", "status_until_us": None},
    }
    assert page["next_before"] == status["seq"]
    response = await client.get(f"/v1/players/p1/audit?before={status['seq']}", headers=VIEWER)
    rest_of_it = await response.json()
    assert [e["action"] for e in rest_of_it["items"]] == ["kyc"]
    [kyc] = rest_of_it["items"]
    assert (kyc["at"], kyc["why"], kyc["after"]) == (
        at(0),
        WHY,
        {"kyc": "pending", "kyc_changed_at_us": 1_800_000_000_000_000},
    )
    assert rest_of_it["next_before"] is None
    assert (await player(client))["kyc"] == {"state": "pending", "changed_at": at(0)}


async def test_the_trail_is_per_player(client: Client) -> None:
    await new_player(client, "p2")
    await change(client, *SUSPEND)
    response = await client.get("/v1/players/p2/audit", headers=VIEWER)
    assert await response.json() == {"items": [], "next_before": None}


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=x", "before=0", "before=-1"])
async def test_a_bad_audit_page_is_a_400(client: Client, query: str) -> None:
    response = await client.get(f"/v1/players/p1/audit?{query}", headers=VIEWER)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_request"


# -- identity --------------------------------------------------------------------------

IDENTITY = {
    "first_name": "Ada",
    "last_name": "Lovelace-Byron",
    "email": "ada.lovelace@example.org",
    "postcode": "SW1A 1AA",
    "mobile": "+447700900123",
}


@pytest.fixture
def log_stream() -> Iterator[io.BytesIO]:
    stream = io.BytesIO()
    configure_logging("debug", stream=stream)
    yield stream
    reset_logging()


async def test_identity_is_kept_never_shown_and_never_logged(
    client: Client, log_stream: io.BytesIO
) -> None:
    body = {**player_body("p2"), "identity": IDENTITY}
    created = await client.post("/v1/players", json=body, headers=ADMIN)
    assert created.status == 201
    status, shown = await change(client, "identity", IDENTITY)
    assert (status, shown["identity_on_file"]) == (200, sorted(IDENTITY))
    _, shown = await change(client, "identity", {"email": None, "mobile": "+447700900999"})
    assert shown["identity_on_file"] == ["first_name", "last_name", "mobile", "postcode"]
    answers = [
        await created.text(),
        await (await client.get("/v1/players/p1", headers=ADMIN)).text(),
        await (await client.get("/v1/players/p1/audit", headers=ADMIN)).text(),
        await (await client.get("/v1/players/p2", headers=ADMIN)).text(),
    ]
    reset_logging()  # flushes the buffered sink
    logged = log_stream.getvalue().decode()
    assert "/v1/players/{player_id}/identity" in logged  # the request line, not its body
    for value in (*IDENTITY.values(), "+447700900999"):
        for text in (*answers, logged):
            assert value not in text


@pytest.mark.parametrize(
    "body",
    [
        {"passport": "X123"},
        {"email": ""},
        {"email": "x" * 201},
        {"mobile": 447700900123},
    ],
)
async def test_a_bad_identity_is_a_400(client: Client, body: dict[str, Json]) -> None:
    status, shown = await change(client, "identity", body)
    assert (status, shown["error"]["code"]) == (400, "invalid_request"), shown


# -- refusals before the change ---------------------------------------------------------

WRITES = [
    ("POST", "status", {"status": "suspended"}),
    ("POST", "kyc", {"state": "verified"}),
    ("POST", "self-exclusion", {"until": None}),
    ("POST", "breaks", {"duration_s": 60}),
    ("PUT", "limits/deposit/day", {"value": "10.00"}),
    ("PUT", "identity", {"email": "a@example.org"}),
]


@pytest.mark.parametrize(("method", "what", "body"), WRITES, ids=[w[1] for w in WRITES])
async def test_writes_need_an_admin_key_and_a_known_player(
    client: Client, method: str, what: str, body: dict[str, Json]
) -> None:
    url = f"/v1/players/p1/{what}"
    full = {"why": WHY, **body}
    refusals = [
        (await client.request(method, url, json=full), 401, "unauthorized"),
        (await client.request(method, url, json=full, headers=VIEWER), 403, "forbidden"),
        (
            await client.request(method, url.replace("p1", "ghost"), json=full, headers=ADMIN),
            404,
            "player_not_found",
        ),
    ]
    for response, status, code in refusals:
        assert response.status == status
        assert (await response.json())["error"]["code"] == code
    audit = await client.get("/v1/players/p1/audit", headers=ADMIN)
    assert (await audit.json())["items"] == []


@pytest.mark.parametrize("path", ["/v1/players/p1", "/v1/players/p1/audit"])
async def test_reads_need_a_key_and_a_known_player(client: Client, path: str) -> None:
    assert (await client.get(path)).status == 401
    assert (await client.get(path, headers=VIEWER)).status == 200
    missing = await client.get(path.replace("p1", "ghost"), headers=VIEWER)
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "player_not_found"


@pytest.mark.parametrize(
    ("what", "body", "field"),
    [
        ("status", {"status": "suspended"}, "why"),
        ("status", {"status": "suspended", "why": ""}, "why"),
        ("status", {"status": "suspended", "why": "   "}, "why"),
        ("status", {"status": "suspended", "why": "x" * 501}, "why"),
        ("status", {"status": "frozen", "why": WHY}, "status"),
        ("status", {"status": "suspended", "why": WHY, "until": None}, "until"),
        ("kyc", {"state": "maybe", "why": WHY}, "state"),
        ("self-exclusion", {"why": WHY}, "until"),
        ("self-exclusion", {"until": "next week", "why": WHY}, "until"),
        ("self-exclusion", {"until": "2027-06-01T00:00:00", "why": WHY}, "until"),
        ("self-exclusion", {"until": 1_900_000_000, "why": WHY}, "until"),
        ("breaks", {"duration_s": "60", "why": WHY}, "duration_s"),
        ("breaks", {"duration_s": 60.0, "why": WHY}, "duration_s"),
        ("breaks", {"duration_s": True, "why": WHY}, "duration_s"),
    ],
)
async def test_a_bad_body_is_a_400_that_names_the_field(
    client: Client, what: str, body: dict[str, Json], field: str
) -> None:
    response = await client.post(f"/v1/players/p1/{what}", json=body, headers=ADMIN)
    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(field), error


async def test_a_change_that_is_not_json_is_a_415(client: Client) -> None:
    response = await client.post("/v1/players/p1/status", data=b"status=closed", headers=ADMIN)
    assert response.status == 415
