"""Provider game feeds, one module per format, and the registry that names them.

A feed format is a `FeedParser`: the feed's bytes and its context in, the games and
whether the list is whole out, or `FeedInvalid` naming the record and field. A new
format is one module plus one line in `FEED_FORMATS`; the instance's `catalogue.format`
setting picks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from adapters.catalogue.feeds.base import (
    GAMES_PER_FEED_MAX,
    FeedContext,
    FeedParser,
    ParsedFeed,
)
from adapters.catalogue.feeds.gamegate_csv import parse_gamegate_csv
from adapters.catalogue.feeds.gamegate_json import parse_gamegate_json
from adapters.catalogue.feeds.hub88 import parse_hub88, parse_hub88_latest
from adapters.catalogue.feeds.pragmatic import parse_pragmatic

__all__ = [
    "FEED_FORMATS",
    "GAMES_PER_FEED_MAX",
    "FeedContext",
    "FeedParser",
    "ParsedFeed",
    "feed_parser",
]

FEED_FORMATS: Mapping[str, FeedParser] = MappingProxyType(
    {
        "gamegate_json": parse_gamegate_json,
        "gamegate_csv": parse_gamegate_csv,
        "hub88": parse_hub88,
        "hub88_latest": parse_hub88_latest,
        "pragmatic": parse_pragmatic,
    }
)


def feed_parser(name: str) -> FeedParser:
    """The parser of format `name`; ValueError, for a person, if there is none."""
    parser = FEED_FORMATS.get(name)
    if parser is None:
        raise ValueError(f"unknown feed format {name!r}: expected one of {', '.join(FEED_FORMATS)}")
    return parser
