"""Open and stale rounds: the question (CLI flags or query string, parsed strictly) and
the answer (JSON rows for the API and `--format json`, text rows for table and CSV).

A round is open while it has a bet with no `rolled_back` event and no `settled` one that
a later `reopened` does not undo (`ReportingStore.open_rounds`); it is stale, and listed,
when its newest open bet is at least `older_than_s` seconds old: a round the provider
never closed, to follow up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.errors import InvalidRequest
from core.money import CurrencyTable, format_minor
from core.reporting.store import OpenRound, OpenRoundsQuery
from gateway.views import JsonObject, amounts_json, iso_utc

__all__ = [
    "OLDER_THAN_S_DEFAULT",
    "OLDER_THAN_S_MAX",
    "OPEN_ROUND_COLUMNS",
    "open_rounds_answer",
    "open_rounds_query",
    "open_rounds_rows",
]

OLDER_THAN_S_DEFAULT = 3_600
"""An hour: far past any game's round, short enough to chase the same day."""
OLDER_THAN_S_MAX = 10 * 366 * 86_400
"""Ten years: a bound, not a policy."""
_PROVIDER = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SECONDS = re.compile(r"[0-9]{1,10}")
OPEN_ROUND_COLUMNS = (
    "provider", "round_id", "player_id", "brand", "market", "currency", "game_id",
    "open_bets", "first_bet_at", "last_bet_at", "age_s", "stake_real", "stake_bonus",
)  # fmt: skip


def open_rounds_query(
    older_than_text: str | None, provider: str | None, now_us: int, rows_max: int
) -> tuple[int, OpenRoundsQuery]:
    """(older_than_s, the store's query), or `InvalidRequest` naming the parameter."""
    older_than_s = OLDER_THAN_S_DEFAULT
    if older_than_text is not None:
        if not _SECONDS.fullmatch(older_than_text) or int(older_than_text) > OLDER_THAN_S_MAX:
            raise InvalidRequest(f"older_than_s: whole seconds from 0 to {OLDER_THAN_S_MAX}")
        older_than_s = int(older_than_text)
    if provider is not None and not _PROVIDER.fullmatch(provider):
        raise InvalidRequest("provider: a provider instance id (1-64 of A-Z a-z 0-9 . _ : -)")
    stale_before_us = now_us - older_than_s * 1_000_000
    return older_than_s, OpenRoundsQuery(stale_before_us, provider or "", rows_max)


def open_rounds_answer(
    older_than_s: int,
    query: OpenRoundsQuery,
    rounds: Sequence[OpenRound],
    now_us: int,
    currencies: CurrencyTable,
) -> JsonObject:
    """At most `query.rows_max` rows; `truncated` when the store had more."""
    return {
        "older_than_s": older_than_s,
        "stale_before": iso_utc(query.stale_before_us),
        "provider": query.provider or None,
        "truncated": len(rounds) > query.rows_max,
        "rows": [_round_json(r, now_us, currencies) for r in rounds[: query.rows_max]],
    }


def open_rounds_rows(
    rounds: Sequence[OpenRound], now_us: int, currencies: CurrencyTable
) -> list[tuple[str | int, ...]]:
    """In `OPEN_ROUND_COLUMNS` order, amounts as decimal text of the round's currency."""
    return [
        (*r[:7], r.open_bets, iso_utc(r.first_bet_at_us), iso_utc(r.last_bet_at_us),
         _age_s(r, now_us), format_minor(r.stake_real_minor, currencies.get(r.currency)),
         format_minor(r.stake_bonus_minor, currencies.get(r.currency)))
        for r in rounds
    ]  # fmt: skip


def _round_json(r: OpenRound, now_us: int, currencies: CurrencyTable) -> JsonObject:
    return {
        **dict(zip(OPEN_ROUND_COLUMNS[:7], r[:7], strict=True)),
        "open_bets": r.open_bets,
        "first_bet_at": iso_utc(r.first_bet_at_us),
        "last_bet_at": iso_utc(r.last_bet_at_us),
        "age_s": _age_s(r, now_us),
        **amounts_json(
            currencies.get(r.currency),
            stake_real=r.stake_real_minor,
            stake_bonus=r.stake_bonus_minor,
        ),
    }


def _age_s(r: OpenRound, now_us: int) -> int:
    """Since the newest open bet, whole seconds."""
    return max(0, now_us - r.last_bet_at_us) // 1_000_000
