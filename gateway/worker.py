"""A worker's side of `gamegate serve --workers N` (the supervisor is `gateway.workers`).

A worker is a whole gateway, served by `gateway.cli` like a single process. It differs in
four small ways, all here:

- it listens with SO_REUSEPORT, on the port its supervisor reserved;
- it reports to the supervisor when it listens, and with which wallet, over the socket
  it inherited (`--supervisor-fd`): the supervisor prints one start-up line for all;
- it stops, as on SIGTERM, when that socket reports end of file: the supervisor is gone
  (even by SIGKILL), and no worker may serve on without it;
- every answer names the worker that gave it (`X-Gamegate-Worker: <index>`), and
  `/healthz` says its index and process id, so one can tell which of them answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass

from aiohttp import web

from gateway.stop_signals import stop_at_end_of_file

__all__ = ["READY", "WORKER", "WORKER_HEADER", "Worker", "WorkerInfo"]

WORKER_HEADER = "X-Gamegate-Worker"
READY = b"ready "
"""A worker's one message to its supervisor: `ready <wallet description>\\n`."""


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """Which worker this is, for `/healthz`."""

    index: int
    pid: int


WORKER = web.AppKey("worker", WorkerInfo)
"""Set on a worker's applications (the gateway and its metrics port)."""


@dataclass(frozen=True, slots=True)
class Worker:
    """This process as worker `index` of a supervisor, linked to it by `link`."""

    index: int
    link: socket.socket

    @classmethod
    def attach(cls, index: int, supervisor_fd: int) -> Worker:
        """The worker started with `--worker-index index --supervisor-fd supervisor_fd`."""
        link = socket.socket(fileno=supervisor_fd)
        link.set_inheritable(False)  # nothing this worker starts may keep the link open
        link.setblocking(False)  # the event loop's from here on
        return cls(index, link)

    @property
    def info(self) -> WorkerInfo:
        return WorkerInfo(self.index, os.getpid())

    def mark_answers(self, app: web.Application) -> None:
        """Name this worker on every answer of `app` (before it is started)."""
        app[WORKER] = self.info
        value = str(self.index)

        async def mark(request: web.BaseRequest, response: web.StreamResponse) -> None:
            response.headers[WORKER_HEADER] = value

        app.on_response_prepare.append(mark)

    async def report_ready(self, wallet: str) -> None:
        """Tell the supervisor this worker listens."""
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(self.link, READY + wallet.encode() + b"\n")

    def stop_with_supervisor(self, stop: asyncio.Event) -> contextlib.AbstractContextManager[None]:
        """Set `stop` when the supervisor's end of the link closes (it exited or died):
        the supervisor sends nothing on it, so readable means gone."""
        return stop_at_end_of_file(self.link.fileno(), stop)
