"""`gamegate conformance <instance> --url URL`: a protocol's conformance script against a wallet.

The settings say which protocol the instance speaks (that picks the script in
`adapters.conformance.scripts`) and which options it has (the script adapts to them).
The provider's half of the secrets comes from `<data_dir>/secrets/<instance>/`, where
demo mode writes every secret of the instance, `provider_*` halves included; `--secret
NAME=FILE` adds or replaces one. The cases run over HTTP (`HttpTransport`) against any
wallet that claims the protocol, this gateway or another.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.conformance.http_transport import HttpTransport
from adapters.conformance.kit import Case, CaseResult, ScriptContext, render_results, run_cases
from adapters.conformance.scripts import SCRIPTS
from gateway.credentials import SECRET_FILE_BYTES_MAX
from gateway.settings import Settings, SettingsError

__all__ = [
    "ConformanceRun",
    "UsageError",
    "load_script_secrets",
    "run_conformance",
    "select_cases",
]

SECRET_FILES_MAX = 64
"""More files than this in one instance's secrets directory is not a secrets directory."""


class UsageError(Exception):
    """A flag that cannot work (bad `--secret`, no matching case, no secrets at all)."""


@dataclass(frozen=True, slots=True)
class ConformanceRun:
    """What to run: the flags of `gamegate conformance`."""

    instance: str
    url: str
    operator_key: str
    secrets: Sequence[str] = ()
    """`NAME=PATH` overrides, as given on the command line."""
    callback_url: str | None = None
    case: str = ""
    """Only cases whose name contains this (case-insensitive)."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ConformanceRun:
        return cls(
            instance=args.instance,
            url=args.url,
            operator_key=args.operator_key,
            secrets=tuple(args.secret),
            callback_url=args.callback_url,
            case=args.case,
        )


def run_conformance(
    settings: Settings, run: ConformanceRun, out: Callable[[str], None] = print
) -> bool:
    """Run the instance's script, print the report; True if every case passed."""
    protocol = _protocol(settings, run.instance)
    cases = select_cases(protocol, run.case)
    secrets = load_script_secrets(settings, run.instance, _secret_flags(run.secrets))
    for url in (run.url, run.callback_url):
        if url is not None and not url.startswith(("http://", "https://")):
            raise UsageError(f"--url/--callback-url: expected an http(s) URL, got {url!r}")
    where = run.callback_url or f"{run.url.rstrip('/')}/providers/{run.instance}"
    out(f"conformance: {len(cases)} {protocol} cases against {where}")
    results = asyncio.run(_run(settings, run, cases, secrets))
    out(render_results(results))
    return all(result.passed for result in results)


def _protocol(settings: Settings, instance: str) -> str:
    provider = settings.providers.get(instance)
    if provider is None:
        known = ", ".join(sorted(settings.providers)) or "none configured"
        raise SettingsError(f"providers.{instance}: no such provider instance (known: {known})")
    return provider.protocol


def select_cases(protocol: str, case_filter: str = "") -> list[Case]:
    """The protocol's cases whose names contain `case_filter` (all if empty)."""
    script = SCRIPTS.get(protocol)
    if script is None:
        known = ", ".join(sorted(SCRIPTS))
        raise UsageError(f"no conformance script for protocol {protocol!r} (scripts: {known})")
    wanted = case_filter.casefold()
    cases = [case for case in script if wanted in case.name.casefold()]
    if not cases:
        raise UsageError(f"--case {case_filter!r}: no {protocol} case name contains it")
    return cases


async def _run(
    settings: Settings, run: ConformanceRun, cases: Sequence[Case], secrets: Mapping[str, bytes]
) -> list[CaseResult]:
    transport = HttpTransport(run.url, callback_base_url=run.callback_url)
    options = dict(settings.providers[run.instance].options)
    try:
        return await run_cases(
            cases,
            lambda: ScriptContext(run.instance, secrets, options, transport, run.operator_key),
        )
    finally:
        await transport.aclose()


def _secret_flags(flags: Sequence[str]) -> dict[str, Path]:
    overrides: dict[str, Path] = {}
    for flag in flags:
        name, separator, path = flag.partition("=")
        if not separator or not name or not path:
            raise UsageError(f"--secret {flag!r}: expected NAME=PATH")
        overrides[name] = Path(path).expanduser()
    return overrides


def load_script_secrets(
    settings: Settings, instance: str, overrides: Mapping[str, Path] | None = None
) -> dict[str, bytes]:
    """Every file in `<data_dir>/secrets/<instance>/` by file name, then the overrides."""
    directory = settings.data_dir / "secrets" / instance
    overrides = overrides or {}
    if not directory.is_dir() and not overrides:
        raise UsageError(
            f"no provider secrets: {directory} does not exist (demo mode writes it); "
            "pass --secret NAME=FILE"
        )
    files = sorted(p for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []
    if len(files) > SECRET_FILES_MAX:
        raise UsageError(f"{directory} holds more than {SECRET_FILES_MAX} files")
    paths = {path.name: path for path in files} | dict(overrides)
    return {name: _read_secret(path) for name, path in paths.items()}


def _read_secret(path: Path) -> bytes:
    """The file's bytes without trailing newlines, as the gateway reads its own secrets."""
    try:
        with path.open("rb") as file:
            data = file.read(SECRET_FILE_BYTES_MAX + 1)
    except OSError as exc:
        raise UsageError(f"cannot read secret file {path}: {exc.strerror}") from exc
    if len(data) > SECRET_FILE_BYTES_MAX:
        raise UsageError(f"secret file {path} is larger than {SECRET_FILE_BYTES_MAX} bytes")
    return data.rstrip(b"\r\n")
