"""What every browser session shares, apart from the page layout: the settings, the model, the answerer
over the live index, uploads into the corpus, rebuilds, and exported answer files.

One lock guards the answerer: the Gradio listeners (chat, API, citation pick, rebuild) run on worker
threads, and the answerer's caches (reader windows, spaCy documents) are not safe to share between them.
A rebuild builds the new index without the lock (``build_index`` has its own file lock), then swaps in
the new answerer under it and closes the old index.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import re
import shutil
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from askfront.app.conversations import ConversationStore
from askfront.app.corpus_edits import CorpusEdits
from askfront.app.scratch import Scratch
from askfront.core.cache import LRU
from askfront.core.config import Settings
from askfront.core.errors import AskfrontError, ConfigError, one_line
from askfront.core.types import Filters
from askfront.ingest.reports import (
    EXAMPLES_FILE,
)

if TYPE_CHECKING:
    from askfront.analysis.views import NameRow, TimelineRow
    from askfront.answer.conversation import Answer, Citation, Conversation
    from askfront.index.embed import Embedder
    from askfront.index.store import ReportRow
    from askfront.index.watch import CorpusWatcher
    from askfront.search.text import ReportMatches, Term

# The demo report's example questions: shown only while the demo report is in the corpus.
DEMO_REPORT = "misrata-militia-gain-back-territory.txt"
DEMO_EXAMPLES = (
    "How far is Abu Grain from Sirte?",
    "How many GNA fighters were killed in recapturing Abu Grain?",
    "Who said that?",
    "Who commands the Libyan National Army?",
    "What is the population of Misrata?",
)
PARAGRAPHS_KEPT = 64  # reports whose paragraph starts are remembered (see Service.where)
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
_LINE_BREAK = re.compile(r"\n\s*")
EXPORTS_KEPT = 50  # exported .md files kept on disk (oldest removed first); all removed at exit
# Every this many questions the C heap's free pages are given back to the system (glibc malloc_trim):
# over HTTP the app's memory otherwise crept up by ~0.4 MB a question for 1,000 questions, most of it
# freed but kept by the allocator (measured: a trim after 600 questions gave back 110 MB). Costs ~1 ms.
TRIM_EVERY = 10


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Service(CorpusEdits):
    """The shared state of the app. Questions asked during a rebuild are answered from the previous index."""

    def __init__(
        self, settings: Settings, embedder: Embedder, answerer: Conversation, log: Callable[[str], None] = _log
    ) -> None:
        self.settings, self.embedder, self.answerer, self.log = settings, embedder, answerer, log
        self.generation = 0  # counts swaps of the answerer, so every tab can tell that the index changed
        self._lock = threading.RLock()  # the answerer and its index
        self._build_lock = threading.Lock()  # one rebuild at a time from this app
        self.scratch = Scratch.open()  # uploads, exports and the web framework's files: removed at exit
        self._exports = self.scratch.folder / "exports"
        self._exports.mkdir()
        self._exported: deque[Path] = deque()
        self._export_count = 0
        self._written: dict[tuple[str, str], Path] = {}  # (extension, content sha256) -> its export file
        self._paragraphs = LRU(PARAGRAPHS_KEPT)  # (index generation, report) -> paragraph starts, see where()
        self.activity = ""  # what the background index update is doing, for the status line
        self.behind = self.behind_why = ""  # since when, and why, the index is behind the corpus folder
        self._asked = 0  # questions answered (see TRIM_EVERY)
        self.watcher: CorpusWatcher | None = None
        self.conversations = ConversationStore(settings.conversations)

    @classmethod
    def start(cls, settings: Settings, log: Callable[[str], None] = _log) -> Service:
        """Load the model and the index once (building the index first if there is none), saying so."""
        from askfront.answer.registry import load_answerer
        from askfront.index.build import build_index
        from askfront.index.embed import Embedder
        from askfront.index.manifest import FORMAT_VERSION
        from askfront.index.store import live_version

        embedder = Embedder.from_settings(settings)
        log(f"askfront: loading the embedding model {embedder.name} ({embedder.precision})")
        embedder.warm_up()
        if live_version(settings.index) is None:
            log(f"askfront: no index in {settings.index}; building it from {settings.corpus}")
            report = build_index(settings, embedder, progress=True)
            log(f"askfront index: {report.summary()}")
        elif _format_of(settings.index) not in (None, FORMAT_VERSION):  # from an older askfront: update it
            log(f"askfront: the index in {settings.index} was built by an older askfront; updating it")
            report = build_index(settings, embedder, progress=True)
            log(f"askfront index: {report.summary()}")
        answerer = load_answerer(settings, embedder)
        index = answerer.retriever.index
        reports, passages = _plural(len(index.documents()), "report"), _plural(len(index), "passage")
        log(f"askfront: index {settings.index}: {reports}, {passages}")
        log(f"askfront: loading the {settings.answerer} answerer")
        answerer.warm_up()
        return cls(settings, embedder, answerer, log)

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        """The answerer's lock, waited for at most ``settings.ask_wait_s``: one slow question cannot hold
        the others for longer; they are refused with a line saying so."""
        if not self._lock.acquire(timeout=self.settings.ask_wait_s):
            raise AskfrontError(
                f"busy with another question for over {self.settings.ask_wait_s:g} s; ask again in a moment"
            )
        try:
            yield
        finally:
            self._lock.release()

    def ask(self, question: str, history: list[Answer] | None = None, filters: Filters | None = None) -> Answer:
        with self._answering():
            return self._noted(self.answerer.ask(question, history=history, filters=filters))

    def _noted(self, answer: Answer) -> Answer:
        """The answer, saying so when the index is behind the corpus folder (and the heap trimmed now and
        then, see TRIM_EVERY)."""
        self._asked += 1
        if self._asked % TRIM_EVERY == 0:
            _trim_heap()
        notice = self.behind_notice()
        if notice:
            answer.notice = f"{notice} {answer.notice}".strip()
        return answer

    def every_report(
        self, question: str, history: list[Answer] | None = None, filters: Filters | None = None
    ) -> Answer:
        """Each report's own answer to ``question``, side by side, conflicting figures flagged."""
        from askfront.analysis.every_report import every_report

        with self._answering():
            return self._noted(every_report(self.answerer, question, history=history, filters=filters))

    def aliases(self) -> dict[str, str]:
        from askfront.language.names import load_aliases

        return load_aliases(self.settings.corpus)

    def names(self, by_text: int = 0, kind: str = "") -> list[NameRow]:
        """People, organisations and places of the whole corpus, most mentioned first."""
        from askfront.analysis import views

        aliases = self.aliases()
        with self._lock:
            return views.names(self.answerer.retriever.index, aliases, by_text, of_kind=kind)

    def reports_naming(self, key: str) -> list[str]:
        """The reports that write the name (by text; see name_reports), for restricting questions to them."""
        return sorted(m.path for m in self.name_reports(key))

    def grep(self, wanted: str | list[Term], files: tuple[str, ...] = ()) -> list[ReportMatches]:
        """Every report holding the words or phrases (askfront.search.text), newest first."""
        from askfront.search.text import search_reports

        with self._lock:
            return search_reports(self.answerer.retriever.index, wanted, files=files)

    def hit_spans(self, path: str, wanted: str | list[Term]) -> list[tuple[int, int]]:
        """Every hit of the terms in one report (any of them), for marking the whole report."""
        from askfront.search.text import all_spans

        with self._lock:
            return all_spans(self.answerer.retriever.index, path, wanted)

    def name_terms(self, key: str) -> list[Term]:
        """The spellings of a name's group (recognised, aliases, built-in) as text-search terms."""
        from askfront.analysis import views

        aliases = self.aliases()
        with self._lock:
            return views.terms_of_name(self.answerer.retriever.index, key, aliases)

    def name_reports(self, key: str) -> list[ReportMatches]:
        """Every report that writes the name (any spelling), found by text: also where the name finder missed it."""
        from askfront.analysis import views

        aliases = self.aliases()
        with self._lock:
            return views.reports_mentioning(self.answerer.retriever.index, key, aliases)

    def timeline(self, key: str = "", files: tuple[str, ...] = ()) -> list[TimelineRow]:
        from askfront.analysis import views

        aliases = self.aliases()
        with self._lock:
            return views.timeline(self.answerer.retriever.index, aliases, key=key, files=files)

    def text(self, citation: Citation, begin: int, end: int) -> str:
        """Characters ``begin:end`` of the cited report as the live index holds it (KeyError if it left)."""
        with self._lock:
            return self.answerer.retriever.index.text(citation.file, begin, end)

    def report_text(self, file: str) -> str:
        """The whole stored text of a report (KeyError if it is not in the index)."""
        with self._lock:
            return self.answerer.retriever.index.document(file).text

    def where(self, citation: Citation) -> str:
        """Where in its report a citation is, for telling citations of one report apart: 'paragraph 4'
        (paragraphs are blocks between blank lines, or lines when the report has no blank lines). The
        paragraph starts of a report are found once per index, not for every citation shown."""

        def paragraph_starts() -> list[int]:
            text = self.report_text(citation.file)
            separator = _BLANK_LINE if _BLANK_LINE.search(text) else _LINE_BREAK
            return [m.end() for m in separator.finditer(text)]

        try:
            starts = self._paragraphs.get_or((self.generation, citation.file), paragraph_starts)
        except KeyError:  # the report left the index
            return ""
        return f"paragraph {bisect.bisect_right(starts, citation.start) + 1}"

    def examples(self) -> list[str]:
        """Example questions for the page: ``corpus/examples.txt`` if there is one (a question per line,
        '#' comments), else the demo questions while the demo report is in the corpus, else none."""
        listed = self.settings.corpus / EXAMPLES_FILE
        if listed.is_file() and not listed.is_symlink():
            try:
                lines = listed.read_text(encoding="utf-8").splitlines()[:50]
            except (OSError, UnicodeDecodeError) as err:
                self.log(f"askfront: warning: {listed}: unreadable ({one_line(err)}); no example questions")
                return []
            return [line.strip()[:300] for line in lines if line.strip() and not line.lstrip().startswith("#")]
        with self._lock:
            paths = {path for path, _title, _date in self.answerer.retriever.index.documents()}
        return list(DEMO_EXAMPLES) if DEMO_REPORT in paths else []

    def status(self) -> str:
        with self._lock:
            index = self.answerer.retriever.index
            m = index.manifest
            reports = len(index.documents())
        line = f"Index: {_plural(reports, 'report')}, {_plural(m.chunks, 'passage')} · model {m.model_name}"
        line += f" · built {m.built_at}"
        return f"{line} · {self.activity}" if self.activity else line

    def reports(self) -> list[ReportRow]:
        """Every indexed report: title, date, source, file, passages, when indexed."""
        with self._lock:
            return self.answerer.retriever.index.reports()

    def rebuild(self) -> str:
        """Update the index from the corpus (incremental), then answer from the new one."""
        return self._rebuild()[0]

    def _rebuild(self) -> tuple[str, str]:
        """The rebuild's message, and why the index could not be brought up to date ('' when it was: a
        report that could not be read is that report's line in the message, not a reason to retry)."""
        from askfront.answer.registry import load_answerer
        from askfront.index.build import build_index, prune_versions
        from askfront.index.store import live_version

        if not self._build_lock.acquire(blocking=False):
            return "A rebuild is already running.", "another update of the index was running"
        try:
            messages: list[str] = []
            report = build_index(self.settings, self.embedder, log=messages.append, progress=True, parallel=False)
            if report.written or live_version(self.settings.index) != self.answerer.retriever.index.folder:
                fresh = load_answerer(self.settings, self.embedder)
                with self._lock:
                    old, self.answerer = self.answerer, fresh
                    self.generation += 1
                old.retriever.index.close()  # no question holds it: they all take the lock
                prune_versions(self.settings.index)  # the version it held, unless another reader holds it
            for line in messages:
                self.log(line)
            self.log(f"askfront: rebuild: {report.summary()}")
            return "\n".join([f"Rebuilt: {report.summary()}", *messages]), ""
        except AskfrontError as err:
            self.log(f"askfront: error: {err}")
            return f"askfront: error: {err}", _why(err, self.settings.index)
        finally:
            self._build_lock.release()

    def watch(self) -> None:
        """Follow the corpus folder from now on: reports added, changed or removed there (by any program)
        are indexed in the background every ``settings.watch_s`` seconds; the status line says so."""
        from askfront.index.watch import CorpusWatcher

        if self.watcher is None:
            self.watcher = CorpusWatcher(self.settings.corpus, self.settings.watch_s, self.sync)
            self.watcher.start()

    def sync(self) -> bool:
        """One background update after the corpus changed, its progress and outcome on the status line.
        False when the index could not be updated (another build holds it, a full disk): the watcher tries
        again, and until then the status line and every answer say the index is behind and why."""
        self.activity = "updating the index from the corpus folder…"
        self.generation += 1  # the pages show the line
        message, why = self._rebuild()
        when = datetime.now().strftime("%H:%M:%S")
        if why:
            self.behind = self.behind or f"the corpus folder changed at {when}"
            self.behind_why = why
            self.activity = f"index behind the corpus folder ({why}); trying again"
        else:
            self.behind = self.behind_why = ""
            first = message.splitlines()[0]
            failed = " 0 failed" not in first
            self.activity = f"corpus checked {when}: {first}" if failed else f"in step with the corpus folder ({when})"
        self.generation += 1
        return not why

    def behind_notice(self) -> str:
        """What every answer says while the index is behind the corpus folder ('' when it is not)."""
        if not self.behind:
            return ""
        return (
            f"The index is behind the corpus folder: {self.behind}, and the change could not be indexed yet "
            f"({self.behind_why}); this answer does not see it. askfront keeps trying."
        )

    def page_image(self, citation: Citation) -> tuple[Path, str]:
        """The cited page as a PNG (the passage marked) and its caption; ConfigError with one line when the
        report has no pages or its file changed since it was indexed (the page would not be the one cited)."""
        from askfront.app.pages import page_png
        from askfront.ingest.reports import read_report

        path = self.corpus_file(citation.file)
        raw = read_report(path, self.settings.corpus, self.settings.max_file_bytes)
        with self._lock:
            indexed = self.answerer.retriever.index.manifest.files.get(citation.file)
        if indexed != raw.sha256:
            raise ConfigError(f"{citation.file} changed since it was indexed; rebuild to see the cited page")
        number = citation.page or 1
        png, found = page_png(raw.data, path.suffix.lower(), number, citation.quote, self.scratch.folder / "pages")
        how = "the scan" if citation.ocr else "the page"
        mark = "the passage marked" if found else "the passage could not be placed on it: look for the quote"
        return png, f"{citation.file}, page {number}: {how}, {mark}"

    def export(self, text: str, name: str = "askfront-answer.md") -> Path:
        """Write an export to a file called ``name`` for download; only the last ``EXPORTS_KEPT`` are kept.
        The same content with the same extension is the same file: every tab loading the page asks for the
        timeline CSV, which is written once, not once per page load."""
        same = (Path(name).suffix, hashlib.sha256(text.encode("utf-8")).hexdigest())
        with self._lock:
            if same in self._written and self._written[same].exists():
                return self._written[same]
            self._export_count += 1
            folder = self._exports / str(self._export_count)
            folder.mkdir()
            path = folder / Path(name).name
            path.write_text(text, encoding="utf-8", newline="")
            self._written[same] = path
            self._exported.append(folder)
            while len(self._exported) > EXPORTS_KEPT:
                gone = self._exported.popleft()
                shutil.rmtree(gone, ignore_errors=True)
                self._written = {k: v for k, v in self._written.items() if v.parent != gone}
        return path

    def close(self) -> None:
        """Stop following the corpus, close the index and remove the exported files."""
        if self.watcher is not None:
            self.watcher.stop()
        with self._lock:
            self.answerer.retriever.index.close()
        self.scratch.close()


def _trim_heap() -> None:
    """Give the C heap's free pages back to the system (glibc only; elsewhere nothing happens)."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _why(err: AskfrontError, index_dir: Path) -> str:
    """An update's error as the reason the index is behind (without the index folder's name)."""
    return str(err).removeprefix(f"{index_dir}: ")


def _format_of(index_dir: Path) -> int | None:
    """The format version of the live index (None when it cannot be read: opening it will say why); an
    index whose keyword search was built with other BM25 settings (an older askfront) counts as format 0,
    so the app brings it up to date (vectors reused) instead of refusing to start."""
    import json

    from askfront.index.manifest import BM25_SETTINGS
    from askfront.index.store import live_version

    try:
        version = live_version(index_dir)
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        bm25 = manifest.get("search", {}).get("bm25")
        return 0 if bm25 is not None and bm25 != BM25_SETTINGS else int(manifest["format_version"])
    except (AskfrontError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
