"""Regenerate the dashboards, Prometheus rules and Grafana provisioning from grafana/stackgen/.

    python grafana/generate.py           # write the files
    python grafana/generate.py --check   # exit 1 if a generated file is out of date

Needs tokentrace importable (the metric names come from tokentrace.semconv) and PyYAML.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stackgen  # noqa: E402


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stackgen.stale()
        for path in stale:
            print(f"out of date: {path}")
        return 1 if stale else 0
    for path in stackgen.write():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
