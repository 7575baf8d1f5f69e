"""Whether several gateway processes may use one wallet at once, by its URL's scheme.

The embedded SQLite wallet has exactly one writer: a thread of the process that opened
the file, which group-commits everyone's operations. A second process would be a second
writer, which the store's design (and SQLite 3.40's WAL-reset bug with two writers)
rules out. A Redis wallet is shared by design: every process commits through Redis.

The gateway asks here before it starts more than one worker (`gateway.workers`), so
nothing in `gateway` names a backend. This belongs on `adapters.stores.backend.Backend`
as a field once that settles; until then the one single-process scheme is listed here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["single_process_reason"]

_SINGLE_PROCESS = {
    "sqlite": ("one writer owns the SQLite wallet file; a second process would be a second writer"),
}
"""Scheme -> why only one process may open such a wallet. Unlisted schemes may be shared."""
_EMBEDDED_SCHEME = "sqlite"
"""What an empty `wallet.url` means: the embedded wallet in the data directory."""


def single_process_reason(url: str) -> str | None:
    """Why the wallet `url` names (empty: the embedded default) allows one process only,
    or None if many processes may share it."""
    scheme = urlsplit(url).scheme if url else _EMBEDDED_SCHEME
    return _SINGLE_PROCESS.get(scheme)
