"""The ``tokentrace`` command line.

``tokentrace prices list [--provider P] [--prices FILE]``
    every priced model, USD per 1M tokens;
``tokentrace prices show MODEL [--prices FILE]``
    how MODEL resolves and its full price entry;
``tokentrace prices validate FILE``
    check a JSON or TOML price file; exit status 1 with file, line and field on error.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Optional, Sequence, TextIO

from .pricing import ModelPrice, PriceFileError, load_price_file, price_table, use_price_file


def _money(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:g}"


def _list(provider: Optional[str], out: TextIO) -> int:
    header = f"{'model':<34} {'provider':<10} {'kind':<10} {'input':>8} {'cached':>8} {'output':>8}  checked"
    out.write(header + "\n" + "-" * len(header) + "\n")
    for price in price_table():
        if provider and price.provider != provider:
            continue
        rates = price.rates
        cached = rates.cached_input if rates.cached_input is not None else rates.cache_read
        out.write(
            f"{price.name:<34} {price.provider:<10} {price.kind:<10} {_money(rates.input):>8} "
            f"{_money(cached):>8} {_money(rates.output):>8}  {price.checked}\n"
        )
    return 0


def _entry(price: ModelPrice) -> dict:
    entry = asdict(price)
    entry["long_context"] = [{"above_input_tokens": t, **asdict(r)} for t, r in price.long_context]
    entry["tiers"] = {name: asdict(r) for name, r in price.tiers.items()}
    return entry


def _show(model: str, out: TextIO) -> int:
    price = price_table().resolve(model)
    if price is None:
        out.write(f"{model}: no price (calls to it are recorded with cost status 'unknown')\n")
        return 1
    out.write(f"{model} -> {price.name}\n")
    out.write(json.dumps(_entry(price), indent=2, default=str) + "\n")
    return 0


def _validate(path: str, out: TextIO) -> int:
    models = load_price_file(path)
    out.write(f"{path}: OK, {len(models)} models\n")
    return 0


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="tokentrace", description="tokentrace utilities")
    commands = parser.add_subparsers(dest="command", required=True)
    prices = commands.add_parser("prices", help="model prices")
    actions = prices.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list priced models")
    listing.add_argument("--provider", choices=("openai", "anthropic"))
    listing.add_argument("--prices", help="extra JSON/TOML price file")
    show = actions.add_parser("show", help="look up one model")
    show.add_argument("model")
    show.add_argument("--prices", help="extra JSON/TOML price file")
    validate = actions.add_parser("validate", help="validate a price file")
    validate.add_argument("file")
    args = parser.parse_args(argv)
    try:
        if args.action == "validate":
            return _validate(args.file, out)
        if args.prices:
            use_price_file(args.prices)
        if args.action == "list":
            return _list(args.provider, out)
        return _show(args.model, out)
    except PriceFileError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
