"""The reporting socket's wire (`adapters.reporting.reporting_wire`): every type goes
and comes back equal, and a body of the wrong shape is a `ValueError`."""

from __future__ import annotations

import datetime
from typing import Any

import orjson
import pytest

from adapters.reporting.reporting_wire import (
    decode_ggr_query,
    decode_ggr_rows,
    decode_open_rounds,
    decode_open_rounds_query,
    decode_requests,
    encode_ggr_query,
    encode_ggr_rows,
    encode_open_rounds,
    encode_open_rounds_query,
    encode_requests,
)
from core.reporting.events import RequestRecord
from core.reporting.store import GgrQuery, GgrRow, OpenRound, OpenRoundsQuery


def test_every_type_comes_back_equal() -> None:
    records = [RequestRecord(1, "r1", "POST", "/x", "p", "bet", "ok", 200, 35, "pl")]
    assert decode_requests(encode_requests(records)) == records
    query = GgrQuery(datetime.date(2026, 1, 1), datetime.date(2026, 1, 31), ("day", "currency"))
    assert decode_ggr_query(encode_ggr_query(query)) == query
    rows = [GgrRow(("2026-01-01", "EUR"), 3, 300, 0, 100, 0, 0, 0, 200, 200, 2, 1)]
    assert decode_ggr_rows(encode_ggr_rows(rows)) == rows
    asked = OpenRoundsQuery(123, "prov", 11)
    assert decode_open_rounds_query(encode_open_rounds_query(asked)) == asked
    rounds = [OpenRound("prov", "r1", "pl", "b", "MT", "EUR", "g", 1, 5, 6, 100, 0)]
    assert decode_open_rounds(encode_open_rounds(rounds)) == rounds


@pytest.mark.parametrize(
    "body",
    [b"{}", b"[[1]]", b'[[1, "r", "POST", "/", "p", "o", "ok", true, 1, "x"]]', b"[1.5]"],
)
def test_a_body_of_the_wrong_shape_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match="expected"):
        decode_requests(body)
    with pytest.raises(ValueError, match=r"expected|a GGR row"):
        decode_ggr_rows(body)


_GOOD_COLUMNS: list[list[Any]] = [
    [1],
    ["r"],
    ["POST"],
    ["/"],
    ["p"],
    ["o"],
    ["ok"],
    [200],
    [1],
    ["x"],
]


@pytest.mark.parametrize(
    ("column", "value"),
    [(0, True), (0, 1.5), (1, 7), (7, "200"), (7, False), (9, None)],
)
def test_request_columns_of_the_wrong_type_or_length_are_refused(column: int, value: Any) -> None:
    mangled = [list(values) for values in _GOOD_COLUMNS]
    mangled[column] = [value]
    with pytest.raises(ValueError, match="expected"):
        decode_requests(orjson.dumps(mangled))
    uneven = [list(values) for values in _GOOD_COLUMNS]
    uneven[column] = [*uneven[column], uneven[column][0]]
    with pytest.raises(ValueError, match="expected"):
        decode_requests(orjson.dumps(uneven))
    assert decode_requests(orjson.dumps(_GOOD_COLUMNS)) == [
        RequestRecord(1, "r", "POST", "/", "p", "o", "ok", 200, 1, "x")
    ]


def test_an_empty_batch_goes_both_ways() -> None:
    assert decode_requests(encode_requests([])) == []


def test_a_query_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="month"):
        decode_ggr_query(b'{"first_day": "2026-13-01", "last_day": "2026-01-01", "by": []}')
    with pytest.raises(ValueError, match="rows_max"):
        decode_open_rounds_query(b'{"stale_before_us": 1, "provider": "", "rows_max": -1}')
