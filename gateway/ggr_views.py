"""A GGR report's rows as JSON (the API and `--format json`), CSV and a text table.

Amounts appear as in the rest of the operator API (`gateway.views`): a decimal string in
the row's currency (`ggr`) and the exact minor units (`ggr_minor`); the table shows the
decimal strings only. Columns come in one fixed order: the query's `by`, the counts, then
the amounts; CSV lines end in `\\n` alone, so the same data gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from core.money import CurrencyTable, format_minor
from core.reporting.store import GgrQuery, GgrRow
from gateway.views import JsonObject, amounts_json

__all__ = ["AMOUNT_NAMES", "COUNT_NAMES", "ggr_answer", "ggr_csv", "ggr_table"]

COUNT_NAMES = ("bets", "rounds", "active_players")
AMOUNT_NAMES = (
    "stake_real", "stake_bonus", "win_real", "win_bonus", "rollback_real", "rollback_bonus",
    "ggr", "ngr",
)  # fmt: skip


def ggr_answer(query: GgrQuery, rows: Sequence[GgrRow], currencies: CurrencyTable) -> JsonObject:
    return {
        "from": query.first_day.isoformat(),
        "to": query.last_day.isoformat(),
        "by": list(query.by),
        "rows": [_row_json(query, row, currencies) for row in rows],
    }


def ggr_csv(query: GgrQuery, rows: Sequence[GgrRow], currencies: CurrencyTable) -> str:
    """A header line, then one line per row: each amount as decimal text, then minor units."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    amount_columns = [column for name in AMOUNT_NAMES for column in (name, f"{name}_minor")]
    writer.writerow([*query.by, *COUNT_NAMES, *amount_columns])
    for row in rows:
        shown = _row_json(query, row, currencies)
        writer.writerow([shown[column] for column in (*query.by, *COUNT_NAMES, *amount_columns)])
    return out.getvalue()


def ggr_table(query: GgrQuery, rows: Sequence[GgrRow], currencies: CurrencyTable) -> str:
    """Aligned columns for a terminal: keys left, numbers right; `(no rows)` when empty."""
    header = [*query.by, *COUNT_NAMES, *AMOUNT_NAMES]
    lines = [header]
    for row in rows:
        currency = currencies.get(_currency_of(query, row))
        counts = [str(row.bets), str(row.rounds), str(row.active_players)]
        amounts = [format_minor(minor, currency) for minor in _amounts(row)]
        lines.append([*row.keys, *counts, *amounts])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    keys = len(query.by)
    text = [
        "  ".join(
            cell.ljust(width) if i < keys else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]
    if not rows:
        text.append("(no rows)")
    return "\n".join(text) + "\n"


def _row_json(query: GgrQuery, row: GgrRow, currencies: CurrencyTable) -> JsonObject:
    currency = currencies.get(_currency_of(query, row))
    return {
        **dict(zip(query.by, row.keys, strict=True)),
        "bets": row.bets,
        "rounds": row.rounds,
        "active_players": row.active_players,
        **amounts_json(currency, **dict(zip(AMOUNT_NAMES, _amounts(row), strict=True))),
    }


def _currency_of(query: GgrQuery, row: GgrRow) -> str:
    return row.keys[query.by.index("currency")]


def _amounts(row: GgrRow) -> tuple[int, ...]:
    """In `AMOUNT_NAMES` order."""
    return (
        row.stake_real_minor, row.stake_bonus_minor, row.win_real_minor, row.win_bonus_minor,
        row.rollback_real_minor, row.rollback_bonus_minor, row.ggr_minor, row.ngr_minor,
    )  # fmt: skip
