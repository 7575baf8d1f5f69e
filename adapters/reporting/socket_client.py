"""`ReportingQueries` over a unix socket: the reporting store held by another process.

`gamegate serve` runs the relay as a child process that holds the store
(`gateway.relay_process`) and answers on `<data_dir>/reporting.sock`
(`gateway.reporting_server`); every serve process asks it through this client. The wire
is `adapters.reporting.reporting_wire`. Every call is bounded by `timeout_s` and an
answer by `answer_bytes_max`; a socket that is not there (the child starting, restarting
or gone), a timeout or a refusal raises `StorageUnavailable`, which the request stream
counts as `store_failed` and the report routes answer with 503. Connecting is lazy:
nothing touches the socket before the first call.

Request records alone wait for a process that is still starting: until the first
answer, and for at most `start_wait_s` after the client was made, a failed batch is
tried again every `START_RETRY_S` (in the request stream's background writer, never in a
callback), so a gateway's every start does not drop its first records.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from adapters.reporting.reporting_wire import (
    decode_ggr_rows,
    decode_open_rounds,
    encode_ggr_query,
    encode_open_rounds_query,
    encode_requests,
)
from core.errors import StorageUnavailable
from core.reporting.events import RequestRecord
from core.reporting.store import GgrQuery, GgrRow, OpenRound, OpenRoundsQuery

__all__ = [
    "ANSWER_BYTES_MAX",
    "GGR_PATH",
    "OPEN_ROUNDS_PATH",
    "RELAY_STATS_PATH",
    "REQUESTS_PATH",
    "SocketReporting",
]

REQUESTS_PATH = "/requests"
GGR_PATH = "/ggr"
OPEN_ROUNDS_PATH = "/open-rounds"
RELAY_STATS_PATH = "/relay-stats"
ANSWER_BYTES_MAX = 64 * 1024 * 1024
"""The largest answer read: a GGR report the routes accept is ~3 MB, open rounds ~5 MB."""
START_RETRY_S = 0.1
_JSON = {"Content-Type": "application/json"}


class SocketReporting:
    """The reporting store at `socket_path`, as far as `gamegate serve` needs it."""

    def __init__(
        self,
        socket_path: Path,
        *,
        timeout_s: float,
        answer_bytes_max: int = ANSWER_BYTES_MAX,
        start_wait_s: float = 0.0,
    ) -> None:
        self._socket_path = socket_path
        self._start_deadline_s = time.monotonic() + start_wait_s
        self._answered = False
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._answer_bytes_max = answer_bytes_max
        self._session: aiohttp.ClientSession | None = None

    def describe(self) -> str:
        return f"reporting via {self._socket_path}"

    async def add_requests(self, requests: Sequence[RequestRecord]) -> None:
        body = encode_requests(requests)
        while True:
            try:
                await self._call("POST", REQUESTS_PATH, body)
            except StorageUnavailable:
                if self._answered or time.monotonic() >= self._start_deadline_s:
                    raise
                await asyncio.sleep(START_RETRY_S)
            else:
                return

    async def ggr(self, query: GgrQuery) -> list[GgrRow]:
        return decode_ggr_rows(await self._call("POST", GGR_PATH, encode_ggr_query(query)))

    async def open_rounds(self, query: OpenRoundsQuery) -> list[OpenRound]:
        body = encode_open_rounds_query(query)
        return decode_open_rounds(await self._call("POST", OPEN_ROUNDS_PATH, body))

    async def relay_stats(self) -> dict[str, Any]:
        """The relay's figures in the other process (`gateway.relay_process`)."""
        stats = orjson.loads(await self._call("GET", RELAY_STATS_PATH, None))
        if not isinstance(stats, dict):
            raise StorageUnavailable("the relay's stats are not a JSON object")
        return stats

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _call(self, method: str, path: str, body: bytes | None) -> bytes:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.UnixConnector(path=str(self._socket_path))
            session = self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout
            )
        try:
            async with session.request(
                method, f"http://reporting{path}", data=body, headers=_JSON
            ) as response:
                answer = await self._read(response)
                if response.status != 200:
                    reason = answer[:200].decode(errors="replace")
                    raise StorageUnavailable(
                        f"the reporting process answered {response.status}: {reason}"
                    )
                self._answered = True
                return answer
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise StorageUnavailable(
                f"the reporting process did not answer ({type(error).__name__})"
            ) from None

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        answer = bytearray()
        async for chunk in response.content.iter_chunked(65_536):
            answer += chunk
            if len(answer) > self._answer_bytes_max:
                raise StorageUnavailable(
                    f"the reporting answer is larger than {self._answer_bytes_max} bytes"
                )
        return bytes(answer)
