"""The index on disk: FAISS vectors, BM25 terms, chunk texts in SQLite, and a JSON manifest.

Layout of the index folder::

    index/CURRENT          name of the live version folder (replaced atomically)
    index/v-<stamp>/       manifest.json, chunks.sqlite, vectors.npy, dense.faiss, bm25/
    index/.build-<...>/    a build in progress (left behind only by a crash; removed by the next build)
    index/.in-use/         a lock per version, held by its readers (see askfront.index.versions)
    index/.askfront-index  marks the folder as askfront's (it refuses to write into any other)

A build writes a complete new version folder and only then points CURRENT at it, so a killed build
never touches the index that readers load. Nothing is pickled.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np

from askfront.core.arabic import fold_arabic
from askfront.core.errors import REPAIR, BadIndexError, one_line
from askfront.core.types import Chunk, ChunkRecord, Document
from askfront.index import versions
from askfront.index.manifest import BM25_SETTINGS, Identity, Manifest
from askfront.language.names import Dated, Mention

if TYPE_CHECKING:
    pass

__all__ = ["BadIndexError", "ChunkRecord", "Index", "Manifest", "live_version"]

NAMES_FROM = 3  # the first format that holds names and dated sentences
CURRENT = "CURRENT"
# Read errors that mean a damaged file, whichever library raised them.
MANIFEST_SEAL = "manifest.sha256"  # the manifest's own checksum (it holds every other file's)
_DAMAGE = (OSError, ValueError, TypeError, KeyError, IndexError, RuntimeError, MemoryError, sqlite3.Error)


@dataclass(frozen=True)
class ReportRow:
    """One indexed report as the reports panel lists it."""

    path: str
    title: str
    date: str
    source: str
    passages: int
    indexed_at: str
    copy_of: str = ""  # the report this one copies ('' when none): it counts once with it
    date_read: str = ""  # how its date was read from the report ('' when from metadata; core.types.DATE_READ)


def seal_of(manifest_text: str) -> str:
    """The manifest's own checksum, as written to MANIFEST_SEAL beside it."""
    return hashlib.sha256(manifest_text.encode("utf-8")).hexdigest()


def checksum(path: Path) -> dict[str, Any]:
    """sha256 and size of one index file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def index_files(folder: Path) -> list[str]:
    """Every file of an index version except the manifest (which holds their checksums)."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", MANIFEST_SEAL)
    )


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 tokens: lower-cased words without English stop words (same for passages and queries)."""
    import bm25s

    return bm25s.tokenize(
        [fold_arabic(t) for t in texts],  # Arabic spelled with or without diacritics scores alike
        lower=BM25_SETTINGS["lowercase"],
        stopwords=BM25_SETTINGS["stopwords"],
        return_ids=False,
        show_progress=False,
    )


def live_version(index_dir: Path) -> Path | None:
    """The folder CURRENT points at, or None when no index was ever published."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise BadIndexError(f"{index_dir / CURRENT}: damaged ({one_line(err, 80)}); {REPAIR}") from None
    if not versions.VERSION_NAME.fullmatch(name):
        raise BadIndexError(f"{index_dir / CURRENT}: damaged (does not name an index version); {REPAIR}")
    return index_dir / name


_RECORD_TYPES = (int, str, str, str, str, int, int, (int, type(None)), str, (str, type(None)))


def _typed(row: tuple, types: tuple) -> tuple:
    """``row`` as read from SQLite, checked: a NULL or a value of another type is damage (TypeError)."""
    for value, kind in zip(row, types, strict=True):
        if not isinstance(value, kind) or isinstance(value, bool):
            raise TypeError(f"a stored value is {type(value).__name__}, not {getattr(kind, '__name__', kind)}")
    return row


P = ParamSpec("P")
R = TypeVar("R")


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    """A read of the index whose failure (a damaged file) becomes a BadIndexError naming the repair."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except KeyError:
            raise  # a report that is not in the index: the caller's question, not damage
        except _DAMAGE as err:
            folder = getattr(args[0], "folder", "index")
            raise BadIndexError(
                f"{folder}: index is damaged ({type(err).__name__}: {one_line(err, 120)}); {REPAIR}"
            ) from None

    return wrapper


class Index:
    """A published index version, opened read-only. Vectors are memory-mapped, not read into RAM."""

    def __init__(self, folder: Path) -> None:
        import faiss

        self.folder = folder
        self.closed = False
        self._held: int | None = None  # the in-use lock of this version (see versions.hold)
        try:
            text = (folder / "manifest.json").read_text(encoding="utf-8")
            seal = folder / MANIFEST_SEAL
            if seal.exists() and seal.read_text(encoding="utf-8").strip() != seal_of(text):
                raise ValueError("manifest.json does not match its checksum in " + MANIFEST_SEAL)
            self.manifest = Manifest.from_json(json.loads(text))
            # memory-mapped like the vectors: opening costs nothing, and HNSW touches only what it visits
            mmap = getattr(faiss, "IO_FLAG_MMAP_IFC", 0) | getattr(faiss, "IO_FLAG_READ_ONLY", 0)
            self.dense = faiss.read_index(str(folder / "dense.faiss"), mmap)
            self.vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
            self._db = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True, check_same_thread=False)
            count = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            self.bm25 = None
            if count:
                import bm25s

                self.bm25 = bm25s.BM25.load(str(folder / "bm25"), mmap=True, show_progress=False)
        except (*_DAMAGE, json.JSONDecodeError) as err:
            raise BadIndexError(
                f"{folder}: index is damaged ({type(err).__name__}: {one_line(err, 120)}); {REPAIR}"
            ) from None
        if not (count == self.manifest.chunks == self.dense.ntotal == len(self.vectors)):
            raise BadIndexError(f"{folder}: index parts disagree on the number of chunks; {REPAIR}")
        wrong_size = [
            name for name, c in self.manifest.checksums.items()
            if not (folder / name).is_file() or (folder / name).stat().st_size != c.get("bytes")
        ]  # fmt: skip
        if wrong_size:  # cheap at every open; the full checksums are checked by verify()
            raise BadIndexError(f"{folder}: index is damaged ({', '.join(wrong_size)} missing or resized); {REPAIR}")

    @classmethod
    def open(cls, index_dir: Path) -> Index:
        """Open the live version under ``index_dir``, with a clear error if there is none. The version is
        held (``versions.hold``) while open, so no build removes it; if a build replaced it between
        reading CURRENT and holding it, the new live version is opened instead."""
        for attempt in range(20):
            version = live_version(index_dir)
            if version is None:
                raise BadIndexError(f"{index_dir}: no index yet; build it with: askfront index")
            held = versions.hold(index_dir, version.name)
            try:
                if not version.is_dir():
                    raise BadIndexError(
                        f"{index_dir}: {CURRENT} points at missing {version.name}; rebuild: askfront index"
                    )
                index = cls(version)
            except BadIndexError:
                versions.release(held)
                if live_version(index_dir) != version:
                    time.sleep(0.01 * attempt)  # replaced while it was being opened: open the new one; builds
                    continue  # that follow each other closely get a little more time at each try
                raise
            index._held = held
            return index
        raise BadIndexError(f"{index_dir}: the index kept changing while being opened; try again")

    def __len__(self) -> int:
        return self.manifest.chunks

    def verify(self) -> list[str]:
        """Files whose sha256 differs from the manifest's (or that are missing or unlisted); [] when intact."""
        if not self.manifest.checksums:
            return ["manifest.json (no checksums: built by an older askfront)"]
        found = set(index_files(self.folder))
        damaged = sorted(found - set(self.manifest.checksums))
        for name, expected in self.manifest.checksums.items():
            path = self.folder / name
            try:
                if not path.is_file() or checksum(path) != expected:
                    damaged.append(name)
            except OSError:
                damaged.append(name)
        return sorted(damaged)

    def stale(self, wanted: Identity) -> str:
        """Why the search structures differ from what ``wanted`` builds ('' when they do not)."""
        expected = wanted.search(self.manifest.chunks)
        if self.manifest.search == expected:
            return ""
        if not self.manifest.search:
            return "search settings not recorded (built by an older askfront)"
        labels = {"bm25": "BM25 tokenizer", "dense": "FAISS index"}
        changed = [labels.get(k, k) for k in expected if self.manifest.search.get(k) != expected[k]]
        return f"search settings changed ({', '.join(changed)})"

    def check_model(self, model_sha256: str) -> None:
        """Refuse to search with another embedding model, or another BM25 tokenizer, than the index's own."""
        if self.manifest.model_sha256 != model_sha256:
            raise BadIndexError(
                f"{self.folder.parent}: index was built with another embedding model "
                f"({self.manifest.model_name}, or an older askfront); {REPAIR}"
            )
        if self.manifest.search.get("bm25") != BM25_SETTINGS:
            raise BadIndexError(f"{self.folder.parent}: index was built with other BM25 settings; {REPAIR}")

    @_guarded
    def records(self, ids: list[int]) -> list[ChunkRecord]:
        """Passages by chunk id, in the order asked, with their report's title/date/source."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            "SELECT c.id, c.path, d.title, d.date, d.source, c.start, c.end, c.page, c.text, d.pages FROM chunks c "
            f"JOIN documents d ON d.path = c.path WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        ).fetchall()
        rows = [_typed(row, _RECORD_TYPES) for row in rows]
        copies, read = self.manifest.copies, self.manifest.dates_read
        by_id = {
            row[0]: ChunkRecord(
                *row[:-1],
                pages=tuple(json.loads(row[-1] or "[]")),
                copy_of=copies.get(row[1], ""),
                date_read=read.get(row[1], ""),
                ocr_pages=tuple(self.ocr_pages(row[1])),
            )
            for row in rows
        }
        return [by_id[i] for i in ids if i in by_id]

    @_guarded
    def chunk_ids(self, path: str) -> list[int]:
        return [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE path = ? ORDER BY id", (path,))]

    @_guarded
    def chunks_of(self, path: str) -> list[Chunk]:
        rows = self._db.execute("SELECT path, start, end, text, page FROM chunks WHERE path = ? ORDER BY id", (path,))
        return [Chunk(*row) for row in rows]

    @_guarded
    def document(self, path: str) -> Document:
        """The stored text and metadata of one report (for surrounding context of a citation)."""
        row = self._db.execute(
            "SELECT path, title, text, source, date, pages FROM documents WHERE path = ?", (path,)
        ).fetchone()
        if row is None:
            raise KeyError(path)
        row = _typed(row, (str,) * 6)
        read = self.manifest.dates_read.get(path, "")
        return Document(*row[:5], pages=json.loads(row[5]), date_read=read, ocr_pages=self.ocr_pages(path))

    @_guarded
    def text(self, path: str, start: int, end: int) -> str:
        """Characters ``start:end`` of a report's stored text (without reading the whole report)."""
        row = self._db.execute(
            "SELECT substr(text, ?, ?) FROM documents WHERE path = ?", (start + 1, max(0, end - start), path)
        ).fetchone()
        if row is None:
            raise KeyError(path)
        return _typed(row, (str,))[0]

    @_guarded
    def documents(self) -> list[tuple[str, str, str]]:
        """(path, title, date) of every indexed report."""
        return list(self._db.execute("SELECT path, title, date FROM documents ORDER BY path"))

    @property
    def has_names(self) -> bool:
        """Whether this index holds names and dated sentences (older formats have neither table)."""
        return self.manifest.format_version >= NAMES_FROM

    def annotations_of(self, path: str) -> tuple[list[Mention], list[Dated]] | None:
        """A report's names and dated sentences as indexed (None for an index from before format 3)."""
        if not self.has_names:
            return None
        return self._annotations(path)

    @_guarded
    def _annotations(self, path: str) -> tuple[list[Mention], list[Dated]]:
        mentions = self._db.execute("SELECT start, end, text, kind, key FROM mentions WHERE path = ?", (path,))
        dated = self._db.execute(
            "SELECT start, end, sentence_start, sentence_end, date_text, iso FROM dated WHERE path = ?", (path,)
        )
        return [Mention(*row) for row in mentions], [Dated(*row) for row in dated]

    @_guarded
    def name_counts(self) -> list[tuple[str, str, str, str, int]]:
        """(key, path, kind, spelling, mentions) for every name, report, kind and spelling."""
        if not self.has_names:
            return []
        rows = self._db.execute("SELECT key, path, kind, text, count(*) FROM mentions GROUP BY key, path, kind, text")
        return [tuple(row) for row in rows]

    @_guarded
    def name_keys(self) -> list[str]:
        """Every distinct name key (what alias groups are made of)."""
        if not self.has_names:
            return []
        return [row[0] for row in self._db.execute("SELECT DISTINCT key FROM mentions")]

    @_guarded
    def mentions(self, keys: list[str]) -> list[tuple[str, int, int, str, str]]:
        """(path, start, end, text, kind) of every mention of the names with these keys, in report order."""
        if not keys or not self.has_names:
            return []
        marks = ",".join("?" * len(keys))
        query = f"SELECT path, start, end, text, kind FROM mentions WHERE key IN ({marks}) ORDER BY path, start"
        return [tuple(row) for row in self._db.execute(query, keys)]

    @_guarded
    def dated(self) -> list[tuple[str, int, int, int, int, str, str, str]]:
        """(path, start, end, sentence_start, sentence_end, date_text, iso, sentence) of every dated
        sentence, in date order."""
        if not self.has_names:
            return []
        query = (
            "SELECT t.path, t.start, t.end, t.sentence_start, t.sentence_end, t.date_text, t.iso, "
            "substr(d.text, t.sentence_start + 1, t.sentence_end - t.sentence_start) FROM dated t "
            "JOIN documents d ON d.path = t.path ORDER BY t.iso, t.path, t.start"
        )
        return [tuple(row) for row in self._db.execute(query)]

    @_guarded
    def reports(self) -> list[ReportRow]:
        """Every indexed report with its metadata, number of passages and when it was indexed."""
        rows = self._db.execute(
            "SELECT d.path, d.title, d.date, d.source, count(c.id) FROM documents d "
            "LEFT JOIN chunks c ON c.path = d.path GROUP BY d.path ORDER BY d.path"
        )
        when = self.manifest.indexed
        copies, read = self.manifest.copies, self.manifest.dates_read
        return [
            ReportRow(
                *row,
                indexed_at=when.get(row[0], self.manifest.built_at),
                copy_of=copies.get(row[0], ""),
                date_read=read.get(row[0], ""),
            )
            for row in rows
        ]

    def ocr_pages(self, path: str) -> list[int]:
        """The 1-based pages of a report that were read by OCR ([] when none)."""
        listed = self.manifest.ocr_pages.get(path, "")
        return [int(n) for n in listed.split(",") if n.isdigit()]

    def close(self) -> None:
        self._db.close()
        self.closed = True
        versions.release(self._held)  # a later build may now remove this version if it is not live
        self._held = None
