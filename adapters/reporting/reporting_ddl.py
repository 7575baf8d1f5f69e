"""The reporting tables' definitions, shared by the DuckDB file and PostgreSQL.

One text for both stores' tables, with the few dialect differences as parameters
(`DdlDialect`: the type names, and the statements indexing a table by `day`). Version
1's create is `schema_v1`; each later version is a migration step (`migration_v2`, ...)
listed once in `_STEPS`; `upgrade` says what takes a store from its version to this
build's, for both schema modules (a new store: version 1's create and every step). A
version's DDL is never edited once released, and `SCHEMA_VERSION` follows from the steps,
so the two stores cannot record different versions.

Amounts are integer minor units of the row's currency; days are UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "GAME_KEY",
    "PROVIDER_KEY",
    "SCHEMA_VERSION",
    "DdlDialect",
    "ReportingSchemaError",
    "migration_v2",
    "schema_v1",
    "upgrade",
]

GAME_KEY = ("day", "brand", "market", "provider", "game_id", "currency")
"""The key of `daily_ggr`, `daily_players` (with `player_id`), `daily_rounds` (`round_id`)."""
PROVIDER_KEY = ("day", "brand", "market", "provider", "currency")
"""The key of `daily_provider_ggr` and `daily_provider_players` (with `player_id`)."""


class ReportingSchemaError(Exception):
    """The reporting tables cannot be used by this build (written by a newer one)."""


@dataclass(frozen=True, slots=True)
class DdlDialect:
    """How one database spells the tables' types, and indexes a table by `day`."""

    text: str
    bigint: str
    integer: str
    date: str
    day_index: Callable[[str], tuple[str, ...]]
    """The statements that follow a table's create to index it by `day` (may be none)."""


def schema_v1(dialect: DdlDialect) -> tuple[str, ...]:
    """Version 1's statements, as a new store gets them, in `dialect`."""
    text, bigint, integer, day = dialect.text, dialect.bigint, dialect.integer, dialect.date
    measures = f"""
    bets {bigint} NOT NULL,
    stake_real_minor {bigint} NOT NULL,
    stake_bonus_minor {bigint} NOT NULL,
    win_real_minor {bigint} NOT NULL,
    win_bonus_minor {bigint} NOT NULL,
    rollback_real_minor {bigint} NOT NULL,
    rollback_bonus_minor {bigint} NOT NULL,
    rounds {bigint} NOT NULL,
    active_players {bigint} NOT NULL"""
    return (
        f"CREATE TABLE meta (key {text} PRIMARY KEY, value {text} NOT NULL)",
        f"""CREATE TABLE events (
        seq {bigint} NOT NULL,
        part {integer} NOT NULL,
        at_us {bigint} NOT NULL,
        day {day} NOT NULL,
        kind {text} NOT NULL,
        player_id {text} NOT NULL,
        brand {text} NOT NULL,
        market {text} NOT NULL,
        currency {text} NOT NULL,
        provider {text} NOT NULL,
        tx_id {text} NOT NULL,
        game_id {text} NOT NULL,
        vertical {text} NOT NULL,
        round_id {text} NOT NULL,
        amount_minor {bigint} NOT NULL,
        real_delta_minor {bigint} NOT NULL,
        bonus_delta_minor {bigint} NOT NULL,
        real_after_minor {bigint} NOT NULL,
        bonus_after_minor {bigint} NOT NULL,
        reason {text} NOT NULL,
        detail {text} NOT NULL,
        ref_seq {bigint},
        PRIMARY KEY (seq, part)
    )""",
        *dialect.day_index("events"),
        f"""CREATE TABLE requests (
        at_us {bigint} NOT NULL,
        day {day} NOT NULL,
        request_id {text} NOT NULL,
        method {text} NOT NULL,
        route {text} NOT NULL,
        provider {text} NOT NULL,
        operation {text} NOT NULL,
        outcome {text} NOT NULL,
        status {integer} NOT NULL,
        latency_us {bigint} NOT NULL,
        player_id {text} NOT NULL
    )""",
        *dialect.day_index("requests"),
        f"""CREATE TABLE balances (
        player_id {text} NOT NULL,
        currency {text} NOT NULL,
        real_minor {bigint} NOT NULL,
        bonus_minor {bigint} NOT NULL,
        PRIMARY KEY (player_id, currency)
    )""",
        f"""CREATE TABLE cursor (
        id {integer} PRIMARY KEY CHECK (id = 1),
        seq {bigint} NOT NULL CHECK (seq >= 0)
    )""",
        "INSERT INTO cursor VALUES (1, 0)",
        f"""CREATE TABLE daily_ggr (
        day {day} NOT NULL, brand {text} NOT NULL, market {text} NOT NULL,
        provider {text} NOT NULL, game_id {text} NOT NULL, currency {text} NOT NULL,
        {measures},
        PRIMARY KEY (day, brand, market, provider, game_id, currency)
    )""",
        f"""CREATE TABLE daily_provider_ggr (
        day {day} NOT NULL, brand {text} NOT NULL, market {text} NOT NULL,
        provider {text} NOT NULL, currency {text} NOT NULL,
        {measures},
        PRIMARY KEY (day, brand, market, provider, currency)
    )""",
        f"""CREATE TABLE daily_players (
        day {day} NOT NULL, brand {text} NOT NULL, market {text} NOT NULL,
        provider {text} NOT NULL, game_id {text} NOT NULL, currency {text} NOT NULL,
        player_id {text} NOT NULL,
        PRIMARY KEY (day, brand, market, provider, game_id, currency, player_id)
    )""",
        f"""CREATE TABLE daily_provider_players (
        day {day} NOT NULL, brand {text} NOT NULL, market {text} NOT NULL,
        provider {text} NOT NULL, currency {text} NOT NULL, player_id {text} NOT NULL,
        PRIMARY KEY (day, brand, market, provider, currency, player_id)
    )""",
        f"""CREATE TABLE daily_rounds (
        day {day} NOT NULL, brand {text} NOT NULL, market {text} NOT NULL,
        provider {text} NOT NULL, game_id {text} NOT NULL, currency {text} NOT NULL,
        round_id {text} NOT NULL,
        PRIMARY KEY (day, brand, market, provider, game_id, currency, round_id)
    )""",
    )


def migration_v2(dialect: DdlDialect) -> tuple[str, ...]:
    """Version 1 to 2: `relay_positions`, the relay's position in each source of a wallet
    log read by more than one cursor (the Redis wallet: one stream per hash-slot group,
    `redis:<group>` -> the last stream entry id relayed), written by `apply` in the same
    transaction as the events. The SQLite wallet's log needs none: `cursor` says it."""
    text = dialect.text
    return (
        f"""CREATE TABLE relay_positions (
        source {text} PRIMARY KEY,
        position {text} NOT NULL
    )""",
    )


_STEPS: tuple[Callable[[DdlDialect], tuple[str, ...]], ...] = (migration_v2,)
"""Each version's step from the one before, in order; a new version appends its step."""
SCHEMA_VERSION = 1 + len(_STEPS)
"""The version this build writes: version 1 and every step after it."""


def upgrade(dialect: DdlDialect, version: int, describe: str) -> list[tuple[int, tuple[str, ...]]]:
    """What takes tables at `version` to `SCHEMA_VERSION`: (the version after, its
    statements) per step, in order; a new store (version 0) gets version 1's create and
    every step as one. `ReportingSchemaError` for a version newer than this build's."""
    if version > SCHEMA_VERSION:
        raise ReportingSchemaError(
            f"{describe} has reporting schema version {version}, newer than this build "
            f"knows ({SCHEMA_VERSION}): run the gamegate that wrote it, or a newer one"
        )
    steps = [(after, step(dialect)) for after, step in enumerate(_STEPS, start=2)]
    if version == 0:
        every = [statement for _, statements in steps for statement in statements]
        return [(SCHEMA_VERSION, (*schema_v1(dialect), *every))]
    return steps[version - 1 :]
