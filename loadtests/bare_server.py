"""The ceiling of the HTTP stack: an aiohttp server that only reads the body and answers.

Same stack and settings as `gamegate serve` where they touch the hot path: aiohttp's
`AppRunner` with `access_log=None`, listen backlog 4,096, uvloop by default (the
gateway's `server.uvloop = true`), `asyncio.Runner` with the same loop factory. Every
request, any method and path, gets HTTP 200 `{"status":"ok"}` (orjson), so the pool of
provider callbacks that `bench_gateway.py` sends to the gateway can be sent here
unchanged. The gateway's throughput divided by this one's is the share of the stack's
capacity that the gateway keeps.

    python -m loadtests.bare_server --port 8089 [--loop asyncio] [--workers N]

`--workers N` (N > 1) runs N such processes on one port with SO_REUSEPORT, as
`gamegate serve --workers N` does: this process picks the port (a bound, not listening
SO_REUSEPORT socket holds it), starts the workers, prints one line once every worker
listens, and forwards SIGTERM/SIGINT to them.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence

import orjson
from aiohttp import web

__all__ = ["build_app", "main"]

LISTEN_BACKLOG = 4_096  # as gateway/serving.py
REPLY = orjson.dumps({"status": "ok"})


async def _answer(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=REPLY, content_type="application/json")


def build_app() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _answer)
    return app


async def _serve(host: str, port: int, *, reuse_port: bool = False) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=LISTEN_BACKLOG, reuse_port=reuse_port)
        await site.start()
        print(f"bare listening on http://{host}:{runner.addresses[0][1]}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def _loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if loop == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def _supervise(host: str, port: int, workers: int, loop: str) -> int:
    """N worker processes on one SO_REUSEPORT port; stop them on SIGTERM/SIGINT."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, port))
    port = holder.getsockname()[1]
    command = [sys.executable, "-m", "loadtests.bare_server", "--host", host, "--port", str(port)]
    command += ["--loop", loop, "--reuse-port"]
    children = [subprocess.Popen(command, stdout=subprocess.PIPE) for _ in range(workers)]
    stop = [False]

    def forward(number: int, _frame: object) -> None:
        stop[0] = True
        for child in children:
            if child.poll() is None:
                child.send_signal(number)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        assert child.stdout is not None
        child.stdout.readline()  # its own listening line
    print(f"bare listening on http://{host}:{port} with {workers} workers", flush=True)
    codes = [child.wait() for child in children]
    holder.close()
    return 0 if stop[0] and all(code in (0, -signal.SIGTERM) for code in codes) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bare aiohttp endpoint (the stack's ceiling)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--workers", type=int, default=1, help="processes on one port")
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workers > 1:
        return _supervise(args.host, args.port, args.workers, args.loop)
    with asyncio.Runner(loop_factory=_loop_factory(args.loop)) as runner:
        runner.run(_serve(args.host, args.port, reuse_port=args.reuse_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
