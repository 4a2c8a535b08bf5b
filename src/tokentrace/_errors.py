"""Fail-open handling of tokentrace's own errors.

Telemetry must never break the user's call: every internal failure is caught, logged once per
call site, and swallowed. Tests set ``TOKENTRACE_RAISE_INTERNAL_ERRORS=1`` so that an internal
bug fails the test instead of hiding in a log line.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("tokentrace")

_reported: set[str] = set()


def raise_internal_errors() -> bool:
    return os.environ.get("TOKENTRACE_RAISE_INTERNAL_ERRORS", "") == "1"


def log_internal_error(where: str) -> None:
    """Log the exception being handled, once per ``where``; re-raise it when tests ask to.

    Call only from an ``except`` block.
    """
    if raise_internal_errors():
        raise
    if where in _reported:
        logger.debug("tokentrace internal error in %s", where, exc_info=True)
        return
    _reported.add(where)
    logger.warning(
        "tokentrace internal error in %s; the call proceeds without this telemetry "
        "(further errors here are logged at DEBUG)",
        where,
        exc_info=True,
    )
