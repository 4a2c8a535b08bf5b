"""OpenTelemetry metric and attribute names as Prometheus sees them through the shipped Collector.

The Collector's ``prometheus`` exporter (contrib) names metrics with its default translation
strategy, ``UnderscoreEscapingWithSuffixes`` (the behaviour of ``add_metric_suffixes: true``, the
default, before ``translation_strategy`` existed). The rules, as implemented by the Prometheus
``otlptranslator`` module the exporter uses (and, before it, the Collector's
``pkg/translator/prometheus``):

* the name is split into tokens at every character outside ``[a-zA-Z0-9:]`` (dots, and also
  underscores, so runs of separators collapse) and the tokens are joined with ``_``;
* a unit is appended unless the name already has it as a token: a UCUM unit from a fixed table
  (``s`` -> ``seconds``, ``By`` -> ``bytes``, ``ms`` -> ``milliseconds``, ...); a unit not in the
  table is appended as written after replacing invalid characters (``USD`` stays ``USD``: case
  is kept); a unit containing ``{`` or ``}`` (an annotation such as ``{token}``) is dropped;
  ``1`` is dropped; ``A/B`` becomes ``A_per_B`` (``/s`` -> ``per_second``);
* monotonic sums (counters) get ``_total`` (an existing ``total`` token is moved to the end);
* gauges with unit ``1`` get ``_ratio``;
* a name starting with a digit gets a leading ``_``.

Histograms then appear as ``<name>_bucket`` (with ``le``), ``<name>_sum`` and ``<name>_count``.
Attribute keys become label names by replacing every character outside ``[a-zA-Z0-9_]`` with
``_`` (a key starting with a digit gets ``key_``, one starting with a single ``_`` gets ``key``).

This module is the single place the stack derives Prometheus names from, so the dashboards,
rules and the exposition used by the proof test cannot disagree.
"""

from __future__ import annotations

import re

HISTOGRAM = "histogram"
COUNTER = "counter"  # monotonic sum
UPDOWN_COUNTER = "updowncounter"  # non-monotonic sum
GAUGE = "gauge"

_UNITS = {
    # time
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds",
    "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
    # bytes
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes",
    "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    # SI
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
    # misc
    "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}
_PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}

_NOT_METRIC_CHAR = re.compile(r"[^a-zA-Z0-9:]")
_NOT_LABEL_CHAR = re.compile(r"[^a-zA-Z0-9_]")


def _unit_suffixes(unit: str) -> tuple[str, str]:
    parts = unit.split("/", 1)
    main = parts[0].strip()
    main_suffix = _UNITS.get(main, main) if main and not ("{" in main or "}" in main) else ""
    per_suffix = ""
    if len(parts) > 1 and parts[1]:
        per = parts[1].strip()
        if per and not ("{" in per or "}" in per):
            per_suffix = _PER_UNITS.get(per, per)
        if per_suffix:
            per_suffix = "per_" + per_suffix
    return main_suffix, per_suffix


def _clean_unit(unit: str) -> str:
    cleaned = re.sub(r"__+", "_", _NOT_METRIC_CHAR.sub("_", unit))
    return cleaned[1:] if cleaned.startswith("_") else cleaned


def metric_name(name: str, unit: str = "", kind: str = GAUGE) -> str:
    """The Prometheus name of an OpenTelemetry metric (for histograms: the base of the series)."""
    tokens = [t for t in _NOT_METRIC_CHAR.split(name) if t]
    main, per = _unit_suffixes(unit)
    main, per = _clean_unit(main), _clean_unit(per)
    if main in tokens:
        main = ""
    if per == "per_":
        per = ""
    else:
        per = per.removesuffix("_")
        if per in tokens:
            per = ""
    if per:
        main = main.removesuffix("_")
    if main:
        tokens.append(main)
    if per:
        tokens.append(per)
    if kind == COUNTER:
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and kind == GAUGE:
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    result = "_".join(tokens)
    if result[:1].isdigit():
        result = "_" + result
    if not result.strip("_"):
        raise ValueError(f"metric name {name!r} translates to nothing")
    return result


def label_name(key: str) -> str:
    """The Prometheus label name of an OpenTelemetry attribute key."""
    if not key:
        raise ValueError("empty attribute key")
    label = _NOT_LABEL_CHAR.sub("_", key)
    if label[0].isdigit():
        label = "key_" + label
    elif label.startswith("_") and not label.startswith("__"):
        label = "key" + label
    return label


def job_of(resource: dict) -> str | None:
    """The ``job`` label the exporter gives a resource: ``[service.namespace/]service.name``."""
    name = resource.get("service.name")
    if name is None:
        return None
    namespace = resource.get("service.namespace")
    return f"{namespace}/{name}" if namespace is not None else str(name)


def instance_of(resource: dict) -> str | None:
    """The ``instance`` label: ``service.instance.id``."""
    value = resource.get("service.instance.id")
    return None if value is None else str(value)
