"""Age in whole years, computed at the moment of each check (never stored as a band)."""

from __future__ import annotations

from datetime import date

__all__ = ["age_years"]


def age_years(date_of_birth: date, on: date) -> int:
    """Completed years on `on`. Someone born on 29 February turns a year older on
    1 March in a common year (the day after 28 February), as most civil codes count."""
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years
