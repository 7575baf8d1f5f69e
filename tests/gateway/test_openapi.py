"""docs/openapi.json against the app: every route described, every described path served,
the roles each operation admits, and live answers valid against their documented schemas.

PyYAML is not a dependency, so the document is JSON (OpenAPI 3.1 reads either). The
schema check is a small validator for the subset of JSON Schema the document relies on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse, web
from pytest_aiohttp import AiohttpClient

from adapters.catalogue.feeds import FEED_FORMATS
from adapters.providers.gamegate_wire import OPERATIONS, new_nonce, sign_request
from core.catalogue.game import Device, Feature, GameStatus, Vertical, Volatility
from core.errors import Reason
from core.limits import LimitKind, LimitPeriod
from core.model import CreditKind, FundingOrder, KycState, PlayerStatus, TxKind, TxStatus
from gateway.app import create_app
from gateway.keys import STORE
from gateway.routes.fallback import FALLBACK_ROUTE_NAME
from tests.conftest import FakeClock
from tests.gateway.conftest import (
    ADMIN,
    ADMIN_KEY,
    VIEWER,
    VIEWER_KEY,
    Client,
    MakeSettings,
    app_of,
)
from tests.gateway.fake_protocol import FAKE_PROTOCOLS
from tests.gateway.helpers import cashier, import_game, new_player, player_body

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO / "docs" / "openapi.json"
GAMEGATE_KEY = b"openapi-test-hmac-key-0123456789"
INSTANCE = "acme"
AIOHTTP_CODES = frozenset({"not_found", "method_not_allowed", "unsupported_media_type"})
"""Codes the middleware derives from aiohttp's own refusals (HTTP status phrases)."""
LOBBY_KEY = "lobby-key-0123456789"
LOBBY = {"Authorization": f"Bearer {LOBBY_KEY}"}
KEYS_BY_ROLE = {"admin": ADMIN, "viewer": VIEWER, "lobby": LOBBY}
LAUNCH_URL = "https://games.example/{code}?token={token}&lang={language}&return={return_url}"
FEED_FILE = "acme-feed.json"

Json = Any
Spec = Mapping[str, Json]


# -- the document --------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> Spec:
    loaded: dict[str, Json] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def _deref(spec: Spec, node: Mapping[str, Json]) -> Mapping[str, Json]:
    """Follow a local `$ref` (`#/components/...`) until a real node."""
    while "$ref" in node:
        ref: str = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Json = spec
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def _operations(spec: Spec) -> list[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return [(path, m) for path, item in spec["paths"].items() for m in item if m in methods]


def _refs(node: Json) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if "$ref" in node else []) + _refs(list(node.values()))
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_the_document_is_openapi_3_1_with_sound_references_and_parameters(spec: Spec) -> None:
    assert spec["openapi"].startswith("3.1.")
    for ref in _refs(spec):
        assert _deref(spec, {"$ref": ref}), ref
    operations = [spec["paths"][path][method] for path, method in _operations(spec)]
    ids = [operation["operationId"] for operation in operations]
    assert len(ids) == len(set(ids))
    schemes = spec["components"]["securitySchemes"]
    for (path, _), operation in zip(_operations(spec), operations, strict=True):
        parameters = [_deref(spec, p) for p in operation.get("parameters", [])]
        declared = {p["name"] for p in parameters if p["in"] == "path"}
        assert declared == set(re.findall(r"\{([a-z_]+)\}", path)), path
        assert all(set(need) <= set(schemes) for need in operation["security"]), path
        assert operation["responses"], path


# -- a validator for the subset of JSON Schema the document uses ------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def schema_errors(
    value: Json, schema: Mapping[str, Json], spec: Spec, where: str = "$"
) -> list[str]:
    """How `value` breaks `schema`: `$ref`, `oneOf`, `type`, `enum`, `required`, `properties`,
    `items`. Where a schema lists `properties`, a property it does not list is an error too:
    the document must describe everything the code sends. Formats, lengths and patterns
    are not checked."""
    schema = _deref(spec, schema)
    if "oneOf" in schema:
        branches = [schema_errors(value, s, spec, where) for s in schema["oneOf"]]
        if sum(not errors for errors in branches) == 1:
            return []
        return [f"{where}: must match exactly one of its oneOf: {branches}"]
    if "type" in schema and not _has_type(value, schema["type"]):
        return [f"{where}: {type(value).__name__} is not {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is not one of {schema['enum']}"]
    if isinstance(value, dict):
        return _object_errors(value, schema, spec, where)
    if isinstance(value, list) and "items" in schema:
        items = schema["items"]
        return [
            e for i, x in enumerate(value) for e in schema_errors(x, items, spec, f"{where}[{i}]")
        ]
    return []


def _has_type(value: Json, expected: str | list[str]) -> bool:
    names = [expected] if isinstance(expected, str) else expected
    if isinstance(value, bool):
        return "boolean" in names  # a bool is an int to Python, never to JSON
    return any(isinstance(value, _TYPES[name]) for name in names)


def _object_errors(
    value: dict[str, Json], schema: Mapping[str, Json], spec: Spec, where: str
) -> list[str]:
    properties: Mapping[str, Json] = schema.get("properties", {})
    required = schema.get("required", [])
    errors = [f"{where}: {name!r} is missing" for name in required if name not in value]
    if "properties" in schema:
        errors += [
            f"{where}: {name!r} is not documented" for name in value if name not in properties
        ]
    for name, item in value.items():
        if name in properties:
            errors += schema_errors(item, properties[name], spec, f"{where}.{name}")
    return errors


def test_the_validator_reports_missing_mistyped_undeclared_and_unlisted_values(
    spec: Spec,
) -> None:
    balance = {"currency": "EUR", "real": 100, "bonus": 0, "total": 100}
    schema = {"$ref": "#/components/schemas/GamegateBalance"}
    assert schema_errors(balance, schema, spec) == []
    assert schema_errors({**balance, "real": "1.00"}, schema, spec) == [
        "$.real: str is not integer"
    ]
    assert schema_errors({**balance, "total": True}, schema, spec) == [
        "$.total: bool is not integer"
    ]
    assert schema_errors({**balance, "extra": 1}, schema, spec) == ["$: 'extra' is not documented"]
    del balance["bonus"]
    assert schema_errors(balance, schema, spec) == ["$: 'bonus' is missing"]
    status = {"$ref": "#/components/schemas/PlayerStatus"}
    statuses = [status.value for status in PlayerStatus]
    assert schema_errors("frozen", status, spec) == [f"$: 'frozen' is not one of {statuses}"]
    answer = {"oneOf": [{"$ref": "#/components/schemas/GamegateBalanceOk"}, {"type": "object"}]}
    full = {"currency": "EUR", "real": 100, "bonus": 0, "total": 100}
    assert schema_errors({"status": "ok", "player_id": "p1", "balance": full}, answer, spec)
    assert schema_errors({"status": "ok"}, answer, spec) == []
    assert schema_errors("ok", answer, spec)


# -- the document against the code ----------------------------------------------


def _app_routes(make_settings: MakeSettings) -> list[web.AbstractRoute]:
    """Every route `create_app` registers, without aiohttp's HEAD twins of GET routes and
    without the fallback that answers 404/405 for every other path."""
    app = create_app(make_settings(), protocols=FAKE_PROTOCOLS)
    return [
        route
        for route in app.router.routes()
        if route.method != "HEAD" and route.name != FALLBACK_ROUTE_NAME
    ]


def _serves(route: web.AbstractRoute, path: str, method: str) -> bool:
    if route.method not in (method.upper(), "*") or route.resource is None:
        return False
    info = route.resource.get_info()
    pattern = info.get("pattern")
    return pattern.fullmatch(path) is not None if pattern else info.get("path") == path


def test_every_route_the_app_registers_is_in_the_spec(
    spec: Spec, make_settings: MakeSettings
) -> None:
    routes = _app_routes(make_settings)
    assert len(routes) >= 12
    described = set(_operations(spec))
    for route in routes:
        assert route.resource is not None
        if route.method == "*":  # the provider mount: described by the gamegate operations
            samples = [re.sub(r"\{instance\}", "x", path) for path, _ in described]
            assert any(_serves(route, path, "post") for path in samples), route
        else:
            assert (route.resource.canonical, route.method.lower()) in described, route


def test_every_path_in_the_spec_is_served_by_the_app(
    spec: Spec, make_settings: MakeSettings
) -> None:
    routes = _app_routes(make_settings)
    for path, method in _operations(spec):
        sample = re.sub(r"\{[a-z_]+\}", "x-1", path)
        assert any(_serves(route, sample, method) for route in routes), (method, path)


def test_the_spec_describes_every_gamegate_operation_and_no_other(spec: Spec) -> None:
    mount = "/providers/{instance}/"
    described = {path.removeprefix(mount) for path in spec["paths"] if path.startswith(mount)}
    assert described == set(OPERATIONS)


def _codes_written_by_the_gateway() -> set[str]:
    """The literal codes passed to `error_response(status, "code", ...)` in gateway/,
    except the demo lobby page's (demo mode only, not part of the documented API)."""
    literal = re.compile(r"error_response\(\s*(?:\d{3}|_[A-Z_]+),\s*\"([a-z_]+)\"")
    demo_pages = REPO / "gateway" / "demo_lobby"
    found = set()
    for source in (REPO / "gateway").rglob("*.py"):
        if not source.is_relative_to(demo_pages):
            found |= set(literal.findall(source.read_text(encoding="utf-8")))
    return found


def test_the_error_codes_are_every_reason_and_every_code_the_gateway_writes(spec: Spec) -> None:
    written = _codes_written_by_the_gateway()
    assert {"unauthorized", "forbidden", "payload_too_large", "timeout"} <= written
    documented = spec["components"]["schemas"]["ErrorCode"]["enum"]
    assert len(documented) == len(set(documented))
    assert set(documented) == {reason.value for reason in Reason} | written | AIOHTTP_CODES


def test_the_documented_enums_are_the_codes_enums(spec: Spec) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["TransactionKind"]["enum"] == [kind.value for kind in TxKind]
    assert schemas["TransactionStatus"]["enum"] == [status.value for status in TxStatus]
    assert schemas["PlayerStatus"]["enum"] == [status.value for status in PlayerStatus]
    assert schemas["KycState"]["enum"] == [state.value for state in KycState]
    assert schemas["LimitKind"]["enum"] == [kind.value for kind in LimitKind]
    assert schemas["LimitPeriod"]["enum"] == [period.value for period in LimitPeriod]
    assert schemas["FundingOrder"]["enum"] == [order.value for order in FundingOrder]
    assert schemas["Reason"]["enum"] == [reason.value for reason in Reason]
    win_kinds = schemas["GamegateWinRequest"]["properties"]["kind"]["enum"]
    assert win_kinds == [kind.value for kind in CreditKind]
    assert schemas["Vertical"]["enum"] == [vertical.value for vertical in Vertical]
    assert schemas["Feature"]["enum"] == [feature.value for feature in Feature]
    assert schemas["Device"]["enum"] == [device.value for device in Device]
    assert schemas["GameStatus"]["enum"] == [status.value for status in GameStatus]
    assert schemas["Volatility"]["enum"] == [volatility.value for volatility in Volatility]
    assert schemas["FeedFormat"]["enum"] == list(FEED_FORMATS)


def test_every_operator_operation_names_its_roles_and_documents_its_refusal(spec: Spec) -> None:
    for path, method in _operations(spec):
        operation = spec["paths"][path][method]
        if not path.startswith("/v1/"):
            assert "x-roles" not in operation, path
            continue
        roles = operation["x-roles"]
        assert roles, path
        assert set(roles) <= set(KEYS_BY_ROLE), path
        refused = _deref(spec, operation["responses"].get("403", {"description": ""}))
        documented = "`forbidden`" in refused["description"]
        assert documented == (set(roles) != set(KEYS_BY_ROLE)), path
        assert all(f"`{role}`" in operation["description"] for role in roles), path


# -- live answers -----------------------------------------------------------------


@pytest.fixture
async def app_client(
    aiohttp_client: AiohttpClient, make_settings: MakeSettings, clock: FakeClock
) -> Client:
    """The real app with one instance of the gamegate protocol, `acme` (a launch URL, a
    catalogue feed file `FEED_FILE` in the data directory), and a key of every role."""
    acme = {"protocol": "gamegate", "launch_url": LAUNCH_URL, "catalogue": {"url": FEED_FILE}}
    settings = make_settings(
        providers={INSTANCE: acme},
        secret_env={"GAMEGATE_SECRET_ACME_HMAC_KEY": GAMEGATE_KEY.decode()},
        operator_api_keys=f"{ADMIN_KEY}:admin,{VIEWER_KEY}:viewer,{LOBBY_KEY}:lobby",
    )
    return await aiohttp_client(create_app(settings, clock=clock))


async def assert_documented(
    spec: Spec, response: ClientResponse, path: str, method: str = "get"
) -> Json:
    """The body, after checking its status, required headers and schema against `path`."""
    responses = spec["paths"][path][method]["responses"]
    assert str(response.status) in responses, f"{response.status} is not documented for {path}"
    documented = _deref(spec, responses[str(response.status)])
    for name, header in documented.get("headers", {}).items():
        if _deref(spec, header).get("required"):
            assert name in response.headers, f"{path} {response.status} lacks {name}"
    if "content" not in documented:
        assert await response.read() == b"", f"{path} {response.status} has a body"
        return None
    media = documented["content"].get(response.content_type)
    assert media is not None, f"{response.content_type} is not documented for {path}"
    if response.content_type != "application/json":
        return await response.text()
    body = await response.json()
    errors = schema_errors(body, media["schema"], spec)
    assert errors == [], f"{method.upper()} {path} {response.status}: {errors} in {body}"
    return body


def assert_request_documented(spec: Spec, body: Json, path: str, method: str = "post") -> None:
    """What the tests send is what the document says may be sent."""
    content = _deref(spec, spec["paths"][path][method]["requestBody"])["content"]
    errors = schema_errors(body, content["application/json"]["schema"], spec)
    assert errors == [], f"request to {method.upper()} {path}: {errors} in {body}"


async def test_players_and_cashier_answers_match_the_spec(spec: Spec, app_client: Client) -> None:
    players, deposits = "/v1/players", "/v1/players/{player_id}/deposits"
    for expected in (201, 200):
        response = await app_client.post(players, json=player_body("p1"), headers=ADMIN)
        assert response.status == expected
        await assert_documented(spec, response, players, "post")
    conflict = player_body("p1", brand="other")
    response = await app_client.post(players, json=conflict, headers=ADMIN)
    assert (await assert_documented(spec, response, players, "post"))["error"]["code"] == (
        "conflicting_replay"
    )
    for expected in (201, 200):
        response = await app_client.post(
            "/v1/players/p1/deposits",
            json={"amount": "10.00"},
            headers={**ADMIN, "Idempotency-Key": "d-1"},
        )
        assert response.status == expected
        await assert_documented(spec, response, deposits, "post")
    withdrawals = "/v1/players/{player_id}/withdrawals"
    response = await app_client.post(
        "/v1/players/p1/withdrawals",
        json={"amount": "99.00"},
        headers={**ADMIN, "Idempotency-Key": "w-1"},
    )
    assert (await assert_documented(spec, response, withdrawals, "post"))["error"]["code"] == (
        "insufficient_funds"
    )
    response = await app_client.post(
        "/v1/players/p1/bonus-grants",
        json={"amount": 5},
        headers={**ADMIN, "Idempotency-Key": "g-1"},
    )
    body = await assert_documented(spec, response, "/v1/players/{player_id}/bonus-grants", "post")
    assert body["error"]["code"] == "invalid_amount"


async def test_reads_sessions_and_rounds_match_the_spec(
    spec: Spec, app_client: Client, clock: FakeClock
) -> None:
    await new_player(app_client, "p1")
    await cashier(app_client, "p1", "deposits", "10.00", "d-1")
    await import_game(app_client, INSTANCE, "g1")
    response = await _new_session(
        spec, app_client, ttl_s=600, device="mobile", reality_check_s=1_800
    )
    session = await assert_documented(spec, response, "/v1/sessions", "post")
    assert session["expires_at"] == "2027-01-15T08:10:00.000000Z"
    assert (session["device"], session["reality_check_s"]) == ("mobile", 1_800)
    bet = _bet(session["token"], "b-1", 250)
    assert (await _gamegate(app_client, clock, "bet", bet)).status == 200
    response = await app_client.get("/v1/players/p1/balance", headers=VIEWER)
    assert (await assert_documented(spec, response, "/v1/players/{player_id}/balance"))[
        "real_minor"
    ] == 750
    response = await app_client.get("/v1/players/p1/transactions?limit=1", headers=VIEWER)
    page = await assert_documented(spec, response, "/v1/players/{player_id}/transactions")
    assert page["next_before"] == 2
    response = await app_client.get(f"/v1/rounds/{INSTANCE}/r-1", headers=VIEWER)
    round_ = await assert_documented(spec, response, "/v1/rounds/{provider}/{round_id}")
    assert [tx["tx_id"] for tx in round_["transactions"]] == ["b-1"]


_ACCOUNT_CHANGES: list[tuple[str, str, str, Json, int]] = [
    ("post", "/v1/players/p1/kyc", "/v1/players/{player_id}/kyc",
     {"state": "verified", "why": "passport seen"}, 200),
    ("put", "/v1/players/p1/limits/loss/week", "/v1/players/{player_id}/limits/{kind}/{period}",
     {"value": "20.00", "why": "player asked"}, 200),
    ("put", "/v1/players/p1/limits/session_time/day",
     "/v1/players/{player_id}/limits/{kind}/{period}", {"value": 3600, "why": "player asked"}, 200),
    ("put", "/v1/players/p1/limits/loss/week", "/v1/players/{player_id}/limits/{kind}/{period}",
     {"value": "30.00", "why": "player asked"}, 200),
    ("put", "/v1/players/p1/identity", "/v1/players/{player_id}/identity",
     {"email": "ada@example.org", "mobile": None, "why": "registration fix"}, 200),
    ("post", "/v1/players/p1/status", "/v1/players/{player_id}/status",
     {"status": "restricted", "why": "source of funds"}, 200),
    ("post", "/v1/players/p1/breaks", "/v1/players/{player_id}/breaks",
     {"duration_s": 86400, "why": "panic button"}, 200),
    ("post", "/v1/players/p1/breaks", "/v1/players/{player_id}/breaks",
     {"duration_s": 60, "why": "shorter"}, 409),
    ("post", "/v1/players/p1/self-exclusion", "/v1/players/{player_id}/self-exclusion",
     {"until": "2028-01-15T08:00:00Z", "why": "player asked"}, 200),
    ("post", "/v1/players/p1/status", "/v1/players/{player_id}/status",
     {"status": "active", "why": "lift"}, 409),
    ("post", "/v1/players/p1/self-exclusion", "/v1/players/{player_id}/self-exclusion",
     {"until": None, "why": "player asked"}, 200),
    ("post", "/v1/players/ghost/kyc", "/v1/players/{player_id}/kyc",
     {"state": "verified", "why": "x"}, 404),
    ("post", "/v1/players/p1/kyc", "/v1/players/{player_id}/kyc", {"state": "verified"}, 400),
]  # fmt: skip
"""(method, url, documented path, JSON body, status): in order, on one player."""


async def test_player_accounts_and_their_audit_match_the_spec(
    spec: Spec, app_client: Client
) -> None:
    body = {**player_body("p1"), "identity": {"first_name": "Ada", "mobile": "+447700900123"}}
    assert_request_documented(spec, body, "/v1/players")
    assert (await app_client.post("/v1/players", json=body, headers=ADMIN)).status == 201
    for method, url, path, change, status in _ACCOUNT_CHANGES:
        if status < 400:
            assert_request_documented(spec, change, path, method)
        response = await app_client.request(method, url, json=change, headers=ADMIN)
        assert response.status == status, await response.text()
        await assert_documented(spec, response, path, method)
    response = await app_client.get("/v1/players/p1", headers=VIEWER)
    shown = await assert_documented(spec, response, "/v1/players/{player_id}")
    assert (shown["status"], shown["status_until"]) == ("self_excluded", None)
    assert [(limit["kind"], limit["pending"] is None) for limit in shown["limits"]] == [
        ("loss", False),
        ("session_time", True),
    ]
    response = await app_client.get("/v1/players/p1/audit?limit=2", headers=VIEWER)
    page = await assert_documented(spec, response, "/v1/players/{player_id}/audit")
    assert [entry["action"] for entry in page["items"]] == ["self_exclusion", "self_exclusion"]
    assert page["next_before"] == page["items"][-1]["seq"]


_REFUSALS: list[tuple[str, str, str, dict[str, str], Json, str]] = [
    ("get", "/v1/players/p1/balance", "/v1/players/{player_id}/balance", {}, None, "unauthorized"),
    ("get", "/v1/players/ghost/balance", "/v1/players/{player_id}/balance", ADMIN, None,
     "player_not_found"),
    ("post", "/v1/sessions", "/v1/sessions", ADMIN, {"player_id": "p1"}, "invalid_request"),
    ("post", "/v1/sessions", "/v1/sessions", ADMIN,
     {"player_id": "p1", "game_id": "g1", "provider": INSTANCE, "ttl_s": 3601}, "invalid_request"),
    ("post", "/v1/players", "/v1/players", VIEWER, player_body("p2"), "forbidden"),
    ("get", "/v1/players/p1/transactions?limit=0", "/v1/players/{player_id}/transactions", ADMIN,
     None, "invalid_request"),
    ("get", "/v1/rounds/acme/none", "/v1/rounds/{provider}/{round_id}", ADMIN, None,
     "reference_not_found"),
]  # fmt: skip
"""(method, url, documented path, headers, JSON body, expected error code)."""


async def test_operator_refusals_match_the_spec(spec: Spec, app_client: Client) -> None:
    await new_player(app_client, "p1")
    for method, url, path, headers, body, code in _REFUSALS:
        response = await app_client.request(method, url, json=body, headers=headers)
        shown = await assert_documented(spec, response, path, method)
        assert shown["error"]["code"] == code, (url, shown)


async def test_ops_endpoints_and_unknown_routes_match_the_spec(
    spec: Spec, app_client: Client
) -> None:
    assert await assert_documented(spec, await app_client.get("/healthz"), "/healthz") == {
        "status": "ok"
    }
    await assert_documented(spec, await app_client.get("/readyz"), "/readyz")
    text = await assert_documented(spec, await app_client.get("/metrics"), "/metrics")
    assert "gamegate_http_requests_in_flight" in text
    error = {"$ref": "#/components/schemas/Error"}
    for response in (await app_client.get("/v1/nothing"), await app_client.delete("/v1/players")):
        assert schema_errors(await response.json(), error, spec) == []
    await app_of(app_client)[STORE].close()
    body = await assert_documented(spec, await app_client.get("/readyz"), "/readyz")
    assert body["status"] == "unavailable"


# -- the gamegate protocol, live ---------------------------------------------------


async def _new_session(spec: Spec, client: Client, **extra: Json) -> ClientResponse:
    body = {"player_id": "p1", "game_id": "g1", "provider": INSTANCE, **extra}
    assert_request_documented(spec, body, "/v1/sessions")
    return await client.post("/v1/sessions", json=body, headers=ADMIN)


def _bet(token: str, tx_id: str, amount: Json, round_id: str = "r-1") -> dict[str, Json]:
    return {"session_token": token, "player_id": "p1", "transaction_id": tx_id,
            "round_id": round_id, "game_id": "g1", "currency": "EUR", "amount": amount}  # fmt: skip


async def _gamegate(
    client: Client, clock: FakeClock, operation: str, body: Mapping[str, Json]
) -> ClientResponse:
    raw = orjson.dumps(body)
    headers = sign_request(
        GAMEGATE_KEY, raw, operation=operation, timestamp=int(clock.seconds()), nonce=new_nonce()
    )
    return await client.post(f"/providers/{INSTANCE}/{operation}", data=raw, headers=headers)


def _calls(token: str) -> list[tuple[str, dict[str, Json]]]:
    """One call of every operation, in an order that succeeds, then a refused bet."""
    win = {"player_id": "p1", "transaction_id": "w-1", "bet_transaction_id": "b-1",
           "round_id": "r-1", "game_id": "g1", "currency": "EUR", "amount": 100}  # fmt: skip
    batch_bet = {"op": "bet", "transaction_id": "b-2", "round_id": "r-2", "game_id": "g1",
                 "currency": "EUR", "amount": 50}  # fmt: skip
    batch_rollback = {"op": "rollback", "transaction_id": "rb-2", "reference_transaction_id": "b-2"}
    batch = {"session_token": token, "player_id": "p1", "operations": [batch_bet, batch_rollback]}
    rollback = {"player_id": "p1", "transaction_id": "rb-1", "reference_transaction_id": "w-1"}
    return [
        ("authenticate", {"session_token": token}),
        ("balance", {"player_id": "p1"}),
        ("bet", _bet(token, "b-1", 250)),
        ("win", win),
        ("rollback", rollback),
        ("close-round", {"player_id": "p1", "round_id": "r-1"}),
        ("batch", batch),
        ("bet", _bet(token, "b-3", 1_000_000, round_id="r-3")),
    ]  # fmt: skip


async def test_every_gamegate_operation_answers_as_documented(
    spec: Spec, app_client: Client, clock: FakeClock
) -> None:
    await new_player(app_client, "p1")
    await cashier(app_client, "p1", "deposits", "10.00", "d-1")
    await import_game(app_client, INSTANCE, "g1")
    token = (await (await _new_session(spec, app_client)).json())["token"]
    statuses = []
    for operation, body in _calls(token):
        path = f"/providers/{{instance}}/{operation}"
        assert_request_documented(spec, body, path)
        response = await _gamegate(app_client, clock, operation, body)
        assert response.status == 200
        shown = await assert_documented(spec, response, path, "post")
        statuses.append(shown.get("code", shown["status"]))
    assert statuses == ["ok"] * 7 + ["insufficient_funds"]


async def test_gamegate_refusals_before_the_wallet_match_the_spec(
    spec: Spec, app_client: Client, clock: FakeClock
) -> None:
    path = "/providers/{instance}/bet"
    unsigned = await app_client.post(f"/providers/{INSTANCE}/bet", json=_bet("t", "b-1", 1))
    bad_amount = await _gamegate(app_client, clock, "bet", _bet("t", "b-1", "1"))
    unknown = await app_client.post("/providers/nobody/bet", json=_bet("t", "b-1", 1))
    shown = [
        await assert_documented(spec, r, path, "post") for r in (unsigned, bad_amount, unknown)
    ]
    assert [unsigned.status, bad_amount.status, unknown.status] == [401, 400, 404]
    assert [shown[0]["code"], shown[1]["code"], shown[2]["error"]["code"]] == [
        "bad_signature",
        "invalid_amount",
        "unknown_provider",
    ]


# -- the lobby API, catalogue administration and brand overlays, live ----------------


def _feed_game(code: str, vertical: str = "slots", **extra: Json) -> dict[str, Json]:
    return {"code": code, "title": f"Game {code}", "studio": "Studio A", "vertical": vertical,
            "markets": ["MT"], **extra}  # fmt: skip


_FEED: dict[str, Json] = {
    "games": [
        _feed_game(
            "g1",
            game_type="video_slot",
            features=["bonus_buy", "turbo"],
            rtp="96.50",
            rtp_by_market={"MT": "95.10"},
            volatility="high",
            devices=["desktop", "mobile"],
            currencies=["EUR"],
            stakes={"EUR": {"min": "0.10", "max": "100.00"}},
            release_date="2026-11-30",
            tags=["dragons"],
            images={"thumbnail": "https://cdn.example/g1.png"},
        ),
        _feed_game("g2", "live", devices=["desktop"], demo=False),
        _feed_game("g3", markets=["GB"]),
        _feed_game("g4", "table"),
        _feed_game("g5", "crash", status="disabled"),
    ]
}
IMPORT = "/v1/catalogue/instances/{instance}/import"
LOBBY_PAGE = "/v1/lobby/games?brand=demo&market=MT&device=mobile&currency=EUR&limit=1"


async def _import(spec: Spec, client: Client, feed: Json, query: str = "") -> ClientResponse:
    assert_request_documented(spec, feed, IMPORT)
    url = f"/v1/catalogue/instances/{INSTANCE}/import{query}"
    return await client.post(url, json=feed, headers=ADMIN)


async def test_imports_syncs_and_their_history_match_the_spec(
    spec: Spec, app_client: Client, tmp_path: Path
) -> None:
    report = await assert_documented(spec, await _import(spec, app_client, _FEED), IMPORT, "post")
    assert report["added"] == [f"{INSTANCE}:g{n}" for n in range(1, 6)]
    assert report["source"] == "upload"
    assert report["full"] is True
    feed = {"games": [*_FEED["games"], _feed_game("g6")]}
    (tmp_path / "data" / FEED_FILE).write_bytes(orjson.dumps(feed))
    response = await app_client.post(f"/v1/catalogue/instances/{INSTANCE}/sync", headers=ADMIN)
    path = "/v1/catalogue/instances/{instance}/sync"
    synced = await assert_documented(spec, response, path, "post")
    assert (synced["added"], synced["unchanged"], synced["source"]) == (
        [f"{INSTANCE}:g6"],
        5,
        FEED_FILE,
    )
    response = await app_client.get(f"/v1/catalogue/syncs?instance={INSTANCE}", headers=VIEWER)
    history = await assert_documented(spec, response, "/v1/catalogue/syncs")
    assert [(entry["source"], entry["added"]) for entry in history["items"]] == [
        (FEED_FILE, 1),
        ("upload", 5),
    ]


async def test_lobby_pages_details_and_launches_match_the_spec(
    spec: Spec, app_client: Client
) -> None:
    await _import(spec, app_client, _FEED)
    await new_player(app_client, "p1")
    response = await app_client.get(LOBBY_PAGE, headers=LOBBY)
    page = await assert_documented(spec, response, "/v1/lobby/games")
    assert (page["total"], [game["key"] for game in page["items"]]) == (1, [f"{INSTANCE}:g1"])
    assert page["items"][0]["stake"]["min_minor"] == 10
    again = await app_client.get(
        LOBBY_PAGE, headers={**LOBBY, "If-None-Match": response.headers["ETag"]}
    )
    assert again.status == 304
    assert await assert_documented(spec, again, "/v1/lobby/games") is None
    response = await app_client.get(
        f"/v1/lobby/games/{INSTANCE}:g1?brand=demo&market=MT&device=desktop", headers=LOBBY
    )
    detail = await assert_documented(spec, response, "/v1/lobby/games/{key}")
    assert (detail["game"]["rtp"], detail["game"]["rtp_by_market"]) == ("95.10", {"MT": "95.10"})
    real = {"game": f"{INSTANCE}:g1", "player_id": "p1", "device": "mobile", "language": "de",
            "reality_check_s": 3_600}  # fmt: skip
    demo = {"game": f"{INSTANCE}:g4", "mode": "demo", "device": "desktop", "brand": "demo",
            "market": "MT", "return_url": "https://casino.example/lobby?from=game"}  # fmt: skip
    launched = []
    for body in (real, demo):
        assert_request_documented(spec, body, "/v1/launch")
        response = await app_client.post("/v1/launch", json=body, headers=LOBBY)
        launched.append(await assert_documented(spec, response, "/v1/launch", "post"))
    assert [answer["mode"] for answer in launched] == ["real", "demo"]
    opened = launched[0]["session"]
    assert (opened["device"], opened["reality_check_s"]) == ("mobile", 3_600)
    assert launched[1]["session"] is None


_CATALOGUE_REFUSALS: list[tuple[str, str, str, dict[str, str], Json, int, str, str]] = [
    ("get", "/v1/lobby/games?brand=demo&market=MT&device=mobile&verticle=live",
     "/v1/lobby/games", LOBBY, None, 400, "invalid_request", "verticle: not a lobby filter"),
    ("get", f"/v1/lobby/games/{INSTANCE}:nope?brand=demo&market=MT&device=mobile",
     "/v1/lobby/games/{key}", LOBBY, None, 404, "game_not_found", "nope"),
    ("get", f"/v1/lobby/games/{INSTANCE}:g3?brand=demo&market=MT&device=mobile",
     "/v1/lobby/games/{key}", VIEWER, None, 403, "game_not_allowed", "market MT"),
    ("post", f"/v1/catalogue/instances/{INSTANCE}/import", IMPORT, LOBBY, _FEED, 403,
     "forbidden", "lobby"),
    ("put", f"/v1/brands/demo/games/{INSTANCE}:g1", "/v1/brands/{brand}/games/{key}", LOBBY,
     {"enabled": False}, 403, "forbidden", "lobby"),
    ("get", "/v1/players/p1/balance", "/v1/players/{player_id}/balance", LOBBY, None, 403,
     "forbidden", "lobby"),
    ("post", "/v1/launch", "/v1/launch", VIEWER,
     {"game": f"{INSTANCE}:g1", "player_id": "p1", "device": "mobile"}, 403, "forbidden",
     "viewer"),
    ("post", f"/v1/catalogue/instances/{INSTANCE}/import", IMPORT, ADMIN,
     {"games": [_feed_game("ok"), _feed_game("bad", "slot")]}, 422, "feed_invalid",
     "record 1 (code 'bad'), field vertical"),
    ("post", f"/v1/catalogue/instances/{INSTANCE}/import", IMPORT, ADMIN,
     {"games": [_feed_game("g1")]}, 409, "retirement_guarded", "confirm"),
    ("post", "/v1/sessions", "/v1/sessions", ADMIN,
     {"player_id": "p1", "game_id": "nope", "provider": INSTANCE}, 404, "game_not_found", "nope"),
    ("post", "/v1/sessions", "/v1/sessions", ADMIN,
     {"player_id": "p1", "game_id": "g5", "provider": INSTANCE}, 422, "game_unavailable",
     "disabled"),
    ("post", "/v1/launch", "/v1/launch", LOBBY,
     {"game": f"{INSTANCE}:g2", "mode": "demo", "device": "desktop", "brand": "demo",
      "market": "MT"}, 422, "game_unavailable", "fun mode"),
    ("put", "/v1/brands/demo/pinned", "/v1/brands/{brand}/pinned", ADMIN,
     {"games": [f"{INSTANCE}:nope"]}, 404, "game_not_found", "nope"),
]  # fmt: skip
"""(method, url, documented path, headers, JSON body, status, code, part of the message)."""


@pytest.mark.parametrize(
    ("method", "url", "path", "headers", "body", "status", "code", "said"),
    _CATALOGUE_REFUSALS,
    ids=[f"{row[6]}-{row[0]}-{row[2]}" for row in _CATALOGUE_REFUSALS],
)
async def test_lobby_and_catalogue_refusals_match_the_spec(
    spec: Spec,
    app_client: Client,
    method: str,
    url: str,
    path: str,
    headers: dict[str, str],
    body: Json,
    status: int,
    code: str,
    said: str,
) -> None:
    await _import(spec, app_client, _FEED)
    await new_player(app_client, "p1")
    response = await app_client.request(method, url, json=body, headers=headers)
    assert response.status == status, await response.text()
    shown = await assert_documented(spec, response, path, method)
    assert shown["error"]["code"] == code
    assert said in shown["error"]["message"], shown


async def test_overlay_changes_and_their_audit_match_the_spec(
    spec: Spec, app_client: Client
) -> None:
    await _import(spec, app_client, _FEED)
    changes = [
        (f"/v1/brands/demo/games/{INSTANCE}:g1", "/v1/brands/{brand}/games/{key}",
         {"enabled": False, "title": "Dragon Fire"}),
        (f"/v1/brands/demo/providers/{INSTANCE}", "/v1/brands/{brand}/providers/{instance}",
         {"enabled": True}),
        ("/v1/brands/demo/pinned", "/v1/brands/{brand}/pinned", {"games": [f"{INSTANCE}:g4"]}),
        ("/v1/brands/demo/categories/top", "/v1/brands/{brand}/categories/{category}",
         {"games": [f"{INSTANCE}:g4", f"{INSTANCE}:g2"]}),
    ]  # fmt: skip
    for url, path, body in changes:
        assert_request_documented(spec, body, path, "put")
        response = await app_client.put(url, json=body, headers=ADMIN)
        await assert_documented(spec, response, path, "put")
    response = await app_client.get("/v1/brands/demo/overlay", headers=VIEWER)
    overlay = await assert_documented(spec, response, "/v1/brands/{brand}/overlay")
    assert overlay["disabled_games"] == [f"{INSTANCE}:g1"]
    assert overlay["categories"] == {"top": [f"{INSTANCE}:g4", f"{INSTANCE}:g2"]}
    response = await app_client.get("/v1/brands/demo/audit?limit=3", headers=VIEWER)
    audit = await assert_documented(spec, response, "/v1/brands/{brand}/audit")
    actions = [entry["action"] for entry in audit["items"]]
    assert actions == ["category_games", "pinned_order", "provider_switch"]
    assert audit["next_before"] == audit["items"][-1]["seq"]


async def test_each_operation_admits_exactly_its_documented_roles(
    spec: Spec, app_client: Client
) -> None:
    """Every operator operation, asked by a key of every role with no body: a role the
    document does not list gets 403 `forbidden`, one it lists gets past the key check."""
    for path, method in _operations(spec):
        if not path.startswith("/v1/"):
            continue
        url = re.sub(r"\{[a-z_]+\}", "x-1", path)
        for role, headers in KEYS_BY_ROLE.items():
            response = await app_client.request(method, url, headers=headers)
            body = await response.json()
            forbidden = response.status == 403 and body["error"]["code"] == "forbidden"
            admitted = role in spec["paths"][path][method]["x-roles"]
            assert forbidden != admitted, (method, path, role, response.status, body)
            if forbidden:
                await assert_documented(spec, response, path, method)
