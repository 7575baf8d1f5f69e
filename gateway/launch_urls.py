"""Provider launch URL templates: checked with the settings, filled in at launch.

A template is an absolute http(s) URL or a site path with `{field}` placeholders; every
value is percent-encoded whole, so a return URL or a token can never add a parameter.
`LAUNCH_URL_FIELDS` names the placeholders; `fill_launch_url` is given a value, empty or
not, for every one of them.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from urllib.parse import quote

__all__ = ["LAUNCH_URL_FIELDS", "check_launch_url", "fill_launch_url"]

LAUNCH_URL_FIELDS = frozenset(
    {"code", "game", "token", "mode", "language", "device", "currency", "market", "brand"}
    | {"return_url", "reality_check_s"}
)
"""`reality_check_s`: the player's reality-check interval in seconds, empty when none
was asked for. Red Tiger and Evolution, for example, take reality-check settings at
launch; protocols whose wallet calls carry it (`gamegate`'s `authenticate`) get it from
the session as well. The other adapters' wallet protocols carry no interval (Pragmatic's
code 210 is a reality-check warning the casino raises, not a setting): the URL only."""
HTTP_SCHEMES = ("https://", "http://")


def check_launch_url(template: str) -> str:
    """The template, or ValueError naming what is wrong with it."""
    if not template.startswith((*HTTP_SCHEMES, "/")):
        raise ValueError("must be an absolute http(s) URL or a site path starting with /")
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template)]
    except ValueError as exc:
        raise ValueError(f"not a template: {exc}") from None
    for field in fields:
        if field is not None and field not in LAUNCH_URL_FIELDS:
            known = ", ".join(sorted(LAUNCH_URL_FIELDS))
            raise ValueError(f"unknown field {{{field}}} (known: {known})")
    return template


def fill_launch_url(template: str, values: Mapping[str, str]) -> str:
    assert values.keys() == LAUNCH_URL_FIELDS, "every field has a value, empty or not"
    return template.format_map({name: quote(value, safe="") for name, value in values.items()})
