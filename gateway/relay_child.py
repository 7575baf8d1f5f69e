"""What `gamegate serve` and the relay child it starts agree on: where the socket is, and
how the child gets its settings and sees its parent go.

The parent (`gateway.relay_process`) starts `python -m gateway relay --child` with a pipe
on its stdin and writes one line, the parent's settings as JSON, secrets left out (the
relay needs none): the child's settings are the parent's, whatever flags, environment or
file made them (`--demo` included). The parent then keeps the pipe open and writes
nothing more, so its end of file means the parent is gone, even by SIGKILL: the child
stops as on SIGTERM (`gateway.stop_signals.stop_at_end_of_file` on its stdin).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from gateway.settings import Settings, SettingsError

__all__ = [
    "SOCKET_NAME",
    "read_settings_line",
    "settings_line",
    "socket_path",
]

SOCKET_NAME = "reporting.sock"
SOCKET_PATH_BYTES_MAX = 100
"""A unix socket's path must fit in 108 bytes (`sun_path`), with room to spare."""
SETTINGS_LINE_BYTES_MAX = 4 * 1024 * 1024
_SECRETS = frozenset({"operator_api_keys", "secret_env"})


def socket_path(settings: Settings) -> Path:
    """`<data_dir>/reporting.sock`; a data directory too deep for a socket's path gets
    one in the temporary directory, named by a hash of the data directory."""
    preferred = settings.data_dir / SOCKET_NAME
    if len(os.fsencode(preferred)) <= SOCKET_PATH_BYTES_MAX:
        return preferred
    digest = hashlib.sha256(os.fsencode(settings.data_dir)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"gamegate-{digest}.sock"


def settings_line(settings: Settings) -> bytes:
    """The settings the child is to run with, as one line of JSON, without secrets."""
    return settings.model_dump_json(exclude=set(_SECRETS)).encode() + b"\n"


def read_settings_line(stream: BinaryIO) -> Settings:
    """The settings the parent wrote (`settings_line`); `SettingsError` if there are none.
    Validated as given: no environment or file is read again."""
    line = stream.readline(SETTINGS_LINE_BYTES_MAX + 1)
    if not line.endswith(b"\n"):
        raise SettingsError("--child: no settings line on stdin (it is for gamegate serve)")
    try:
        return Settings.model_validate_json(line)
    except ValueError as error:
        raise SettingsError(f"--child: the settings line is not valid: {error}") from None
