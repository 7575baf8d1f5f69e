"""Rows of text as a terminal table, CSV or JSON: the shapes the report commands print.

Cells are already text (amounts formatted by the caller), columns in one fixed order,
lines end in `\\n` alone: the same rows give the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

__all__ = ["FORMATS", "render"]

FORMATS = ("table", "csv", "json")


def render(
    shape: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    about: Mapping[str, Any] | None = None,
) -> str:
    """`rows` in `shape`; JSON is `{**about, "rows": [{column: value}, ...]}`."""
    if shape == "json":
        answer = {**(about or {}), "rows": [dict(zip(columns, row, strict=True)) for row in rows]}
        return orjson.dumps(answer, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()
    if shape == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue()
    lines = [list(columns), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in lines]  # fmt: skip
    if not rows:
        text.append("(no rows)")
    return "\n".join(text) + "\n"
