"""The register a market's settings describe: `open_register(kind, ...)`.

The gateway hands over the settings' values and never names an adapter class. `http`
needs the caller's shared `httpx.AsyncClient` (it owns and closes it) and the API key;
`file` needs a path. Caching is the caller's (`core.registers.CachedRegister`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import httpx

from adapters.registers.file_register import FileRegister
from adapters.registers.http_register import HttpRegister
from core.registers import ExclusionRegister

__all__ = ["RegisterKind", "open_register"]

RegisterKind = Literal["http", "file"]


def open_register(
    kind: RegisterKind,
    *,
    name: str,
    client: httpx.AsyncClient | None = None,
    url: str = "",
    api_key: str = "",
    timeout_s: float = 2.0,
    retries_max: int = 1,
    path: Path | None = None,
) -> ExclusionRegister:
    """Raises `ValueError` when a value the kind needs is missing. Connects to nothing."""
    if kind == "http":
        if client is None or not url or not api_key:
            raise ValueError(
                f"register {name}: an http register needs a client, a url and an api key"
            )
        return HttpRegister(
            client,
            name=name,
            url=url,
            api_key=api_key,
            timeout_s=timeout_s,
            retries_max=retries_max,
        )
    if path is None:
        raise ValueError(f"register {name}: a file register needs a path")
    return FileRegister(path, name=name)
