"""`gamegate rules check DIR`: validate a directory of jurisdiction rule files offline.

Prints every market's and brand overlay's rules (uncertain ones marked) on stdout and
exits 0; a bad file is one line on stderr naming the file, the rule and the field, and
exit 1. The settings are read only for `currencies_extra` (`--config`, as `serve`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from adapters.jurisdictions import load_rule_book
from core.jurisdiction import RulesInvalid
from core.money import CurrencyTable
from gateway.subcommand import LoadSettings, SettingsArguments

__all__ = ["add_rules_commands"]

EXIT_OK, EXIT_INVALID = 0, 1


def add_rules_commands(
    commands: Any, settings_arguments: SettingsArguments, load: LoadSettings
) -> None:
    rules = commands.add_parser("rules", help="check jurisdiction rule files")
    actions = rules.add_subparsers(title="actions", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate a directory of rule files and list them")
    check.add_argument("directory", type=Path)
    settings_arguments(check)

    def run(args: argparse.Namespace) -> int:
        settings = load(args)
        if isinstance(settings, int):
            return settings
        return check_directory(args.directory, CurrencyTable(settings.currencies_extra))

    check.set_defaults(command=run)


def check_directory(directory: Path, currencies: CurrencyTable) -> int:
    try:
        book = load_rule_book(directory, currencies)
    except RulesInvalid as error:
        print(f"gamegate: invalid rules: {error}", file=sys.stderr, flush=True)
        return EXIT_INVALID
    for listing in book.all_rules():
        print(_heading(listing))
        for rule in listing["rules"]:
            print(f"  {_rule_line(rule)}")
        for rule_id in listing.get("disabled", []):
            print(f"  {rule_id}  disabled (uncertain in the market)")
    print(f"{len(book.markets)} markets, {len(book.brands)} brands: rules valid", flush=True)
    return EXIT_OK


def _heading(listing: dict[str, Any]) -> str:
    whose = listing["market"] if listing["brand"] is None else (
        f"{listing['market']} for brand {listing['brand']}"
    )  # fmt: skip
    return f"{whose} ({listing['source']}): {len(listing['rules'])} rules"


def _rule_line(rule: dict[str, Any]) -> str:
    dates = f"from {rule['effective_from']}"
    if rule["effective_until"] is not None:
        dates += f" until {rule['effective_until']}"
    scope = " ".join(f"{key}={_text(value)}" for key, value in rule["scope"].items())
    params = " ".join(f"{key}={_text(value)}" for key, value in rule["params"].items())
    flag = "  UNCERTAIN" if rule["uncertain"] else ""
    parts = [rule["id"], rule["kind"], dates, scope, params, f"[{rule['source']}]"]
    return "  ".join(part for part in parts if part) + flag


def _text(value: object) -> str:
    return ",".join(str(item) for item in value) if isinstance(value, list) else str(value)
