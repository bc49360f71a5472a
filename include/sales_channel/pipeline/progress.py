"""Progress lines for long work: at most one every few seconds, and a one-line summary at the end."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ProgressLog:
    def __init__(self, logger: logging.Logger, every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger, self._every, self._clock = logger, every_s, clock
        self._last = clock()

    def maybe(self, describe: Callable[[], str]) -> None:
        """Log ``describe()`` if the last progress line is older than the interval."""
        now = self._clock()
        if now - self._last >= self._every:
            self._last = now
            self._logger.info("progress: %s", describe())
