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
import tempfile
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from askfront.core.config import Settings
from askfront.core.errors import AskfrontError, ConfigError, LoadError, one_line, shown
from askfront.core.types import Filters
from askfront.ingest.reports import (
    EXAMPLES_FILE,
    METADATA_KEYS,
    SUFFIXES,
    RawReport,
    parse_metadata,
    parse_report,
    read_metadata,
    scan_corpus,
    sidecar_path,
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
TRASH = ".trash"  # deleted reports go to corpus/.trash/<when>/ (hidden: never indexed), so Undo can restore them
EXPORTS_KEPT = 50  # exported .md files kept on disk (oldest removed first); all removed at exit
_SAFE_NAME = re.compile(r"[^\w.\- ]+")
# What a file is, by its first bytes: an upload whose content is one of these is refused, whatever its name.
_MAGIC = (
    (b"MZ", "a Windows program"), (b"\x7fELF", "a program"), (b"PK\x03\x04", "a ZIP or Office file"),
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF"), (b"\x1f\x8b", "a gzip archive"), (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf", "a 7z archive"),
)  # fmt: skip


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def content_kind(data: bytes) -> str:
    """What the bytes are ('' when none of the known binary kinds)."""
    head = data[:1024]
    for magic, kind in _MAGIC:
        if head.startswith(magic) or (magic == b"%PDF-" and magic in head):
            return kind
    return ""


def safe_upload_name(name: str) -> str:
    """A plain file name for an upload (no folders, no '..', no hidden files), or ConfigError."""
    base = _SAFE_NAME.sub("_", Path(name.replace("\\", "/")).name).strip(" ._")
    suffix = Path(base).suffix.lower()
    if not base or suffix not in SUFFIXES:
        raise ConfigError(f"{name}: only {', '.join(sorted(SUFFIXES))} reports can be added")
    return base


class Service:
    """The shared state of the app. Questions asked during a rebuild are answered from the previous index."""

    def __init__(
        self, settings: Settings, embedder: Embedder, answerer: Conversation, log: Callable[[str], None] = _log
    ) -> None:
        self.settings, self.embedder, self.answerer, self.log = settings, embedder, answerer, log
        self.generation = 0  # counts swaps of the answerer, so every tab can tell that the index changed
        self._lock = threading.RLock()  # the answerer and its index
        self._build_lock = threading.Lock()  # one rebuild at a time from this app
        self._exports = tempfile.TemporaryDirectory(prefix="askfront-export-")  # removed at exit
        self._exported: deque[Path] = deque()
        self._export_count = 0
        self._written: dict[tuple[str, str], Path] = {}  # (extension, content sha256) -> its export file
        self._paragraphs: OrderedDict[tuple[int, str], list[int]] = OrderedDict()  # see where()
        self._trashed: list[tuple[Path, str]] = []  # (trash folder, corpus path) of deletions, latest last
        self.activity = ""  # what the background index update is doing, for the status line
        self.watcher: CorpusWatcher | None = None

    @classmethod
    def start(cls, settings: Settings, log: Callable[[str], None] = _log) -> Service:
        """Load the model and the index once (building the index first if there is none), saying so."""
        from askfront.answer.registry import load_answerer
        from askfront.index.build import build_index
        from askfront.index.embed import Embedder
        from askfront.index.store import FORMAT_VERSION, live_version

        embedder = Embedder.from_settings(settings)
        log(f"askfront: loading the embedding model {embedder.name} ({embedder.precision})")
        _ = embedder.model
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
            return self.answerer.ask(question, history=history, filters=filters)

    def every_report(
        self, question: str, history: list[Answer] | None = None, filters: Filters | None = None
    ) -> Answer:
        """Each report's own answer to ``question``, side by side, conflicting figures flagged."""
        from askfront.analysis.every_report import every_report

        with self._answering():
            return every_report(self.answerer, question, history=history, filters=filters)

    def aliases(self) -> dict[str, str]:
        from askfront.language.entities import load_aliases

        return load_aliases(self.settings.corpus)

    def names(self) -> list[NameRow]:
        """People, organisations and places of the whole corpus, most mentioned first."""
        from askfront.analysis import views

        aliases = self.aliases()
        with self._lock:
            return views.names(self.answerer.retriever.index, aliases)

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
        key = (self.generation, citation.file)
        starts = self._paragraphs.pop(key, None)
        if starts is None:
            try:
                text = self.report_text(citation.file)
            except KeyError:
                return ""
            separator = _BLANK_LINE if _BLANK_LINE.search(text) else _LINE_BREAK
            starts = [m.end() for m in separator.finditer(text)]
        self._paragraphs[key] = starts
        while len(self._paragraphs) > PARAGRAPHS_KEPT:
            self._paragraphs.popitem(last=False)
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
        from askfront.answer.registry import load_answerer
        from askfront.index.build import build_index
        from askfront.index.store import live_version

        if not self._build_lock.acquire(blocking=False):
            return "A rebuild is already running."
        try:
            messages: list[str] = []
            report = build_index(self.settings, self.embedder, log=messages.append, progress=True, parallel=False)
            if report.written or live_version(self.settings.index) != self.answerer.retriever.index.folder:
                fresh = load_answerer(self.settings, self.embedder)
                with self._lock:
                    old, self.answerer = self.answerer, fresh
                    self.generation += 1
                old.retriever.index.close()  # no question holds it: they all take the lock
            for line in messages:
                self.log(line)
            self.log(f"askfront: rebuild: {report.summary()}")
            return "\n".join([f"Rebuilt: {report.summary()}", *messages])
        except AskfrontError as err:
            self.log(f"askfront: error: {err}")
            return f"askfront: error: {err}"
        finally:
            self._build_lock.release()

    def watch(self) -> None:
        """Follow the corpus folder from now on: reports added, changed or removed there (by any program)
        are indexed in the background every ``settings.watch_s`` seconds; the status line says so."""
        from askfront.index.watch import CorpusWatcher

        if self.watcher is None:
            self.watcher = CorpusWatcher(self.settings.corpus, self.settings.watch_s, self.sync)
            self.watcher.start()

    def sync(self) -> str:
        """One background update after the corpus changed, its progress and outcome on the status line."""
        self.activity = "updating the index from the corpus folder…"
        self.generation += 1  # the pages show the line
        result = self.rebuild()
        first = result.splitlines()[0] if result else ""
        failed = first.startswith("askfront: error") or " 0 failed" not in first
        when = datetime.now().strftime("%H:%M:%S")
        self.activity = f"corpus checked {when}: {first}" if failed else f"in step with the corpus folder ({when})"
        self.generation += 1
        return result

    def check_upload(self, path: str | Path, original: str, replacing: str = "") -> tuple[str, bytes]:
        """The safe name and bytes of an upload that can be indexed; ConfigError with a one-line reason
        if not (type by content, empty, unreadable, too big, or the same content as a report already in
        the corpus, other than ``replacing``)."""
        name = safe_upload_name(original)
        size = Path(path).stat().st_size
        if size > self.settings.max_file_bytes:
            raise ConfigError(f"{original}: too large ({size / 1e6:.1f} MB > {self.settings.max_file_mb:g} MB limit)")
        data = Path(path).read_bytes()
        if not data:
            raise ConfigError(f"{original}: empty file")
        kind, suffix = content_kind(data), Path(name).suffix.lower()
        if (suffix == ".pdf") != (kind == "a PDF") or (kind and suffix != ".pdf"):
            raise ConfigError(f"{original}: the content is {kind or 'text, not a PDF'}, not a {suffix} report")
        try:
            parse_report(RawReport(Path(name), name, data, b""))
        except LoadError as err:
            raise ConfigError(f"{original}: {err}") from None
        digest = hashlib.sha256(data).digest()
        for existing in scan_corpus(self.settings.corpus).files:
            rel = existing.relative_to(self.settings.corpus).as_posix()
            same_size = rel != replacing and existing.stat().st_size == size
            if same_size and hashlib.sha256(existing.read_bytes()).digest() == digest:
                raise ConfigError(f"{original}: the same content is already in the corpus as {shown(rel)}")
        return name, data

    def add_reports(self, paths: list[str]) -> str:
        """Check each upload and copy the good ones into the corpus folder under safe names (a refused one
        writes nothing); one line per file."""
        lines = []
        for path in paths:
            original = Path(path).name
            try:
                name, data = self.check_upload(path, original)
                target = self.settings.corpus / name
                stem, suffix, n = target.stem, target.suffix, 1
                while target.exists() or target.is_symlink():
                    target = self.settings.corpus / f"{stem}-{n}{suffix}"
                    n += 1
                self.settings.corpus.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                lines.append(f"Added {target.name}.")
            except ConfigError as err:
                lines.append(f"Not added: {err}")
            except OSError as err:
                lines.append(f"Not added: {original}: {one_line(err)}")
            self.log(f"askfront: upload: {shown(lines[-1])}")
        return "\n".join(lines)

    def corpus_file(self, rel: str) -> Path:
        """The corpus file of a report named by its corpus path (ConfigError if there is no such report)."""
        for path in scan_corpus(self.settings.corpus).files:
            if path.relative_to(self.settings.corpus).as_posix() == rel:
                return path
        raise ConfigError(f"{rel}: no such report in {self.settings.corpus}")

    def delete_report(self, rel: str) -> str:
        """Move a report (and its metadata file) to the corpus's trash folder (never indexed), then
        rebuild; ``undo_delete`` puts it back."""
        path = self.corpus_file(rel)
        folder = self.settings.corpus / TRASH / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        sidecar = sidecar_path(path)
        if sidecar.exists():
            sidecar.rename(sidecar_path(target))
        self._trashed.append((folder, rel))
        self.log(f"askfront: deleted {shown(rel)} (moved to {shown(str(folder))})")
        return f"Deleted {rel} (kept in {TRASH}/ until you empty it; Undo puts it back).\n" + self.rebuild()

    @property
    def can_undo(self) -> bool:
        return bool(self._trashed)

    def undo_delete(self) -> str:
        """Put the last deleted report (and its metadata) back where it was, then rebuild."""
        if not self._trashed:
            raise ConfigError("nothing to undo")
        folder, rel = self._trashed[-1]
        source, target = folder / rel, self.settings.corpus / rel
        if target.exists() or target.is_symlink():
            raise ConfigError(f"{rel}: a report of that name is in the corpus again; not overwritten")
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        if sidecar_path(source).exists():
            sidecar_path(source).rename(sidecar_path(target))
        self._trashed.pop()
        shutil.rmtree(folder, ignore_errors=True)
        self.log(f"askfront: restored {shown(rel)}")
        return f"Restored {rel}.\n" + self.rebuild()

    def replace_report(self, rel: str, upload: str | Path) -> str:
        """Replace a report's file with an upload of the same type (checked like any upload), then rebuild."""
        path = self.corpus_file(rel)
        name, data = self.check_upload(upload, Path(upload).name, replacing=rel)
        if Path(name).suffix.lower() != path.suffix.lower():
            raise ConfigError(f"{Path(upload).name}: a {path.suffix} report can only be replaced by a {path.suffix}")
        path.write_bytes(data)
        self.log(f"askfront: replaced {shown(rel)}")
        return f"Replaced {rel}.\n" + self.rebuild()

    def set_metadata(self, rel: str, title: str, date: str, source: str) -> str:
        """Write title, date and source to the report's ``.meta.yaml`` sidecar (other keys kept), then
        rebuild. Empty values are removed; the date must be YYYY, YYYY-MM or YYYY-MM-DD."""
        from askfront.search.retrieve import date_bounds

        path = self.corpus_file(rel)
        values = {"title": title.strip(), "date": date.strip(), "source": source.strip()}
        for key, value in values.items():
            if len(value) > METADATA_KEYS[key] or "\n" in value:
                raise ConfigError(f"{key} must be one line of at most {METADATA_KEYS[key]} characters")
        if values["date"]:
            date_bounds(values["date"])
        try:  # read as indexing reads it: the other keys are kept, a sidecar that cannot be read is not replaced
            text, meta = read_metadata(path, self.settings.corpus)
        except LoadError as err:
            raise ConfigError(f"{err}; not overwritten, so nothing in it is lost: correct or delete it") from None
        sidecar = sidecar_path(path)
        sidecar.write_text(_edited_metadata(text, meta, values, sidecar.name), encoding="utf-8")
        self.log(f"askfront: metadata of {shown(rel)} updated")
        return f"Saved the title, date and source of {rel}.\n" + self.rebuild()

    def export(self, text: str, name: str = "askfront-answer.md") -> Path:
        """Write an export to a file called ``name`` for download; only the last ``EXPORTS_KEPT`` are kept.
        The same content with the same extension is the same file: every tab loading the page asks for the
        timeline CSV, which is written once, not once per page load."""
        same = (Path(name).suffix, hashlib.sha256(text.encode("utf-8")).hexdigest())
        with self._lock:
            if same in self._written and self._written[same].exists():
                return self._written[same]
            self._export_count += 1
            folder = Path(self._exports.name) / str(self._export_count)
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
        self._exports.cleanup()


def _format_of(index_dir: Path) -> int | None:
    """The format version of the live index (None when it cannot be read: opening it will say why)."""
    import json

    from askfront.index.store import live_version

    try:
        version = live_version(index_dir)
        return int(json.loads((version / "manifest.json").read_text(encoding="utf-8"))["format_version"])
    except (AskfrontError, OSError, ValueError, KeyError, TypeError):
        return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _edited_metadata(text: str, meta: dict, values: dict[str, str], name: str) -> str:
    """Sidecar ``text`` (holding ``meta``) with each of ``values`` set, or removed when empty. Only the lines
    of those keys change, so comments and other keys stay as the user wrote them; if the result would not
    read back as intended (an unusual layout), the whole file is written out plainly instead."""
    wanted = {k: v for k, v in {**meta, **values}.items() if not (k in values and not v)}
    kept: list[str] = []
    found: set[str] = set()  # keys of values whose line was met (and rewritten, or dropped when emptied)
    skipping = False
    for line in text.splitlines(keepends=True):
        key = line.split(":", 1)[0].strip() if ":" in line and not line[:1].isspace() else None
        if skipping and line[:1].isspace() and line.strip():
            continue  # the rest of a value that spans lines
        skipping = key in values
        if not skipping:
            kept.append(line)
        elif key not in found:
            found.add(key)
            if values[key]:
                kept.append(_yaml_line(key, values[key]))
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    kept += [_yaml_line(k, v) for k, v in values.items() if v and k not in found]
    edited = "".join(kept)
    try:  # a key written some other way ('"title": ...') was not found: its old line would stay beside the new
        if not (set(meta) & set(values)) - found and parse_metadata(edited, name) == wanted:
            return edited
    except LoadError:
        pass
    return yaml.safe_dump(wanted, allow_unicode=True, sort_keys=False)


def _yaml_line(key: str, value: str) -> str:
    return yaml.safe_dump({key: value}, allow_unicode=True, width=10_000)
