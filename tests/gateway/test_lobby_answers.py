"""The lobby's answer cache: bounded by entries and by bytes, emptied by a new version."""

from __future__ import annotations

import pytest

from gateway.lobby_answers import LobbyAnswer, LobbyAnswers, etag_matches, lobby_etag


def _answer(size: int) -> LobbyAnswer:
    return LobbyAnswer('"e"', b"x" * size)


def test_the_least_recently_used_go_first_past_the_byte_bound() -> None:
    answers = LobbyAnswers(entries_max=100, bytes_max=250)
    for name in ("a", "b"):
        answers.put(1, name, _answer(100))
    assert answers.get(1, "a") is not None  # now b is the least recently used
    answers.put(1, "c", _answer(100))
    assert (answers.get(1, "b"), answers.bytes, len(answers)) == (None, 200, 2)
    answers.put(1, "a", _answer(50))  # a replacement counts once
    assert answers.bytes == 150


def test_the_entry_bound_and_a_new_version() -> None:
    answers = LobbyAnswers(entries_max=2, bytes_max=10_000)
    for name in ("a", "b", "c"):
        answers.put(1, name, _answer(10))
    assert [answers.get(1, n) is not None for n in "abc"] == [False, True, True]
    assert answers.get(2, "c") is None
    answers.put(2, "d", _answer(10))
    assert (len(answers), answers.bytes, answers.get(1, "c")) == (1, 10, None)


@pytest.mark.parametrize(("entries_max", "bytes_max", "size"), [(0, 1_000, 10), (5, 99, 100)])
def test_what_cannot_be_kept_is_not(entries_max: int, bytes_max: int, size: int) -> None:
    answers = LobbyAnswers(entries_max, bytes_max)
    answers.put(1, "a", _answer(size))
    assert (len(answers), answers.bytes) == (0, 0)


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("*", True),
        ('"1-abc"', True),
        ('W/"1-abc"', True),
        ('"0-xyz", "1-abc"', True),
        ('"1-abd"', False),
        ("1-abc", False),
    ],
)
def test_if_none_match_uses_weak_comparison(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"1-abc"') is matches


def test_etags_differ_by_version_and_query() -> None:
    tags = {lobby_etag(v, q) for v in (1, 2) for q in ("a", "b")}
    assert len(tags) == 4
    assert all(tag.startswith('"') and tag.endswith('"') for tag in tags)
