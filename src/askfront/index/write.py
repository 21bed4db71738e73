"""Writing an index version: the SQLite passages and names, the FAISS index (exact or HNSW by size), BM25
and the vectors beside them, every file checksummed in the sealed manifest; then publishing it atomically
(CURRENT points at the new version only once it is complete)."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict
from pathlib import Path

import numpy as np

from askfront.core.types import Chunk, Document
from askfront.index.manifest import BM25_SETTINGS, HNSW_SETTINGS, Manifest, dense_kind, search_identity
from askfront.index.store import CURRENT, MANIFEST_SEAL, checksum, index_files, seal_of, tokenize
from askfront.language.names import Dated, Mention

_SCHEMA = """
CREATE TABLE documents (path TEXT PRIMARY KEY, title TEXT, source TEXT, date TEXT, text TEXT, pages TEXT);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, path TEXT, start INTEGER, end INTEGER, page INTEGER,
                     text TEXT);
CREATE INDEX chunks_path ON chunks(path);
CREATE TABLE mentions (path TEXT, start INTEGER, end INTEGER, text TEXT, kind TEXT, key TEXT);
CREATE INDEX mentions_key ON mentions(key);
CREATE INDEX mentions_path ON mentions(path);
CREATE TABLE dated (path TEXT, start INTEGER, end INTEGER, sentence_start INTEGER, sentence_end INTEGER,
                    date_text TEXT, iso TEXT);
CREATE INDEX dated_path ON dated(path);
"""


def make_faiss(vectors: np.ndarray, index_type: str, hnsw_threshold: int):
    """Exact inner-product search, or HNSW (8-bit) for large indexes (``auto`` switches at ``hnsw_threshold``)."""
    import faiss

    kind = dense_kind(index_type, len(vectors), hnsw_threshold)
    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        # 8-bit vectors in the graph (a quarter of the memory); retrieval re-scores the candidates
        # exactly from the memory-mapped float32 vectors.npy.
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_SETTINGS["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_SETTINGS["efConstruction"]
        index.hnsw.efSearch = HNSW_SETTINGS["efSearch"]
        if len(vectors):
            index.train(np.ascontiguousarray(vectors[:: max(1, len(vectors) // 100_000)], dtype=np.float32))
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
    annotations: dict[str, tuple[list[Mention], list[Dated]]] | None = None,
) -> None:
    """Write a complete index version into the empty ``folder`` (manifest last) and fsync it.
    ``annotations``: each report's names and dated sentences (see askfront.language.names)."""
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
        for path, (mentions, dated) in (annotations or {}).items():
            db.executemany(
                "INSERT INTO mentions VALUES (?,?,?,?,?,?)",
                ((path, m.start, m.end, m.text, m.kind, m.key) for m in mentions),
            )
            db.executemany(
                "INSERT INTO dated VALUES (?,?,?,?,?,?,?)",
                ((path, d.start, d.end, d.sentence_start, d.sentence_end, d.date_text, d.iso) for d in dated),
            )
    db.close()
    np.save(folder / "vectors.npy", vectors.astype(np.float32, copy=False), allow_pickle=False)
    dense = make_faiss(vectors, manifest.index_type, hnsw_threshold)
    faiss.write_index(dense, str(folder / "dense.faiss"))
    if chunks:
        bm25 = bm25s.BM25(method=BM25_SETTINGS["method"], k1=BM25_SETTINGS["k1"], b=BM25_SETTINGS["b"])
        bm25.index(tokenize([c.text for c in chunks]), show_progress=False)
        bm25.save(str(folder / "bm25"), show_progress=False)
    manifest.chunks = len(chunks)
    manifest.search = search_identity(manifest.index_type, len(chunks), hnsw_threshold)
    manifest.checksums = {name: checksum(folder / name) for name in index_files(folder)}
    text = json.dumps(asdict(manifest), indent=1)
    (folder / "manifest.json").write_text(text, encoding="utf-8")
    (folder / MANIFEST_SEAL).write_text(seal_of(text) + "\n", encoding="utf-8")
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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
