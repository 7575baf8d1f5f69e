"""Reading plain-data tables strictly: each value's type and range, and no key left unread.

Rule files arrive as plain dicts (the adapter parses TOML; tests and tools may build
them by hand). A `FieldReader` takes the values out one by one and says which field is
wrong, so the error that reaches an operator names the file, the rule and the field.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from typing import TypeVar

__all__ = ["FieldError", "FieldReader"]

_E = TypeVar("_E", bound=enum.Enum)
TEXT_LENGTH_MAX = 500
LIST_LENGTH_MAX = 100


class FieldError(Exception):
    """One field is wrong: `field` is its dotted path inside the rule (`params.amount`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class FieldReader:
    """The values of one table, taken out by name; `done()` refuses the keys left over."""

    __slots__ = ("_prefix", "_values")

    def __init__(self, values: object, prefix: str = "") -> None:
        if not isinstance(values, Mapping):
            raise FieldError(prefix or "(table)", "must be a table")
        self._values = dict(values)
        self._prefix = prefix

    def name(self, key: str) -> str:
        return f"{self._prefix}.{key}" if self._prefix else key

    def has(self, key: str) -> bool:
        return key in self._values

    def raw(self, key: str) -> object:
        """The value as given (None when absent), taken out."""
        return self._values.pop(key, None)

    def table(self, key: str) -> FieldReader:
        """A nested table (an empty one when absent)."""
        return FieldReader(self._values.pop(key, {}), self.name(key))

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        value = self._values.pop(key, None)
        if value is None:
            if required:
                raise FieldError(self.name(key), "is required")
            return default
        if not isinstance(value, str) or not value or len(value) > TEXT_LENGTH_MAX:
            raise FieldError(self.name(key), f"must be text of 1-{TEXT_LENGTH_MAX} characters")
        return value

    def flag(self, key: str, *, default: bool = False) -> bool:
        value = self._values.pop(key, default)
        if not isinstance(value, bool):
            raise FieldError(self.name(key), "must be true or false")
        return value

    def whole(self, key: str, *, low: int, high: int, required: bool = True) -> int | None:
        value = self._values.pop(key, None)
        if value is None:
            if required:
                raise FieldError(self.name(key), "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise FieldError(self.name(key), f"must be a whole number from {low} to {high}")
        return value

    def day(self, key: str, *, required: bool = True) -> date | None:
        """A calendar date (UTC day): a TOML local date, or `YYYY-MM-DD` text."""
        value = self._values.pop(key, None)
        if value is None:
            if required:
                raise FieldError(self.name(key), "is required")
            return None
        if isinstance(value, str):
            try:
                return date.fromisoformat(value) if len(value) == 10 else _not_a_day()
            except ValueError:
                pass
        elif isinstance(value, date) and not isinstance(value, datetime):
            return value
        raise FieldError(self.name(key), f"{value!r} is not a date (YYYY-MM-DD)")

    def names(self, key: str, kind: type[_E], *, required: bool = True) -> frozenset[_E] | None:
        """A non-empty list of an enum's values, without repeats."""
        value = self._values.pop(key, None)
        if value is None:
            if required:
                raise FieldError(self.name(key), "is required")
            return None
        known = ", ".join(str(member.value) for member in kind)
        if not isinstance(value, list) or not 1 <= len(value) <= LIST_LENGTH_MAX:
            raise FieldError(self.name(key), f"must be a non-empty list of: {known}")
        found: set[_E] = set()
        for item in value:
            try:
                member = kind(item)
            except ValueError:
                raise FieldError(self.name(key), f"{item!r} is not one of: {known}") from None
            if member in found:
                raise FieldError(self.name(key), f"{item!r} is listed twice")
            found.add(member)
        return frozenset(found)

    def texts(self, key: str) -> list[str]:
        """A non-empty list of short texts."""
        value = self._values.pop(key, None)
        if value is None:
            raise FieldError(self.name(key), "is required")
        if not isinstance(value, list) or not 1 <= len(value) <= LIST_LENGTH_MAX:
            raise FieldError(self.name(key), "must be a non-empty list")
        for item in value:
            if not isinstance(item, str) or not item or len(item) > TEXT_LENGTH_MAX:
                raise FieldError(self.name(key), f"{item!r} is not a text")
        return list(value)

    def done(self) -> None:
        """Unknown keys are errors: a misspelt key must not silently mean nothing."""
        if self._values:
            key = sorted(self._values, key=str)[0]
            raise FieldError(self.name(str(key)), "unknown key")


def _not_a_day() -> date:
    raise ValueError("not YYYY-MM-DD")
