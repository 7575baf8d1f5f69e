"""How `gamegate serve` and `gamegate relay` are told to stop: SIGINT and SIGTERM, or the
end of file of a link to the process they serve (a worker's supervisor, the relay
child's parent), as an event."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator

__all__ = ["stop_at_end_of_file", "stop_on_signals"]

_READ_BYTES = 4_096

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM while the block runs (the loop's handlers are
    removed after it)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in _STOP_SIGNALS:
        loop.add_signal_handler(number, stop.set)
    try:
        yield stop
    finally:
        for number in _STOP_SIGNALS:
            loop.remove_signal_handler(number)


@contextlib.contextmanager
def stop_at_end_of_file(fd: int, stop: asyncio.Event) -> Iterator[None]:
    """Set `stop` when `fd` reports end of file while the block runs: a pipe or socket
    whose other end never writes, held by another process, so that its closing means
    that process exited or died, even by SIGKILL. `fd` is made non-blocking."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, _READ_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)
    try:
        yield
    finally:
        loop.remove_reader(fd)
