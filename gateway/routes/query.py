"""Values from the operator API's query strings and paths, parsed strictly."""

from __future__ import annotations

import re

from aiohttp import web

from core.catalogue.game import GameKey
from core.errors import InvalidRequest
from gateway.keys import REQUEST_INFO

__all__ = ["game_key", "path_player_id", "query_flag", "query_whole_number"]

_ASCII_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
"""With `fullmatch`: `str.isdecimal` also takes Arabic-Indic and other Unicode digits."""
_FLAGS = {"true": True, "false": False}


def query_whole_number(request: web.Request, name: str, high: int) -> int | None:
    """`name` as a whole number from 1 to `high`, None when absent."""
    text = request.query.get(name)
    if text is None:
        return None
    if not _ASCII_WHOLE_NUMBER.fullmatch(text) or not 1 <= int(text) <= high:
        raise InvalidRequest(f"{name}: must be a whole number from 1 to {high}")
    return int(text)


def query_flag(request: web.Request, name: str) -> bool:
    """`true` or `false`; absent is false."""
    text = request.query.get(name, "false")
    if text not in _FLAGS:
        raise InvalidRequest(f"{name}: true or false")
    return _FLAGS[text]


def game_key(text: str, field: str) -> GameKey:
    """`<instance>:<code>`, or InvalidRequest naming `field` and what is wrong."""
    try:
        return GameKey.parse(text)
    except ValueError as exc:
        raise InvalidRequest(f"{field}: {exc}") from None


def path_player_id(request: web.Request) -> str:
    """The `{player_id}` of the path, noted for the request's log line."""
    player_id = request.match_info["player_id"]
    request[REQUEST_INFO].player_id = player_id
    return player_id
