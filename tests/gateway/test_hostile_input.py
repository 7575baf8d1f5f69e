"""Hostile bytes against every mount of a live gateway: random methods, targets, header
bytes (non-ASCII, not UTF-8, NUL), content codings and bodies, over a real socket.

Whatever arrives: no 5xx, every request answered (or the connection closed after an
answer), and no configured secret in any answer or any log line. The gateway runs the
demo configuration (one instance of every protocol, generated key material, seeded
players) exactly as `gamegate serve` composes it.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import socket
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gateway.live_gateway import LiveGateway, live_gateway

__all__ = ["live_gateway"]  # the module-scoped fixture, used by name

ANSWER_TIMEOUT_S = 10.0
EXAMPLES = 250

TAILS: dict[str, tuple[str, ...]] = {
    "gamegate": ("authenticate", "balance", "bet", "win", "rollback", "close-round", "batch"),
    "hub88": ("user/info", "user/balance", "transaction/bet", "transaction/win",
              "transaction/rollback"),
    "pragmatic": ("authenticate.html", "balance.html", "bet.html", "result.html", "refund.html",
                  "bonusWin.html", "jackpotWin.html", "endRound.html", "promoWin.html"),
    "evolution": ("check", "balance", "debit", "credit", "cancel", "promo_payout"),
    "softswiss": ("play", "rollback", "freespins"),
    "betby": ("ping", "bet/make", "bet/commit", "bet/discard", "bet/settle", "bet/refund",
              "bet/win", "bet/lost", "bet/rollback"),
    "betsoft": ("authenticate", "getBalance", "betResult", "refundBet", "bonusWin",
                "getAccountInfo"),
}  # fmt: skip
OPERATOR_TARGETS = (
    "/v1/players", "/v1/players/demo-1/deposits", "/v1/players/demo-1/withdrawals",
    "/v1/players/demo-1/bonus-grants", "/v1/players/demo-1/balance",
    "/v1/players/demo-1/transactions?limit=5", "/v1/sessions", "/v1/rounds/gamegate/r-1",
    "/healthz", "/readyz", "/metrics",
)  # fmt: skip
SENSITIVE_HEADERS = (
    "Authorization", "X-Gamegate-Timestamp", "X-Gamegate-Nonce", "X-Gamegate-Signature",
    "X-Hub88-Signature", "X-REQUEST-SIGN", "Content-Encoding", "Content-Type",
    "Idempotency-Key", "X-Request-Id", "Transfer-Encoding", "Expect", "Connection",
)  # fmt: skip

header_value = st.one_of(
    st.binary(max_size=80).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"")),
    st.text(max_size=40).map(lambda text: text.encode()).map(lambda v: v.replace(b"\r", b"")
                                                                .replace(b"\n", b"")),
    st.sampled_from([b"\xff", b"\xff\xfe", b"d\xe9mo-operator-key", b"Bearer demo-operator-key\x00",
                     b"Bearer d\xe9mo-operator-key", b"gzip", b"deflate", b"br", b"chunked", b"1",
                     b"abcdefgh", b"application/json", b"100-continue"]),
)  # fmt: skip
header_name = st.one_of(
    st.sampled_from(SENSITIVE_HEADERS),
    st.from_regex(rb"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z"),
)


@st.composite
def targets(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        instance = draw(st.sampled_from(sorted(TAILS)))
        tail = draw(st.sampled_from(TAILS[instance]))
        query = draw(st.sampled_from(["", "?authToken=\xff", "?hash=abc&token=x", "?a=%ff%fe"]))
        return f"/providers/{instance}/{tail}{query}".encode("utf-8", "surrogateescape")
    if choice == 1:
        return draw(st.sampled_from(OPERATOR_TARGETS)).encode()
    if choice == 2:
        return b"/" + draw(st.binary(max_size=40)).replace(b" ", b"").replace(b"\r\n", b"")
    return ("/providers/" + draw(st.text(max_size=20)).replace(" ", "")).encode()


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    body = draw(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from([b"{}", b'{"amount":"1.00","amount":"2.00"}', b"<xml/>", b"[" * 5000,
                             b'{"payload":"a.b.c"}', b'{"token":"\xff"}']),
        )
    )  # fmt: skip
    if draw(st.booleans()):
        return gzip.compress(body)
    return body


@dataclass(frozen=True)
class Hostile:
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def wire(self) -> bytes:
        head = [self.method + b" " + self.target + b" HTTP/1.1", b"Host: gateway"]
        head += [name + b": " + value for name, value in self.headers]
        head.append(b"Content-Length: %d" % len(self.body))
        return b"\r\n".join(head) + b"\r\n\r\n" + self.body


hostile_requests = st.builds(
    Hostile,
    method=st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"G\xffT"]),
    target=st.one_of(targets(), st.just(b"/providers/gamegate/balance")),
    headers=st.lists(
        st.tuples(header_name.map(lambda name: name if isinstance(name, bytes) else name.encode()),
                  header_value),
        max_size=8,
    ),
    body=bodies(),
)  # fmt: skip

_STATUS = re.compile(rb"\AHTTP/1\.[01] (\d{3}) ")


def _exchange(gateway: LiveGateway, request: Hostile) -> bytes:
    """Send one request on a fresh connection; read until one answer is complete (by its
    Content-Length) or the server closes."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=ANSWER_TIMEOUT_S) as sock:
        with contextlib.suppress(ConnectionError):  # refused mid-send: the answer may be in
            sock.sendall(request.wire())
        received = b""
        while not _complete(received) and (chunk := _recv(sock)):
            received += chunk
    return received


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65_536)
    except ConnectionResetError:
        return b""


def _complete(received: bytes) -> bool:
    head, separator, body = received.partition(b"\r\n\r\n")
    if not separator:
        return False
    length = re.search(rb"(?im)^content-length: *(\d+)\r?$", head)
    return length is not None and len(body) >= int(length.group(1))


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(request=hostile_requests)
def test_hostile_requests_get_an_answer_never_a_5xx_and_never_a_secret(
    live_gateway: LiveGateway, request: Hostile
) -> None:
    answer = _exchange(live_gateway, request)
    status = _STATUS.match(answer)
    assert status is not None, (request, answer[:200])
    assert int(status.group(1)) < 500, (request, answer[:500])
    for secret in live_gateway.secrets:
        assert secret not in answer, request


def test_no_log_line_holds_a_secret_after_the_hostile_run(live_gateway: LiveGateway) -> None:
    """Runs after the property test in this module (same live gateway, same log)."""
    log = live_gateway.log_bytes()
    assert log.count(b"\n") > 0
    for secret in live_gateway.secrets:
        assert secret not in log
    assert b'"status":5' not in log
