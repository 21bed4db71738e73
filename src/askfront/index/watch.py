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
MAX_RETRY_S = 60.0  # longest wait between tries of an update that could not run (a full disk)


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
    """Calls ``on_change()`` from a background thread whenever ``signature(corpus)`` changed and then held
    for one scan (a file still being copied in changes size or time between scans: it is indexed once it
    is whole), and once at the first check, for changes made while the app was not running.

    ``on_change`` returns True when the index is updated (the signature it was called for is then the one
    seen); False when it could not update (another build holds the index, a full disk): the change is
    tried again, at the next scan and then at growing intervals up to ``MAX_RETRY_S``, until it is indexed.
    """

    def __init__(self, corpus: Path, every_s: float, on_change: Callable[[], bool]) -> None:
        self.corpus, self.every_s, self.on_change = corpus, every_s, on_change
        self.seen: Signature | None = None  # what the index was last updated for
        self.last: Signature | None = None  # what the previous scan found
        self.failures = 0  # updates that could not run since the last one that did
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One scan; runs ``on_change`` when the corpus changed and held still since the last scan (or at
        the first check). True if it ran."""
        now, before = signature(self.corpus), self.last
        self.last = now
        if now == self.seen or (self.seen is not None and now != before):
            return False  # unchanged, or still changing: wait for a scan that finds it still
        if self.on_change():
            self.seen, self.failures = now, 0
        else:
            self.failures += 1
        return True

    def start(self) -> None:
        if self.every_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="askfront-corpus-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(min(MAX_RETRY_S, self.every_s * 2 ** min(self.failures, 10))):
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
