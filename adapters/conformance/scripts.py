"""Every protocol's conformance script: protocol name -> its cases.

`gamegate conformance <instance>` picks the script by the instance's protocol, and
`tests/gateway/test_conformance.py` runs each one over HTTP through the whole gateway.
A new protocol's script is one module here plus one entry below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from adapters.conformance import betby, betsoft, evolution, gamegate, hub88, pragmatic, softswiss
from adapters.conformance.kit import Case

__all__ = ["SCRIPTS"]

SCRIPTS: Mapping[str, Sequence[Case]] = MappingProxyType(
    {
        "betby": tuple(betby.CASES),
        "betsoft": tuple(betsoft.CASES),
        "evolution": tuple(evolution.CASES),
        "gamegate": tuple(gamegate.CASES),
        "hub88": tuple(hub88.CASES),
        "pragmatic": tuple(pragmatic.CASES),
        "softswiss": tuple(softswiss.CASES),
    }
)
