"""Times as the console shows them: short and relative ("5 min ago"), with the exact UTC time
for a tooltip (``<time datetime title>``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

MINUTE, HOUR, DAY = 60, 3600, 86400


def exact_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(delta: float) -> str:
    if delta < HOUR:
        return f"{max(1, int(delta // MINUTE))} min"
    if delta < DAY:
        return f"{int(delta // HOUR)} h"
    days = int(delta // DAY)
    return "1 day" if days == 1 else f"{days} days"


def relative_time(seconds: float, now: float | None = None) -> str:
    """``just now``, ``12 min ago``, ``3 h ago``, ``2 days ago``, ``in 59 min``; past a month,
    the date."""
    now = time.time() if now is None else now
    delta = now - seconds
    if abs(delta) < MINUTE:
        return "just now"
    if abs(delta) >= 30 * DAY:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")
    return f"{_span(delta)} ago" if delta > 0 else f"in {_span(-delta)}"
