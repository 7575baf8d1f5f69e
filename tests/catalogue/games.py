"""Test games: one factory with a realistic default for every field a test does not set."""

from __future__ import annotations

from typing import Any

from core.catalogue.game import Game, GameStatus, Vertical

INSTANCE = "hub"


def game(code: str, title: str | None = None, **fields: Any) -> Game:
    fields.setdefault("instance", INSTANCE)
    fields.setdefault("studio", "Studio")
    fields.setdefault("vertical", Vertical.SLOTS)
    fields.setdefault("markets", frozenset({"GB", "MT"}))
    return Game(code=code, title=title or code.title(), **fields)


def retired(code: str, title: str | None = None, **fields: Any) -> Game:
    return game(code, title, status=GameStatus.RETIRED, **fields)
