"""The reporting socket's wire: JSON (orjson) to and from the `core.reporting` types.

One module for both ends (`adapters.reporting.socket_client` asks,
`gateway.reporting_server` answers), so they cannot drift apart. Records and rows go as
JSON arrays in their NamedTuple's field order (orjson takes no tuple subclass), days as
`YYYY-MM-DD`: compact, and a field added to a type shows up on both sides at once.
Request records, the one high-volume call (a batch of up to `requests_batch_max` every
flush), go as columns: one array per field, each type-checked in one pass and zipped
back into records in C, about a third of the child's CPU per record of row-by-row
decoding (`loadtests/RESULTS.md`, session 8).
Decoding checks the shape and raises `ValueError` for anything else; amounts stay
integers (orjson never makes a float of an integer).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson

from core.reporting.events import RequestRecord
from core.reporting.store import GgrQuery, GgrRow, OpenRound, OpenRoundsQuery

__all__ = [
    "decode_ggr_query",
    "decode_ggr_rows",
    "decode_open_rounds",
    "decode_open_rounds_query",
    "decode_requests",
    "encode_ggr_query",
    "encode_ggr_rows",
    "encode_open_rounds",
    "encode_open_rounds_query",
    "encode_requests",
]

_REQUEST_TYPES = tuple(int if name in {"at_us", "status", "latency_us"} else str
                       for name in RequestRecord._fields)  # fmt: skip
_OPEN_ROUND_TYPES = tuple(int if name in {"open_bets"} or name.endswith(("_us", "_minor"))
                          else str for name in OpenRound._fields)  # fmt: skip


def encode_requests(records: Sequence[RequestRecord]) -> bytes:
    """`[[at_us, ...], [request_id, ...], ...]`: one array per field."""
    if not records:
        return orjson.dumps([[] for _ in RequestRecord._fields])
    return orjson.dumps(list(zip(*records, strict=True)))


def decode_requests(body: bytes) -> list[RequestRecord]:
    columns = _list(orjson.loads(body))
    if len(columns) != len(_REQUEST_TYPES):
        raise ValueError(f"expected {len(_REQUEST_TYPES)} columns of request records")
    for column, kind in zip(columns, _REQUEST_TYPES, strict=True):
        values = _list(column)
        if len(values) != len(columns[0]) or not all(type(v) is kind for v in values):
            raise ValueError(f"expected equal columns of {kind.__name__} (bool is no int)")
    return list(map(RequestRecord._make, zip(*columns, strict=True)))


def encode_ggr_query(query: GgrQuery) -> bytes:
    return orjson.dumps(
        {"first_day": query.first_day.isoformat(), "last_day": query.last_day.isoformat(),
         "by": list(query.by)}
    )  # fmt: skip


def decode_ggr_query(body: bytes) -> GgrQuery:
    value = _object(orjson.loads(body))
    by = _list(value.get("by"))
    if not all(isinstance(name, str) for name in by):
        raise ValueError("by: a list of names")
    return GgrQuery(_day(value.get("first_day")), _day(value.get("last_day")), tuple(by))


def encode_ggr_rows(rows: Sequence[GgrRow]) -> bytes:
    return orjson.dumps([list(row) for row in rows])


def decode_ggr_rows(body: bytes) -> list[GgrRow]:
    rows = []
    for item in _list(orjson.loads(body)):
        fields = _list(item)
        if len(fields) != len(GgrRow._fields) or not all(
            isinstance(v, str) for v in _list(fields[0])
        ):
            raise ValueError("a GGR row: [keys, counts and amounts]")
        amounts = _row(fields[1:], (int,) * (len(GgrRow._fields) - 1))
        rows.append(GgrRow(tuple(fields[0]), *amounts))
    return rows


def encode_open_rounds_query(query: OpenRoundsQuery) -> bytes:
    return orjson.dumps(
        {"stale_before_us": query.stale_before_us, "provider": query.provider,
         "rows_max": query.rows_max}
    )  # fmt: skip


def decode_open_rounds_query(body: bytes) -> OpenRoundsQuery:
    value = _object(orjson.loads(body))
    stale_before_us, provider, rows_max = _row(
        [value.get("stale_before_us"), value.get("provider"), value.get("rows_max")],
        (int, str, int),
    )
    if rows_max < 0:
        raise ValueError("rows_max: not negative")
    return OpenRoundsQuery(stale_before_us, provider, rows_max)


def encode_open_rounds(rounds: Sequence[OpenRound]) -> bytes:
    return orjson.dumps([list(row) for row in rounds])


def decode_open_rounds(body: bytes) -> list[OpenRound]:
    return [OpenRound(*_row(item, _OPEN_ROUND_TYPES)) for item in _list(orjson.loads(body))]


def _row(value: Any, types: tuple[type, ...]) -> list[Any]:
    """`value` as a list of exactly `types` (bool is no int here)."""
    fields = _list(value)
    if len(fields) != len(types) or not all(
        type(field) is kind for field, kind in zip(fields, types, strict=True)
    ):
        raise ValueError(f"expected {len(types)} fields of {[t.__name__ for t in types]}")
    return fields


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("expected a JSON array")
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _day(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("a day: YYYY-MM-DD")
    return date.fromisoformat(value)
