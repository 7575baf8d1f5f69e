"""structlog, configured once by the CLI: one JSON object per line on stdout (orjson).

Nothing here runs at import. Tests do not call `configure_logging`; they read events
with `structlog.testing.capture_logs`.
"""

from __future__ import annotations

import logging
import sys
from typing import BinaryIO

import orjson
import structlog

__all__ = ["configure_logging"]

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
        logger_factory=structlog.BytesLoggerFactory(stream or sys.stdout.buffer),
        cache_logger_on_first_use=True,
    )
