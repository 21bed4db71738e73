"""Keeping a flood of bad requests from taking the app down with it: the web framework's error lines are
let through once per kind per minute (a flood of stalled uploads wrote 439 MB of log in 45 s), and the
process may open as many files as the system allows it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

EVERY_S = 60.0  # one line per kind of error in this long
KINDS_KEPT = 1_000  # kinds remembered (a message that differs every time is still one line a minute each)
# The loggers of the web server and framework; askfront's own lines are printed, one per event.
LOGGERS = ("", "asyncio", "uvicorn", "uvicorn.error", "uvicorn.access", "gradio", "httpx", "starlette", "fastapi")


class OncePerKind(logging.Filter):
    """Lets one record of each kind (logger, message, error type) through per ``every_s``; the next one
    let through says how many were held back."""

    def __init__(self, every_s: float = EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every_s, self.clock = every_s, clock
        self._seen: dict[tuple[str, str, str], tuple[float, int]] = {}  # kind -> (last let through, held)
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, str(record.msg)[:100], error)
        now = self.clock()
        with self._lock:
            last, held = self._seen.get(kind, (None, 0))
            if last is not None and now - last < self.every_s:
                self._seen[kind] = (last, held + 1)
                return False
            if len(self._seen) >= KINDS_KEPT:
                self._seen.clear()
            self._seen[kind] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {self.every_s:g} s not shown]"
        return True


def limit_floods() -> OncePerKind:
    """Install one ``OncePerKind`` on the web loggers and raise the open-file limit to the hard limit."""
    once = OncePerKind()
    for name in LOGGERS:
        logging.getLogger(name).addFilter(once)
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ImportError, ValueError, OSError):
        pass
    return once
