"""The ``tokentrace`` command line.

``tokentrace prices list [--provider P] [--prices FILE]``
    every priced model, USD per 1M tokens;
``tokentrace prices show MODEL [--prices FILE]``
    how MODEL resolves and its full price entry;
``tokentrace prices validate FILE``
    check a JSON or TOML price file; exit status 1 with file, line and field on error.

``list`` and ``show`` use the same prices as ``instrument()``: the ``--prices`` file, else
``$TOKENTRACE_PRICES_FILE``, else the shipped table alone. Output cut short by the reader
(``tokentrace prices list | head``) ends the command quietly, with status 141 like a program
stopped by SIGPIPE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import Optional, Sequence, TextIO

from .environment_variables import TOKENTRACE_PRICES_FILE
from .pricing import ModelPrice, PriceFileError, load_price_file, price_table, use_price_file

BROKEN_PIPE_STATUS = 128 + 13  # what a shell reports for a program killed by SIGPIPE


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


def _bands(long_context) -> list[dict]:  # type: ignore[no-untyped-def]
    return [{"above_input_tokens": threshold, **asdict(rates)} for threshold, rates in long_context]


def _entry(price: ModelPrice) -> dict:
    entry = asdict(price)
    entry["long_context"] = _bands(price.long_context)
    entry["tiers"] = {
        name: {**asdict(rates), "long_context": _bands(price.tier_long_context.get(name, ()))}
        for name, rates in price.tiers.items()
    }
    del entry["tier_long_context"]
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokentrace", description="tokentrace utilities")
    commands = parser.add_subparsers(dest="command", required=True)
    prices = commands.add_parser("prices", help="model prices")
    actions = prices.add_subparsers(dest="action", required=True)
    prices_help = f"extra JSON/TOML price file (default: ${TOKENTRACE_PRICES_FILE})"
    listing = actions.add_parser("list", help="list priced models")
    listing.add_argument("--provider", choices=("openai", "anthropic"))
    listing.add_argument("--prices", help=prices_help)
    show = actions.add_parser("show", help="look up one model")
    show.add_argument("model")
    show.add_argument("--prices", help=prices_help)
    validate = actions.add_parser("validate", help="validate a price file")
    validate.add_argument("file")
    return parser


def _use_prices(argument: Optional[str]) -> None:
    """The precedence of ``instrument()``: the argument, else the environment variable."""
    from_env = os.environ.get(TOKENTRACE_PRICES_FILE, "").strip()
    setting, path = ("--prices", argument) if argument else (TOKENTRACE_PRICES_FILE, from_env)
    if not path:
        return
    try:
        use_price_file(path)
    except PriceFileError as exc:
        raise PriceFileError(f"{setting}: {exc}") from None


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "validate":
        return _validate(args.file, out)
    _use_prices(args.prices)
    if args.action == "list":
        return _list(args.provider, out)
    return _show(args.model, out)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (tests, embedded use)
        pass


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    args = _parser().parse_args(argv)
    out = out if out is not None else sys.stdout
    try:
        status = _run(args, out)
        out.flush()
        return status
    except PriceFileError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except BrokenPipeError:  # the reader stopped reading (| head): stop quietly
        _silence_stdout()
        return BROKEN_PIPE_STATUS


if __name__ == "__main__":
    sys.exit(main())
