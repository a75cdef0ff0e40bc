"""Refused requests: counted all, logged by sample.

An attacker's flood of bad requests must not become a flood of log lines (disk, log shipping,
and the event loop's time writing them). Every refusal is counted by kind (``/metrics``:
``gatehouse_refusals_total{kind=...}``); at most ``per_window`` lines are logged per window,
and when a window that dropped lines ends, one line says how many were left out
(``gatehouse_refusal_logs_suppressed_total`` counts them too).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["RefusalLog", "SampledWarnings"]


class RefusalLog:
    """One per process, shared by every endpoint that refuses requests."""

    def __init__(
        self,
        *,
        per_window: int = 20,
        window_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_window = per_window
        self.window_seconds = window_seconds
        self.counts: Counter[str] = Counter()  # refusals by kind, since start
        self.suppressed_total = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._window_end = 0.0
        self._logged = 0
        self._suppressed = 0

    def refused(
        self,
        kind: str,
        logger: logging.Logger,
        message: str,
        *args: object,
        level: int = logging.INFO,
    ) -> None:
        """Count one refusal of ``kind``; log ``message % args`` unless the window is full."""
        with self._lock:
            self.counts[kind] += 1
            now = self._clock()
            if now >= self._window_end:
                self._close_window(logger)
                self._window_end = now + self.window_seconds
            if self._logged >= self.per_window:
                self._suppressed += 1
                self.suppressed_total += 1
                return
            self._logged += 1
        logger.log(level, message, *args)

    def _close_window(self, logger: logging.Logger) -> None:
        if self._suppressed:
            logger.warning(
                "%d more refused requests were not logged in the last %.0f s (see /metrics)",
                self._suppressed,
                self.window_seconds,
            )
        self._logged = 0
        self._suppressed = 0


class SampledWarnings:
    """uvicorn's protocol logger, whose warnings (a malformed request, a 503, an unsupported
    upgrade: one per request an attacker sends) go through the sampled refusal log."""

    def __init__(self, logger: logging.Logger, refusals: RefusalLog) -> None:
        self._logger = logger
        self._refusals = refusals

    @property
    def level(self) -> int:
        return self._logger.level

    def warning(self, message: str, *args: object) -> None:
        self._refusals.refused("http", self._logger, message, *args, level=logging.WARNING)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)
