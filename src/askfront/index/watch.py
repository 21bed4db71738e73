"""Keeping the index in step with the corpus folder while the app runs: a cheap periodic scan of file
names, sizes and modification times (no file is read); when they change, the caller's rebuild runs.

A scan of a few thousand files costs milliseconds, so a scan every few seconds (``Settings.watch_s``) needs
no file-system notification library and works the same on every system and network drive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from askfront.ingest.reports import EXAMPLES_FILE, scan_corpus, sidecar_path
from askfront.language.names import ALIASES_FILE

Signature = tuple[tuple[str, int, int], ...]


def signature(corpus: Path) -> Signature:
    """(path, size, modification time) of every report, its sidecar and the alias file: what a rebuild reads."""
    out = []
    try:
        files = scan_corpus(corpus).files
    except Exception:  # the folder is gone or unreadable: the rebuild says why
        return ()
    for path in [*files, *(sidecar_path(f) for f in files), corpus / ALIASES_FILE, corpus / EXAMPLES_FILE]:
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((path.relative_to(corpus).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


class CorpusWatcher:
    """Calls ``on_change()`` from a background thread whenever ``signature(corpus)`` changes (and once at
    the first check, for changes made while the app was not running). ``on_change`` returns when the
    index is updated: True, and the signature it was called for is then the one seen; False when it
    could not update now, and the next scan calls it again."""

    def __init__(self, corpus: Path, every_s: float, on_change: Callable[[], bool]) -> None:
        self.corpus, self.every_s, self.on_change = corpus, every_s, on_change
        self.seen: Signature | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One scan; runs ``on_change`` when the corpus changed. True if it did."""
        now = signature(self.corpus)
        if now == self.seen:
            return False
        if self.on_change():
            self.seen = now
        return True

    def start(self) -> None:
        if self.every_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="askfront-corpus-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.check()
            except Exception as err:  # never ends the thread: the next scan tries again
                import sys

                print(f"askfront: warning: corpus check failed ({type(err).__name__}: {err})", file=sys.stderr)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
