"""Read a directory of jurisdiction rule files (TOML) into a validated `RuleBook`.

    <dir>/GB.toml, <dir>/CA-ON.toml, ...   one market each; the file name is its code
    <dir>/brands/<brand>.toml              a brand's overlays, per market

Every file is read and checked before anything is built, so a bad file changes
nothing: the caller keeps the rules it had. Errors are one `RulesInvalid` whose message
names the file, the rule and the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from core.jurisdiction import Document, RuleBook, RulesInvalid, build_rule_book
from core.money import CurrencyTable

__all__ = ["FILES_MAX", "FILE_BYTES_MAX", "load_rule_book"]

FILE_BYTES_MAX = 1_048_576
FILES_MAX = 1_000
_SUFFIX = ".toml"
BRANDS_DIR = "brands"


def load_rule_book(directory: Path, currencies: CurrencyTable) -> RuleBook:
    """Every market and brand file under `directory`; `RulesInvalid` if any is wrong or
    the directory cannot be read."""
    if not directory.is_dir():
        raise RulesInvalid(f"{directory}: not a directory of rule files")
    markets = [_document(path) for path in _rule_files(directory)]
    brands_dir = directory / BRANDS_DIR
    brands = [_document(path) for path in _rule_files(brands_dir)] if brands_dir.is_dir() else []
    return build_rule_book(markets, brands, currencies)


def _rule_files(directory: Path) -> list[Path]:
    try:
        paths = sorted(path for path in directory.iterdir() if path.suffix == _SUFFIX)
    except OSError as exc:
        raise RulesInvalid(f"{directory}: cannot list: {exc.strerror}") from exc
    if len(paths) > FILES_MAX:
        raise RulesInvalid(f"{directory}: more than {FILES_MAX} rule files")
    return paths


def _document(path: Path) -> Document:
    try:
        with path.open("rb") as file:
            data = file.read(FILE_BYTES_MAX + 1)
    except OSError as exc:
        raise RulesInvalid(f"{path}: cannot read: {exc.strerror}") from exc
    if len(data) > FILE_BYTES_MAX:
        raise RulesInvalid(f"{path}: larger than {FILE_BYTES_MAX} bytes")
    try:
        parsed = tomllib.loads(data.decode())
    except UnicodeDecodeError:
        raise RulesInvalid(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesInvalid(f"{path}: not valid TOML: {exc}") from None
    return Document(str(path), path.stem, parsed)
