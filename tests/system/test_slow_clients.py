"""Slow and idle clients against a real `gamegate serve`: cut off by their limits, counted,
and never in the way of a normal request.

Each test starts the server as a process on a free loopback port with short limits
(`GAMEGATE_SERVER__*`), holds raw sockets the way a slow or hostile client would, and
watches for the server's EOF or reset on each one while `/healthz` keeps answering.
"""

from __future__ import annotations

import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

OPERATOR_KEY = "slow-clients-operator-key"
STARTUP_TIMEOUT_S = 10.0
SLACK_S = 1.0
"""How late a close may come: the sweep runs every quarter limit, plus a loaded CI box."""
EARLY_S = 0.1
"""How early: the server's clock reading for a phase may predate the client's by a bit."""
_LISTENING = re.compile(r"^gamegate listening on http://127\.0\.0\.1:(\d+) ")
_SAMPLE = re.compile(r'^gamegate_connections_(open|closed_total)(?:\{limit="(\w+)"\})? (\S+)$')

pytestmark = pytest.mark.timeout(60)


def _gamegate() -> list[str]:
    script = Path(sys.executable).with_name("gamegate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]


@pytest.fixture(autouse=True)
def _room_for_sockets() -> None:
    """Hundreds of client sockets in this process: the soft open-file limit may be 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4_096 if hard == resource.RLIM_INFINITY else min(4_096, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@dataclass(frozen=True, slots=True)
class Gateway:
    port: int
    stderr: Path

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def get(self, path: str) -> tuple[int, bytes]:
        with self.connect() as sock:
            return _exchange(sock, _head("GET", path, close=True))

    def healthz(self) -> int:
        try:
            return self.get("/healthz")[0]
        except OSError:
            return 0

    def connection_metrics(self, sock: socket.socket | None = None) -> dict[str, float]:
        """`open` and each limit's closes, from /metrics (on `sock` if given)."""
        if sock is None:
            status, body = self.get("/metrics")
        else:
            status, body = _exchange(sock, _head("GET", "/metrics"))
        assert status == 200
        found = {}
        for line in body.decode().splitlines():
            sample = _SAMPLE.match(line)
            if sample is not None:
                found[sample[2] or sample[1]] = float(sample[3])
        return found


@contextmanager
def _gateway(
    tmp_path: Path, open_files_max: int | None = None, **server: float
) -> Iterator[Gateway]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("GAMEGATE_")}
    env |= {f"GAMEGATE_SERVER__{name.upper()}": str(value) for name, value in server.items()}
    env |= {"GAMEGATE_OPERATOR_API_KEYS": f"{OPERATOR_KEY}:admin", "GAMEGATE_LOG_LEVEL": "error"}
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"

    def limit_open_files() -> None:
        if open_files_max is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files_max, open_files_max))

    command = [*_gamegate(), "serve", "--port", "0", "--data-dir", str(tmp_path / "data")]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=stdout, stderr=stderr,
            preexec_fn=limit_open_files,  # safe here: this test process starts no threads
        )  # fmt: skip
    try:
        yield Gateway(port=_wait_for_port(process, out, err), stderr=err)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STARTUP_TIMEOUT_S)


def _wait_for_port(process: subprocess.Popen[bytes], out: Path, err: Path) -> int:
    deadline_s = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline_s:
        listening = _LISTENING.match(out.read_text())
        if listening is not None:
            return int(listening[1])
        assert process.poll() is None, f"serve exited: {err.read_text()}"
        time.sleep(0.02)
    raise AssertionError("no start-up line")


# -- raw HTTP/1.1 --------------------------------------------------------------------


def _head(
    method: str, path: str, *, close: bool = False, body_bytes: int = 0, expect: bool = False
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: gamegate", f"Authorization: Bearer {OPERATOR_KEY}"]
    if close:
        lines.append("Connection: close")
    if method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {body_bytes}"]
    if expect:
        lines.append("Expect: 100-continue")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, bytes]:
    """Send one request, read one response (Content-Length framed): status and body."""
    sock.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65_536)
        assert chunk, f"closed before a response head: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    assert length is not None, head
    while len(body) < int(length[1]):
        chunk = sock.recv(65_536)
        assert chunk, "closed inside a response body"
        body += chunk
    return int(head.split()[1]), body


def _player(player_id: str) -> bytes:
    return json.dumps(
        {
            "player_id": player_id,
            "brand": "acme",
            "jurisdiction": "MT",
            "currency": "EUR",
            "date_of_birth": "1990-01-01",
        }
    ).encode()


# -- watching sockets for the server's close -----------------------------------------


@dataclass
class Watched:
    since_s: float
    """When this socket's limit started counting, by this process's monotonic clock."""
    closed_after_s: float | None = None
    received: bytes = b""


def _watch(
    sockets: dict[socket.socket, Watched],
    until_s: float,
    *,
    every: Callable[[], None] = lambda: None,
    every_s: float = 0.2,
) -> None:
    """Until `until_s` or every socket is closed by the server, calling `every` as we go."""
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        pending = len(sockets)
        next_call_s = time.monotonic()
        while pending and time.monotonic() < until_s:
            if time.monotonic() >= next_call_s:
                every()
                next_call_s = time.monotonic() + every_s
            for key, _ in selector.select(timeout=0.02):
                sock = cast(socket.socket, key.fileobj)
                try:
                    data = sock.recv(65_536)
                except ConnectionResetError:
                    data = b""
                watched = sockets[sock]
                if data:
                    watched.received += data
                    continue
                watched.closed_after_s = time.monotonic() - watched.since_s
                selector.unregister(sock)
                pending -= 1


def _assert_closed_within(sockets: dict[socket.socket, Watched], limit_s: float) -> None:
    times = [watched.closed_after_s for watched in sockets.values()]
    still_open = sum(after is None for after in times)
    assert not still_open, f"{still_open} of {len(times)} still open after {limit_s} + {SLACK_S} s"
    closed = [after for after in times if after is not None]
    assert limit_s - EARLY_S <= min(closed), f"closed after {min(closed):.2f} s < {limit_s} s"
    assert max(closed) <= limit_s + SLACK_S, f"closed after {max(closed):.2f} s"


@contextmanager
def _held(count: int, opener: Callable[[], socket.socket]) -> Iterator[list[socket.socket]]:
    sockets = [opener() for _ in range(count)]
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


# -- the tests -----------------------------------------------------------------------


def test_idle_and_half_sent_connections_are_closed_by_their_limits_while_service_goes_on(
    tmp_path: Path,
) -> None:
    header_s, keepalive_s = 1.0, 2.0
    with _gateway(
        tmp_path,
        header_read_timeout_s=header_s,
        keepalive_idle_timeout_s=keepalive_s,
        body_read_timeout_s=5.0,
    ) as gateway:
        started_s = time.monotonic()
        idle = {gateway.connect(): Watched(time.monotonic()) for _ in range(500)}
        half_sent = {}
        for _ in range(100):
            sock = gateway.connect()
            half_sent[sock] = Watched(time.monotonic())
            sock.sendall(b"POST /v1/players HTTP/1.1\r\nHost: x\r\n")  # no final CRLF
        kept_alive = {}
        for _ in range(20):
            sock = gateway.connect()
            assert _exchange(sock, _head("GET", "/healthz"))[0] == 200
            kept_alive[sock] = Watched(time.monotonic())
        # Idle longer than the head limit, shorter than the keep-alive one: still served.
        patient = gateway.connect()
        assert _exchange(patient, _head("GET", "/healthz"))[0] == 200
        patient_since_s = time.monotonic()
        patient_answers: list[int] = []
        healthz: list[int] = []

        def meanwhile() -> None:
            healthz.append(gateway.healthz())
            if not patient_answers and time.monotonic() - patient_since_s > 1.5 * header_s:
                patient_answers.append(_exchange(patient, _head("GET", "/healthz"))[0])

        everyone = idle | half_sent | kept_alive
        _watch(everyone, started_s + keepalive_s + 3 * SLACK_S, every=meanwhile)
        patient.close()
        try:
            _assert_closed_within(idle, header_s)
            _assert_closed_within(half_sent, header_s)
            _assert_closed_within(kept_alive, keepalive_s)
            assert all(not watched.received for watched in everyone.values())
            assert patient_answers == [200]
            assert len(healthz) >= 5
            assert set(healthz) == {200}, healthz
            metrics = gateway.connection_metrics()
        finally:
            for sock in everyone:
                sock.close()
    assert metrics["header_read"] == 600
    assert metrics["keepalive_idle"] == 20
    assert metrics["body_read"] == metrics["connections_max"] == 0
    assert metrics["open"] >= 1  # the scrape's own connection


def test_a_body_trickled_past_its_limit_is_cut_off_and_counted(tmp_path: Path) -> None:
    body_s = 1.0
    with (
        _gateway(tmp_path, header_read_timeout_s=1.0, body_read_timeout_s=body_s) as gateway,
        gateway.connect() as normal,
        gateway.connect() as slow,
    ):
        body = _player("quick-1")
        status, _ = _exchange(normal, _head("POST", "/v1/players", body_bytes=len(body)) + body)
        assert status == 201
        slow.sendall(_head("POST", "/v1/players", body_bytes=len(_player("slow-1"))))
        watched = {slow: Watched(time.monotonic())}
        trickle = iter(_player("slow-1"))

        def trickle_a_byte() -> None:
            with suppress(StopIteration, OSError):  # all sent (it is not), or cut off
                slow.send(bytes([next(trickle)]))

        _watch(watched, time.monotonic() + body_s + 2 * SLACK_S, every=trickle_a_byte)
        _assert_closed_within(watched, body_s)
        assert watched[slow].received == b"", "the handler answered: it was not cut off"
        # A keep-alive connection that sent a body in time goes on serving.
        assert _exchange(normal, _head("GET", "/v1/players/quick-1/balance"))[0] == 200
        metrics = gateway.connection_metrics(normal)
    assert metrics["body_read"] == 1
    assert metrics["header_read"] == metrics["keepalive_idle"] == 0


def test_at_the_cap_the_longest_waiting_connections_make_room(tmp_path: Path) -> None:
    cap = 50
    with (
        _gateway(
            tmp_path, connections_max=cap, header_read_timeout_s=30, keepalive_idle_timeout_s=30
        ) as gateway,
        _held(cap + 30, gateway.connect) as held,
    ):
        watched = {sock: Watched(time.monotonic()) for sock in held}
        _watch(watched, time.monotonic() + SLACK_S)
        closed = [watched[sock].closed_after_s is not None for sock in held]
        assert closed == [True] * 30 + [False] * cap, "the oldest 30 make room, in order"
        with gateway.connect() as client:
            assert _exchange(client, _head("GET", "/healthz"))[0] == 200
            metrics = gateway.connection_metrics(client)
        _watch(watched, time.monotonic() + 0.3)
        assert watched[held[30]].closed_after_s is not None, "the next oldest made room"
        assert all(watched[sock].closed_after_s is None for sock in held[31:])
    assert metrics["connections_max"] == 31
    assert metrics["open"] == cap


def test_when_every_connection_is_busy_new_ones_are_closed_until_a_limit_frees_one(
    tmp_path: Path,
) -> None:
    cap, body_s = 20, 1.0
    with (
        _gateway(
            tmp_path, connections_max=cap, body_read_timeout_s=body_s, header_read_timeout_s=30
        ) as gateway,
        _held(cap, gateway.connect) as stalled,
    ):
        for sock in stalled:  # a head promising a body that never comes
            sock.sendall(_head("POST", "/v1/players", body_bytes=100, expect=True))
        for sock in stalled:  # "100 Continue": its handler has started, it is busy
            assert sock.recv(1_024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        with gateway.connect() as refused:
            watched = {refused: Watched(time.monotonic())}
            _watch(watched, time.monotonic() + SLACK_S)
            assert watched[refused].closed_after_s is not None, "over the cap, not closed"
            assert watched[refused].received == b""
        stalled_watched = {sock: Watched(time.monotonic()) for sock in stalled}
        _watch(stalled_watched, time.monotonic() + body_s + 2 * SLACK_S)
        assert all(watched.closed_after_s is not None for watched in stalled_watched.values())
        assert gateway.healthz() == 200
        metrics = gateway.connection_metrics()
    assert metrics["connections_max"] == 1
    assert metrics["body_read"] == cap


def test_the_cap_fits_the_open_file_limit_so_held_sockets_cannot_exhaust_it(
    tmp_path: Path,
) -> None:
    """The incident in small: more idle sockets than the process has descriptors."""
    open_files_max = 600
    with (
        _gateway(tmp_path, open_files_max=open_files_max) as gateway,
        _held(open_files_max + 50, gateway.connect),
    ):
        time.sleep(0.3)
        assert gateway.healthz() == 200
        metrics = gateway.connection_metrics()
        warning = gateway.stderr.read_text()
    assert "server.connections_max 10000 lowered to 344" in warning
    assert metrics["open"] <= 344
    assert metrics["connections_max"] >= open_files_max + 50 - 344
