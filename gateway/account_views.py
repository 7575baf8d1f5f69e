"""JSON shapes of a player's account: the player as the operator API shows it, and the
entries of its audit trail.

Everything time-dependent is computed at the moment of the answer and never stored: the
age, the effective status (a break ends by itself), the limits in force (a pending raise
counts once its time has come) and this period's figures. Identity values are personal
data: the answer says only which fields are on file.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.age import age_years
from core.limits import Limit, LimitKind
from core.model import PlayerStatus
from core.money import Currency, format_minor
from core.pam import effective_status
from core.wallet.figures import PeriodFigures, PlayFigures, rolled
from core.wallet.records import PlayerRecord
from core.wallet.store import PlayerAuditEntry
from gateway.views import JsonObject, amounts_json, iso_utc

__all__ = ["account_audit_json", "limit_value_json", "player_json"]

_EPOCH_DAY = date(1970, 1, 1)
_TIMED_STATUSES = (PlayerStatus.SELF_EXCLUDED, PlayerStatus.COOLING_OFF)


def player_json(
    player: PlayerRecord, figures: PlayFigures, *, now_us: int, currency: Currency
) -> JsonObject:
    """`figures` as stored (`WalletStore.figures`); `currency` is the wallet currency's."""
    status = effective_status(player, now_us)
    until_us = player.status_until_us if status in _TIMED_STATUSES else None
    today = datetime.fromtimestamp(now_us // 1_000_000, tz=UTC).date()
    now = rolled(figures, now_us)
    return {
        "player_id": player.player_id,
        "brand": player.brand,
        "jurisdiction": player.jurisdiction,
        "currency": player.currency,
        "date_of_birth": player.date_of_birth.isoformat(),
        "age": age_years(player.date_of_birth, today),
        "status": status.value,
        "status_until": None if until_us is None else iso_utc(until_us),
        "funding_order": player.funding_order.value,
        "kyc": {
            "state": player.kyc.value,
            "changed_at": _iso_or_none(player.kyc_changed_at_us),
        },
        "identity_on_file": [name for name, _ in player.identity],
        "limits": [
            shown
            for limit in player.limits
            if (shown := _limit_json(limit, now_us, currency)) is not None
        ],
        "figures": {
            "day": _period_json(now.day, currency),
            "week": _period_json(now.week, currency),
            "month": _period_json(now.month, currency),
        },
    }


def limit_value_json(kind: LimitKind, value: int, currency: Currency) -> str | int:
    """Money limits as decimal text in the wallet currency, play time in whole seconds:
    the form `PUT .../limits/{kind}/{period}` takes."""
    if kind is LimitKind.SESSION_TIME:
        return value
    return format_minor(value, currency)


def _limit_json(limit: Limit, now_us: int, currency: Currency) -> JsonObject | None:
    """None for a limit whose removal has taken effect."""
    in_force = limit.at(now_us)
    if in_force is None:
        return None
    pending = None
    if limit.pending_from_us is not None and limit.pending_from_us > now_us:
        value = limit.pending_value
        pending = {
            "value": None if value is None else limit_value_json(limit.kind, value, currency),
            "from": iso_utc(limit.pending_from_us),
        }
    return {
        "kind": limit.kind.value,
        "period": limit.period.value,
        "value": limit_value_json(limit.kind, in_force, currency),
        "pending": pending,
    }


def _period_json(totals: PeriodFigures, currency: Currency) -> JsonObject:
    return {
        "from": (_EPOCH_DAY + timedelta(days=totals.start_day)).isoformat(),
        **amounts_json(
            currency,
            deposited=totals.deposited_minor,
            wagered=totals.wagered_minor,
            lost=totals.lost_minor,
        ),
        "played_s": totals.played_us // 1_000_000,
    }


def account_audit_json(entry: PlayerAuditEntry) -> JsonObject:
    return {
        "seq": entry.seq,
        "at": iso_utc(entry.at_us),
        "actor": entry.actor,
        "action": entry.action,
        "why": entry.why,
        "before": _object(entry.before),
        "after": _object(entry.after),
    }


def _object(text: str) -> Any:
    """The stored compact JSON; an empty text (nothing recorded) is an empty object."""
    return json.loads(text) if text else {}


def _iso_or_none(micros: int | None) -> str | None:
    return None if micros is None else iso_utc(micros)
