"""`gamegate_csv`: the gateway's own feed as a spreadsheet, one game per row.

A header row names the columns, with `gamegate_json`'s field names (unknown columns
are ignored, an empty cell is an absent field); each row is split into a
`gamegate_json` record and read by the same rules. Cell syntax:

    features, devices, currencies, markets, tags   items separated by `|`
    stakes          EUR:0.10-100.00|GBP:0.10-50.00   (currency:min-max, major units)
    rtp_by_market   GB:94.00|DE:92.00
    images          thumbnail=https://cdn.example/t.png|background=/art/b.png
    demo            true/false, yes/no or 1/0

UTF-8, an optional byte-order mark, commas, RFC 4180 quoting. A CSV feed is always
full (it retires the games it omits): a spreadsheet has no place to say otherwise.
A row with more or fewer cells than the header is refused, as a misquoted cell would
shift values into the wrong columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from adapters.catalogue.feeds.base import FeedContext, FieldError, ParsedFeed, collect_games
from adapters.catalogue.feeds.gamegate_json import game_from_record
from core.catalogue.game import Game
from core.errors import FeedInvalid

__all__ = ["parse_gamegate_csv"]

_ITEM_SEPARATOR = "|"
_LIST_COLUMNS = frozenset({"features", "devices", "currencies", "markets", "tags"})
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def parse_gamegate_csv(body: bytes, context: FeedContext) -> ParsedFeed:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedInvalid(f"the feed is not UTF-8 text: {error}") from error
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise FeedInvalid(f"the feed is not valid CSV: line {reader.line_num}: {error}") from error
    if "code" not in header:
        raise FeedInvalid('the CSV header has no "code" column')

    def build(row: _Row) -> Game:
        if row.cells != len(header):
            raise FieldError("row", f"{row.cells} cells, the header has {len(header)}")
        return game_from_record(_record(row), context)

    records = [_Row(zip(header, row, strict=False), cells=len(row)) for row in rows]
    return ParsedFeed(games=collect_games(records, build, code_field="code"), full=True)


class _Row(dict[str, str]):
    """A row by column name, and how many cells it really had."""

    def __init__(self, items: Iterable[tuple[str, str]], *, cells: int) -> None:
        super().__init__(items)
        self.cells = cells


def _items(cell: str) -> list[str]:
    return [item.strip() for item in cell.split(_ITEM_SEPARATOR) if item.strip()]


def _pairs(cell: str, separator: str, field: str, shape: str) -> list[tuple[str, str]]:
    pairs = []
    for item in _items(cell):
        name, found, value = item.partition(separator)
        if not found or not name.strip() or not value.strip():
            raise FieldError(field, f"{item!r} is not {shape}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _stakes(cell: str) -> dict[str, dict[str, str]]:
    stakes = {}
    for currency, limits in _pairs(cell, ":", "stakes", "CUR:min-max"):
        low, found, high = limits.partition("-")
        if not found:
            raise FieldError("stakes", f"{currency}:{limits!r} is not CUR:min-max")
        stakes[currency] = {"min": low.strip(), "max": high.strip()}
    return stakes


def _record(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for column, raw in row.items():
        cell = raw.strip()
        if not cell:
            continue
        if column in _LIST_COLUMNS:
            record[column] = _items(cell)
        elif column == "stakes":
            record[column] = _stakes(cell)
        elif column == "rtp_by_market":
            record[column] = dict(_pairs(cell, ":", column, "MARKET:rtp"))
        elif column == "images":
            record[column] = dict(_pairs(cell, "=", column, "role=url"))
        elif column == "demo":
            if cell.lower() not in _BOOLEANS:
                raise FieldError(column, f"{cell!r} is not true or false")
            record[column] = _BOOLEANS[cell.lower()]
        else:
            record[column] = cell
    return record
