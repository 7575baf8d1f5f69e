"""structlog, configured once by the CLI: one JSON object per line on stdout (orjson).

Lines are buffered and written at most every `LOG_FLUSH_INTERVAL_S` (or when the buffer
fills, and at exit): one write per request line would cost a system call on the hot
path. A crash can lose the last fraction of a second of log lines, never wallet data.

Nothing here runs at import. Tests do not call `configure_logging`; they read events
with `structlog.testing.capture_logs`.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from typing import BinaryIO

import orjson
import structlog

__all__ = ["BufferedLineStream", "configure_logging"]

LOG_FLUSH_INTERVAL_S = 0.2
LOG_BUFFER_BYTES_MAX = 256 * 1024

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(level: str, *, stream: BinaryIO | None = None) -> None:
    """JSON lines with a UTC timestamp and the level; context vars merged first."""
    assert level in _LEVELS, level
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.BytesLoggerFactory(
            BufferedLineStream(stream or sys.stdout.buffer)  # type: ignore[arg-type]  # -- file-like
        ),
        cache_logger_on_first_use=True,
    )


class BufferedLineStream:
    """A file-like sink for structlog that batches lines into few writes.

    structlog's `BytesLogger` calls `write` then `flush` for every line; here `flush`
    only writes when the buffer is large or the interval has passed, and a daemon
    thread flushes whatever is left every interval. Thread-safe (the wallet writer
    thread logs too).
    """

    def __init__(
        self,
        target: BinaryIO,
        *,
        flush_interval_s: float = LOG_FLUSH_INTERVAL_S,
        buffer_bytes_max: int = LOG_BUFFER_BYTES_MAX,
    ) -> None:
        assert flush_interval_s > 0
        assert buffer_bytes_max > 0
        self._target = target
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._buffer_bytes_max = buffer_bytes_max
        self._flusher = threading.Thread(
            target=self._flush_periodically, args=(flush_interval_s,), daemon=True,
            name="gamegate-log-flush",
        )  # fmt: skip
        self._flusher.start()
        atexit.register(self.flush_now)

    def write(self, data: bytes) -> None:
        with self._lock:
            self._buffer += data

    def flush(self) -> None:
        if len(self._buffer) >= self._buffer_bytes_max:
            self.flush_now()

    def flush_now(self) -> None:
        with self._lock:
            if not self._buffer:
                return
            data = bytes(self._buffer)
            self._buffer.clear()
            self._target.write(data)
            self._target.flush()

    def _flush_periodically(self, interval_s: float) -> None:
        stop = threading.Event()
        while not stop.wait(interval_s):
            try:
                self.flush_now()
            except (OSError, ValueError):  # stdout closed at shutdown: nothing left to do
                return
