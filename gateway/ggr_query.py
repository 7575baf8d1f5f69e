"""A GGR report's question, from the CLI's flags or the API's query string, parsed strictly.

Both ask the same way (`--from`/`from`, `--to`/`to`, `--by`/`by`), so both parse here:
days are `YYYY-MM-DD` and nothing else, the range is at most `GGR_DAYS_MAX` days, and
`by` is a comma-separated subset of `GGR_DIMENSIONS` without repeats, in output order,
with `currency` added last when missing (an amount means nothing without its currency).
"""

from __future__ import annotations

import re
from datetime import date

from core.errors import InvalidRequest
from core.reporting.store import GGR_DIMENSIONS, GgrQuery

__all__ = ["GGR_DAYS_MAX", "ggr_query"]

GGR_DAYS_MAX = 366
"""A year, leap day included: what a regulator's annual figure needs, and a bound on the
work one request can ask of the reporting store."""
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""With `fullmatch`: `date.fromisoformat` also takes `20270115` and `2027-W03-5`."""
_BY_TEXT_CHARS_MAX = 200


def ggr_query(first_text: str | None, last_text: str | None, by_text: str | None) -> GgrQuery:
    """The query, or `InvalidRequest` naming the parameter and what it must be."""
    first_day = _day(first_text, "from")
    last_day = _day(last_text, "to")
    if last_day < first_day:
        raise InvalidRequest("to: must not be before from")
    days = (last_day - first_day).days + 1
    if days > GGR_DAYS_MAX:
        raise InvalidRequest(f"from, to: at most {GGR_DAYS_MAX} days (asked for {days})")
    if by_text is None:
        return GgrQuery(first_day, last_day)  # its default: day, brand, market, provider, currency
    return GgrQuery(first_day, last_day, _by(by_text))


def _day(text: str | None, name: str) -> date:
    if text is None:
        raise InvalidRequest(f"{name}: required, a UTC day as YYYY-MM-DD")
    if not _DAY.fullmatch(text):
        raise InvalidRequest(f"{name}: a UTC day as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{name}: {text} is not a day of the calendar") from None


def _by(text: str) -> tuple[str, ...]:
    allowed = ", ".join(GGR_DIMENSIONS)
    names = text.split(",") if len(text) <= _BY_TEXT_CHARS_MAX else []
    if not names or any(name not in GGR_DIMENSIONS for name in names):
        raise InvalidRequest(f"by: comma-separated names from {allowed}")
    if len(set(names)) != len(names):
        raise InvalidRequest("by: each name at most once")
    if "currency" not in names:
        names.append("currency")
    return tuple(names)
