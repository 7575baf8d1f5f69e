"""The regulator-style daily export of one market: a transaction file and a session file.

Pure: from the market's events of one UTC day (`ReportingStore.market_day_events`, in
seq order) to CSV text, byte for byte the same from the same events: rows in seq order,
ids derived from wallet seqs, amounts as fixed decimals of the row's currency,
timestamps in UTC with microseconds and `Z`, `\\n` line ends, nothing about the run
(no export time). Every market gets the same fields; a market with a regulator data
model of its own gets that model's column names and type words (`EXPORT_FORMATS`),
the others `DEFAULT_FORMAT`. docs/reporting.md documents both files.

A *session* here is what the gateway can see without the provider's session: one
player's game events (bets, wins, rollbacks) on one provider instance and game in one
currency, with no gap longer than `SESSION_IDLE_S` between consecutive events, cut at
UTC midnight (the export is per day). The wallet's records do not carry the launch
session, so a session may span several launches of the same game or split one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from core.money import CurrencyTable, format_minor
from core.reporting.events import GAME_KINDS, EventKind, ReportEvent

__all__ = [
    "DEFAULT_FORMAT",
    "EXPORT_FORMATS",
    "SESSION_FIELDS",
    "SESSION_IDLE_S",
    "TRANSACTION_FIELDS",
    "TRANSACTION_KINDS",
    "ExportFormat",
    "export_files",
    "export_format",
]

SESSION_IDLE_S = 1_800
"""Thirty minutes without a game event ends a session."""
TRANSACTION_KINDS = frozenset({*GAME_KINDS, EventKind.DEPOSIT, EventKind.WITHDRAWAL,
                               EventKind.BONUS_GRANT})  # fmt: skip
"""Money movements; refusals and state changes (`settled`, `rolled_back`, `reopened`)
move none."""
TRANSACTION_FIELDS = (
    "transaction_id", "time", "player_id", "brand", "provider", "provider_tx_id", "game_id",
    "vertical", "round_id", "type", "credit_kind", "currency", "real_amount", "bonus_amount",
    "real_balance_after", "bonus_balance_after", "reversed_transaction_id",
)  # fmt: skip
SESSION_FIELDS = (
    "session_id", "player_id", "brand", "provider", "game_id", "vertical", "currency",
    "start_time", "end_time", "rounds", "bets", "stake_real", "stake_bonus", "win_real",
    "win_bonus", "rollback_real", "rollback_bonus", "result", "first_transaction_id",
    "last_transaction_id",
)  # fmt: skip
_TYPES = ("bet", "win", "rollback_bet", "rollback_win", "deposit", "withdrawal", "bonus_grant")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ExportFormat:
    transaction_columns: tuple[str, ...] = TRANSACTION_FIELDS
    """The header of each of `TRANSACTION_FIELDS`, in that order."""
    session_columns: tuple[str, ...] = SESSION_FIELDS
    types: Mapping[str, str] = field(default_factory=lambda: {t: t for t in _TYPES})
    """Our transaction type -> the word the file uses."""


DEFAULT_FORMAT = ExportFormat()
EXPORT_FORMATS: Mapping[str, ExportFormat] = {
    "NL": ExportFormat(
        (
            "Transaction_ID", "Transaction_Datetime", "Player_Profile_ID", "Brand", "Provider",
            "Provider_Transaction_ID", "Game_ID", "Vertical", "Game_Round_ID",
            "Transaction_Type", "Credit_Kind", "Currency", "Transaction_Amount_Real",
            "Transaction_Amount_Bonus", "Balance_Real_After", "Balance_Bonus_After",
            "Replaced_Transaction_ID",
        ),
        (
            "Game_Session_ID", "Player_Profile_ID", "Brand", "Provider", "Game_ID", "Vertical",
            "Currency", "Game_Session_Start_Datetime", "Game_Session_End_Datetime",
            "Game_Session_Rounds", "Game_Session_Bets", "Total_Stake_Real",
            "Total_Stake_Bonus", "Total_Winnings_Real", "Total_Winnings_Bonus",
            "Total_Void_Real", "Total_Void_Bonus", "Game_Session_Result",
            "First_Transaction_ID", "Last_Transaction_ID",
        ),
        {"bet": "STAKE", "win": "WINNING", "rollback_bet": "VOID_STAKE",
         "rollback_win": "RESETTLEMENT", "deposit": "DEPOSIT", "withdrawal": "WITHDRAWAL",
         "bonus_grant": "BONUS"},
    ),
}  # fmt: skip
"""Markets with their own names (NL: the KSA CDB's); every other market: `DEFAULT_FORMAT`."""


def export_format(market: str) -> ExportFormat:
    return EXPORT_FORMATS.get(market, DEFAULT_FORMAT)


def export_files(
    market: str, day: date, events: Sequence[ReportEvent], currencies: CurrencyTable
) -> list[tuple[str, str]]:
    """(file name, CSV text) of the transaction file and the session file."""
    shape = export_format(market)
    money = [e for e in events if e.part == 0 and e.kind in TRANSACTION_KINDS]
    transactions = [_transaction(e, shape, currencies) for e in money]
    sessions = [_session_row(s, currencies) for s in _sessions(money)]
    return [
        (f"{market}-{day}-transactions.csv", _csv(shape.transaction_columns, transactions)),
        (f"{market}-{day}-sessions.csv", _csv(shape.session_columns, sessions)),
    ]


def _transaction(e: ReportEvent, shape: ExportFormat, currencies: CurrencyTable) -> list[str]:
    money = currencies.get(e.currency)
    return [
        str(e.seq), _time(e.at_us), e.player_id, e.brand, e.provider, e.tx_id, e.game_id,
        e.vertical, e.round_id, shape.types[_type(e)], e.detail if e.kind is EventKind.WIN else "",
        e.currency, format_minor(e.real_delta_minor, money),
        format_minor(e.bonus_delta_minor, money), format_minor(e.real_after_minor, money),
        format_minor(e.bonus_after_minor, money), "" if e.ref_seq is None else str(e.ref_seq),
    ]  # fmt: skip


def _type(e: ReportEvent) -> str:
    if e.kind is EventKind.ROLLBACK:
        return "rollback_win" if e.real_delta_minor + e.bonus_delta_minor < 0 else "rollback_bet"
    return e.kind.value


def _sessions(money: Sequence[ReportEvent]) -> list[list[ReportEvent]]:
    """Game events grouped as the module says, ordered by their first seq."""
    open_: dict[tuple[str, str, str, str], list[ReportEvent]] = {}
    done: list[list[ReportEvent]] = []
    idle_us = SESSION_IDLE_S * 1_000_000
    for e in money:
        if e.kind not in GAME_KINDS:
            continue
        key = (e.player_id, e.provider, e.game_id, e.currency)
        current = open_.get(key)
        if current is not None and e.at_us - current[-1].at_us <= idle_us:
            current.append(e)
            continue
        current = open_[key] = [e]
        done.append(current)
    return done


def _session_row(events: list[ReportEvent], currencies: CurrencyTable) -> list[str]:
    first, last = events[0], events[-1]
    money = currencies.get(first.currency)
    sums = dict.fromkeys(("stake_real", "stake_bonus", "win_real", "win_bonus",
                          "rollback_real", "rollback_bonus"), 0)  # fmt: skip
    for e in events:
        name = {EventKind.BET: "stake", EventKind.WIN: "win"}.get(e.kind, "rollback")
        sign = -1 if e.kind is EventKind.BET else 1
        sums[f"{name}_real"] += sign * e.real_delta_minor
        sums[f"{name}_bonus"] += sign * e.bonus_delta_minor
    result = -sum(e.real_delta_minor + e.bonus_delta_minor for e in events)
    rounds = len({e.round_id for e in events if e.round_id})
    bets = sum(1 for e in events if e.kind is EventKind.BET)
    return [
        str(first.seq), first.player_id, first.brand, first.provider, first.game_id,
        first.vertical, first.currency, _time(first.at_us), _time(last.at_us), str(rounds),
        str(bets), *(format_minor(v, money) for v in sums.values()), format_minor(result, money),
        str(first.seq), str(last.seq),
    ]  # fmt: skip


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _time(at_us: int) -> str:
    return (_EPOCH + timedelta(microseconds=at_us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
