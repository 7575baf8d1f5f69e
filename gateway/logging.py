"""structlog, configured once by the CLI: one JSON object per line on stdout (orjson).

Lines are queued and written at most every `LOG_FLUSH_INTERVAL_S` (or once
`LOG_BUFFER_LINES_MAX` wait, and at exit): one write per request line would cost a
system call on the hot path. A crash can lose the last fraction of a second of log
lines, never wallet data.

The request being handled is one context variable (`REQUEST_ID`, set by the middleware),
which a processor adds to every line logged meanwhile: setting and resetting it costs a
fifth of structlog's `bind_contextvars` and `reset_contextvars`, on every request.

The per-request line is the one written for every request, so `log_request` renders it
with orjson straight into the same buffer once `configure_logging` has run: the same JSON
object the structlog chain would make, without its processor calls and dict copies.

Exceptions are rendered without frame locals (a local may hold a key, a body or a
token), and every structlog line passes a `SecretRedactor` last. Records of the standard
`logging` module (aiohttp's server, asyncio) are bridged into the same JSON lines.

Nothing here runs at import. Tests do not call `configure_logging` (or undo it with
`reset_logging`); they read events with `structlog.testing.capture_logs`.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, BinaryIO

import orjson
import structlog
from structlog.tracebacks import ExceptionDictTransformer

from gateway.redaction import SecretRedactor

__all__ = [
    "REQUEST_ID",
    "BufferedLineStream",
    "UtcStamps",
    "configure_logging",
    "flush_logging",
    "log_request",
    "reset_logging",
    "write_log_line",
]

LOG_FLUSH_INTERVAL_S = 0.2
LOG_BUFFER_LINES_MAX = 1_024
"""Lines queued before a `flush` writes them (request lines are ~250 bytes: ~256 KiB)."""

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "gamegate_request_id", default=None
)
"""The id of the request this task is handling; in every line logged meanwhile."""

_http_log = structlog.get_logger("gamegate.http")


def _add_request_id(
    logger: object, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The current request's id, unless the event names one itself."""
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


def _request_line_via_structlog(fields: dict[str, Any]) -> None:
    _http_log.info("request", **fields)


def _no_request_line(fields: dict[str, Any]) -> None:
    """Info lines are off: nothing to render."""


_sink: BufferedLineStream | None = None
"""The configured sink of every line; None until `configure_logging`."""
_write_request_line: Callable[[dict[str, Any]], None] = _request_line_via_structlog
"""structlog until `configure_logging` says where lines go and whether info lines are on."""


def configure_logging(
    level: str, *, stream: BinaryIO | None = None, secrets: Iterable[bytes] = ()
) -> None:
    """JSON lines with a UTC timestamp and the level; context vars merged first.

    `secrets` are the values no line may show (`gateway.credentials.secret_values`).
    """
    global _sink, _write_request_line  # the process's one sink, set once by the CLI
    assert level in _LEVELS, level
    sink = _sink = BufferedLineStream(stream or sys.stdout.buffer)
    if _LEVELS[level] <= logging.INFO:
        _write_request_line = _DirectRequestLines(sink)
    else:
        _write_request_line = _no_request_line
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.ExceptionRenderer(
                ExceptionDictTransformer(show_locals=False, use_rich=False)
            ),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
            _Redact(SecretRedactor(secrets)),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.BytesLoggerFactory(sink),  # type: ignore[arg-type]  # -- file-like
        # Not cached: a module's logger cached at its first line would keep the sink,
        # level and secrets of whichever configuration was current then, and a later
        # `configure_logging` (tests, a second app in one process) would never reach it.
        # An event line costs ~2 µs more; request lines do not go through structlog.
        cache_logger_on_first_use=False,
    )
    _bridge_stdlib_logging(_LEVELS[level])


def flush_logging() -> None:
    """Write out what is buffered now (tests that read the configured stream)."""
    if _sink is not None:
        _sink.flush_now()


def write_log_line(line: bytes) -> None:
    """A whole line another process logged (the relay child: `gateway.relay_process`),
    into this process's stream among its own lines; it is not rendered or redacted again."""
    if not line.endswith(b"\n"):
        line += b"\n"
    sink = _sink
    if sink is None:
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
        return
    sink.write(line)
    sink.flush()


def reset_logging() -> None:
    """Write out what is buffered, then back to structlog's defaults (tests)."""
    global _sink, _write_request_line
    if _sink is not None:
        _sink.flush_now()
    _sink = None
    _write_request_line = _request_line_via_structlog
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StdlibBridge)]:
        root.removeHandler(handler)


def log_request(fields: dict[str, Any]) -> None:
    """The canonical line of one request, at level info (`fields` is consumed)."""
    _write_request_line(fields)


class _Redact:
    """The chain's last processor: the rendered line with every secret replaced."""

    __slots__ = ("_redactor",)

    def __init__(self, redactor: SecretRedactor) -> None:
        self._redactor = redactor

    def __call__(self, logger: object, method: str, rendered: Any) -> bytes:
        assert isinstance(rendered, bytes), "runs after JSONRenderer"
        return self._redactor(rendered)


STDLIB_MESSAGE_CHARS_MAX = 500
"""A bridged record's message is cut here: a library may put a whole request in one."""


def _bridge_stdlib_logging(level: int) -> None:
    """Route `logging` records (aiohttp's server, asyncio) into the structured lines."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_StdlibBridge())
    root.setLevel(level)
    # The gateway writes its own line per request; aiohttp's access lines would double it.
    logging.getLogger("aiohttp.access").setLevel(max(level, logging.WARNING))


class _StdlibBridge(logging.Handler):
    """One JSON line per standard-library record, through the structlog chain.

    The message and the exception's text keep their first line only: aiohttp's parser
    errors append the offending raw header line (a key, a token) after a line break. An
    exception is its type, that first line and `file:line in function` per frame."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().partition("\n")[0][:STDLIB_MESSAGE_CHARS_MAX]
            fields: dict[str, Any] = {"logger": record.name}
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                fields["error_type"] = type(error).__name__
                fields["error"] = str(error).partition("\n")[0][:STDLIB_MESSAGE_CHARS_MAX]
                fields["traceback_frames"] = _frames(record.exc_info[2])
            structlog.get_logger(record.name).log(record.levelno, message, **fields)
        except Exception:  # noqa: BLE001, S110 -- a failure to log cannot be logged; and
            pass  # `handleError` would print the record's arguments (request bytes) to stderr


def _frames(traceback: Any) -> list[str]:
    """`file:line in function` per frame: where it failed, without any value."""
    frames: list[str] = []
    while traceback is not None:
        code = traceback.tb_frame.f_code
        frames.append(f"{code.co_filename}:{traceback.tb_lineno} in {code.co_name}")
        traceback = traceback.tb_next
    return frames


class _DirectRequestLines:
    """Renders a `request` event as `configure_logging`'s chain does, straight to the sink:
    the fields, then `event`, `level` and an ISO UTC `timestamp`. `REQUEST_ID`, which
    other lines get from `_add_request_id`, is one of the fields here already."""

    __slots__ = ("_sink", "_stamp")

    def __init__(self, sink: BufferedLineStream) -> None:
        self._sink = sink
        self._stamp = UtcStamps()

    def __call__(self, fields: dict[str, Any]) -> None:
        fields["event"] = "request"
        fields["level"] = "info"
        fields["timestamp"] = self._stamp(time.time_ns())
        self._sink.write(orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE))
        self._sink.flush()


class UtcStamps:
    """ISO-8601 UTC times as structlog's `TimeStamper(fmt="iso", utc=True)` writes them
    (`datetime.isoformat()` with `Z`: no fraction when the microseconds are 0), from
    nanoseconds since the epoch. The date and time of day are formatted once a second:
    `datetime.now(UTC).isoformat()` costs about 1 µs a request line, this a fifth of it."""

    __slots__ = ("_second",)

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")
        """The last second formatted and its text, replaced whole (threads may share it)."""

    def __call__(self, epoch_ns: int) -> str:
        second, micros = divmod(epoch_ns // 1_000, 1_000_000)
        cached_second, text = self._second
        if second != cached_second:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{micros:06d}Z" if micros else f"{text}Z"


class BufferedLineStream:
    """A file-like sink for structlog that batches lines into few writes.

    structlog's `BytesLogger` calls `write` then `flush` for every line; here `write`
    only queues the line (a deque's append: atomic, no lock, for the event loop and the
    wallet writer thread alike), `flush` writes only once `buffer_lines_max` lines wait,
    and a daemon thread writes whatever waits every interval. Writing the queued lines
    out is serialised, so lines keep their order.
    """

    def __init__(
        self,
        target: BinaryIO,
        *,
        flush_interval_s: float = LOG_FLUSH_INTERVAL_S,
        buffer_lines_max: int = LOG_BUFFER_LINES_MAX,
    ) -> None:
        assert flush_interval_s > 0
        assert buffer_lines_max > 0
        self._target = target
        self._lines: deque[bytes] = deque()
        self._writing = threading.Lock()
        self._buffer_lines_max = buffer_lines_max
        self._flusher = threading.Thread(
            target=self._flush_periodically, args=(flush_interval_s,), daemon=True,
            name="gamegate-log-flush",
        )  # fmt: skip
        self._flusher.start()
        atexit.register(self.flush_now)

    def write(self, data: bytes) -> None:
        self._lines.append(data)

    def flush(self) -> None:
        if len(self._lines) >= self._buffer_lines_max:
            self.flush_now()

    def flush_now(self) -> None:
        with self._writing:
            lines = self._lines
            taken = [lines.popleft() for _ in range(len(lines))]
            if not taken:
                return
            self._target.write(b"".join(taken))
            self._target.flush()

    def _flush_periodically(self, interval_s: float) -> None:
        stop = threading.Event()
        while not stop.wait(interval_s):
            try:
                self.flush_now()
            except (OSError, ValueError):  # stdout closed at shutdown: nothing left to do
                return
