"""A provider's statement file, parsed strictly: what reconciliation reads from a provider.

CSV, UTF-8, a header line naming the columns (any order; names are case-sensitive):

- `tx_id` the provider's transaction id, as it sent it to the gateway;
- `type` `bet`, `win` or `rollback`;
- `amount` decimal text in major units of `currency` (`12.50`), never negative; for a
  rollback, what it gave back (the reversed amount);
- `currency` ISO 4217 (or a configured extra) code;
- `time` ISO 8601 with an offset or `Z` (`2026-06-01T12:00:00Z`);
- `status` (optional) `ok` or `rolled_back`; absent or empty: `ok`.

Any other column is refused rather than ignored, so a misnamed one cannot silently drop
a check. A file is at most `STATEMENT_BYTES_MAX` bytes. Amounts become integer minor
units exactly (more decimals than the currency has is an error, never rounded).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from core.errors import GatewayError
from core.money import CurrencyTable, minor_from_decimal

__all__ = [
    "STATEMENT_BYTES_MAX",
    "STATEMENT_COLUMNS",
    "STATEMENT_STATUSES",
    "STATEMENT_TYPES",
    "StatementError",
    "StatementRow",
    "parse_statement",
]

STATEMENT_BYTES_MAX = 64 * 1024 * 1024
"""64 MiB: about a million rows, a busy provider's month."""
STATEMENT_COLUMNS = ("tx_id", "type", "amount", "currency", "time")
"""Required; `status` may be added."""
STATEMENT_TYPES = ("bet", "win", "rollback")
STATEMENT_STATUSES = ("ok", "rolled_back")
_FIELD_CHARS_MAX = 256
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class StatementError(ValueError):
    """The file is not a statement this parser accepts; the message names the line."""


class StatementRow(NamedTuple):
    line: int
    """Its line in the file (the header is line 1)."""
    tx_id: str
    type: str
    amount_minor: int
    currency: str
    at_us: int
    status: str


def parse_statement(data: bytes, currencies: CurrencyTable) -> list[StatementRow]:
    """Every row of the file, or `StatementError` for the first bad one."""
    if len(data) > STATEMENT_BYTES_MAX:
        raise StatementError(f"the file is larger than {STATEMENT_BYTES_MAX} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementError("the file is not UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise StatementError("line 1: no header")
        columns = _columns(header)
        rows = [
            _row(reader.line_num, values, columns, currencies)
            for values in reader
            if values  # a blank line
        ]
    except csv.Error as error:
        raise StatementError(f"line {reader.line_num}: {error}") from None
    return rows


def _columns(header: list[str]) -> dict[str, int]:
    unknown = [name for name in header if name not in (*STATEMENT_COLUMNS, "status")]
    if unknown:
        raise StatementError(f"line 1: unknown columns {unknown}")
    if len(set(header)) != len(header):
        raise StatementError("line 1: a column is named twice")
    missing = [name for name in STATEMENT_COLUMNS if name not in header]
    if missing:
        raise StatementError(f"line 1: missing columns {missing}")
    return {name: i for i, name in enumerate(header)}


def _row(
    line: int, values: list[str], columns: dict[str, int], currencies: CurrencyTable
) -> StatementRow:
    if len(values) != len(columns):
        raise StatementError(f"line {line}: {len(values)} fields, the header has {len(columns)}")
    if any(len(value) > _FIELD_CHARS_MAX for value in values):
        raise StatementError(f"line {line}: a field longer than {_FIELD_CHARS_MAX} characters")
    field = {name: values[i] for name, i in columns.items()}
    tx_id, type_, currency = field["tx_id"], field["type"], field["currency"]
    status = field.get("status") or "ok"
    if not tx_id:
        raise StatementError(f"line {line}: tx_id is empty")
    if type_ not in STATEMENT_TYPES:
        raise StatementError(f"line {line}: type must be one of {STATEMENT_TYPES}")
    if status not in STATEMENT_STATUSES:
        raise StatementError(f"line {line}: status must be one of {STATEMENT_STATUSES}")
    if currency not in currencies:
        raise StatementError(f"line {line}: unknown currency {currency!r}")
    try:
        amount_minor = minor_from_decimal(field["amount"], currencies.get(currency))
    except GatewayError as error:
        raise StatementError(f"line {line}: amount {field['amount']!r}: {error}") from None
    return StatementRow(line, tx_id, type_, amount_minor, currency, _at_us(line, field["time"]),
                        status)  # fmt: skip


def _at_us(line: int, text: str) -> int:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise StatementError(f"line {line}: time must be ISO 8601 with an offset or Z")
    return (at - _EPOCH) // timedelta(microseconds=1)
