"""Pre-signed provider callback traffic for the whole-path benchmark (`bench_gateway.py`).

Why pre-built: a load tool cannot sign (RSA for Hub88, HMAC with per-request nonces for
gamegate) fast enough without becoming the bottleneck, so the requests are made here,
with the provider-side builders of `adapters/conformance/`, and replayed by wrk
(`wrk_pool.lua`). Three steps, each usable on its own:

1. `seed_players`: through the operator API of a running gateway, N players (EUR) with a
   deposit and one game session per provider instance.
2. `plan_traffic`: the callbacks, 50 % bets, 40 % wins, 5 % rollbacks, 5 % exact replays.
   Players take turns in a fixed random order, so two requests of one player are N
   positions apart in the pool (far more than the connections in flight): a win or a
   rollback always follows its bet. A win settles its bet and closes the round; a
   rollback reverses an open bet; one bet in ten stays open. A replay resends the
   player's previous request unchanged (gamegate: re-signed, as its protocol retries).
   Each round picks its provider instance at random; ids are unique per plan.
3. `render_pool`: the wrk pool file, raw HTTP/1.1 requests. gamegate requests are
   signed here with the current time and fresh nonces, because the gateway refuses
   timestamps more than `clock_skew_s` (300 s) away and nonces it has seen: render right
   before each run. The other protocols sign no time, so their bytes come from the plan.

    python -m loadtests.gen_traffic --url http://127.0.0.1:8080 --data-dir data \\
        --players 10000 --requests 120000 --plan var/bench/plan.jsonl --pool var/bench/pool.txt
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from adapters.conformance import evolution, hub88, pragmatic, softswiss
from adapters.conformance.games import import_path, single_game_feed
from adapters.conformance.kit import PlayerFixture, WireRequest
from adapters.providers import hub88_wire
from adapters.providers.gamegate_wire import sign_request
from core.money import DEFAULT_CURRENCIES, format_minor, to_scaled_int

__all__ = [
    "INSTANCES",
    "PlannedRequest",
    "SeededPlayer",
    "describe",
    "load_plan",
    "load_secrets",
    "main",
    "plan_traffic",
    "pool_record",
    "read_pool",
    "render_pool",
    "save_plan",
    "seed_players",
]

INSTANCES = ("gamegate", "softswiss", "hub88", "pragmatic", "evolution")
"""The provider instances of `config/gamegate.toml` that the traffic can use."""
OPERATOR_KEY = "demo-operator-key"
CURRENCY = "EUR"
_EUR = DEFAULT_CURRENCIES[CURRENCY]
GAME_ID = "bench-slot"
DEPOSIT = "1000.00"
BET_MINOR_MIN = 10
BET_MINOR_MAX = 200
REPLAY_SHARE = 0.05
WIN_SHARE_OF_BETS = 0.80  # 40 % of all requests: 0.8 of the 50 % that are bets
ROLLBACK_SHARE_OF_BETS = 0.10  # 5 % of all requests; the last 0.1 of bets stay open
LOSS_SHARE_OF_WINS = 0.30  # wins of amount 0 (the round was lost)
SEED_TIMEOUT_S = 30.0
POOL_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class SeededPlayer:
    player_id: str
    currency: str
    tokens: Mapping[str, str]
    """Session token per provider instance."""

    def fixture(self, instance: str) -> PlayerFixture:
        return PlayerFixture(self.player_id, self.currency, self.tokens[instance], GAME_ID)


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """One callback, relative to `/providers/{instance}/`; gamegate's are signed at render."""

    instance: str
    kind: str
    """`bet`, `win`, `rollback` or `replay`."""
    path: str
    body: bytes
    headers: Mapping[str, str]
    query: str = ""


# -- seeding -------------------------------------------------------------------


async def seed_players(
    url: str, count: int, instances: Sequence[str], *, concurrency: int = 64, prefix: str = "bench"
) -> list[SeededPlayer]:
    """Create `count` funded players with a session per instance, `concurrency` at a time."""
    assert count >= 1
    assert concurrency >= 1
    ids = iter(f"{prefix}-{i:06d}" for i in range(count))
    players: list[SeededPlayer] = []
    timeout = aiohttp.ClientTimeout(total=SEED_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {OPERATOR_KEY}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        url, headers=headers, timeout=timeout, connector=connector
    ) as client:
        for instance in instances:  # sessions name catalogue games
            await _post(client, import_path(instance), single_game_feed(GAME_ID))

        async def worker() -> None:
            for player_id in ids:
                players.append(await _seed_one(client, player_id, instances))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    players.sort(key=lambda player: player.player_id)
    return players


async def _seed_one(
    client: aiohttp.ClientSession, player_id: str, instances: Sequence[str]
) -> SeededPlayer:
    player = {
        "player_id": player_id,
        "brand": "demo",
        "jurisdiction": "MT",
        "currency": CURRENCY,
        "date_of_birth": "1990-01-01",
    }
    await _post(client, "/v1/players", player)
    deposit_key = {"Idempotency-Key": f"seed-{player_id}"}
    await _post(client, f"/v1/players/{player_id}/deposits", {"amount": DEPOSIT}, deposit_key)
    tokens: dict[str, str] = {}
    for instance in instances:
        session = {"player_id": player_id, "game_id": GAME_ID, "provider": instance}
        answer = await _post(client, "/v1/sessions", session)
        tokens[instance] = str(answer["token"])
    return SeededPlayer(player_id, CURRENCY, tokens)


async def _post(
    client: aiohttp.ClientSession,
    path: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    sent = {"Content-Type": "application/json", **(headers or {})}
    async with client.post(path, data=orjson.dumps(body), headers=sent) as response:
        raw = await response.read()
        if response.status >= 300:
            raise RuntimeError(f"POST {path} answered {response.status}: {raw[:300]!r}")
    parsed = orjson.loads(raw)
    assert isinstance(parsed, dict)
    return parsed


def load_secrets(data_dir: Path, instances: Iterable[str]) -> dict[str, dict[str, bytes]]:
    """The secret files demo mode wrote, per instance (provider halves included)."""
    found: dict[str, dict[str, bytes]] = {}
    for instance in instances:
        folder = data_dir / "secrets" / instance
        found[instance] = {
            path.name: path.read_bytes().rstrip(b"\r\n") for path in folder.iterdir()
        }
    return found


# -- planning ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """A money callback in protocol-neutral terms; each builder renders it in its protocol."""

    kind: str
    tx_id: str
    round_id: str
    amount_minor: int
    ref_tx_id: str = ""
    bet_minor: int = 0


@dataclass(slots=True)
class _PlayerState:
    pending: list[tuple[str, Step]] = field(default_factory=list)
    """At most one follow-up (win or rollback) of the open bet, with its instance."""
    last: PlannedRequest | None = None


Builder = Callable[[Mapping[str, bytes], PlayerFixture, Step], WireRequest]


def plan_traffic(
    players: Sequence[SeededPlayer],
    secrets_by_instance: Mapping[str, Mapping[str, bytes]],
    count: int,
    *,
    instances: Sequence[str] = INSTANCES,
    seed: int = 1,
) -> list[PlannedRequest]:
    """`count` callbacks over `players` in a fixed turn order (see the module docstring)."""
    assert players
    assert set(instances) <= set(BUILDERS), f"no builder for {set(instances) - set(BUILDERS)}"
    rng = random.Random(seed)
    order = list(players)
    rng.shuffle(order)
    states = {player.player_id: _PlayerState() for player in order}
    ids = _Ids(uuid.uuid4().hex[:8])
    planned: list[PlannedRequest] = []
    while len(planned) < count:
        player = order[len(planned) % len(order)]
        state = states[player.player_id]
        if state.last is not None and rng.random() < REPLAY_SHARE:
            planned.append(dataclasses.replace(state.last, kind="replay"))
            continue
        if state.pending:
            instance, step = state.pending.pop()
        else:
            instance, step = rng.choice(instances), _bet(rng, ids)
            state.pending.extend(_follow_up(rng, ids, instance, step))
        wire = BUILDERS[instance](secrets_by_instance[instance], player.fixture(instance), step)
        request = PlannedRequest(
            instance, step.kind, wire.path, wire.body, dict(wire.headers), wire.query_string
        )
        state.last = request
        planned.append(request)
    return planned


class _Ids:
    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._next = 0

    def new(self, kind: str) -> str:
        self._next += 1
        return f"{kind}-{self._prefix}-{self._next}"


def _bet(rng: random.Random, ids: _Ids) -> Step:
    amount = rng.randint(BET_MINOR_MIN, BET_MINOR_MAX)
    return Step("bet", ids.new("bet"), ids.new("round"), amount)


def _follow_up(rng: random.Random, ids: _Ids, instance: str, bet: Step) -> list[tuple[str, Step]]:
    draw = rng.random()
    if draw < WIN_SHARE_OF_BETS:
        lost = rng.random() < LOSS_SHARE_OF_WINS
        amount = 0 if lost else rng.randint(1, 4 * bet.amount_minor)
        step = Step("win", ids.new("win"), bet.round_id, amount, bet.tx_id, bet.amount_minor)
        return [(instance, step)]
    if draw < WIN_SHARE_OF_BETS + ROLLBACK_SHARE_OF_BETS:
        step = Step(
            "rollback", ids.new("rb"), bet.round_id, bet.amount_minor, bet.tx_id, bet.amount_minor
        )
        return [(instance, step)]
    return []


def _decimal(minor: int) -> str:
    """EUR minor units as the decimal string PP and Evolution send (`105` -> `1.05`)."""
    return format_minor(minor, _EUR)


def _gamegate(_secrets: Mapping[str, bytes], player: PlayerFixture, step: Step) -> WireRequest:
    """Unsigned: `render_pool` signs it with a fresh timestamp and nonce."""
    body: dict[str, Any] = {"player_id": player.player_id, "transaction_id": step.tx_id}
    if step.kind == "bet":
        body |= {
            "session_token": player.session_token,
            "round_id": step.round_id,
            "game_id": player.game_id,
            "currency": player.currency,
            "amount": step.amount_minor,
            "round_closed": False,
        }
    elif step.kind == "win":
        body |= {
            "bet_transaction_id": step.ref_tx_id,
            "round_id": step.round_id,
            "game_id": player.game_id,
            "currency": player.currency,
            "amount": step.amount_minor,
            "round_closed": True,
        }
    else:
        body |= {
            "reference_transaction_id": step.ref_tx_id,
            "round_id": step.round_id,
            "round_closed": True,
        }
    return WireRequest("POST", step.kind, orjson.dumps(body), {"Content-Type": "application/json"})


def _softswiss(secrets_: Mapping[str, bytes], player: PlayerFixture, step: Step) -> WireRequest:
    if step.kind in ("bet", "win"):
        build = softswiss.build_bet if step.kind == "bet" else softswiss.build_win
        return build(
            secrets_,
            player,
            action_id=step.tx_id,
            amount=step.amount_minor,
            round_id=step.round_id,
        )
    return softswiss.build_rollback(
        secrets_,
        player,
        action_id=step.tx_id,
        original_action_id=step.ref_tx_id,
        round_id=step.round_id,
    )


def _hub88(secrets_: Mapping[str, bytes], player: PlayerFixture, step: Step) -> WireRequest:
    amount = to_scaled_int(step.amount_minor, hub88_wire.AMOUNT_SCALE, _EUR)
    if step.kind == "bet":
        return hub88.build_bet(
            secrets_, player, amount=amount, transaction_uuid=step.tx_id, round_id=step.round_id
        )
    if step.kind == "win":
        return hub88.build_win(
            secrets_,
            player,
            amount=amount,
            reference=step.ref_tx_id,
            round_id=step.round_id,
            transaction_uuid=step.tx_id,
            round_closed=True,
        )
    return hub88.build_rollback(
        secrets_,
        player,
        reference=step.ref_tx_id,
        round_id=step.round_id,
        transaction_uuid=step.tx_id,
        round_closed=True,
    )


def _pragmatic(secrets_: Mapping[str, bytes], player: PlayerFixture, step: Step) -> WireRequest:
    if step.kind in ("bet", "win"):
        build = pragmatic.build_bet if step.kind == "bet" else pragmatic.build_result
        return build(
            secrets_,
            player,
            reference=step.tx_id,
            round_id=step.round_id,
            amount=_decimal(step.amount_minor),
        )
    return pragmatic.build_refund(
        secrets_, player, reference=step.ref_tx_id, round_id=step.round_id
    )


def _evolution(secrets_: Mapping[str, bytes], player: PlayerFixture, step: Step) -> WireRequest:
    if step.kind == "bet":
        return evolution.build_debit(
            secrets_,
            player,
            ref_id=step.tx_id,
            tx_id=step.tx_id,
            round_id=step.round_id,
            amount=_decimal(step.amount_minor),
        )
    if step.kind == "win":
        return evolution.build_credit(
            secrets_,
            player,
            ref_id=step.ref_tx_id,
            tx_id=step.tx_id,
            round_id=step.round_id,
            amount=_decimal(step.amount_minor),
        )
    return evolution.build_cancel(
        secrets_,
        player,
        ref_id=step.ref_tx_id,
        tx_id=step.tx_id,
        round_id=step.round_id,
        amount=_decimal(step.bet_minor),
    )


BUILDERS: dict[str, Builder] = {
    "gamegate": _gamegate,
    "softswiss": _softswiss,
    "hub88": _hub88,
    "pragmatic": _pragmatic,
    "evolution": _evolution,
}


# -- files -----------------------------------------------------------------------


def save_plan(planned: Iterable[PlannedRequest], path: Path) -> None:
    """JSON lines; bodies are ASCII (JSON or form-encoded), kept as text for inspection."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        for request in planned:
            record = {
                "instance": request.instance,
                "kind": request.kind,
                "path": request.path,
                "query": request.query,
                "headers": dict(request.headers),
                "body": request.body.decode("ascii"),
            }
            file.write(orjson.dumps(record) + b"\n")


def load_plan(path: Path) -> list[PlannedRequest]:
    planned: list[PlannedRequest] = []
    with path.open("rb") as file:
        for line in file:
            record = orjson.loads(line)
            planned.append(
                PlannedRequest(
                    record["instance"],
                    record["kind"],
                    record["path"],
                    record["body"].encode("ascii"),
                    record["headers"],
                    record["query"],
                )
            )
    return planned


def render_pool(
    planned: Sequence[PlannedRequest],
    path: Path,
    gamegate_key: bytes | None,
    *,
    gamegate_instance: str = "gamegate",
    now_s: int | None = None,
) -> int:
    """Write the wrk pool (`<length>\\n<raw request>` per request); returns the count.

    gamegate requests get `now_s` (default: now) and a fresh nonce each, replays too.
    """
    stamp = int(time.time()) if now_s is None else now_s
    nonce_prefix = secrets.token_hex(6)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        for index, request in enumerate(planned):
            headers = dict(request.headers)
            if request.instance == gamegate_instance:
                assert gamegate_key is not None, "gamegate traffic needs the provider key"
                nonce = f"{nonce_prefix}{index:010d}"
                headers |= sign_request(
                    gamegate_key, request.body, operation=request.path, timestamp=stamp, nonce=nonce
                )
            file.write(pool_record(_raw_request(request, headers)))
    return len(planned)


def pool_record(raw: bytes) -> bytes:
    """One entry of a wrk pool file: `<length>\\n<raw request>` (read by `wrk_pool.lua` too)."""
    return b"%d\n%s" % (len(raw), raw)


def read_pool(path: Path) -> list[bytes]:
    """The raw requests of a wrk pool file, in order."""
    data = path.read_bytes()
    requests: list[bytes] = []
    position = 0
    while position < len(data):
        newline = data.index(b"\n", position)
        length = int(data[position:newline])
        start = newline + 1
        requests.append(data[start : start + length])
        position = start + length
    return requests


def _raw_request(request: PlannedRequest, headers: Mapping[str, str]) -> bytes:
    target = f"/providers/{request.instance}/{request.path}"
    if request.query:
        target += f"?{request.query}"
    lines = [f"POST {target} HTTP/1.1", f"Host: {POOL_HOST}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(request.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + request.body


def describe(planned: Sequence[PlannedRequest]) -> str:
    kinds = Counter(request.kind for request in planned)
    instances = Counter(request.instance for request in planned)
    mean_bytes = sum(len(request.body) for request in planned) / max(len(planned), 1)
    return (
        f"{len(planned)} requests; kinds {dict(sorted(kinds.items()))}; "
        f"instances {dict(sorted(instances.items()))}; mean body {mean_bytes:.0f} B"
    )


# -- command line ----------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True, help="the running gateway (demo mode)")
    parser.add_argument("--data-dir", type=Path, required=True, help="its --data-dir (secrets)")
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=120_000)
    parser.add_argument("--instances", default=",".join(INSTANCES))
    parser.add_argument("--concurrency", type=int, default=64, help="seeding connections")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plan", type=Path, required=True, help="JSON lines out")
    parser.add_argument("--pool", type=Path, help="also render the wrk pool file now")
    args = parser.parse_args(argv)
    instances = [name for name in args.instances.split(",") if name]
    started_s = time.perf_counter()
    players = asyncio.run(
        seed_players(args.url, args.players, instances, concurrency=args.concurrency)
    )
    print(f"seeded {len(players)} players in {time.perf_counter() - started_s:.1f} s")
    secrets_by_instance = load_secrets(args.data_dir, instances)
    planned = plan_traffic(
        players, secrets_by_instance, args.requests, instances=instances, seed=args.seed
    )
    save_plan(planned, args.plan)
    print(describe(planned))
    if args.pool is not None:
        key = secrets_by_instance.get("gamegate", {}).get("provider_hmac_key")
        render_pool(planned, args.pool, key)
        print(f"pool written to {args.pool}: gamegate requests valid for 300 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
