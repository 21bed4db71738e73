"""Build or update the index from the corpus: re-embed only what changed, publish atomically, report all."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from askfront import __version__
from askfront.core.config import Settings
from askfront.core.errors import REPAIR, BadIndexError, LoadError, one_line, os_reason, shown
from askfront.core.types import Chunk, Document
from askfront.index import versions
from askfront.index.annotate import extract
from askfront.index.chunk import make_splitter, split_document
from askfront.index.copies import find_copies
from askfront.index.embed import TextEmbedder
from askfront.index.manifest import FORMAT_VERSION, Manifest, index_identity
from askfront.index.store import Index, live_version
from askfront.index.write import publish, write_version
from askfront.ingest.reports import parse_report, read_report, scan_corpus
from askfront.language.dateline import read_date
from askfront.language.names import Dated, Mention

# Names the build can be held at (for the crash tests): with ASKFRONT_TEST_HOLD=<step> the build writes
# index/.held-<step> and waits there to be killed. Unset in normal use.
HOLD_STEPS = ("embedding", "written", "renamed")
PARALLEL_FROM = 64  # reports: from here on names and dates are found by one worker process per core


@dataclass
class BuildReport:
    """What one ``askfront index`` run did, file by file."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # path -> reason
    chunks: int = 0
    embedded: int = 0  # passages actually run through the model in this build
    annotated: int = 0  # reports whose names and dates were found in this build
    embed_seconds: float = 0.0
    annotate_seconds: float = 0.0
    full_rebuild: str = ""  # why every file was re-embedded ('' for an incremental build)
    repaired: str = ""  # why the index was rewritten although no report changed (damage, stale settings)
    written: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        files = (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.failed)} failed"
        )
        state = "written" if self.written else "verified, already up to date"
        return (
            f"files: {files}; chunks: {self.chunks} ({self.embedded} embedded); index {state} in {self.seconds:.1f} s"
        )


@dataclass
class _Entry:
    """One report headed for the new index, with vectors when they can be reused."""

    doc: Document
    sha256: str
    chunks: list[Chunk]
    vectors: np.ndarray | None = None
    indexed_at: str = ""  # when this version of the report entered the index ('' = this build)
    annotations: tuple[list[Mention], list[Dated]] | None = None  # names and dated sentences (None: to find)


def _log_stderr(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


def build_index(
    settings: Settings,
    embedder: TextEmbedder,
    log: Callable[[str], None] = _log_stderr,
    progress: bool = True,
    parallel: bool = True,
) -> BuildReport:
    """Bring ``settings.index`` up to date with ``settings.corpus``; never damages the live index.

    The live index is verified first (checksums of its files, its search settings): a damaged or stale
    one is rebuilt, reusing its vectors when the files holding them are intact, and the log says so.
    ``parallel``: names and dates of many reports are found by worker processes, one per core (the app
    passes False: it does not fork while serving)."""
    started = time.perf_counter()
    index_dir = settings.index
    report = BuildReport()
    try:
        versions.claim(index_dir)
        with _exclusive(index_dir):
            _build(settings, embedder, report, log, progress, parallel)
    except (OSError, sqlite3.Error) as err:  # a full or read-only disk: the live index is untouched, and
        reason = getattr(err, "strerror", None) or one_line(err)  # nothing half-written is left
        raise BadIndexError(f"{index_dir}: cannot write the index ({reason}); the live index is unchanged") from None
    report.seconds = time.perf_counter() - started
    return report


def _build(
    settings: Settings,
    embedder: TextEmbedder,
    report: BuildReport,
    log: Callable[[str], None],
    progress: bool,
    parallel: bool,
) -> None:
    """The build itself, under the index folder's lock (see ``build_index``)."""
    index_dir = settings.index
    for stale in index_dir.glob(".build-*"):  # left by a build that was killed
        shutil.rmtree(stale, ignore_errors=True)
    previous = _open_previous(index_dir, log)
    indexed = previous.manifest.files if previous is not None else {}
    reusable = None
    if previous is not None:
        report.full_rebuild = previous.manifest.mismatch(index_identity(settings, embedder.sha256))
        damaged = [] if report.full_rebuild else previous.verify()
        if {"chunks.sqlite", "vectors.npy"} & set(damaged) or any(d.startswith("manifest") for d in damaged):
            report.full_rebuild = f"index files damaged ({', '.join(damaged)})"
        elif damaged:
            report.repaired = f"index files damaged ({', '.join(damaged)}); rebuilt from the stored vectors"
        elif previous.manifest.format_version != FORMAT_VERSION:
            report.repaired = (
                f"index format {previous.manifest.format_version} -> {FORMAT_VERSION} "
                "(adds names, dates, copies and dates read from undated reports; vectors reused)"
            )
        else:
            report.repaired = previous.stale(index_identity(settings, embedder.sha256))
        if report.full_rebuild:
            log(f"askfront: full rebuild: {report.full_rebuild}")
        elif report.repaired:
            log(f"askfront: rebuilding the index: {report.repaired}")
        reusable = previous if not report.full_rebuild else None
    try:
        entries = _read_corpus(settings, reusable, indexed, report, log, progress)
        report.removed = sorted(set(indexed) - {e.doc.path for e in entries})
        report.chunks = sum(len(e.chunks) for e in entries)
        needs_write = (
            previous is None
            or bool(report.full_rebuild or report.repaired)
            or bool(report.added or report.changed or report.removed)
            or previous.manifest.index_type != settings.index_type
        )
        if needs_write:
            annotating = time.perf_counter()
            report.annotated = _annotate_missing(entries, progress, parallel, log)
            report.annotate_seconds = time.perf_counter() - annotating
            _hold("embedding", index_dir)
            embedding = time.perf_counter()
            report.embedded = _embed_missing(entries, embedder, progress)
            report.embed_seconds = time.perf_counter() - embedding
            _publish(index_dir, settings, embedder, entries)
            report.written = True
    finally:
        if previous is not None:
            previous.close()
    versions.remove_unused(index_dir, live_version(index_dir))


def prune_versions(index_dir: Path) -> None:
    """Remove old versions no reader holds any more (after the app closed the one it answered from);
    skipped while a build runs (it removes them itself)."""
    try:
        with _exclusive(index_dir):
            versions.remove_unused(index_dir, live_version(index_dir))
    except (BadIndexError, OSError):
        pass


def verify_index(settings: Settings, embedder: TextEmbedder) -> list[str]:
    """What is wrong with the live index (damaged files, other model, chunk or search settings), without
    changing anything; [] when it is intact and current."""
    index = Index.open(settings.index)
    try:
        problems = [f"{settings.index}: damaged file {name}" for name in index.verify()]
        wanted = index_identity(settings, embedder.sha256)
        reason = index.manifest.mismatch(wanted) or index.stale(wanted)
        if reason:
            problems.append(f"{settings.index}: {reason}")
    finally:
        index.close()
    return problems


def _open_previous(index_dir: Path, log: Callable[[str], None]) -> Index | None:
    try:
        if live_version(index_dir) is None:
            return None
        return Index.open(index_dir)
    except BadIndexError as err:
        log(f"askfront: warning: {str(err).replace('; ' + REPAIR, '')}; building a new index from scratch")
        return None


def _hold(step: str, index_dir: Path) -> None:
    """Crash-test hook: wait at ``step`` (to be killed there) when ASKFRONT_TEST_HOLD names it."""
    if os.environ.get("ASKFRONT_TEST_HOLD") == step:
        (index_dir / f".held-{step}").write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(3600)


def _read_corpus(
    settings: Settings,
    previous: Index | None,
    indexed: dict[str, str],
    report: BuildReport,
    log: Callable[[str], None],
    progress: bool,
) -> list[_Entry]:
    """Load and chunk new or changed reports; take unchanged ones (and their vectors) from ``previous``,
    the last index when its vectors are still valid. ``indexed`` maps each last-indexed file to its hash."""
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap)
    entries: list[_Entry] = []
    scan = scan_corpus(settings.corpus)
    refused = dict(scan.refused)
    for folder, reason in scan.unreadable.items():  # its reports are unknown now: keep what was indexed
        inside = [rel for rel in indexed if rel.startswith(f"{folder}/") and rel not in refused]
        why = f"its folder cannot be read {reason.removeprefix('cannot read the folder ')}"
        refused.update({rel: why for rel in inside})
        if not inside:
            refused[f"{folder}/"] = reason
    for rel, reason in refused.items():
        if previous is not None and rel in indexed:
            entries.extend(_reuse_all(previous, rel, indexed))
            reason += "; kept the previously indexed version"
        report.failed[rel] = reason
        log(f"askfront: error: {shown(settings.corpus / rel)}: {reason}")
    for path in tqdm(scan.files, desc="files", unit="file", disable=not progress):
        rel = path.relative_to(settings.corpus).as_posix()
        try:
            raw = read_report(path, settings.corpus, settings.max_file_bytes)
            sha = raw.sha256
            if previous is not None and indexed.get(rel) == sha:
                entries.extend(_reuse_all(previous, rel, indexed))
                report.unchanged.append(rel)
                continue
            doc = _dated(parse_report(raw))
        except Exception as err:
            reason = str(err) if isinstance(err, LoadError) else _reason(err)
            if previous is not None and rel in indexed and os.path.lexists(path):
                # a report that became unreadable keeps its last good version searchable
                reason += "; kept the previously indexed version"
                entries.extend(_reuse_all(previous, rel, indexed))
            report.failed[rel] = reason
            log(f"askfront: error: {shown(settings.corpus / rel)}: {reason}")
            continue
        for warning in doc.warnings:
            log(f"askfront: warning: {shown(settings.corpus / rel)}: {warning}")
        entries.append(_Entry(doc, sha, split_document(doc, splitter)))
        for part in doc.parts:  # an e-mail's attachments: reports of their own, "<mail>.eml/<name>"
            entries.append(_Entry(_dated(part), sha, split_document(part, splitter)))
        doc.parts = []
        if rel not in indexed:
            report.added.append(rel)
        else:
            (report.unchanged if indexed[rel] == sha else report.changed).append(rel)
    seen: set[str] = set()  # a report reused twice (its folder unreadable, and it an e-mail's attachment)
    return [e for e in entries if not (e.doc.path in seen or seen.add(e.doc.path))]


def _reuse_all(previous: Index, rel: str, indexed: dict[str, str]) -> list[_Entry]:
    """A report as the previous index holds it, with the reports that came inside it (attachments)."""
    inside = [p for p in indexed if p.startswith(f"{rel}/") and indexed[p] == indexed[rel]]
    return [_reuse(previous, p, indexed[p]) for p in [rel, *inside]]


def _reuse(previous: Index, rel: str, sha: str) -> _Entry:
    """A report exactly as the previous index holds it, vectors included (no re-embedding)."""
    vectors = np.asarray(previous.vectors[previous.chunk_ids(rel)], dtype=np.float32)
    when = previous.manifest.indexed.get(rel, previous.manifest.built_at)
    doc = previous.document(rel)  # with how its date was read, if it was
    annotations = previous.annotations_of(rel)
    if previous.manifest.format_version < 5:  # names found again (gazetteer places, whole dated sentences),
        _dated(doc)  # and its sentences' dates resolved against the date read from it
        annotations = None
    return _Entry(doc, sha, previous.chunks_of(rel), vectors, when, annotations)


def _dated(doc: Document) -> Document:
    """An undated report takes the date it says itself (dateline, dated address, first full date), marked
    as read from it (language.dateline); a date from its metadata always wins."""
    if not doc.date:
        doc.date, doc.date_read = read_date(doc.text, doc.source)
    return doc


def _reason(err: Exception) -> str:
    """One line for a failure that is not a LoadError (a bug or an exhausted resource), naming its kind."""
    if isinstance(err, OSError):
        return f"cannot read ({os_reason(err)})"
    return f"could not be read ({type(err).__name__}: {one_line(err)})"


def _annotate_missing(entries: list[_Entry], progress: bool, parallel: bool, log: Callable[[str], None]) -> int:
    """Find the names and dated sentences of the reports that do not have them yet. Returns how many."""
    todo = [e for e in entries if e.annotations is None]
    # spaCy runs on one core; for many reports a worker per core more than halves the time (measured:
    # 1,500 SQuAD paragraphs 11.4 s -> 4.9 s on 2 Zen 5 cores, 2026-11-28; see entities.extract).
    # Below PARALLEL_FROM reports, starting workers costs more.
    processes = min(os.cpu_count() or 1, 2) if parallel and len(todo) >= PARALLEL_FROM else 1
    if todo:
        with tqdm(total=len(todo), desc="names", unit="report", disable=not progress) as bar:
            for e, found in zip(todo, extract((e.doc for e in todo), processes), strict=True):
                if isinstance(found, str):  # that report is indexed without its names and dates
                    log(f"askfront: warning: {shown(e.doc.path)}: names and dates not found ({found})")
                    found = ([], [])
                e.annotations = found
                bar.update()
    return len(todo)


def _embed_missing(entries: list[_Entry], embedder: TextEmbedder, progress: bool) -> int:
    """Embed the chunks of new/changed reports; identical passages are embedded once. Returns how many."""
    todo = [e for e in entries if e.vectors is None]
    unique = list(dict.fromkeys(c.text for e in todo for c in e.chunks))
    with tqdm(total=len(unique), desc="chunks", unit="chunk", disable=not progress) as bar:
        vectors = embedder.encode(unique, on_progress=bar.update)
    row = {text: i for i, text in enumerate(unique)}
    for e in todo:
        e.vectors = vectors[[row[c.text] for c in e.chunks]]
    return len(unique)


def _publish(index_dir: Path, settings: Settings, embedder: TextEmbedder, entries: list[_Entry]) -> None:
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    chunks = [c for e in entries for c in e.chunks]
    vectors = np.concatenate([np.zeros((0, embedder.dimension), np.float32)] + [e.vectors for e in entries])
    identity = index_identity(settings, embedder.sha256)
    manifest = Manifest(
        model_name=embedder.name,
        model_sha256=identity.model_sha256,
        model_files=embedder.files,
        dimension=int(vectors.shape[1]),
        chunk_size=identity.chunk_size,
        chunk_overlap=identity.chunk_overlap,
        index_type=identity.index_type,
        askfront_version=__version__,
        built_at=now.isoformat(timespec="seconds"),
        files={e.doc.path: e.sha256 for e in entries},
        indexed={e.doc.path: e.indexed_at or now.isoformat(timespec="seconds") for e in entries},
        copies=find_copies([(e.doc.path, e.doc.text) for e in entries]),
        dates_read={e.doc.path: e.doc.date_read for e in entries if e.doc.date_read},
        ocr_pages={e.doc.path: ",".join(map(str, e.doc.ocr_pages)) for e in entries if e.doc.ocr_pages},
    )
    building = index_dir / f".build-{stamp}"
    annotations = {e.doc.path: e.annotations for e in entries if e.annotations is not None}
    try:
        docs = [e.doc for e in entries]
        write_version(building, manifest, docs, chunks, vectors, identity.hnsw_threshold, annotations)
    except BaseException:  # a full disk: leave no half-written version taking the space
        shutil.rmtree(building, ignore_errors=True)
        raise
    _hold("written", index_dir)
    final = building.rename(index_dir / f"v-{stamp}")
    _hold("renamed", index_dir)
    publish(index_dir, final)


@contextmanager
def _exclusive(index_dir: Path) -> Iterator[None]:
    """One build at a time per index folder."""
    with (index_dir / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BadIndexError(f"{index_dir}: another 'askfront index' is running on this index") from None
        yield
