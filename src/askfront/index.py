"""The index on disk: FAISS vectors, BM25 terms, chunk texts in SQLite, and a JSON manifest.

Layout of the index folder::

    index/CURRENT          name of the live version folder (replaced atomically)
    index/v-<stamp>/       manifest.json, chunks.sqlite, vectors.npy, dense.faiss, bm25/
    index/.build-<...>/    a build in progress (left behind only by a crash; removed by the next build)

A build writes a complete new version folder and only then points CURRENT at it, so a killed build
never touches the index that readers load. Nothing is pickled.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from askfront.chunk import Chunk
from askfront.errors import AskfrontError, ConfigError
from askfront.ingest import Document

FORMAT_VERSION = 1
CURRENT = "CURRENT"
_SCHEMA = """
CREATE TABLE documents (path TEXT PRIMARY KEY, title TEXT, source TEXT, date TEXT, text TEXT, pages TEXT);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, path TEXT, start INTEGER, end INTEGER, page INTEGER,
                     text TEXT);
CREATE INDEX chunks_path ON chunks(path);
"""


class BadIndexError(AskfrontError):
    """The index is missing, damaged or built with other settings; the message says what to do."""


@dataclass
class Manifest:
    """What an index was built from: enough to tell whether it can still be used or extended."""

    model_name: str
    model_sha256: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    index_type: str
    askfront_version: str
    built_at: str
    chunks: int = 0
    files: dict[str, str] = field(default_factory=dict)  # corpus path -> content sha256
    format_version: int = FORMAT_VERSION

    def mismatch(self, model_sha256: str, chunk_size: int, chunk_overlap: int) -> str:
        """Why vectors of this index cannot be reused with these settings ('' if they can)."""
        if self.format_version != FORMAT_VERSION:
            return f"index format {self.format_version} is not {FORMAT_VERSION}"
        if self.model_sha256 != model_sha256:
            return f"embedding model changed ({self.model_name}, weights {self.model_sha256[:12]}…)"
        if (self.chunk_size, self.chunk_overlap) != (chunk_size, chunk_overlap):
            return f"chunk settings changed ({self.chunk_size}/{self.chunk_overlap} -> {chunk_size}/{chunk_overlap})"
        return ""


@dataclass(frozen=True)
class ChunkRecord:
    """A stored passage with the metadata of its report, as retrieval returns it."""

    id: int
    path: str
    title: str
    date: str
    source: str
    start: int
    end: int
    page: int | None
    text: str


def make_faiss(vectors: np.ndarray, index_type: str, hnsw_threshold: int):
    """Exact inner-product search, or HNSW (8-bit) for large indexes (``auto`` switches at ``hnsw_threshold``)."""
    import faiss

    kind = index_type
    if kind == "auto":
        kind = "hnsw" if len(vectors) > hnsw_threshold else "flat"
    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        # 8-bit vectors in the graph (a quarter of the memory); retrieval re-scores the candidates
        # exactly from the memory-mapped float32 vectors.npy.
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 96
        if len(vectors):
            index.train(np.ascontiguousarray(vectors[:: max(1, len(vectors) // 100_000)], dtype=np.float32))
    else:
        raise ConfigError(f"index type must be auto, flat or hnsw, not {index_type!r}")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_version(
    folder: Path,
    manifest: Manifest,
    documents: list[Document],
    chunks: list[Chunk],
    vectors: np.ndarray,
    hnsw_threshold: int,
) -> None:
    """Write a complete index version into the empty ``folder`` (manifest last) and fsync it."""
    import bm25s
    import faiss

    folder.mkdir(parents=True)
    db = sqlite3.connect(folder / "chunks.sqlite")
    with db:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?)",
            ((d.path, d.title, d.source, d.date, d.text, json.dumps(d.pages)) for d in documents),
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
            ((i, c.path, c.start, c.end, c.page, c.text) for i, c in enumerate(chunks)),
        )
    db.close()
    np.save(folder / "vectors.npy", vectors.astype(np.float32, copy=False), allow_pickle=False)
    dense = make_faiss(vectors, manifest.index_type, hnsw_threshold)
    faiss.write_index(dense, str(folder / "dense.faiss"))
    if chunks:
        bm25 = bm25s.BM25()
        bm25.index(tokenize([c.text for c in chunks]), show_progress=False)
        bm25.save(str(folder / "bm25"), show_progress=False)
    manifest.chunks = len(chunks)
    (folder / "manifest.json").write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
    for path in folder.rglob("*"):
        if path.is_file():
            _fsync(path)
    _fsync(folder)


def publish(index_dir: Path, version: Path) -> None:
    """Atomically make ``version`` the live index (write CURRENT beside it, then rename over)."""
    tmp = index_dir / (CURRENT + ".tmp")
    tmp.write_text(version.name + "\n", encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, index_dir / CURRENT)
    _fsync(index_dir)


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 tokens: lower-cased words without English stop words (same for passages and queries)."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en_plus", return_ids=False, show_progress=False)


def live_version(index_dir: Path) -> Path | None:
    """The folder CURRENT points at, or None when no index was ever published."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return index_dir / name


class Index:
    """A published index version, opened read-only. Vectors are memory-mapped, not read into RAM."""

    def __init__(self, folder: Path) -> None:
        import faiss

        self.folder = folder
        try:
            raw = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            self.manifest = Manifest(**raw)
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
        except (OSError, ValueError, TypeError, RuntimeError, sqlite3.Error, json.JSONDecodeError) as err:
            raise BadIndexError(
                f"{folder}: index is damaged ({type(err).__name__}: {' '.join(str(err).split())[:120]}); "
                "rebuild it with: askfront index"
            ) from None
        if not (count == self.manifest.chunks == self.dense.ntotal == len(self.vectors)):
            raise BadIndexError(f"{folder}: index parts disagree on the number of chunks; rebuild it: askfront index")

    @classmethod
    def open(cls, index_dir: Path) -> Index:
        """Open the live version under ``index_dir``, with a clear error if there is none."""
        version = live_version(index_dir)
        if version is None:
            raise BadIndexError(f"{index_dir}: no index yet; build it with: askfront index")
        if not version.is_dir():
            raise BadIndexError(f"{index_dir}: {CURRENT} points at missing {version.name}; rebuild: askfront index")
        return cls(version)

    def __len__(self) -> int:
        return self.manifest.chunks

    def check_model(self, model_sha256: str) -> None:
        """Refuse to search with another embedding model than the one the vectors came from."""
        if self.manifest.model_sha256 != model_sha256:
            raise BadIndexError(
                f"{self.folder.parent}: index was built with another embedding model "
                f"({self.manifest.model_name}); rebuild it with: askfront index"
            )

    def records(self, ids: list[int]) -> list[ChunkRecord]:
        """Passages by chunk id, in the order asked, with their report's title/date/source."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            "SELECT c.id, c.path, d.title, d.date, d.source, c.start, c.end, c.page, c.text FROM chunks c "
            f"JOIN documents d ON d.path = c.path WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        ).fetchall()
        by_id = {row[0]: ChunkRecord(*row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def chunk_ids(self, path: str) -> list[int]:
        return [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE path = ? ORDER BY id", (path,))]

    def chunks_of(self, path: str) -> list[Chunk]:
        rows = self._db.execute("SELECT path, start, end, text, page FROM chunks WHERE path = ? ORDER BY id", (path,))
        return [Chunk(*row) for row in rows]

    def document(self, path: str) -> Document:
        """The stored text and metadata of one report (for surrounding context of a citation)."""
        row = self._db.execute(
            "SELECT path, title, text, source, date, pages FROM documents WHERE path = ?", (path,)
        ).fetchone()
        if row is None:
            raise KeyError(path)
        return Document(*row[:5], pages=json.loads(row[5]))

    def text(self, path: str, start: int, end: int) -> str:
        """Characters ``start:end`` of a report's stored text (without reading the whole report)."""
        row = self._db.execute(
            "SELECT substr(text, ?, ?) FROM documents WHERE path = ?", (start + 1, max(0, end - start), path)
        ).fetchone()
        if row is None:
            raise KeyError(path)
        return row[0]

    def documents(self) -> list[tuple[str, str, str]]:
        """(path, title, date) of every indexed report."""
        return list(self._db.execute("SELECT path, title, date FROM documents ORDER BY path"))

    def close(self) -> None:
        self._db.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
