"""What every feed format shares: its context, its result, and the record loop that
turns one bad record into a refusal of the whole feed.

A feed is applied whole or not at all, so a record that cannot be read exactly (no
code or title, a bad RTP, stake, currency, market code or date, a repeated code) makes
the feed `FeedInvalid`, with a message naming the record's index, its code and the
field. What a feed may omit or add (unknown fields, optional fields, an unknown provider
category) never stops an import: providers change their schemas without notice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.catalogue.game import Game
from core.errors import FeedInvalid
from core.money import CurrencyTable

__all__ = [
    "GAMES_PER_FEED_MAX",
    "FeedContext",
    "FeedParser",
    "FieldError",
    "ParsedFeed",
    "collect_games",
    "record_code",
]

GAMES_PER_FEED_MAX = 100_000
"""The largest catalogue seen is a few tens of thousands of games (an aggregator's
whole portfolio); more is a broken or hostile feed."""
_CODE_SHOWN_CHARS_MAX = 64


@dataclass(frozen=True, slots=True)
class FeedContext:
    instance: str
    """The provider instance the feed is for; every game read belongs to it."""
    currencies: CurrencyTable
    markets_default: frozenset[str] = frozenset()
    """Markets a game is certified for when its feed does not say (Pragmatic's list has
    no such field, Hub88's `certifications` may be null): the instance's configuration."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    games: tuple[Game, ...]
    full: bool
    """A full feed lists every game of the instance (what it omits is retired); a partial
    one is a delta."""


FeedParser = Callable[[bytes, FeedContext], ParsedFeed]


class FieldError(ValueError):
    """One field of one record cannot be read; `collect_games` names the record."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def record_code(record: Any, field: str) -> str | None:
    """The record's code as far as it can be told, for messages only."""
    if isinstance(record, Mapping):
        code = record.get(field)
        if isinstance(code, str) and code:
            return code[:_CODE_SHOWN_CHARS_MAX]
    return None


def collect_games(
    records: Sequence[Any],
    build: Callable[[Any], Game],
    *,
    code_field: str,
) -> tuple[Game, ...]:
    """`build` each record; the first record that fails refuses the whole feed."""
    if len(records) > GAMES_PER_FEED_MAX:
        raise FeedInvalid(f"the feed has {len(records)} games, more than {GAMES_PER_FEED_MAX}")
    games: list[Game] = []
    index_by_code: dict[str, int] = {}
    for index, record in enumerate(records):
        try:
            game = build(record)
        except FieldError as error:
            code = record_code(record, code_field)
            named = "no code" if code is None else f"code {code!r}"
            raise FeedInvalid(
                f"record {index} ({named}), field {error.field}: {error.problem}"
            ) from error
        first = index_by_code.setdefault(game.code, index)
        if first != index:
            raise FeedInvalid(
                f"record {index} (code {game.code!r}), field {code_field}: "
                f"repeats the code of record {first}"
            )
        games.append(game)
    return tuple(games)
