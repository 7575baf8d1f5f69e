"""The gateway's SQLite files are their owner's only: the data directory 0700, the wallet
and the catalogue files and their WAL, shared-memory and journal files 0600.

The wallet holds live session state and players' dates of birth. Modes are set explicitly
rather than through the umask, which is process-wide and belongs to whoever starts
the gateway. SQLite creates the `-wal` and `-shm` files with the mode of the database
file, so creating that one 0600 before SQLite opens it covers them; files left with
looser modes (by an older build, a copy, a crash) are tightened each time the store
opens its file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import structlog

__all__ = ["DIRECTORY_MODE", "FILE_MODE", "prepare_private_files", "tighten_private_files"]

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")

_log = structlog.get_logger("gamegate.sqlite")


def prepare_private_files(path: Path) -> None:
    """Before SQLite opens `path`: its directory exists 0700 and the file exists 0600."""
    directory = path.parent
    directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)  # umask only clears bits
    _tighten(directory, DIRECTORY_MODE)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    os.close(descriptor)
    tighten_private_files(path)


def tighten_private_files(path: Path) -> None:
    """Clear the group and other bits of the file and of its companions present."""
    for suffix in ("", *SIDECAR_SUFFIXES):
        _tighten(path.with_name(path.name + suffix), FILE_MODE)


def _tighten(path: Path, allowed: int) -> None:
    """Drop the permission bits of `path` outside `allowed`.

    A directory shared on purpose (sticky, such as /tmp) or owned by another user is
    left as it is, with a warning: it is not the gateway's to change.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(status.st_mode)
    if not mode & 0o777 & ~allowed:
        return
    if status.st_uid != os.geteuid() or mode & stat.S_ISVTX:
        _log.warning("file_mode_too_open", path=str(path), mode=oct(mode))
        return
    tightened = mode & ~(0o777 & ~allowed)  # special bits (setgid) are kept
    os.chmod(path, tightened)
    _log.warning("file_mode_tightened", path=str(path), mode=oct(tightened), was=oct(mode))
