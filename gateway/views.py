"""JSON shapes of the operator API: balances, transaction records, rounds, sessions
(players: `gateway.account_views`).

Amounts appear twice: exact minor units (`real_minor`) and a decimal string in major
units (`real`), never a JSON float. Times are ISO-8601 UTC with microseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.model import Balance
from core.money import Currency, CurrencyTable, format_minor
from core.wallet.records import RoundRecord, SessionRecord, TxRecord

__all__ = [
    "JsonObject",
    "amounts_json",
    "balance_json",
    "iso_utc",
    "round_json",
    "session_json",
    "tx_json",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

JsonObject = dict[str, Any]


def iso_utc(micros: int) -> str:
    """`2027-01-15T08:00:00.000000Z`, exact (no float on the way)."""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def amounts_json(currency: Currency, **minors: int) -> JsonObject:
    """Each amount as `name` (decimal text) then `name_minor` (exact int), in the order given."""
    shown: JsonObject = {}
    for name, minor in minors.items():
        shown[name] = format_minor(minor, currency)
        shown[f"{name}_minor"] = minor
    return shown


def balance_json(player_id: str, balance: Balance, currencies: CurrencyTable) -> JsonObject:
    currency = currencies.get(balance.currency)
    return {
        "player_id": player_id,
        "currency": balance.currency,
        "real": format_minor(balance.real_minor, currency),
        "bonus": format_minor(balance.bonus_minor, currency),
        "total": format_minor(balance.total_minor, currency),
        "real_minor": balance.real_minor,
        "bonus_minor": balance.bonus_minor,
    }


def tx_json(record: TxRecord, currencies: CurrencyTable) -> JsonObject:
    currency = currencies.get(record.currency)
    return {
        "seq": record.seq,
        "transaction_id": record.transaction_id,
        "provider": record.provider,
        "tx_id": record.tx_id,
        "kind": record.kind.value,
        "detail": record.detail,
        "status": record.status.value,
        "reason": None if record.reason is None else record.reason.value,
        "currency": record.currency,
        **amounts_json(
            currency,
            amount=record.amount_minor,
            real_delta=record.real_delta_minor,
            bonus_delta=record.bonus_delta_minor,
        ),
        "round_id": record.round_id,
        "ref_tx_id": record.ref_tx_id,
        "created_at": iso_utc(record.created_at_us),
    }


def round_json(
    round_: RoundRecord, records: list[TxRecord], currencies: CurrencyTable
) -> JsonObject:
    return {
        "provider": round_.provider,
        "round_id": round_.round_id,
        "player_id": round_.player_id,
        "currency": round_.currency,
        "game_id": round_.game_id,
        "closed": round_.closed,
        "bet_count": round_.bet_count,
        "opened_at": iso_utc(round_.opened_at_us),
        "updated_at": iso_utc(round_.updated_at_us),
        **amounts_json(
            currencies.get(round_.currency),
            stake_real=round_.stake_real_minor,
            stake_bonus=round_.stake_bonus_minor,
            win_real=round_.win_real_minor,
            win_bonus=round_.win_bonus_minor,
        ),
        "transactions": [tx_json(record, currencies) for record in records],
    }


def session_json(session: SessionRecord) -> JsonObject:
    return {
        "token": session.token,
        "player_id": session.player_id,
        "provider": session.provider,
        "game_id": session.game_id,
        "currency": session.currency,
        "device": session.device or None,
        "reality_check_s": session.reality_check_s or None,
        "expires_at": iso_utc(session.expires_at_us),
    }
