"""Run `gamegate serve` under cProfile, to see where the gateway's CPU goes under load.

cProfile sees one thread per profiler, so two run: the event-loop thread (HTTP, adapters,
service) and the SQLite writer thread (`gamegate-sqlite-writer`). The gateway handles
SIGTERM itself and returns from `main`; then both profiles are written
(`OUT.loop.prof`, `OUT.writer.prof`) with a Markdown summary (`OUT.md`).

    python -m loadtests.profile_server --out var/bench/prof/gateway -- \\
        serve --config config/gamegate.toml --data-dir D --demo --port 0

`--clock cpu` (default) charges each function its thread's CPU time; `wall` also charges
waits (fsync, the GIL). cProfile's own overhead inflates functions that are called often
(by about 2x overall): read the shares, not the absolute seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway import cli
from loadtests._measure import WRITER_THREAD_NAME, profiler, profiling, short_path

__all__ = ["WRITER_THREAD_NAME", "main", "summarize"]


Entry = tuple[int, int, float, float, Any]
"""pstats: (primitive calls, calls, own s, cumulative s, callers)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="gamegate serve under cProfile")
    parser.add_argument("--out", type=Path, required=True, help="path prefix of the outputs")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    parser.add_argument("--top", type=int, default=30, help="functions listed per thread")
    parser.add_argument("gateway_args", nargs=argparse.REMAINDER, help="-- serve ...")
    args = parser.parse_args(argv)
    gateway_args = list(args.gateway_args)
    if gateway_args[:1] == ["--"]:
        del gateway_args[0]
    loop_prof, writer_prof = profiler(args.clock), profiler(args.clock)
    try:
        with profiling(loop_prof, writer_prof):
            status = cli.main(gateway_args)
    finally:
        _write(args.out, {"loop": loop_prof, "writer": writer_prof}, args.top)
    return status


def _write(out: Path, profiles: dict[str, cProfile.Profile], top: int) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    sections: list[str] = []
    for thread, prof in profiles.items():
        path = Path(f"{out}.{thread}.prof")
        try:
            prof.dump_stats(path)
            stats = pstats.Stats(prof)
        except TypeError:  # a profiler that never ran (no writer thread) has no stats
            continue
        sections.append(summarize(f"{thread} thread", stats, top))
    Path(f"{out}.md").write_text("\n\n".join(sections) + "\n")


def summarize(title: str, stats: pstats.Stats, top: int) -> str:
    """Markdown: own time by file, then the top functions by own time and by cumulative."""
    entries: dict[tuple[str, int, str], Entry]
    entries = stats.stats  # type: ignore[attr-defined]  # -- documented, not in typeshed
    total_s = sum(entry[2] for entry in entries.values()) or math.nan
    lines = [f"### {title}: {total_s:.2f} s own time in total", ""]
    lines += ["| own time by area | s | % |", "|---|---|---|"]
    for area, own_s in sorted(by_area(entries).items(), key=lambda item: item[1], reverse=True):
        lines.append(f"| {area} | {own_s:.3f} | {own_s / total_s:.1%} |")
    lines.append("")
    by_file: dict[str, float] = {}
    for (filename, _line, func), entry in entries.items():
        name = short_path(filename) if filename != "~" else func
        by_file[name] = by_file.get(name, 0.0) + entry[2]
    lines += ["| own time by file | s | % |", "|---|---|---|"]
    for name, own_s in sorted(by_file.items(), key=lambda item: item[1], reverse=True)[:20]:
        lines.append(f"| {name} | {own_s:.3f} | {own_s / total_s:.1%} |")
    lines += [
        "",
        "| function (by own time) | calls | own s | cum s | own % |",
        "|---|---|---|---|---|",
    ]
    by_own = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    lines += [_row(key, entry, total_s) for key, entry in by_own]
    ours = [item for item in entries.items() if _is_ours(item[0][0])]
    lines += ["", "| our function (by cumulative) | calls | own s | cum s | cum % |"]
    lines.append("|---|---|---|---|---|")
    by_cum = sorted(ours, key=lambda item: item[1][3], reverse=True)[:top]
    lines += [_row(key, entry, total_s, cumulative=True) for key, entry in by_cum]
    return "\n".join(lines)


AREAS = (
    ("cryptography (RSA)", ("cryptography",)),
    ("logging (structlog)", ("/structlog/", "/logging/")),
    ("metrics (prometheus_client)", ("/prometheus_client/",)),
    ("aiohttp (+multidict, yarl)", ("/aiohttp/", "/multidict/", "/yarl/", "/propcache/")),
    ("asyncio + uvloop", ("/asyncio/", "/uvloop/", "/concurrent/", "/contextlib.py")),
    ("pydantic + orjson", ("pydantic", "orjson")),
    ("hmac + hashlib", ("hmac.py", "_hashlib", "hashlib.py")),
    ("sqlite3 (C calls)", ("sqlite3",)),
    ("gateway/ (middleware, routes, app)", ("/gateway/",)),
    ("adapters/providers/", ("/adapters/providers/", "/adapters/conformance/")),
    ("adapters/stores/", ("/adapters/stores/",)),
    ("core/", ("/core/",)),
)
"""Areas by file path; a C function (file `~`) counts in the area its name names, else in
the area of its callers, in proportion to the time each caller spent in it."""


def by_area(entries: dict[tuple[str, int, str], Entry]) -> dict[str, float]:
    areas: dict[str, float] = {}
    for (filename, _line, func), (_cc, _calls, own_s, _cum_s, callers) in entries.items():
        area = _area(func if filename == "~" else filename)
        if area is not None:
            areas[area] = areas.get(area, 0.0) + own_s
            continue
        for (caller_file, _caller_line, caller_func), edge in callers.items():
            caller_area = _area(caller_func if caller_file == "~" else caller_file)
            name = caller_area or "other (builtins, stdlib)"
            areas[name] = areas.get(name, 0.0) + edge[2]
    return areas


def _area(where: str) -> str | None:
    for area, needles in AREAS:
        if any(needle in where for needle in needles):
            return area
    return None


def _row(
    key: tuple[str, int, str], entry: Entry, total_s: float, *, cumulative: bool = False
) -> str:
    filename, line, func = key
    _primitive, calls, own_s, cum_s, _callers = entry
    where = func if filename == "~" else f"{short_path(filename)}:{line}({func})"
    share = (cum_s if cumulative else own_s) / total_s
    return f"| {where} | {calls} | {own_s:.3f} | {cum_s:.3f} | {share:.1%} |"


def _is_ours(filename: str) -> bool:
    return any(f"/{package}/" in filename for package in ("core", "adapters", "gateway"))


if __name__ == "__main__":
    sys.exit(main())
