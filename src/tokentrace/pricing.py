"""Model prices: the shipped table, user overrides, and model-name resolution.

Prices are USD per 1M tokens. The shipped table is ``tokentrace/data/prices.json``; users extend
or override it with a JSON or TOML file (``instrument(prices=...)`` or ``TOKENTRACE_PRICES_FILE``)
or in Python (:func:`set_model_price`). A malformed file raises :class:`PriceFileError` naming the
file, line and field.

Model names resolve as the providers resolve them: an exact name or listed alias first, then the
name without its snapshot date (``gpt-4o-2024-08-06`` → ``gpt-4o``,
``claude-sonnet-4-20250514`` → ``claude-sonnet-4``), ``-latest``, or platform decorations
(``anthropic.claude-…-v1:0`` and Bedrock's cross-region profiles ``us.``/``global.``/``us-gov.``…,
``claude-…@20241022``, ``openai/gpt-4o``). An entry marked ``only_listed_snapshots`` is reached by
its name and aliases only: its family had snapshots at other prices, so an unlisted dated name of
it is unknown rather than priced wrong.

Service tiers and long context combine: a tier's own ``long_context`` bands apply when the entry
lists them (the provider's published combined rates); otherwise the standard long-context
multipliers (long-context rate / standard rate, per kind of token) apply to the tier's rates.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Union

from ._key_lines import KeyLines, KeyPath
from .config import ConfigError

RATE_FIELDS = ("input", "output", "cached_input", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning_output")
_MODEL_FIELDS = frozenset(
    RATE_FIELDS
    + ("provider", "kind", "aliases", "long_context", "tiers", "source", "checked", "notes", "only_listed_snapshots")
)
_PROVIDERS = ("openai", "anthropic")
_KINDS = ("chat", "embeddings")
# Which per-token price (see Rates.per_token) each rate field is: long-context multipliers are
# taken per kind of token, with the same fallbacks the cost uses.
_PER_TOKEN_INDEX = {
    "input": 0, "cached_input": 1, "cache_read": 1, "cache_write_5m": 2, "cache_write_1h": 3,
    "output": 4, "reasoning_output": 4,
}


class PriceFileError(ConfigError):
    """A price file is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class Rates:
    """USD per 1M tokens for each kind of token; None where the model has no such price."""

    input: float
    output: Optional[float] = None
    cached_input: Optional[float] = None
    cache_read: Optional[float] = None
    cache_write_5m: Optional[float] = None
    cache_write_1h: Optional[float] = None
    reasoning_output: Optional[float] = None

    @cached_property
    def per_token(self) -> tuple[float, float, float, float, float, Optional[float]]:
        """USD per token with the fallbacks applied, computed once: (input, cache read,
        cache write 5m, cache write 1h, output, reasoning output or None)."""
        read = self.cache_read if self.cache_read is not None else self.cached_input
        write_5m = self.cache_write_5m if self.cache_write_5m is not None else self.input
        write_1h = self.cache_write_1h if self.cache_write_1h is not None else write_5m
        per = 1e-6  # prices are per 1M tokens
        return (
            self.input * per,
            (read if read is not None else self.input) * per,
            write_5m * per,
            write_1h * per,
            (self.output or 0.0) * per,
            None if self.reasoning_output is None else self.reasoning_output * per,
        )


LongContext = tuple[tuple[int, Rates], ...]
"""(input-token threshold, rates) bands, ascending: above a threshold the whole request is billed
at its rates."""


@dataclass(frozen=True)
class ModelPrice:
    name: str
    provider: str
    kind: str
    rates: Rates
    long_context: LongContext = ()
    tiers: Mapping[str, Rates] = field(default_factory=dict)
    tier_long_context: Mapping[str, LongContext] = field(default_factory=dict)
    """Each tier's long-context bands: published, or derived from the standard ones."""
    aliases: tuple[str, ...] = ()
    source: str = ""
    checked: str = ""
    only_listed_snapshots: bool = False

    def rates_for(self, input_tokens: int, tier: Optional[str]) -> Rates:
        """The rates billed for a request of ``input_tokens`` served at ``tier`` (None: standard)."""
        if tier and tier in self.tiers:
            return _band(self.tiers[tier], self.tier_long_context.get(tier, ()), input_tokens)
        return _band(self.rates, self.long_context, input_tokens)


def _band(base: Rates, bands: LongContext, input_tokens: int) -> Rates:
    chosen = base
    for threshold, rates in bands:
        if input_tokens > threshold:
            chosen = rates
    return chosen


def _scaled_like(standard: Rates, standard_long: Rates, tier: Rates) -> Rates:
    """``tier``'s rates times the standard long-context multiplier of each kind of token."""
    values = {}
    for name in RATE_FIELDS:
        rate = getattr(tier, name)
        if rate is None:
            continue
        index = _PER_TOKEN_INDEX[name]
        base = standard.per_token[index]
        factor = standard_long.per_token[index] / base if base else 1.0
        values[name] = float(f"{rate * factor:.12g}")  # 0.15 * (0.6 / 0.3) is 0.3, not 0.29999…
    return replace(tier, **values)


def _derived_tier_long_context(standard: Rates, long_context: LongContext, tier: Rates) -> LongContext:
    return tuple((threshold, _scaled_like(standard, rates, tier)) for threshold, rates in long_context)


# --- name resolution -------------------------------------------------------------------------

_DATE_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4}|-latest|@\d{8}|@latest|-v\d+(:\d+)?|:\d+)$")
# Bedrock: an optional model ARN, then a cross-region inference profile (us., eu., apac.,
# us-gov., global., …) before "anthropic.".
_PLATFORM_PREFIX = re.compile(
    r"^(openai/|anthropic/|azure/|(?:arn:aws[a-z-]*:bedrock:[^/]*/)?(?:[a-z]+(?:-[a-z]+)*\.)?anthropic\.)"
)


def candidate_names(model: str) -> Iterable[str]:
    """The names to try for ``model``, most specific first."""
    for name, _ in _candidates(model):
        yield name


def _candidates(model: str) -> Iterator[tuple[str, bool]]:
    """(name, whether it is ``model`` with a snapshot suffix removed), most specific first."""
    name = model.strip().lower()
    yield name, False
    bare = _PLATFORM_PREFIX.sub("", name)
    if bare != name:
        yield bare, False
    stripped = bare
    while True:
        shorter = _DATE_SUFFIX.sub("", stripped)
        if shorter == stripped:
            break
        stripped = shorter
        yield stripped, True


class PriceTable:
    """An immutable set of model prices with cached name resolution."""

    def __init__(self, models: Mapping[str, ModelPrice]) -> None:
        self._models = dict(models)
        self._by_name: dict[str, ModelPrice] = {}
        for price in self._models.values():
            self._by_name[price.name.lower()] = price
        for price in self._models.values():
            for alias in price.aliases:
                self._by_name.setdefault(alias.lower(), price)
        self._resolved: dict[tuple[str, Optional[str]], Optional[ModelPrice]] = {}

    def __len__(self) -> int:
        return len(self._models)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._models.values(), key=lambda p: (p.provider, p.name)))

    def resolve(self, model: Optional[str], provider: Optional[str] = None) -> Optional[ModelPrice]:
        """The price entry for ``model`` (None when unknown). Cached: the hot path is one dict hit."""
        if not model:
            return None
        key = (model, provider)
        try:
            return self._resolved[key]
        except KeyError:
            pass
        found = self._lookup(model, provider)
        if len(self._resolved) > 4096:  # model names come from responses: keep the cache bounded
            self._resolved.clear()
        self._resolved[key] = found
        return found

    def _lookup(self, model: str, provider: Optional[str]) -> Optional[ModelPrice]:
        for name, snapshot_removed in _candidates(model):
            price = self._by_name.get(name)
            if price is None or (snapshot_removed and price.only_listed_snapshots):
                continue
            if provider is None or _same_provider(price.provider, provider):
                return price
        return None

    def merged(self, overrides: Mapping[str, ModelPrice]) -> "PriceTable":
        """A new table with ``overrides`` replacing or adding entries by name."""
        models = dict(self._models)
        models.update(overrides)
        return PriceTable(models)


def _same_provider(price_provider: str, call_provider: str) -> bool:
    if price_provider == call_provider:
        return True
    # Azure OpenAI bills OpenAI models; Bedrock and Vertex bill Claude models (list prices).
    return (price_provider, call_provider) in {
        ("openai", "azure.ai.openai"), ("anthropic", "aws.bedrock"), ("anthropic", "gcp.vertex_ai"),
    }


# --- where a field is written, for error messages ---------------------------------------------

_FIELD_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _field_path(field_name: str) -> KeyPath:
    """``"long_context[1].input"`` → ``("long_context", 1, "input")``."""
    return tuple(int(index) if index else name for index, name in _FIELD_PART.findall(field_name))


class _Locator:
    """Finds the line of a model's field in the source text, for error messages."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self._lines: Optional[KeyLines] = None

    def line_of(self, key_path: KeyPath) -> int:
        if self._lines is None:
            self._lines = KeyLines(self.text, toml=self.path.lower().endswith(".toml"))
        return self._lines.line_of(key_path)

    def error(self, model: Optional[str], field_name: str, problem: str) -> PriceFileError:
        model_path: KeyPath = ("models", model) if model is not None else ()
        line = self.line_of(model_path + _field_path(field_name))
        where = f"models.{model}.{field_name}" if model else field_name
        return PriceFileError(f"{self.path}, line {line}: field {where!r}: {problem}")


# --- loading ---------------------------------------------------------------------------------


def _rate(value: Any, model: str, name: str, loc: _Locator) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise loc.error(model, name, f"must be a non-negative number (USD per 1M tokens), got {value!r}")
    return float(value)


def _rates(entry: Mapping[str, Any], model: str, prefix: str, loc: _Locator, base: Optional[Rates],
           allowed: frozenset[str] = frozenset()) -> Rates:
    values: dict[str, Any] = {}
    for name in RATE_FIELDS:
        if name in entry and entry[name] is not None:
            values[name] = _rate(entry[name], model, prefix + name, loc)
    unknown = set(entry) - set(RATE_FIELDS) - allowed
    if unknown:
        raise loc.error(model, prefix + sorted(unknown)[0], f"unknown rate (known: {', '.join(RATE_FIELDS)})")
    if base is not None:
        return replace(base, **values)
    if "input" not in values:
        raise loc.error(model, prefix + "input", "is required")
    return Rates(**values)


def _long_context(bands: Any, model: str, prefix: str, loc: _Locator, base: Rates) -> LongContext:
    if bands is None:
        return ()
    if not isinstance(bands, (list, tuple)):
        raise loc.error(model, prefix, "must be a list of {above_input_tokens = N, <rates>} bands")
    parsed = []
    for index, band in enumerate(bands):
        band_prefix = f"{prefix}[{index}]."
        threshold = band.get("above_input_tokens") if isinstance(band, Mapping) else None
        if not isinstance(threshold, int) or isinstance(threshold, bool):
            raise loc.error(model, band_prefix + "above_input_tokens", "must be an integer token count")
        parsed.append((threshold, _rates(band, model, band_prefix, loc, base, frozenset({"above_input_tokens"}))))
    return tuple(sorted(parsed, key=lambda band: band[0]))


def _tiers(entry: Mapping[str, Any], name: str, loc: _Locator, rates: Rates,
           long_context: LongContext) -> tuple[dict[str, Rates], dict[str, LongContext]]:
    tiers: dict[str, Rates] = {}
    tier_long_context: dict[str, LongContext] = {}
    raw_tiers = entry.get("tiers") or {}
    if not isinstance(raw_tiers, Mapping):
        raise loc.error(name, "tiers", "must be a table of tier name -> prices")
    for tier_name, tier in raw_tiers.items():
        prefix = f"tiers.{tier_name}."
        if not isinstance(tier, Mapping):
            raise loc.error(name, f"tiers.{tier_name}", "must be an object of prices")
        tier_rates = _rates(tier, name, prefix, loc, rates, frozenset({"long_context"}))
        tiers[str(tier_name)] = tier_rates
        if "long_context" in tier:  # the provider's combined rates
            tier_long_context[str(tier_name)] = _long_context(
                tier["long_context"], name, prefix + "long_context", loc, tier_rates
            )
        elif long_context:
            tier_long_context[str(tier_name)] = _derived_tier_long_context(rates, long_context, tier_rates)
    return tiers, tier_long_context


def _model_price(name: str, entry: Any, loc: _Locator) -> ModelPrice:
    if not isinstance(entry, Mapping):
        raise loc.error(name, "", "must be an object of prices")
    unknown = set(entry) - _MODEL_FIELDS
    if unknown:
        raise loc.error(name, sorted(unknown)[0], "unknown field")
    provider = entry.get("provider")
    if provider not in _PROVIDERS:
        raise loc.error(name, "provider", f"must be one of {', '.join(_PROVIDERS)}, got {provider!r}")
    kind = entry.get("kind", "chat")
    if kind not in _KINDS:
        raise loc.error(name, "kind", f"must be one of {', '.join(_KINDS)}, got {kind!r}")
    rates = _rates({k: v for k, v in entry.items() if k in RATE_FIELDS}, name, "", loc, None)
    if kind == "chat" and rates.output is None:
        raise loc.error(name, "output", "is required for chat models")
    long_context = _long_context(entry.get("long_context"), name, "long_context", loc, rates)
    tiers, tier_long_context = _tiers(entry, name, loc, rates, long_context)
    aliases = entry.get("aliases") or ()
    if not isinstance(aliases, (list, tuple)) or not all(isinstance(a, str) for a in aliases):
        raise loc.error(name, "aliases", "must be a list of model names")
    only_listed = entry.get("only_listed_snapshots", False)
    if not isinstance(only_listed, bool):
        raise loc.error(name, "only_listed_snapshots", f"must be true or false, got {only_listed!r}")
    return ModelPrice(
        name=name, provider=provider, kind=kind, rates=rates, long_context=long_context,
        tiers=tiers, tier_long_context=tier_long_context, aliases=tuple(aliases),
        source=str(entry.get("source", "")), checked=str(entry.get("checked", "")),
        only_listed_snapshots=only_listed,
    )


def parse_prices(data: Any, path: str, text: str) -> dict[str, ModelPrice]:
    loc = _Locator(path, text)
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), Mapping):
        raise loc.error(None, "models", "the file must hold a 'models' table of model name -> prices")
    currency = data.get("currency", "USD")
    if currency != "USD":
        raise loc.error(None, "currency", f"only USD is supported, got {currency!r}")
    return {str(name): _model_price(str(name), entry, loc) for name, entry in data["models"].items()}


def load_price_file(path: Union[str, Path]) -> dict[str, ModelPrice]:
    """Read a JSON or TOML price file (by extension). Raises :class:`PriceFileError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read price file: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise PriceFileError(f"{path}: TOML price files need Python 3.11 or newer; use JSON") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PriceFileError(f"{path}: invalid TOML: {exc}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PriceFileError(f"{path}, line {exc.lineno}: invalid JSON: {exc.msg}") from None
    return parse_prices(data, str(path), text)


def load_default_prices() -> dict[str, ModelPrice]:
    source = resources.files("tokentrace").joinpath("data/prices.json")
    text = source.read_text(encoding="utf-8")
    return parse_prices(json.loads(text), "tokentrace/data/prices.json", text)


# --- the active table ------------------------------------------------------------------------

_lock = threading.Lock()
_defaults: Optional[dict[str, ModelPrice]] = None
_file_overrides: dict[str, ModelPrice] = {}
_code_overrides: dict[str, ModelPrice] = {}
_active: Optional[PriceTable] = None


def _rebuild() -> PriceTable:
    global _defaults, _active
    if _defaults is None:
        _defaults = load_default_prices()
    table = PriceTable(_defaults).merged(_file_overrides).merged(_code_overrides)
    _active = table
    return table


def price_table() -> PriceTable:
    """The table in force: shipped prices, then the price file, then prices set in code."""
    table = _active
    if table is None:
        with _lock:
            table = _active or _rebuild()
    return table


def use_price_file(path: Optional[Union[str, Path]]) -> None:
    """Replace the price-file overrides (None removes them). Raises :class:`PriceFileError`."""
    global _file_overrides
    overrides = load_price_file(path) if path else {}
    with _lock:
        _file_overrides = overrides
        _rebuild()


def set_model_price(
    model: str,
    *,
    provider: str,
    input: float,
    output: Optional[float] = None,
    kind: str = "chat",
    aliases: Iterable[str] = (),
    **rates: Any,
) -> ModelPrice:
    """Add or override one model's price (USD per 1M tokens) for this process.

    Keyword rates: ``cached_input``, ``cache_read``, ``cache_write_5m``, ``cache_write_1h``,
    ``reasoning_output``. Raises :class:`PriceFileError` for invalid values.
    """
    entry = {"provider": provider, "kind": kind, "input": input, "aliases": list(aliases), **rates}
    if output is not None:
        entry["output"] = output
    price = _model_price(model, entry, _Locator("set_model_price()", ""))
    with _lock:
        _code_overrides[model] = price
        _rebuild()
    return price


def reset_prices() -> None:
    """Drop every override (file and code); the shipped table stays."""
    global _file_overrides, _code_overrides
    with _lock:
        _file_overrides = {}
        _code_overrides = {}
        _rebuild()
