"""Jurisdiction rule files: `<dir>/<MARKET>.toml` and `<dir>/brands/<brand>.toml`."""

from __future__ import annotations

from adapters.jurisdictions.files import FILE_BYTES_MAX, load_rule_book

__all__ = ["FILE_BYTES_MAX", "load_rule_book"]
