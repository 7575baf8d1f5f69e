"""Newest-first pages of a player's history: transactions and the account audit trail.

A page is asked for with `limit` and `before` (a seq: the previous page's
`next_before`), and one row more than the limit is fetched to know whether another page
follows. Paging by seq, not by offset, keeps a page stable while new rows arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from aiohttp import web

from gateway.routes.query import query_whole_number

__all__ = ["PageRequest", "page_json", "page_request"]

SEQ_MAX = 2**63 - 1
_Row = TypeVar("_Row")


class PageRequest(NamedTuple):
    limit: int
    before_seq: int | None

    @property
    def rows_to_fetch(self) -> int:
        """One more than shown: whether it comes back says if a next page exists."""
        return self.limit + 1


def page_request(request: web.Request, *, limit_max: int, limit_default: int) -> PageRequest:
    limit = query_whole_number(request, "limit", limit_max) or limit_default
    return PageRequest(limit, query_whole_number(request, "before", SEQ_MAX))


def page_json(
    rows: Sequence[_Row],
    page: PageRequest,
    *,
    seq_of: Callable[[_Row], int],
    render: Callable[[_Row], Any],
) -> dict[str, Any]:
    """`{"items", "next_before"}`: the page's rows rendered, and the seq to ask the next
    page `before` (null: no more)."""
    shown = rows[: page.limit]
    next_before = seq_of(shown[-1]) if len(rows) > page.limit else None
    return {"items": [render(row) for row in shown], "next_before": next_before}
