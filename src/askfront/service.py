"""What every browser session shares, apart from the page layout: the settings, the model, the answerer
over the live index, uploads into the corpus, rebuilds, and exported answer files.

One lock guards the answerer: the Gradio listeners (chat, API, citation pick, rebuild) run on worker
threads, and the answerer's caches (reader windows, spaCy documents) are not safe to share between them.
A rebuild builds the new index without the lock (``build_index`` has its own file lock), then swaps in
the new answerer under it and closes the old index.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from askfront.config import Settings
from askfront.errors import AskfrontError, ConfigError, one_line
from askfront.ingest import SUFFIXES
from askfront.types import Filters

if TYPE_CHECKING:
    from askfront.answer import Answer, Citation, Conversation
    from askfront.embed import Embedder

EXPORTS_KEPT = 50  # exported .md files kept on disk (oldest removed first); all removed at exit
_SAFE_NAME = re.compile(r"[^\w.\- ]+")


def safe_upload_name(name: str) -> str:
    """A plain file name for an upload (no folders, no '..', no hidden files), or ConfigError."""
    base = _SAFE_NAME.sub("_", Path(name.replace("\\", "/")).name).strip(" ._")
    suffix = Path(base).suffix.lower()
    if not base or suffix not in SUFFIXES:
        raise ConfigError(f"{name}: only {', '.join(sorted(SUFFIXES))} reports can be added")
    return base


class Service:
    """The shared state of the app. Questions asked during a rebuild are answered from the previous index."""

    def __init__(self, settings: Settings, embedder: Embedder, answerer: Conversation) -> None:
        self.settings, self.embedder, self.answerer = settings, embedder, answerer
        self._lock = threading.RLock()  # the answerer and its index
        self._build_lock = threading.Lock()  # one rebuild at a time from this app
        self._exports = tempfile.TemporaryDirectory(prefix="askfront-export-")  # removed at exit
        self._exported: deque[Path] = deque()
        self._export_count = 0

    @classmethod
    def start(cls, settings: Settings, log=print) -> Service:
        """Load the model and the index once (building the index first if there is none)."""
        from askfront.answerers import load_answerer
        from askfront.build import build_index
        from askfront.embed import Embedder
        from askfront.index import live_version

        embedder = Embedder(settings.model, settings.precision, settings.batch_size)
        if live_version(settings.index) is None:
            log(f"askfront: no index in {settings.index}; building it from {settings.corpus}")
            report = build_index(settings, embedder, progress=True)
            log(f"askfront index: {report.summary()}")
        return cls(settings, embedder, load_answerer(settings, embedder))

    def ask(self, question: str, history: list[Answer] | None = None, filters: Filters | None = None) -> Answer:
        with self._lock:
            return self.answerer.ask(question, history=history, filters=filters)

    def text(self, citation: Citation, begin: int, end: int) -> str:
        """Characters ``begin:end`` of the cited report as the live index holds it (KeyError if it left)."""
        with self._lock:
            return self.answerer.retriever.index.text(citation.file, begin, end)

    def status(self) -> str:
        with self._lock:
            index = self.answerer.retriever.index
            m = index.manifest
            reports = len(index.documents())
        return (
            f"Index: {_plural(reports, 'report')}, {_plural(m.chunks, 'passage')} · "
            f"model {m.model_name} · built {m.built_at}"
        )

    def report_paths(self) -> list[str]:
        """The files of the reports in the live index (for the report filter)."""
        with self._lock:
            return [path for path, _title, _date in self.answerer.retriever.index.documents()]

    def rebuild(self) -> str:
        """Update the index from the corpus (incremental), then answer from the new one."""
        from askfront.answerers import load_answerer
        from askfront.build import build_index

        if not self._build_lock.acquire(blocking=False):
            return "A rebuild is already running."
        try:
            messages: list[str] = []
            report = build_index(self.settings, self.embedder, log=messages.append, progress=True)
            fresh = load_answerer(self.settings, self.embedder)
            with self._lock:
                old, self.answerer = self.answerer, fresh
            old.retriever.index.close()  # no question holds it: they all take the lock
            return "\n".join([f"Rebuilt: {report.summary()}", *messages])
        except AskfrontError as err:
            return f"askfront: error: {err}"
        finally:
            self._build_lock.release()

    def add_reports(self, paths: list[str]) -> str:
        """Copy uploaded files into the corpus folder under safe names; one line per file."""
        lines = []
        limit = self.settings.max_file_bytes
        for path in paths:
            original = Path(path).name
            try:
                name = safe_upload_name(original)
                size = Path(path).stat().st_size
                if size > limit:
                    raise ConfigError(
                        f"{original}: too large ({size / 1e6:.1f} MB > {self.settings.max_file_mb:g} MB limit)"
                    )
                target = self.settings.corpus / name
                stem, suffix, n = target.stem, target.suffix, 1
                while target.exists():
                    target = self.settings.corpus / f"{stem}-{n}{suffix}"
                    n += 1
                self.settings.corpus.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                lines.append(f"Added {target.name}. Rebuild the index to search it.")
            except ConfigError as err:
                lines.append(f"Not added: {err}")
            except OSError as err:
                lines.append(f"Not added: {original}: {one_line(err)}")
        return "\n".join(lines)

    def export(self, markdown: str) -> Path:
        """Write an exported answer to a file for download; only the last ``EXPORTS_KEPT`` are kept."""
        with self._lock:
            self._export_count += 1
            folder = Path(self._exports.name) / str(self._export_count)
            folder.mkdir()
            path = folder / "askfront-answer.md"
            path.write_text(markdown, encoding="utf-8")
            self._exported.append(folder)
            while len(self._exported) > EXPORTS_KEPT:
                shutil.rmtree(self._exported.popleft(), ignore_errors=True)
        return path

    def close(self) -> None:
        """Close the index and remove the exported files."""
        with self._lock:
            self.answerer.retriever.index.close()
        self._exports.cleanup()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
